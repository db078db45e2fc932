/**
 * Landmarks between two tracked frames, for render mode: the whole video is known, so a frame between two
 * tracked ones that show the head in the same place gets their blend instead of a run of the face mesh (the
 * mesh is the dearest stage on a CPU). Where the head moved, the caller tracks the frame itself.
 */
import type { FaceLandmarks } from '../types.ts';
import { interOcularDistance, STABLE_POINTS } from './meshIndices.ts';

/**
 * Head movement between n−1 and n+1 (largest shift of a stable point, in inter-ocular distances) under which
 * the mean stands for frame n. Linear motion is exact; otherwise the error is at most half the shift. Measured
 * on three clips (eyes 33–122 px apart, 80 frames each), the mean is 0.4–1.6 px from frame n's own landmarks
 * on average at 0.08, against 0.3–1.5 px at 0.03: the difference is the mesh's own frame-to-frame jitter,
 * while 0.08 lets 90–99 % of the frames between two tracked ones be interpolated instead of 22–75 %.
 */
export const MAX_INTERPOLATED_SHIFT = 0.08;

/**
 * Render mode tracks every LANDMARK_STRIDE-th frame and blends the landmarks of the frames between. Measured
 * (landmarkInterp.int.test): with two frames between tracked ones the blend stays within the mesh's own
 * jitter, as with one, and a third fewer mesh runs is ~10 % of a render frame's time on a CPU.
 */
export const LANDMARK_STRIDE = 3;

/**
 * `a` blended towards `b` by `t` (0 → a, 1 → b; the frame that far between them) when the head barely moved
 * between them, else null (track the frame instead).
 */
export function landmarksBetween(a: FaceLandmarks, b: FaceLandmarks, t = 0.5, maxShift = MAX_INTERPOLATED_SHIFT): FaceLandmarks | null {
  const p = a.points;
  const q = b.points;
  if (p.length !== q.length) return null;
  const limit = maxShift * Math.min(interOcularDistance(p), interOcularDistance(q));
  for (const i of STABLE_POINTS) {
    if (Math.hypot(q[3 * i] - p[3 * i], q[3 * i + 1] - p[3 * i + 1]) > limit) return null;
  }
  const points = new Float32Array(p.length);
  for (let k = 0; k < p.length; k++) points[k] = p[k] + (q[k] - p[k]) * t;
  return { points, score: Math.min(a.score, b.score) };
}
