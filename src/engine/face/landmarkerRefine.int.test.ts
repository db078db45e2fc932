import { describe, expect, it } from 'vitest';
import { clipPath, readFrames } from '../../node/clipFrames.ts';
import { createNodeFaceLandmarker } from '../../node/tfNode.ts';
import { applyAffine, estimateCropTransform, invertAffine } from './align.ts';
import { interOcularDistance, MOUTH_CORNERS, point } from './meshIndices.ts';
import type { Affine, FaceLandmarks } from '../types.ts';
import { DEFAULT_AUGMENT } from '../training/augment.ts';

const S = 128;
/** Where the crop's corners and centre land in the frame, in crop pixels of `a`: how far two crops differ. */
function cropShift(a: Affine, b: Affine): number {
  const backB = invertAffine(b);
  let worst = 0;
  for (const [u, v] of [
    [0, 0],
    [S, 0],
    [0, S],
    [S, S],
    [S / 2, S / 2],
  ]) {
    const [xb, yb] = applyAffine(backB, u, v);
    const [ua, va] = applyAffine(a, xb, yb);
    worst = Math.max(worst, Math.hypot(ua - u, va - v));
  }
  return worst;
}

/** Mean frame-to-frame wobble of the crop (second difference of its corners), crop pixels. */
function cropJitter(ts: Affine[]): number {
  const out: number[] = [];
  for (let i = 1; i + 1 < ts.length; i++) {
    const [x0, y0] = applyAffine(invertAffine(ts[i - 1]), 0, S);
    const [x1, y1] = applyAffine(invertAffine(ts[i]), 0, S);
    const [x2, y2] = applyAffine(invertAffine(ts[i + 1]), 0, S);
    const [u, v] = applyAffine(ts[i], x0 + x2 - x1, y0 + y2 - y1);
    out.push(Math.hypot(u - 0, v - S));
  }
  return out.reduce((a, b) => a + b, 0) / out.length;
}

// Facing the camera, as in a call (the live path's case), studio and webcam-like light, 288p to 512² faces. On turned,
// low-resolution heads (lrs2_00024) the two meshes part more (crop 5 px apart at 128², both jitter 3.5 px): there the
// refined mesh is better (eval LMD 0.145 vs 0.160), which is why a GPU keeps it.
const CLIPS = ['sadtalker_WDA_BobMenendez_000', 'grid_sbwe5n', 'vretalk_4', 'spectre_mead_W015'];

describe('FaceLandmarker refineLandmarks: false (the live path’s plain mesh)', () => {
  it('gives the same crop and paste mask as the refined mesh on real clips, and does not wobble more', async () => {
    const refined = await createNodeFaceLandmarker('wasm');
    const plain = await createNodeFaceLandmarker('wasm', { refineLandmarks: false });
    try {
      const rows: string[] = [];
      const shifts: number[] = [];
      const stats: { id: string; maxShift: number; corners: number; jitterRefined: number; jitterPlain: number }[] = [];
      for (const id of CLIPS) {
        const { frames } = readFrames(clipPath(id), { count: 40 });
        refined.reset();
        plain.reset();
        const r: FaceLandmarks[] = [];
        const p: FaceLandmarks[] = [];
        let msR = 0;
        let msP = 0;
        for (const [i, f] of frames.entries()) {
          let t0 = performance.now();
          const a = refined.detect(f, i * 40);
          msR += performance.now() - t0;
          t0 = performance.now();
          const b = plain.detect(f, i * 40);
          msP += performance.now() - t0;
          expect(a && b, `${id} frame ${i}: both find the face`).toBeTruthy();
          r.push(a!);
          p.push(b!);
        }
        const tr = r.map((l) => estimateCropTransform(l, S));
        const tp = p.map((l) => estimateCropTransform(l, S));
        const shift = tr.map((t, i) => cropShift(t, tp[i]));
        const corners = r.map(
          (l, i) =>
            Math.max(
              ...MOUTH_CORNERS.map((k) => Math.hypot(point(l.points, k)[0] - point(p[i].points, k)[0], point(l.points, k)[1] - point(p[i].points, k)[1])),
            ) / interOcularDistance(l.points),
        );
        const mean = (v: number[]) => v.reduce((x, y) => x + y, 0) / v.length;
        shifts.push(mean(shift));
        rows.push(
          `${id}: crop shift mean ${mean(shift).toFixed(2)} px (max ${Math.max(...shift).toFixed(2)}) at ${S}²; mouth corners ${(100 * mean(corners)).toFixed(1)} % of the eye distance; ` +
            `jitter refined ${cropJitter(tr).toFixed(2)} / plain ${cropJitter(tp).toFixed(2)} px; ms/frame refined ${(msR / frames.length).toFixed(1)} / plain ${(msP / frames.length).toFixed(1)}`,
        );
        stats.push({ id, maxShift: Math.max(...shift), corners: mean(corners), jitterRefined: cropJitter(tr), jitterPlain: cropJitter(tp) });
      }
      console.log(rows.join('\n'));
      for (const c of stats) {
        // The two meshes place the crop a little differently (up to ~3 % of the eye distance per point, varying with
        // pose), always within the shift the generator is trained to tolerate (the contract's augmentation).
        expect(c.maxShift, c.id).toBeLessThan(DEFAULT_AUGMENT.shift * S);
        // The paste mask's mouth corners agree within a few % of the eye distance.
        expect(c.corners, c.id).toBeLessThan(0.05);
      }
      expect(shifts.reduce((a, b) => a + b, 0) / shifts.length).toBeLessThan(0.6 * DEFAULT_AUGMENT.shift * S);
      // A crop that wobbles more would show as a shimmering mouth. Raw (before the pipeline's smoothing) the plain mesh
      // wobbles 1.25× as much here (2.7 vs 3.4 px summed); after smoothing, the eval's jitter on the frontal clips is the same or lower (2.39 vs 2.45).
      const total = (k: 'jitterRefined' | 'jitterPlain') => stats.reduce((a, c) => a + c[k], 0);
      expect(total('jitterPlain')).toBeLessThan(1.35 * total('jitterRefined'));
    } finally {
      refined.dispose();
      plain.dispose();
    }
  }, 300_000);
});
