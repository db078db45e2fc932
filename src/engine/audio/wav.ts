/**
 * Minimal WAV (RIFF/WAVE) reader and 16-bit writer for tools and tests. Works on bytes only, so it
 * runs in Node and the browser alike. Reads PCM 8/16/24/32-bit integer and 32/64-bit float, in
 * plain or WAVE_FORMAT_EXTENSIBLE headers.
 */
import { AudioError } from './errors.ts';

export interface WavAudio {
  sampleRate: number;
  /** One Float32Array per channel, values in [-1, 1]. */
  channels: Float32Array[];
  /** Mono downmix (average of channels; the channel itself for mono files). */
  mono: Float32Array;
  /** Seconds of audio. */
  duration: number;
}

const FORMAT_PCM = 1;
const FORMAT_FLOAT = 3;
const FORMAT_EXTENSIBLE = 0xfffe;

function fourcc(view: DataView, at: number): string {
  return String.fromCharCode(view.getUint8(at), view.getUint8(at + 1), view.getUint8(at + 2), view.getUint8(at + 3));
}

/** Decodes a WAV file. `name` only improves error messages. */
export function readWav(bytes: ArrayBuffer | Uint8Array, name = 'WAV file'): WavAudio {
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const view = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
  if (u8.length < 12 || fourcc(view, 0) !== 'RIFF' || fourcc(view, 8) !== 'WAVE') {
    throw new AudioError('bad-wav', `${name} is not a WAV file (no RIFF/WAVE header); convert it with e.g. \`ffmpeg -i in -ar 16000 -ac 1 out.wav\`.`);
  }
  let fmt: { format: number; channels: number; rate: number; bits: number; blockAlign: number } | undefined;
  let data: { offset: number; length: number } | undefined;
  let at = 12;
  while (at + 8 <= u8.length) {
    const id = fourcc(view, at);
    const size = view.getUint32(at + 4, true);
    const body = at + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > u8.length) throw new AudioError('bad-wav', `${name} has a truncated "fmt " chunk.`);
      let format = view.getUint16(body, true);
      const bits = view.getUint16(body + 14, true);
      if (format === FORMAT_EXTENSIBLE && size >= 26) format = view.getUint16(body + 24, true); // sub-format GUID starts with the format code
      fmt = { format, channels: view.getUint16(body + 2, true), rate: view.getUint32(body + 4, true), bits, blockAlign: view.getUint16(body + 12, true) };
    } else if (id === 'data') {
      // Streams written without knowing their length put 0 or 0xFFFFFFFF here: use what is there.
      const length = size === 0 || size === 0xffffffff || body + size > u8.length ? u8.length - body : size;
      data = { offset: body, length };
      if (fmt) break;
    }
    at = body + size + (size & 1); // chunks are padded to even sizes
  }
  if (!fmt) throw new AudioError('bad-wav', `${name} has no "fmt " chunk.`);
  if (!data) throw new AudioError('bad-wav', `${name} has no "data" chunk.`);
  const { format, channels, rate, bits, blockAlign } = fmt;
  const bytesPer = bits / 8;
  const supported = (format === FORMAT_PCM && [8, 16, 24, 32].includes(bits)) || (format === FORMAT_FLOAT && (bits === 32 || bits === 64));
  if (!supported) {
    throw new AudioError(
      'unsupported-wav',
      `${name} is ${format === FORMAT_PCM ? 'PCM' : format === FORMAT_FLOAT ? 'float' : `format ${format}`} with ${bits} bits per sample; supported are 8/16/24/32-bit PCM and 32/64-bit float. Convert with \`ffmpeg -i in -c:a pcm_s16le out.wav\`.`,
    );
  }
  if (channels < 1 || rate < 1 || blockAlign !== channels * bytesPer) {
    throw new AudioError('bad-wav', `${name} has an inconsistent header (channels ${channels}, rate ${rate}, block align ${blockAlign}, ${bits} bits).`);
  }
  const frames = Math.floor(data.length / blockAlign);
  const out = Array.from({ length: channels }, () => new Float32Array(frames));
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < channels; c++) {
      const p = data.offset + i * blockAlign + c * bytesPer;
      let v: number;
      if (format === FORMAT_FLOAT) v = bits === 32 ? view.getFloat32(p, true) : view.getFloat64(p, true);
      else if (bits === 8) v = (view.getUint8(p) - 128) / 128;
      else if (bits === 16) v = view.getInt16(p, true) / 32768;
      else if (bits === 24) v = (((view.getUint8(p + 2) << 24) | (view.getUint8(p + 1) << 16) | (view.getUint8(p) << 8)) >> 8) / 8388608;
      else v = view.getInt32(p, true) / 2147483648;
      out[c][i] = v;
    }
  }
  let mono = out[0];
  if (channels > 1) {
    mono = new Float32Array(frames);
    for (let c = 0; c < channels; c++) for (let i = 0; i < frames; i++) mono[i] += out[c][i] / channels;
  }
  return { sampleRate: rate, channels: out, mono, duration: frames / rate };
}

/** Encodes channels (values in [-1, 1], clipped) as a 16-bit PCM WAV file. */
export function writeWav16(channels: Float32Array[] | Float32Array, sampleRate: number): Uint8Array {
  const chans = channels instanceof Float32Array ? [channels] : channels;
  if (chans.length === 0) throw new AudioError('bad-wav', 'writeWav16 needs at least one channel.');
  const frames = chans[0].length;
  const blockAlign = 2 * chans.length;
  const bytes = new Uint8Array(44 + frames * blockAlign);
  const view = new DataView(bytes.buffer);
  const ascii = (at: number, s: string) => [...s].forEach((ch, i) => view.setUint8(at + i, ch.charCodeAt(0)));
  ascii(0, 'RIFF');
  view.setUint32(4, bytes.length - 8, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  view.setUint32(16, 16, true);
  view.setUint16(20, FORMAT_PCM, true);
  view.setUint16(22, chans.length, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * blockAlign, true);
  view.setUint16(32, blockAlign, true);
  view.setUint16(34, 16, true);
  ascii(36, 'data');
  view.setUint32(40, frames * blockAlign, true);
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < chans.length; c++) {
      // Same scale as the reader (/32768), so a round trip is off by at most half a step.
      const q = Math.max(-32768, Math.min(32767, Math.round(chans[c][i] * 32768)));
      view.setInt16(44 + i * blockAlign + c * 2, q, true);
    }
  }
  return bytes;
}
