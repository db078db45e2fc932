import { describe, expect, it } from 'vitest';
import { OUTER_LIPS, INNER_LIPS } from './meshIndices.ts';
import { pasteBack } from './blend.ts';
import {
  MouthPlacement,
  NO_SHIFT,
  PLACEMENT_EVERY,
  PLACEMENT_POINTS,
  PLACEMENT_GAP,
  PLACEMENT_MAX,
  PLACEMENT_MIN_READS,
  PLACEMENT_WINDOW,
} from './mouthPlacement.ts';
import type { Affine, PlanarImage, RgbaImage } from '../types.ts';

const S = 128;
/** Frame pixels are twice crop pixels. */
const FRAME_TO_CROP: Affine = [0.5, 0, 0, 0, 0.5, 0];

/** A face whose lip points all sit at frame (x, y) plus a small spread, `open` px lower for the lower lip. */
function lips(x: number, y: number, open = 0): Float32Array {
  const p = new Float32Array(478 * 3);
  [...OUTER_LIPS, ...INNER_LIPS].forEach((i, k) => {
    p[3 * i] = x + (k % 10) * 4;
    p[3 * i + 1] = y + (k % 2) * open;
  });
  return p;
}

/**
 * Runs a live loop: each frame is pasted with the placement's shift, and every wanted output is read where a generator
 * drawing the mouth `drawn` crop px off the real one, moved by the shift, would be. Returns the shifts handed out.
 */
function loop(placement: MouthPlacement, frames: number, drawn: [number, number], readDelay = 0, from = 0): (readonly [number, number])[] {
  const real = lips(200, 300);
  const shifts: (readonly [number, number])[] = [];
  const pending: { t: number; out: Float32Array }[] = [];
  for (let t = from; t < from + frames; t++) {
    const s = placement.shiftFor(t);
    shifts.push(s);
    if (placement.wants(t)) {
      // Output mouth in frame px: real + (drawn + shift·S) crop px, ×2 frame px per crop px.
      const out = lips(200 + 2 * (drawn[0] + s[0] * S), 300 + 2 * (drawn[1] + s[1] * S));
      pending.push({ t, out });
    }
    while (pending.length && pending[0].t <= t - readDelay) {
      const p = pending.shift()!;
      placement.observe(p.t, p.out, real, FRAME_TO_CROP, S);
    }
  }
  return shifts;
}

describe('MouthPlacement', () => {
  it('moves a mouth the generator draws 5 px right and 3 px low back onto the person’s, and stays there', () => {
    const shifts = loop(new MouthPlacement(), 120, [5, 3]);
    const [sx, sy] = shifts.at(-1)!;
    expect(sx * S).toBeCloseTo(-5, 6);
    expect(sy * S).toBeCloseTo(-3, 6);
    // Steady: the readings undo the shift they were pasted with, so the loop does not ring.
    for (const s of shifts.slice(60)) expect(s[0] * S).toBeCloseTo(-5, 6);
  });

  it('never uses frame t’s own neighbourhood, and waits for enough readings', () => {
    const placement = new MouthPlacement();
    const shifts = loop(placement, 60, [5, 0]);
    // The first reading (frame 0) may count from frame GAP on; MIN_READS readings are needed.
    const firstMoved = shifts.findIndex((s) => s[0] !== 0);
    expect(firstMoved).toBe((PLACEMENT_MIN_READS - 1) * PLACEMENT_EVERY + PLACEMENT_GAP);
    // A reading of frame t itself changes nothing about t or the frames up to t + GAP − 1.
    const p = new MouthPlacement();
    for (let t = 0; t < 40; t += PLACEMENT_EVERY) p.observe(t, lips(210, 300), lips(200, 300), FRAME_TO_CROP, S);
    const before = p.shiftFor(44);
    p.observe(44, lips(300, 300), lips(200, 300), FRAME_TO_CROP, S);
    for (let t = 44; t < 44 + PLACEMENT_GAP; t++) expect(p.shiftFor(t)).toEqual(before);
    expect(p.shiftFor(44 + PLACEMENT_GAP)[0]).not.toBeCloseTo(before[0], 3);
  });

  it('follows a head that turns within about a window, with readings that arrive late', () => {
    const placement = new MouthPlacement();
    loop(placement, 100, [6, 0], 2);
    // The same session goes on with the generator now drawing the mouth 6 px left.
    const shifts = loop(placement, PLACEMENT_GAP + PLACEMENT_WINDOW + 2 * PLACEMENT_EVERY, [-6, 0], 2, 100);
    expect(shifts[0][0] * S).toBeCloseTo(-6, 6);
    expect(shifts.at(-1)![0] * S).toBeCloseTo(6, 6);
  });

  it('caps the shift, and a reset forgets the person', () => {
    const placement = new MouthPlacement();
    const shifts = loop(placement, 80, [40, 0]);
    expect(shifts.at(-1)![0]).toBeCloseTo(-PLACEMENT_MAX, 9);
    placement.reset();
    expect(placement.shiftFor(81)).toEqual(NO_SHIFT);
  });

  it('an output that opens wider than the camera’s mouth (other audio, a still photo) is not read as a misplaced mouth', () => {
    const placement = new MouthPlacement();
    const open = (p: Float32Array, px: number) => {
      const q = new Float32Array(p);
      // The lower lip (every lip point not read for the place) drops with the jaw.
      for (const i of [...OUTER_LIPS, ...INNER_LIPS]) if (!PLACEMENT_POINTS.includes(i)) q[3 * i + 1] += px;
      return q;
    };
    for (let t = 0; t < 24; t += PLACEMENT_EVERY) placement.observe(t, open(lips(200, 300), 16), lips(200, 300), FRAME_TO_CROP, S);
    expect(Math.hypot(...placement.shiftFor(30))).toBe(0);
    // While the upper lip drawn 4 frame px (2 crop px) low is.
    for (let t = 32; t < 56; t += PLACEMENT_EVERY) placement.observe(t, open(lips(200, 304), 16), lips(200, 300), FRAME_TO_CROP, S);
    expect(placement.shiftFor(62)[1] * S).toBeCloseTo(-2, 6);
  });
});

describe('pasteBack with a shift', () => {
  it('draws the generated content moved by the shift while the paste area stays put', () => {
    const size = 32;
    const image: RgbaImage = { width: size, height: size, data: new Uint8ClampedArray(size * size * 4).fill(0) };
    // A generated crop with one bright column at u = 10 in the lower half.
    const gen: PlanarImage = { size, data: new Float32Array(3 * size * size) };
    for (let c = 0; c < 3; c++) for (let v = 0; v < size; v++) gen.data[c * size * size + v * size + 10] = 1;
    const identity: Affine = [1, 0, 0, 0, 1, 0];
    const brightColumn = (img: RgbaImage, row: number) => {
      let best = -1;
      for (let x = 0; x < size; x++) if (img.data[(row * size + x) * 4] > 128 && best < 0) best = x;
      return best;
    };
    const plain = { width: size, height: size, data: new Uint8ClampedArray(image.data) };
    pasteBack(plain, gen, identity, { range: [0, 1], maskRatio: 0.5, shift: NO_SHIFT });
    pasteBack(image, gen, identity, { range: [0, 1], maskRatio: 0.5, shift: [3 / size, 0] });
    expect(brightColumn(plain, 28)).toBe(10);
    expect(brightColumn(image, 28)).toBe(13);
    // The upper half is never painted, shifted or not.
    expect(image.data.subarray(0, (size / 4) * size * 4).every((v) => v === 0)).toBe(true);
  });
});
