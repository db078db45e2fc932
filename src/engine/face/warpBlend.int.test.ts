import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyAffine, estimateCropTransform, invertAffine } from './align.ts';
import { convexHull, pasteRegionWeights, pasteBack, pasteMaskWeight, pasteTopRow } from './blend.ts';
import { mouthCentre, OUTER_LIPS } from './meshIndices.ts';
import { clipPath, readFrames } from '../../node/clipFrames.ts';
import type { FaceLandmarker } from './landmarker.ts';
import { maskLower, maskStartRow, planarToRgba, warpToCrop, warpToCropU8 } from './warp.ts';
import { createNodeFaceLandmarker } from '../../node/tfNode.ts';

let lm: FaceLandmarker;
beforeAll(async () => {
  lm = await createNodeFaceLandmarker('wasm');
}, 60_000);
afterAll(() => lm?.dispose());

const RANGE: [number, number] = [-1, 1];
const S = 128;

/** The first frame of a shared clip, its landmarks and its S×S crop transform. */
function firstFrameFace(id: string) {
  const frame = readFrames(clipPath(id), { count: 1 }).frames[0];
  lm.reset();
  const landmarks = lm.detect(frame, 0)!;
  return { frame, landmarks, t: estimateCropTransform(landmarks, S) };
}

describe('warp and paste-back on real frames', () => {
  for (const id of ['lrs2_00001', 'styletalk_Obama_clip2', 'mimictalk_May_5s']) {
    it(`pasting the crop back into ${id} leaves the frame nearly unchanged, outside the mask byte-identical`, () => {
      const { frame, t } = firstFrameFace(id);
      const crop = warpToCrop(frame, t, S, RANGE);
      const copy = { ...frame, data: new Uint8ClampedArray(frame.data) };
      pasteBack(copy, crop, t, { range: RANGE, maskRatio: 0.5 });
      let diff = 0;
      let changedOutside = 0;
      let inside = 0;
      const y0 = maskStartRow(S, 0.5);
      for (let y = 0; y < frame.height; y++) {
        for (let x = 0; x < frame.width; x++) {
          const p = (y * frame.width + x) * 4;
          for (let c = 0; c < 4; c++) diff += Math.abs(copy.data[p + c] - frame.data[p + c]);
          const [u, v] = applyAffine(t, x, y);
          const w = u >= 0 && v >= 0 && u <= S - 1 && v <= S - 1 ? pasteMaskWeight(u, v, S, y0, 0.08 * S) : 0;
          if (w > 0) inside++;
          else for (let c = 0; c < 4; c++) if (copy.data[p + c] !== frame.data[p + c]) changedOutside++;
        }
      }
      expect(inside).toBeGreaterThan(100); // the mask really covers part of the frame
      expect(changedOutside).toBe(0);
      expect(diff / frame.data.length).toBeLessThan(2);
    }, 30_000);
  }

  it('the generated lower face is what appears in the frame', () => {
    const { frame, landmarks: lmk, t } = firstFrameFace('styletalk_Obama_clip2');
    const crop = warpToCrop(frame, t, S, RANGE);
    const white = { size: S, data: new Float32Array(crop.data.length).fill(1) };
    const copy = { ...frame, data: new Uint8ClampedArray(frame.data) };
    pasteBack(copy, white, t, { range: RANGE, maskRatio: 0.5 });
    // The mouth centre is deep inside the mask: it must now be white; the eyes must be untouched.
    const at = (x: number, y: number) => (Math.round(y) * frame.width + Math.round(x)) * 4;
    const mouth = at(lmk.points[3 * 13], lmk.points[3 * 13 + 1]);
    expect([copy.data[mouth], copy.data[mouth + 1], copy.data[mouth + 2]]).toEqual([255, 255, 255]);
    const eye = at(lmk.points[3 * 468], lmk.points[3 * 468 + 1]);
    expect(copy.data.subarray(eye, eye + 4)).toEqual(frame.data.subarray(eye, eye + 4));
  }, 30_000);

  it('warpToCropU8 and warpToCrop sample the same pixels; planarToRgba inverts the range mapping', () => {
    const { frames } = readFrames(clipPath('lrs2_00001'), { count: 1 });
    const t: [number, number, number, number, number, number] = [0.9, 0.1, -5, -0.1, 0.9, 8];
    const f = warpToCrop(frames[0], t, 64, [0, 1]);
    const u8 = warpToCropU8(frames[0], t, 64);
    const rgba = planarToRgba(f, [0, 1]);
    let maxd = 0;
    for (let i = 0; i < 64 * 64; i++) {
      for (let c = 0; c < 3; c++) {
        maxd = Math.max(maxd, Math.abs(u8[3 * i + c] - f.data[c * 64 * 64 + i] * 255), Math.abs(rgba.data[4 * i + c] - u8[3 * i + c]));
      }
    }
    expect(maxd).toBeLessThanOrEqual(1);
  });

  it('maskLower fills exactly the lower rows', () => {
    const S = 10;
    const crop = { size: S, data: new Float32Array(3 * S * S).fill(0.25) };
    const m = maskLower(crop, 0.5, -1);
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < S; y++) expect(m.data[c * S * S + y * S + 3]).toBe(y >= 5 ? -1 : 0.25);
    }
    expect(crop.data[99]).toBe(0.25); // input untouched
  });
});

