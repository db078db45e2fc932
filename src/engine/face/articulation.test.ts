import { describe, expect, it } from 'vitest';
import { ARTICULATION, ArticulationTracker, articulationAround, articulationOf, cropMouthOpening, cropMouthOpeningInCrop } from './articulation.ts';
import type { Affine } from '../types.ts';

/** 478 landmarks with the inner-lip pairs (13/14, 82/87, 312/317) `gap` pixels apart around y = 100. */
function face(gap: number): Float32Array {
  const p = new Float32Array(478 * 3);
  for (const [u, d] of [
    [13, 14],
    [82, 87],
    [312, 317],
  ]) {
    p[3 * u] = 60;
    p[3 * u + 1] = 100 - gap / 2;
    p[3 * d] = 60;
    p[3 * d + 1] = 100 + gap / 2;
  }
  return p;
}

describe('cropMouthOpening', () => {
  it('is the inner-lip gap in crop pixels ÷ crop size, through the frame → crop transform', () => {
    expect(cropMouthOpeningInCrop(face(8), 128)).toBeCloseTo(8 / 128, 6);
    // A frame twice the crop's scale: the transform halves it, so the same face opens the same fraction of the crop.
    const half: Affine = [0.5, 0, 3, 0, 0.5, -7];
    expect(cropMouthOpening(face(16), half, 128)).toBeCloseTo(8 / 128, 6);
    // Lips pressed past each other (a landmark glitch) count as closed, not negative.
    expect(cropMouthOpeningInCrop(face(-4), 128)).toBe(0);
  });
});

describe('articulationOf', () => {
  it('gives the median and 90th percentile (linear interpolation, as numpy), skipping frames without a face', () => {
    const v = Array.from({ length: 41 }, (_, i) => i / 1000); // 0 … 0.040
    const withGaps = [...v, NaN, NaN];
    const a = articulationOf(withGaps)!;
    expect(a[0]).toBeCloseTo(0.02, 6);
    expect(a[1]).toBeCloseTo(0.036, 6);
  });

  it('is unknown (null → the prior) with fewer than minFrames faces or a mouth that never opened', () => {
    expect(articulationOf(new Array(ARTICULATION.minFrames - 1).fill(0.05))).toBeNull();
    expect(articulationOf(new Array(ARTICULATION.minFrames).fill(0.05))).not.toBeNull();
    expect(articulationOf(new Array(200).fill(ARTICULATION.openFloor / 2))).toBeNull(); // a silent person on camera
  });
});

describe('articulationAround', () => {
  it("never reads the target's neighbourhood (|f − t| ≤ minOffset), as the reference rule", () => {
    const openings = Float32Array.from({ length: 80 }, (_, i) => 0.02 + (i % 7) / 500);
    const base = articulationAround(openings, 40, 5)!;
    const wide = Float32Array.from(openings);
    for (let f = 35; f <= 45; f++) wide[f] = 0.5;
    expect(Array.from(articulationAround(wide, 40, 5)!)).toEqual(Array.from(base));
    for (let f = 20; f <= 34; f++) wide[f] = 0.5; // 6 and more frames away: counted
    expect(articulationAround(wide, 40, 5)![1]).toBeGreaterThan(base[1]);
  });

  it('takes the windowFrames nearest frames of a long clip', () => {
    const n = ARTICULATION.windowFrames * 3;
    // Far frames open wide, the ones within the window barely: only the near ones may count.
    const openings = Float32Array.from({ length: n }, (_, i) => (Math.abs(i - n / 2) < ARTICULATION.windowFrames / 2 ? 0.02 : 0.2));
    expect(articulationAround(openings, n / 2, 5)![1]).toBeCloseTo(0.02, 6);
  });
});

describe('ArticulationTracker', () => {
  it('knows the person after minFrames faces and forgets frames older than its window', () => {
    const tracker = new ArticulationTracker(50);
    for (let i = 0; i < ARTICULATION.minFrames - 1; i++) tracker.push(0.08);
    expect(tracker.value()).toBeNull();
    tracker.push(0.08);
    expect(tracker.value()![0]).toBeCloseTo(0.08, 6);
    for (let i = 0; i < 50; i++) tracker.push(0.03); // 50 newer frames push every 0.08 out of the window
    expect(tracker.frames).toBe(50);
    expect(Array.from(tracker.value()!).map((v) => +v.toFixed(6))).toEqual([0.03, 0.03]);
    tracker.push(NaN); // not a face: ignored
    expect(tracker.frames).toBe(50);
    tracker.reset();
    expect(tracker.value()).toBeNull();
  });
});
