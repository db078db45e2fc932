import { describe, expect, it } from 'vitest';
import { readClipFile } from '../../node/clipFrames.ts';
import { readWav, writeWav16 } from './wav.ts';

/** Builds a WAV with an arbitrary fmt (used for float and stereo, which writeWav16 does not cover). */
function wavBytes(format: number, channels: number, rate: number, bits: number, body: Uint8Array, extraChunk = false): Uint8Array {
  const extra = extraChunk ? 8 + 5 + 1 : 0; // odd-sized LIST chunk plus its pad byte
  const out = new Uint8Array(44 + extra + body.length);
  const v = new DataView(out.buffer);
  const ascii = (at: number, s: string) => [...s].forEach((c, i) => v.setUint8(at + i, c.charCodeAt(0)));
  ascii(0, 'RIFF');
  v.setUint32(4, out.length - 8, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  v.setUint32(16, 16, true);
  v.setUint16(20, format, true);
  v.setUint16(22, channels, true);
  v.setUint32(24, rate, true);
  v.setUint32(28, (rate * channels * bits) / 8, true);
  v.setUint16(32, (channels * bits) / 8, true);
  v.setUint16(34, bits, true);
  let at = 36;
  if (extraChunk) {
    ascii(at, 'LIST');
    v.setUint32(at + 4, 5, true);
    at += extra;
  }
  ascii(at, 'data');
  v.setUint32(at + 4, body.length, true);
  out.set(body, at + 8);
  return out;
}

describe('WAV reader', () => {
  it('reads the real 16 kHz mono clip with the length its metadata states', () => {
    const meta = JSON.parse(new TextDecoder().decode(readClipFile('lrs2_00001', 'meta.json')));
    const wav = readWav(readClipFile('lrs2_00001', 'audio.wav'));
    expect(wav.sampleRate).toBe(16000);
    expect(wav.channels.length).toBe(1);
    expect(wav.mono.length).toBe(meta.audio_samples);
    const peak = wav.mono.reduce((a, b) => Math.max(a, Math.abs(b)), 0);
    // meta says max −8.8 dBFS
    expect(20 * Math.log10(peak)).toBeCloseTo(meta.audio_max_db, 0);
  });

  it('round-trips 16-bit PCM through writeWav16', () => {
    const s = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i / 10) * 0.9);
    const back = readWav(writeWav16(s, 22050));
    expect(back.sampleRate).toBe(22050);
    expect(back.duration).toBeCloseTo(1000 / 22050, 9);
    for (let i = 0; i < s.length; i++) expect(Math.abs(back.mono[i] - s[i])).toBeLessThanOrEqual(0.5 / 32768);
  });

  it('reads float32 stereo, skips unknown odd-sized chunks, and downmixes to mono', () => {
    const body = new Float32Array([0.5, -0.5, 0.25, 0.75, -1, 1]);
    const wav = readWav(wavBytes(3, 2, 48000, 32, new Uint8Array(body.buffer), true));
    expect(wav.sampleRate).toBe(48000);
    expect(Array.from(wav.channels[0])).toEqual([0.5, 0.25, -1]);
    expect(Array.from(wav.channels[1])).toEqual([-0.5, 0.75, 1]);
    expect(Array.from(wav.mono)).toEqual([0, 0.5, 0]);
  });

  it('explains what is wrong with files it cannot read', () => {
    expect(() => readWav(new TextEncoder().encode('ID3 this is an mp3'), 'song.mp3')).toThrow(/song.mp3 is not a WAV file.*ffmpeg/);
    expect(() => readWav(wavBytes(2, 1, 16000, 4, new Uint8Array(8)))).toThrow(expect.objectContaining({ code: 'unsupported-wav' }));
    const noData = wavBytes(1, 1, 16000, 16, new Uint8Array(0)).slice(0, 36);
    expect(() => readWav(noData)).toThrow(/no "data" chunk/);
  });
});