describe('face-region paste (only the face is replaced)', () => {
  it('the convex hull keeps the outline and drops inner points', () => {
    const hull = convexHull(new Float64Array([0, 0, 4, 0, 4, 4, 0, 4, 2, 2, 2, 0]));
    expect(hull.length / 2).toBe(4);
    let area = 0;
    for (let k = 0; k < hull.length; k += 2) area += hull[k] * hull[(k + 3) % hull.length] - hull[k + 1] * hull[(k + 2) % hull.length];
    expect(area / 2).toBe(16);
  });

  it('on a turned head (lrs2_00024) the background beside the face keeps its pixels and the mouth is replaced', () => {
    const { frame, landmarks, t } = firstFrameFace('lrs2_00024');
    const region = pasteRegionWeights(landmarks.points, t, S, { area: 'face' });
    // A flat grey "generated" crop makes every replaced pixel visible.
    const grey = { size: S, data: new Float32Array(3 * S * S) };
    const copy = { ...frame, data: new Uint8ClampedArray(frame.data) };
    pasteBack(copy, grey, t, { range: RANGE, maskRatio: 0.5, region });
    const red = (img: Uint8ClampedArray, x: number, y: number) => img[(Math.round(y) * frame.width + Math.round(x)) * 4];
    // The mouth centre is fully replaced (grey = 127.5).
    const [mx, my] = mouthCentre(landmarks.points);
    expect(red(copy.data, mx, my)).toBeGreaterThanOrEqual(127);
    expect(red(copy.data, mx, my)).toBeLessThanOrEqual(128);
    // Every outer-lip point, including the far corner at the silhouette, is fully generated.
    for (const i of OUTER_LIPS) {
      const [u, v] = applyAffine(t, landmarks.points[3 * i], landmarks.points[3 * i + 1]);
      expect(region[Math.round(v) * S + Math.round(u)]).toBeGreaterThan(0.99);
    }
    // Crop pixels of the lower half outside the silhouette (background beside the cheek) are not written.
    let outside = 0;
    let outsideChanged = 0;
    const inv = invertAffine(t);
    for (let v = S / 2 + 8; v < S - 2; v += 2) {
      for (let u = 2; u < S - 2; u += 2) {
        if (region[v * S + u] > 0) continue;
        const [x, y] = applyAffine(inv, u, v);
        if (x < 0 || y < 0 || x > frame.width - 1 || y > frame.height - 1) continue;
        outside++;
        if (red(copy.data, x, y) !== red(frame.data, x, y)) outsideChanged++;
      }
    }
    expect(outside).toBeGreaterThan(200); // the head is turned: much of the crop's lower half is background
    expect(outsideChanged).toBe(0);
  });

  it('by default only the skin speech moves is replaced: lips and chin, not the cheeks beside the jaw (Obama)', () => {
    const { frame, landmarks, t } = firstFrameFace('styletalk_Obama_clip2');
    const mouth = pasteRegionWeights(landmarks.points, t, S);
    const face = pasteRegionWeights(landmarks.points, t, S, { area: 'face' });
    const at = (w: Float32Array, u: number, v: number) => w[Math.round(v) * S + Math.round(u)];
    const crop = (i: number) => applyAffine(t, landmarks.points[3 * i], landmarks.points[3 * i + 1]);
    // Never outside the face's silhouette.
    for (let k = 0; k < S * S; k++) expect(mouth[k]).toBeLessThanOrEqual(face[k] + 1e-6);
    // Lips and the chin are fully generated in both.
    for (const i of [...OUTER_LIPS, 152]) {
      const [u, v] = crop(i);
      expect(at(mouth, u, v)).toBeGreaterThan(0.99);
    }
    // Between that area and the face's silhouette (the cheeks beside the jaw) the whole-face paste replaced the
    // skin; by default it keeps the camera's pixels.
    const grey = { size: S, data: new Float32Array(3 * S * S) };
    const pasted = { ...frame, data: new Uint8ClampedArray(frame.data) };
    pasteBack(pasted, grey, t, { range: RANGE, maskRatio: 0.5, region: mouth });
    const inv = invertAffine(t);
    let cheek = 0;
    for (let v = S / 2 + 2; v < S - 2; v += 2) {
      for (let u = 2; u < S - 2; u += 2) {
        if (!(face[v * S + u] > 0.99 && mouth[v * S + u] === 0)) continue;
        cheek++;
        const [x, y] = applyAffine(inv, u, v);
        const p = (Math.round(y) * frame.width + Math.round(x)) * 4;
        expect([...pasted.data.subarray(p, p + 3)]).toEqual([...frame.data.subarray(p, p + 3)]);
      }
    }
    expect(cheek).toBeGreaterThan(80); // sampled every 2 px: > 320 crop pixels of cheek (121 samples here)
    // A smaller share of the lower half is replaced, but still a mouth's worth of it.
    const lowerShare = (w: Float32Array) => w.subarray((S / 2) * S).reduce((a, b) => a + b, 0) / ((S * S) / 2);
    expect(lowerShare(mouth)).toBeLessThan(0.8 * lowerShare(face));
    expect(lowerShare(mouth)).toBeGreaterThan(0.2);
  });

  it('rows the paste never reaches are skipped; the rows it reads are unchanged', () => {
    const { landmarks, t } = firstFrameFace('lrs2_00024');
    const top = pasteTopRow(S, 0.5);
    expect(top).toBe(58); // mask line 64, soft edge 0.08·128 ≈ 10 px centred on it
    const full = pasteRegionWeights(landmarks.points, t, S, { area: 'face' });
    const lower = pasteRegionWeights(landmarks.points, t, S, { area: 'face', fromRow: top });
    expect(lower.subarray(top * S)).toEqual(full.subarray(top * S));
    expect(lower.subarray(0, top * S).every((w) => w === 0)).toBe(true);
    expect(full.subarray(0, top * S).some((w) => w > 0)).toBe(true); // the face does reach above it
  });

  it('landmarks that are not a Face Mesh (too few, or not finite) are refused, not pasted as black', () => {
    const { landmarks, t } = firstFrameFace('lrs2_00024');
    expect(() => pasteRegionWeights(landmarks.points.subarray(0, 468 * 3), t, S)).toThrow(/478 Face Mesh landmarks/);
    const bad = new Float32Array(landmarks.points);
    bad[3 * 152 + 1] = NaN; // the chin
    expect(() => pasteRegionWeights(bad, t, S)).toThrow(/landmark 152 is not a finite position/);
    expect(() => pasteRegionWeights(landmarks.points, t, S, { area: 'lips' as never })).toThrow(/Unknown paste area "lips"/);
  });

  it('a wrong-sized region is refused', () => {
    const frame = { width: 4, height: 4, data: new Uint8ClampedArray(64) };
    expect(() =>
      pasteBack(frame, { size: 8, data: new Float32Array(192) }, [1, 0, 0, 0, 1, 0], { range: RANGE, maskRatio: 0.5, region: new Float32Array(10) }),
    ).toThrow(/8×8 weights/);
  });
});
