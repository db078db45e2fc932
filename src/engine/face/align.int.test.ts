import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Affine } from '../types.ts';
import { CROP_TEMPLATE, TransformSmoother, applyAffine, estimateCropTransform, invertAffine } from './align.ts';
import { clipPath, readFrames } from '../../node/clipFrames.ts';
import type { FaceLandmarker } from './landmarker.ts';
import { CHIN, leftEyeCentre, mouthCentre, rightEyeCentre } from './meshIndices.ts';
import { createNodeFaceLandmarker } from '../../node/tfNode.ts';

let lm: FaceLandmarker;
beforeAll(async () => {
  lm = await createNodeFaceLandmarker('wasm');
}, 60_000);
afterAll(() => lm?.dispose());

describe('estimateCropTransform', () => {
  it('has a template id', () => expect(CROP_TEMPLATE).toBe('facemesh-sim-v1'));

  // 160² (LRS2), 256² (StyleTalk), 512² (HDTF-like), plus a non-square clip if present.
  for (const id of ['lrs2_00002', 'styletalk_andrew_clip_1', 'mimictalk_Trump_10s', 'grid_bbaf2n']) {
    it(`puts eyes and mouth at the template positions on ${id}`, () => {
      const { frames } = readFrames(clipPath(id), { count: 2, step: 12 });
      lm.reset();
      for (const S of [128, 256]) {
        for (const [i, f] of frames.entries()) {
          const lmk = lm.detect(f, i * 480)!;
          expect(lmk).not.toBeNull();
          const t = estimateCropTransform(lmk, S);
          const [rx, ry] = applyAffine(t, ...rightEyeCentre(lmk.points));
          const [lx, ly] = applyAffine(t, ...leftEyeCentre(lmk.points));
          const [mx, my] = applyAffine(t, ...mouthCentre(lmk.points));
          const [, cy] = applyAffine(t, lmk.points[3 * CHIN], lmk.points[3 * CHIN + 1]);
          expect(Math.abs((ry + ly) / 2 / S - 0.29)).toBeLessThan(0.05);
          expect(Math.abs((rx + lx) / 2 / S - 0.5)).toBeLessThan(0.05);
          expect(Math.abs(my / S - 0.68)).toBeLessThan(0.06);
          expect(Math.abs(mx / S - 0.5)).toBeLessThan(0.06);
          // the whole mouth and the chin are inside the masked lower half, the chin inside the crop
          expect(my / S).toBeGreaterThan(0.55);
          expect(cy / S).toBeGreaterThan(0.8);
          expect(cy / S).toBeLessThan(1.0);
        }
      }
    }, 30_000);
  }

  it('invertAffine undoes the transform', () => {
    const a: Affine = [0.8, -0.3, 12, 0.3, 0.8, -7];
    const inv = invertAffine(a);
    const [x, y] = applyAffine(inv, ...applyAffine(a, 33, 71));
    expect(x).toBeCloseTo(33, 9);
    expect(y).toBeCloseTo(71, 9);
  });
});

function similarity(scale: number, angle: number, tx: number, ty: number): Affine {
  const c = scale * Math.cos(angle),
    s = scale * Math.sin(angle);
  return [c, -s, tx, s, c, ty];
}

/** Deterministic Gaussian noise (mulberry32 + Box-Muller). */
function noise(seed: number): () => number {
  let a = seed >>> 0;
  const u = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(u() + 1e-12)) * Math.cos(2 * Math.PI * u());
}

describe('TransformSmoother', () => {
  it('removes jitter from a noisy constant transform', () => {
    const rnd = noise(7);
    const sm = new TransformSmoother();
    const raw: Affine[] = [];
    const out: Affine[] = [];
    for (let i = 0; i < 200; i++) {
      const t = similarity(0.5 * (1 + 0.01 * rnd()), 0.01 * rnd(), -40 + 1.0 * rnd(), -30 + 1.0 * rnd());
      raw.push(t);
      out.push(sm.filter(t, i * 40));
    }
    // Frame-to-frame motion of the crop centre (64, 64) mapped back to the frame.
    const jitter = (ts: Affine[]) => {
      let s = 0;
      for (let i = 51; i < ts.length; i++) {
        const [x0, y0] = applyAffine(invertAffine(ts[i - 1]), 64, 64);
        const [x1, y1] = applyAffine(invertAffine(ts[i]), 64, 64);
        s += (x1 - x0) ** 2 + (y1 - y0) ** 2;
      }
      return s / (ts.length - 51);
    };
    expect(jitter(out)).toBeLessThan(jitter(raw) * 0.25);
  });

  it('follows a head move within a few frames', () => {
    const sm = new TransformSmoother();
    const before = similarity(0.5, 0, -40, -30);
    const after = similarity(0.55, 0.1, -60, -20); // moved, turned, closer
    for (let i = 0; i < 20; i++) sm.filter(before, i * 40);
    let reachedAt = -1;
    for (let i = 0; i < 20; i++) {
      const t = sm.filter(after, (20 + i) * 40);
      const [x, y] = applyAffine(invertAffine(t), 64, 64);
      const [xa, ya] = applyAffine(invertAffine(after), 64, 64);
      const [xb, yb] = applyAffine(invertAffine(before), 64, 64);
      const err = Math.hypot(x - xa, y - ya) / Math.hypot(xb - xa, yb - ya);
      if (err < 0.1 && reachedAt < 0) reachedAt = i;
    }
    expect(reachedAt).toBeGreaterThanOrEqual(0);
    expect(reachedAt).toBeLessThanOrEqual(6);
  });

  it('returns the raw transform after reset', () => {
    const sm = new TransformSmoother();
    sm.filter(similarity(0.5, 0, 0, 0), 0);
    sm.reset();
    const t = similarity(0.7, 0.2, 5, 6);
    expect(sm.filter(t, 40)).toEqual(t);
  });
});
