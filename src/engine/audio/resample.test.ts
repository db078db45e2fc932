import { describe, expect, it } from 'vitest';
import { resampleBuffer, Resampler } from './resample.ts';

function tone(freq: number, seconds: number, rate: number, amp = 0.5): Float32Array {
  const out = new Float32Array(Math.round(seconds * rate));
  for (let i = 0; i < out.length; i++) out[i] = amp * Math.sin((2 * Math.PI * freq * i) / rate);
  return out;
}

/** Amplitude and frequency of the strongest sinusoid, by a fine DFT scan (Hann-weighted) of the middle part. */
function measureTone(s: Float32Array, rate: number, lo: number, hi: number): { freq: number; amp: number } {
  const from = Math.floor(s.length * 0.25);
  const n = Math.floor(s.length * 0.5);
  const w = Array.from({ length: n }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n));
  const wsum = w.reduce((a, b) => a + b, 0);
  const amplitudeAt = (f: number) => {
    let re = 0;
    let im = 0;
    for (let i = 0; i < n; i++) {
      const ph = (2 * Math.PI * f * (from + i)) / rate;
      re += s[from + i] * w[i] * Math.cos(ph);
      im += s[from + i] * w[i] * Math.sin(ph);
    }
    return (2 * Math.hypot(re, im)) / wsum;
  };
  let best = { freq: lo, amp: 0 };
  for (let f = lo; f <= hi; f += 1) {
    const a = amplitudeAt(f);
    if (a > best.amp) best = { freq: f, amp: a };
  }
  return best;
}

const rms = (s: Float32Array, from = 0, to = s.length) => {
  let e = 0;
  for (let i = from; i < to; i++) e += s[i] * s[i];
  return Math.sqrt(e / (to - from));
};

describe('resampling to 16 kHz', () => {
  it.each([
    [48000, 1000],
    [48000, 5000],
    [44100, 1000],
    [44100, 3000],
    [22050, 2000],
  ])('%i Hz → 16 kHz keeps a %i Hz tone (frequency and amplitude)', (rate, freq) => {
    const out = resampleBuffer(tone(freq, 0.5, rate), rate);
    expect(out.length).toBe(Math.ceil((0.5 * rate * 16000) / rate));
    const m = measureTone(out, 16000, freq - 50, freq + 50);
    expect(Math.abs(m.freq - freq)).toBeLessThanOrEqual(2);
    expect(m.amp).toBeGreaterThan(0.5 * 0.97);
    expect(m.amp).toBeLessThan(0.5 * 1.03);
  });

  it('keeps 7 kHz (top of the mel range) within a few % at 48 kHz', () => {
    const out = resampleBuffer(tone(7000, 0.5, 48000), 48000);
    expect(rms(out, 2000, 6000) / (0.5 / Math.SQRT2)).toBeGreaterThan(0.95);
  });

  it.each([48000, 44100])('suppresses a 10 kHz tone at %i Hz by > 60 dB instead of aliasing it', (rate) => {
    const out = resampleBuffer(tone(10000, 0.5, rate), rate);
    const attenuationDb = 20 * Math.log10(rms(out, 1000, 7000) / (0.5 / Math.SQRT2));
    expect(attenuationDb).toBeLessThan(-60);
  });

  it('passes 16 kHz through unchanged', () => {
    const s = tone(1234, 0.1, 16000);
    expect(resampleBuffer(s, 16000)).toEqual(s);
  });

  it('does not shift time: output sample j is input time j·in/out', () => {
    // A band-limited bump centred at input sample 4800 (48k) must peak at output sample 1600.
    const s = new Float32Array(9600);
    for (let i = 0; i < s.length; i++) s[i] = Math.exp(-(((i - 4800) / 60) ** 2));
    const out = resampleBuffer(s, 48000);
    expect(out.indexOf(Math.max(...out))).toBe(1600);
    const s44 = new Float32Array(8820);
    for (let i = 0; i < s44.length; i++) s44[i] = Math.exp(-(((i - 4410) / 60) ** 2));
    const out44 = resampleBuffer(s44, 44100);
    expect(out44.indexOf(Math.max(...out44))).toBe(1600);
  });

  it.each([48000, 44100, 16000, 44056])('streams %i Hz in random blocks identically to the offline helper', (rate) => {
    const s = tone(700, 0.3, rate).map((v, i) => v + 0.2 * Math.sin(i * 0.37));
    const offline = resampleBuffer(s, rate);
    const r = new Resampler(rate);
    const parts: number[] = [];
    let seed = 5;
    for (let at = 0; at < s.length; ) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      const size = seed % 7 === 0 ? 5000 + (seed % 3000) : 1 + (seed % 300);
      const block = s.subarray(at, Math.min(s.length, at + size));
      at += block.length;
      const out = new Float32Array(r.maxOutput(block.length));
      const n = r.process(block, out);
      parts.push(...out.subarray(0, n));
    }
    const tail = new Float32Array(r.maxOutput(0) + 64);
    parts.push(...tail.subarray(0, r.flush(tail)));
    expect(Float32Array.from(parts)).toEqual(offline);
  });

  it('handles a rate with no small integer ratio (44056 Hz) accurately', () => {
    const out = resampleBuffer(tone(1500, 0.5, 44056), 44056);
    const m = measureTone(out, 16000, 1450, 1550);
    expect(Math.abs(m.freq - 1500)).toBeLessThanOrEqual(2);
    expect(Math.abs(m.amp - 0.5)).toBeLessThan(0.015);
  });

  it('rejects nonsense sample rates with a clear error', () => {
    expect(() => new Resampler(0)).toThrow(/sample rate must be between/);
    expect(() => new Resampler(Number.NaN)).toThrow(expect.objectContaining({ code: 'bad-sample-rate' }));
  });
});
