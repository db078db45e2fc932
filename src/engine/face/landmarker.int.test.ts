import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RgbaImage } from '../types.ts';
import { applyAffine, estimateCropTransform } from './align.ts';
import { clipPath, readFrames } from '../../node/clipFrames.ts';
import type { FaceLandmarker } from './landmarker.ts';
import { CHIN, LANDMARK_COUNT, NOSE_TIP, interOcularDistance, leftEyeCentre, mouthCentre, mouthOpening, rightEyeCentre } from './meshIndices.ts';
import { createNodeFaceLandmarker } from '../../node/tfNode.ts';

let lm: FaceLandmarker;
beforeAll(async () => {
  lm = await createNodeFaceLandmarker('wasm');
}, 60_000);
afterAll(() => lm?.dispose());

/** Rotates by `deg` about the centre and shifts by (dx, dy); returns the image and its frame→frame map. */
function moved(img: RgbaImage, deg: number, dx: number, dy: number): { image: RgbaImage; map: [number, number, number, number, number, number] } {
  const t = (deg * Math.PI) / 180;
  const c = Math.cos(t),
    s = Math.sin(t);
  const cx = img.width / 2,
    cy = img.height / 2;
  const map: [number, number, number, number, number, number] = [c, -s, cx + dx - c * cx + s * cy, s, c, cy + dy - s * cx - c * cy];
  const out = new Uint8ClampedArray(img.data.length);
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      // inverse map, nearest neighbour, edge clamp
      const ux = x - cx - dx,
        uy = y - cy - dy;
      const sx = Math.min(img.width - 1, Math.max(0, Math.round(c * ux + s * uy + cx)));
      const sy = Math.min(img.height - 1, Math.max(0, Math.round(-s * ux + c * uy + cy)));
      out.set(img.data.subarray((sy * img.width + sx) * 4, (sy * img.width + sx) * 4 + 4), (y * img.width + x) * 4);
    }
  }
  return { image: { width: img.width, height: img.height, data: out }, map };
}

describe('FaceLandmarker on real clips', () => {
  for (const id of ['lrs2_00001', 'styletalk_Obama_clip2', 'mimictalk_May_5s']) {
    it(`finds the face in ${id} with eyes above the mouth`, () => {
      const { frames } = readFrames(clipPath(id), { count: 3, step: 10 });
      expect(frames.length).toBe(3);
      lm.reset();
      frames.forEach((f, i) => {
        const r = lm.detect(f, i * 400);
        expect(r, `frame ${i}`).not.toBeNull();
        expect(r!.points.length).toBe(LANDMARK_COUNT * 3);
        expect(r!.score).toBeGreaterThan(0.5);
        for (let k = 0; k < LANDMARK_COUNT; k++) {
          expect(r!.points[3 * k]).toBeGreaterThan(-0.05 * f.width);
          expect(r!.points[3 * k]).toBeLessThan(1.05 * f.width);
          expect(r!.points[3 * k + 1]).toBeGreaterThan(-0.05 * f.height);
          expect(r!.points[3 * k + 1]).toBeLessThan(1.05 * f.height);
        }
        const [, ry] = rightEyeCentre(r!.points);
        const [, ly] = leftEyeCentre(r!.points);
        const [rx] = rightEyeCentre(r!.points);
        const [lx] = leftEyeCentre(r!.points);
        const [, my] = mouthCentre(r!.points);
        expect(rx).toBeLessThan(lx); // subject's right eye is on the image's left
        expect(Math.max(ry, ly)).toBeLessThan(my);
        expect(r!.points[3 * NOSE_TIP + 1]).toBeLessThan(my);
        expect(r!.points[3 * CHIN + 1]).toBeGreaterThan(my);
        expect(interOcularDistance(r!.points)).toBeGreaterThan(0.15 * f.width);
      });
    }, 30_000);
  }

  it('the crop follows a shifted and rotated copy of the frame', () => {
    const { frames } = readFrames(clipPath('styletalk_Obama_clip2'), { count: 1 });
    const S = 128;
    lm.reset();
    const a = lm.detect(frames[0], 0)!;
    const ta = estimateCropTransform(a, S);
    const { image, map } = moved(frames[0], 12, 17, -9);
    lm.reset();
    const b = lm.detect(image, 0)!;
    expect(b).not.toBeNull();
    const tb = estimateCropTransform(b, S);
    // The same face point must land on the same crop pixel in both crops.
    for (const p of [rightEyeCentre(a.points), leftEyeCentre(a.points), mouthCentre(a.points)]) {
      const [ua, va] = applyAffine(ta, p[0], p[1]);
      const [mx, my] = applyAffine(map, p[0], p[1]);
      const [ub, vb] = applyAffine(tb, mx, my);
      expect(Math.hypot(ua - ub, va - vb)).toBeLessThan(2.5);
    }
  }, 30_000);

  it('mouthOpening separates an open from a closed mouth (the jaw drops with it)', () => {
    const { frames } = readFrames(clipPath('mimictalk_May_5s'), { count: 40, step: 3 });
    lm.reset();
    const rows = frames
      .map((f, i) => lm.detect(f, i * 120))
      .filter((r) => r !== null)
      .map((r) => ({ open: mouthOpening(r!.points), jaw: (r!.points[3 * CHIN + 1] - r!.points[3 * NOSE_TIP + 1]) / interOcularDistance(r!.points) }));
    expect(rows.length).toBeGreaterThan(30);
    rows.sort((x, y) => x.open - y.open);
    const closed = rows.slice(0, 5);
    const open = rows.slice(-5);
    const mean = (xs: number[]) => xs.reduce((s, v) => s + v, 0) / xs.length;
    expect(mean(closed.map((r) => r.open))).toBeLessThan(0.08);
    expect(mean(open.map((r) => r.open))).toBeGreaterThan(mean(closed.map((r) => r.open)) + 0.1);
    // Independent evidence from other points: nose-to-chin distance grows when the mouth opens.
    expect(mean(open.map((r) => r.jaw))).toBeGreaterThan(mean(closed.map((r) => r.jaw)));
  }, 60_000);

  it('reports no face on a blank frame', () => {
    lm.reset();
    const blank: RgbaImage = { width: 256, height: 256, data: new Uint8ClampedArray(256 * 256 * 4).fill(128) };
    expect(lm.detect(blank, 0)).toBeNull();
  });
});
