import { describe, expect, it } from 'vitest';
import { pingPongIndex, pingPongTime } from './pingPong.ts';

describe('ping-pong avatar loop', () => {
  it('plays forward, then backward, then forward again', () => {
    expect(pingPongTime(0, 2)).toBe(0);
    expect(pingPongTime(1.5, 2)).toBeCloseTo(1.5);
    expect(pingPongTime(2, 2)).toBeCloseTo(2);
    expect(pingPongTime(2.5, 2)).toBeCloseTo(1.5);
    expect(pingPongTime(4, 2)).toBeCloseTo(0);
    expect(pingPongTime(4.5, 2)).toBeCloseTo(0.5);
  });

  it('visits frames 0..n-1..0 at 25 fps without jumps', () => {
    const times = Array.from({ length: 10 }, (_, i) => i / 25);
    const seq = Array.from({ length: 40 }, (_, k) => pingPongIndex(times, k / 25));
    expect(seq.slice(0, 19)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    for (let k = 1; k < seq.length; k++) expect(Math.abs(seq[k] - seq[k - 1])).toBeLessThanOrEqual(1);
  });

  it('follows media time when captured frames are uneven (dropped while capturing)', () => {
    const times = [0, 0.04, 0.2, 0.24, 0.28];
    expect(pingPongIndex(times, 0.1)).toBe(1);
    expect(pingPongIndex(times, 0.19)).toBe(2);
    expect(pingPongIndex(times, 0.28 + 0.2)).toBe(1); // 0.08 on the way back: nearer to 0.04
  });

  it('a still image (one frame) always shows that frame', () => {
    expect(pingPongIndex([0], 12.3)).toBe(0);
    expect(pingPongIndex([], 1)).toBe(0);
  });
});
