import { describe, expect, it } from 'vitest';
import { CROP_TEMPLATE } from './align.ts';
import {
  CROP_TEMPLATE_MOUTH,
  MOUTH_ANCHOR,
  MOUTH_ANCHOR_MAX,
  MOUTH_ANCHOR_WARMUP,
  MOUTH_ANCHOR_WINDOW,
  MouthAnchor,
  templateTransform,
} from './mouthAnchor.ts';
import type { Affine } from '../types.ts';

const S = 128;
/** A frame twice the crop's scale, shifted: the plain transform halves it. */
const PLAIN: Affine = [0.5, 0, 10, 0, 0.5, -20];

/** 478 landmarks with the mouth corners (61, 291) 30 frame px apart around the frame point (x, y), the lower lip `open` px down. */
function face(x: number, y: number, open = 0): Float32Array {
  const p = new Float32Array(478 * 3);
  p[3 * 61] = x - 15;
  p[3 * 61 + 1] = y + open / 4;
  p[3 * 291] = x + 15;
  p[3 * 291 + 1] = y + open / 4;
  return p;
}

/** Frame point whose plain-crop position is (u, v) in crop units. */
const framePoint = (u: number, v: number): [number, number] => [(u * S - PLAIN[2]) / PLAIN[0], (v * S - PLAIN[5]) / PLAIN[4]];

/** Where `t` puts the frame point (x, y), crop units. */
const inCrop = (t: Affine, x: number, y: number): [number, number] => [(t[0] * x + t[1] * y + t[2]) / S, (t[3] * x + t[4] * y + t[5]) / S];

describe('MouthAnchor', () => {
  // A turned head: its mouth sits 0.045 right of and 0.05 above where the template's faces have it.
  const [mx, my] = framePoint(MOUTH_ANCHOR[0] + 0.045, MOUTH_ANCHOR[1] - 0.05);

  it('puts the person’s usual mouth on the anchor once warmed up, easing in from the plain crop', () => {
    const anchor = new MouthAnchor();
    const placed: [number, number][] = [];
    for (let i = 0; i < 2 * MOUTH_ANCHOR_WARMUP; i++) placed.push(inCrop(templateTransform(CROP_TEMPLATE_MOUTH, PLAIN, face(mx, my), anchor, S), mx, my));
    // First frame: nothing known yet, the plain crop.
    expect(placed[0][0]).toBeCloseTo(MOUTH_ANCHOR[0] + 0.045, 6);
    // Easing in: every step moves the mouth towards the anchor by at most 1/WARMUP of the way (no jump).
    for (let i = 1; i < placed.length; i++) expect(Math.abs(placed[i][1] - placed[i - 1][1])).toBeLessThanOrEqual(0.05 / MOUTH_ANCHOR_WARMUP + 1e-9);
    expect(placed.at(-1)![0]).toBeCloseTo(MOUTH_ANCHOR[0], 6);
    expect(placed.at(-1)![1]).toBeCloseTo(MOUTH_ANCHOR[1], 6);
  });

  it('never reads the frame it crops: a frame’s own mouth opening leaves its crop where it was', () => {
    const a = new MouthAnchor();
    const b = new MouthAnchor();
    for (let i = 0; i < MOUTH_ANCHOR_WARMUP; i++) {
      templateTransform(CROP_TEMPLATE_MOUTH, PLAIN, face(mx, my), a, S);
      templateTransform(CROP_TEMPLATE_MOUTH, PLAIN, face(mx, my), b, S);
    }
    const closed = templateTransform(CROP_TEMPLATE_MOUTH, PLAIN, face(mx, my), a, S);
    const wide = templateTransform(CROP_TEMPLATE_MOUTH, PLAIN, face(mx, my, 40), b, S);
    expect(wide).toEqual(closed);
    // The next frame has seen it: one frame in the mean.
    const after = templateTransform(CROP_TEMPLATE_MOUTH, PLAIN, face(mx, my), b, S);
    expect(after[5]).not.toBe(closed[5]);
  });

  it('leaves the plain template alone, while still keeping the history for a swap to an anchored model', () => {
    const anchor = new MouthAnchor();
    for (let i = 0; i < MOUTH_ANCHOR_WARMUP; i++) expect(templateTransform(CROP_TEMPLATE, PLAIN, face(mx, my), anchor, S)).toEqual(PLAIN);
    expect(anchor.frames).toBe(MOUTH_ANCHOR_WARMUP);
    expect(inCrop(templateTransform(CROP_TEMPLATE_MOUTH, PLAIN, face(mx, my), anchor, S), mx, my)[0]).toBeCloseTo(MOUTH_ANCHOR[0], 6);
  });

  it('follows a new person within its window, caps a wild offset, and starts over on reset', () => {
    const anchor = new MouthAnchor();
    for (let i = 0; i < MOUTH_ANCHOR_WINDOW; i++) anchor.push(face(mx, my), PLAIN, S);
    const [nx, ny] = framePoint(MOUTH_ANCHOR[0] - 0.02, MOUTH_ANCHOR[1] + 0.01);
    for (let i = 0; i < MOUTH_ANCHOR_WINDOW; i++) anchor.push(face(nx, ny), PLAIN, S);
    expect(anchor.offset()[0]).toBeCloseTo(-0.02, 6);
    expect(anchor.offset()[1]).toBeCloseTo(0.01, 6);

    const [fx, fy] = framePoint(MOUTH_ANCHOR[0] + 0.4, MOUTH_ANCHOR[1] - 0.3);
    for (let i = 0; i < MOUTH_ANCHOR_WINDOW; i++) anchor.push(face(fx, fy), PLAIN, S);
    expect(anchor.offset()).toEqual([MOUTH_ANCHOR_MAX, -MOUTH_ANCHOR_MAX]);

    anchor.reset();
    expect(anchor.offset()).toEqual([0, 0]);
    anchor.push(face(Number.NaN, my), PLAIN, S);
    expect(anchor.frames).toBe(0);
  });
});
