import { describe, expect, it } from 'vitest';
import { SILENCE_VALUE } from './melConfig.ts';
import { melIndexForTime, melIndexForVideoFrame, MelRing, melWindowFromFrames } from './melRing.ts';

const NM = 80;
/** Frame k bin m holds k + m/1000, so any value tells which frame and bin it came from. */
const value = (k: number, m: number) => k + m / 1000;
function frames(first: number, n: number): Float32Array {
  const f = new Float32Array(n * NM);
  for (let i = 0; i < n; i++) for (let m = 0; m < NM; m++) f[i * NM + m] = value(first + i, m);
  return f;
}
/** Column t of a [80, T] window, as frame index (NaN for silence), checking every bin agrees. */
function columns(w: Float32Array, T: number): number[] {
  expect(w.length).toBe(NM * T);
  return Array.from({ length: T }, (_, t) => {
    if (w[t] === SILENCE_VALUE) {
      for (let m = 0; m < NM; m++) expect(w[m * T + t]).toBe(SILENCE_VALUE);
      return Number.NaN;
    }
    const k = Math.round(w[t]);
    for (let m = 0; m < NM; m++) expect(w[m * T + t]).toBeCloseTo(value(k, m), 4);
    return k;
  });
}

describe('MelRing', () => {
  it('lays the window out [80, T]: row = mel bin, column = frame centre−past … centre+lookahead−1', () => {
    const ring = new MelRing(100);
    ring.push(0, frames(0, 40));
    const w = ring.window(20, 6, 3)!;
    expect(columns(w, 9)).toEqual([14, 15, 16, 17, 18, 19, 20, 21, 22]);
    expect(w[5 * 9 + 2]).toBeCloseTo(value(16, 5), 5); // bin 5, column 2
  });

  it('fills frames before the stream start with silence', () => {
    const ring = new MelRing(100);
    ring.push(0, frames(0, 8));
    expect(columns(ring.window(2, 4, 2)!, 6)).toEqual([NaN, NaN, 0, 1, 2, 3]);
  });

  it('returns null until the last needed frame arrives; windowPadded pads with silence', () => {
    const ring = new MelRing(100);
    expect(ring.window(0, 2, 1)).toBeNull();
    expect(ring.latestIndex).toBe(-1);
    ring.push(0, frames(0, 4));
    ring.push(4, frames(4, 4));
    expect(ring.latestIndex).toBe(7);
    expect(ring.window(5, 3, 4)).toBeNull(); // needs frame 8
    expect(ring.window(4, 3, 4)).not.toBeNull(); // needs frame 7
    expect(columns(ring.windowPadded(5, 3, 4), 7)).toEqual([2, 3, 4, 5, 6, 7, NaN]);
  });

  it('reads evicted frames as silence after the ring wrapped', () => {
    const ring = new MelRing(10);
    for (let k = 0; k < 30; k += 4) ring.push(k, frames(k, 4)); // frames 0 … 31
    expect(ring.oldestIndex).toBe(22);
    expect(columns(ring.window(25, 5, 2)!, 7)).toEqual([NaN, NaN, 22, 23, 24, 25, 26]);
  });

  it('treats a skipped range as silence and a restart at index 0 as a new stream', () => {
    const ring = new MelRing(50);
    ring.push(0, frames(0, 4));
    ring.push(10, frames(10, 2));
    expect(columns(ring.window(5, 2, 7)!, 9)).toEqual([3, NaN, NaN, NaN, NaN, NaN, NaN, 10, 11]);
    ring.push(0, frames(100, 2)); // worklet reset: indices restart with new content
    expect(ring.latestIndex).toBe(1);
    expect(columns(ring.window(1, 3, 1)!, 4)).toEqual([NaN, NaN, 100, 101]);
  });

  it('rejects malformed blocks and windows with a clear error', () => {
    const ring = new MelRing();
    expect(() => ring.push(0, new Float32Array(79))).toThrow(/not a multiple of 80/);
    expect(() => ring.push(-1, frames(0, 1))).toThrow(expect.objectContaining({ code: 'bad-mel-block' }));
    expect(() => ring.window(3, 0, 0)).toThrow(expect.objectContaining({ code: 'bad-window' }));
    expect(() => ring.windowPadded(1.5, 2, 2)).toThrow(/integer/);
  });

  it('writes into a caller buffer when given one', () => {
    const ring = new MelRing();
    ring.push(0, frames(0, 10));
    const out = new Float32Array(NM * 4);
    expect(ring.window(5, 2, 2, out)).toBe(out);
    expect(columns(out, 4)).toEqual([3, 4, 5, 6]);
    expect(() => ring.window(5, 2, 3, out)).toThrow(/needs 400/);
  });
});

describe('offline mel windows and time convention', () => {
  it('melWindowFromFrames matches the live ring for the same frames', () => {
    const all = frames(0, 50);
    const ring = new MelRing(1000);
    for (let k = 0; k < 50; k += 4) ring.push(k, all.slice(k * NM, Math.min(50, k + 4) * NM));
    for (const centre of [0, 3, 25, 46]) {
      expect(melWindowFromFrames(all, 50, centre, 8, 4)).toEqual(ring.windowPadded(centre, 8, 4));
    }
    expect(columns(melWindowFromFrames(all, 50, 48, 2, 4), 6)).toEqual([46, 47, 48, 49, NaN, NaN]);
  });

  it('maps times and 25 fps video frames to mel centre indices', () => {
    expect(melIndexForTime(0)).toBe(0);
    expect(melIndexForTime(1.234)).toBe(123);
    expect(melIndexForTime(0.0149)).toBe(1);
    for (let i = 0; i < 2000; i++) expect(melIndexForVideoFrame(i)).toBe(4 * i);
    expect(melIndexForVideoFrame(3, 30)).toBe(10);
  });
});
