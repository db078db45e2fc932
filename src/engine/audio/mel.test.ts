import { describe, expect, it } from 'vitest';
import { readClipFile } from '../../node/clipFrames.ts';
import { computeLogMel, melFrameCount, MelExtractor } from './mel.ts';
import { MEL_CONFIG, SILENCE_VALUE } from './melConfig.ts';
import { readWav } from './wav.ts';

const SR = 16000;
const HOP = 160;
const WIN = 400;
const NFFT = 512;
const NMELS = 80;

/** Deterministic noise so failures reproduce. */
function noise(n: number, seed = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32) * 2 - 1;
  }
  return out;
}

function tone(freq: number, seconds: number, amp = 0.5, rate = SR): Float32Array {
  const out = new Float32Array(Math.round(seconds * rate));
  for (let i = 0; i < out.length; i++) out[i] = amp * Math.sin((2 * Math.PI * freq * i) / rate);
  return out;
}

// ---- Independent reference, written straight from the formula (no shared code with mel.ts) ----
const slaneyMel = (f: number) => (f < 1000 ? f / (200 / 3) : 15 + Math.log(f / 1000) / (Math.log(6.4) / 27));
const slaneyHz = (m: number) => (m < 15 ? (200 / 3) * m : 1000 * Math.exp((Math.log(6.4) / 27) * (m - 15)));
const refEdges = Array.from({ length: NMELS + 2 }, (_, i) => slaneyHz(slaneyMel(55) + (i * (slaneyMel(7600) - slaneyMel(55))) / (NMELS + 1)));
const refFilter: number[][] = Array.from({ length: NMELS }, (_, m) =>
  Array.from({ length: NFFT / 2 + 1 }, (_, b) => {
    const f = (b * SR) / NFFT;
    const [lo, c, hi] = [refEdges[m], refEdges[m + 1], refEdges[m + 2]];
    let tri = 0;
    if (f > lo && f <= c) tri = (f - lo) / (c - lo);
    else if (f > c && f < hi) tri = (hi - f) / (hi - c);
    return (tri * 2) / (hi - lo);
  }),
);

function referenceFrame(s: Float32Array, k: number): number[] {
  const x: number[] = [];
  for (let n = 0; n < WIN; n++) {
    const i = k * HOP - WIN / 2 + n;
    const v = i >= 0 && i < s.length ? s[i] : 0;
    x.push(v * (0.5 - 0.5 * Math.cos((2 * Math.PI * n) / WIN)));
  }
  const power: number[] = [];
  for (let b = 0; b <= NFFT / 2; b++) {
    let re = 0;
    let im = 0;
    for (let n = 0; n < WIN; n++) {
      re += x[n] * Math.cos((2 * Math.PI * b * n) / NFFT);
      im -= x[n] * Math.sin((2 * Math.PI * b * n) / NFFT);
    }
    power.push(re * re + im * im);
  }
  return refFilter.map((row) => {
    const p = row.reduce((acc, w, b) => acc + w * power[b], 0);
    const db = 10 * Math.log10(Math.max(p, 1e-10));
    return Math.min(1, Math.max(-1, (2 * (db + 80)) / 120 - 1));
  });
}

function maxDiffToReference(signal: Float32Array, frames: number[]): number {
  const mel = computeLogMel(signal);
  let worst = 0;
  for (const k of frames) {
    const ref = referenceFrame(signal, k);
    for (let m = 0; m < NMELS; m++) worst = Math.max(worst, Math.abs(mel[k * NMELS + m] - ref[m]));
  }
  return worst;
}

