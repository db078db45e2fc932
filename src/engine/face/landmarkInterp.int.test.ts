import { describe, expect, it } from 'vitest';
import { clipPath, readFrames } from '../../node/clipFrames.ts';
import { createNodeFaceLandmarker } from '../../node/tfNode.ts';
import { interOcularDistance, STABLE_POINTS } from './meshIndices.ts';
import { LANDMARK_STRIDE, landmarksBetween } from './landmarkInterp.ts';
import type { FaceLandmarks } from '../types.ts';

const maxStableError = (a: FaceLandmarks, b: FaceLandmarks) =>
  Math.max(...STABLE_POINTS.map((i) => Math.hypot(a.points[3 * i] - b.points[3 * i], a.points[3 * i + 1] - b.points[3 * i + 1])));

describe('landmarksBetween', () => {
  it('on a real talking head, the mean of frames n−1 and n+1 lands within the mesh’s own jitter of frame n’s landmarks', async () => {
    const lm = await createNodeFaceLandmarker('wasm');
    try {
      const { frames } = readFrames(clipPath('sadtalker_WDA_BobMenendez_000'), { count: 9 });
      const found = frames.map((f, i) => lm.detect(f, i * 40)!);
      const errors: number[] = []; // in inter-ocular distances
      for (let n = 1; n < 8; n++) {
        const mid = landmarksBetween(found[n - 1], found[n + 1]);
        if (mid) errors.push(maxStableError(mid, found[n]) / interOcularDistance(found[n].points));
      }
      expect(errors.length).toBeGreaterThan(4); // a seated speaker: most frames can be interpolated
      // The worst stable point stays within the mesh's own jitter: on average under 2 %, at most 4 % of the eye distance.
      expect(errors.reduce((a, e) => a + e, 0) / errors.length).toBeLessThan(0.02);
      expect(Math.max(...errors)).toBeLessThan(0.04);
    } finally {
      lm.dispose();
    }
  }, 120_000);

  it('with LANDMARK_STRIDE − 1 frames between tracked ones (render mode), each blend stays within the same jitter', async () => {
    const lm = await createNodeFaceLandmarker('wasm');
    try {
      const stride = LANDMARK_STRIDE;
      const { frames } = readFrames(clipPath('sadtalker_WDA_BobMenendez_000'), { count: 3 * stride + 1 });
      const found = frames.map((f, i) => lm.detect(f, i * 40)!);
      const errors: number[] = [];
      for (let n = 0; n + stride < found.length; n += stride) {
        for (let j = 1; j < stride; j++) {
          const mid = landmarksBetween(found[n], found[n + stride], j / stride);
          if (mid) errors.push(maxStableError(mid, found[n + j]) / interOcularDistance(found[n + j].points));
        }
      }
      expect(errors.length).toBeGreaterThan(stride); // a seated speaker: most blends are allowed
      expect(errors.reduce((a, e) => a + e, 0) / errors.length).toBeLessThan(0.02);
      expect(Math.max(...errors)).toBeLessThan(0.04);
    } finally {
      lm.dispose();
    }
  }, 120_000);

  it('refuses when the head moved more than the limit (the frame must be tracked)', () => {
    const a: FaceLandmarks = { points: new Float32Array(478 * 3), score: 0.9 };
    for (const i of [33, 133]) a.points[3 * i] = 100;
    for (const i of [263, 362]) a.points[3 * i] = 160; // eyes 60 px apart: the limit is 4.8 px
    const moved = (dx: number): FaceLandmarks => ({ points: a.points.map((v, k) => (k % 3 === 0 ? v + dx : v)), score: 0.8 });
    expect(landmarksBetween(a, moved(4))?.points[0]).toBeCloseTo(a.points[0] + 2, 5);
    expect(landmarksBetween(a, moved(3), 1 / 3)?.points[0]).toBeCloseTo(a.points[0] + 1, 5);
    expect(landmarksBetween(a, moved(4))?.score).toBe(0.8);
    expect(landmarksBetween(a, moved(9))).toBeNull();
  });
});