describe('log-mel features', () => {
  it('uses the constants the brief fixes', () => {
    expect(MEL_CONFIG).toMatchObject({
      sampleRate: 16000,
      winLength: 400,
      nFft: 512,
      hopLength: 160,
      nMels: 80,
      fMin: 55,
      fMax: 7600,
      dbFloor: -80,
      dbCeil: 40,
    });
    expect(Object.isFrozen(MEL_CONFIG)).toBe(true);
    expect(JSON.parse(JSON.stringify(MEL_CONFIG))).toEqual(MEL_CONFIG);
  });

  it('matches a naive DFT + Slaney filterbank reference on noise (incl. the zero-padded edges)', () => {
    const s = noise(SR / 2, 7).map((v) => v * 0.3);
    const n = melFrameCount(s.length);
    expect(maxDiffToReference(s, [0, 1, 2, 17, 25, 26, n - 2, n - 1])).toBeLessThan(1e-4);
  });

  it('matches the reference on a 100 Hz → 7.5 kHz chirp', () => {
    const s = new Float32Array(SR);
    for (let i = 0; i < s.length; i++) {
      const t = i / SR;
      s[i] = 0.4 * Math.sin(2 * Math.PI * (100 * t + (7400 / 2) * t * t));
    }
    expect(maxDiffToReference(s, [3, 10, 30, 50, 70, 90, 99])).toBeLessThan(1e-4);
  });

  it.each([440, 1000, 3000, 6000])('puts a %i Hz tone in the mel bin with the nearest centre frequency', (freq) => {
    const mel = computeLogMel(tone(freq, 0.5));
    const k = 25;
    const row = Array.from(mel.subarray(k * NMELS, (k + 1) * NMELS));
    const peak = row.indexOf(Math.max(...row));
    const centres = refEdges.slice(1, NMELS + 1);
    const nearest = centres.reduce((best, c, i) => (Math.abs(c - freq) < Math.abs(centres[best] - freq) ? i : best), 0);
    expect(peak).toBe(nearest);
    // and far-away bins are much lower (it is a tone, not broadband)
    expect(row[peak] - row[(peak + 40) % NMELS]).toBeGreaterThan(0.3);
  });

  it('gives exactly SILENCE_VALUE for digital silence and frame count floor(N/hop)+1', () => {
    const mel = computeLogMel(new Float32Array(1234));
    expect(mel.length).toBe((Math.floor(1234 / HOP) + 1) * NMELS);
    expect(mel.every((v) => v === SILENCE_VALUE)).toBe(true);
  });

  it('places frame k at k·10 ms: a click at sample 8000 lands only in frames 49…51, whose windows cover it', () => {
    const s = new Float32Array(SR);
    s[8000] = 1;
    const mel = computeLogMel(s);
    const loud = [];
    for (let k = 0; k < mel.length / NMELS; k++) if (mel[k * NMELS + 40] > SILENCE_VALUE) loud.push(k);
    // frame k covers samples k·160 − 200 … k·160 + 199
    expect(loud).toEqual([49, 50, 51]);
  });

  it('streams with random block sizes bit-identically to offline', () => {
    const s = noise(SR * 2 + 77, 3).map((v, i) => v * 0.2 + 0.3 * Math.sin(i / 9));
    const offline = computeLogMel(s);
    let seed = 99;
    const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const ex = new MelExtractor();
    const got = new Float32Array(offline.length);
    let filled = 0;
    let expectedIndex = 0;
    const take = (max?: number) => {
      const { firstIndex, frames } = ex.drain(max);
      expect(firstIndex).toBe(expectedIndex);
      expectedIndex += frames.length / NMELS;
      got.set(frames, filled);
      filled += frames.length;
    };
    for (let at = 0; at < s.length; ) {
      const size = rand() < 0.1 ? Math.floor(rand() * 9000) : Math.floor(rand() * 300);
      const block = s.subarray(at, Math.min(s.length, at + size));
      at += block.length;
      const pending = ex.push(block);
      // a frame is emitted exactly when samples up to k·hop + winLength/2 − 1 exist
      expect(ex.framesComputed).toBe(Math.max(0, Math.floor((at - WIN / 2) / HOP) + 1));
      if (pending > 0 && rand() < 0.5) take(1 + Math.floor(rand() * 5));
    }
    ex.flush();
    take();
    expect(filled).toBe(offline.length);
    expect(got).toEqual(offline);
  });
});

describe('log-mel on real speech', () => {
  it('lrs2_00001: values in range, speech dynamics visible', () => {
    const wav = readWav(readClipFile('lrs2_00001', 'audio.wav'));
    expect(wav.sampleRate).toBe(16000);
    const mel = computeLogMel(wav.mono);
    const n = mel.length / NMELS;
    expect(n).toBe(481); // 4.8 s
    const frameMeans = Array.from({ length: n }, (_, k) => mel.subarray(k * NMELS, (k + 1) * NMELS).reduce((a, b) => a + b, 0) / NMELS).sort((a, b) => a - b);
    // speech sits inside (−1, 1): nothing saturates at the top, the bulk is not clipped at the floor
    expect(Math.max(...mel)).toBeLessThan(1);
    expect(mel.filter((v) => v <= -1).length / mel.length).toBeLessThan(0.01);
    // loud syllables vs pauses differ clearly
    expect(frameMeans[Math.floor(n * 0.95)] - frameMeans[Math.floor(n * 0.05)]).toBeGreaterThan(0.25);
  });

  it('grid_bbaf2n: speech frames have more energy than the leading silence', () => {
    const wav = readWav(readClipFile('grid_bbaf2n', 'audio.wav'));
    const mel = computeLogMel(wav.mono);
    const mean = (from: number, to: number) => {
      let s = 0;
      for (let i = from * NMELS; i < to * NMELS; i++) s += mel[i];
      return s / ((to - from) * NMELS);
    };
    const lead = mean(5, 45); // 0.05–0.45 s: before the speaker starts
    const speech = mean(100, 200); // 1–2 s: the sentence
    expect(lead).toBeLessThan(-0.55);
    expect(speech).toBeGreaterThan(lead + 0.3);
  });
});
