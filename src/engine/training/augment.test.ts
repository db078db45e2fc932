import { describe, expect, it } from 'vitest';
import { mulberry32 } from './rng.ts';
import contract from '../contract.json' with { type: 'json' };
import {
  CropWarper,
  DEFAULT_AUGMENT,
  IDENTITY_AFFINE,
  augmentFromContract,
  drawAugment,
  resolveAugment,
  warpLandmarks,
  type Affine,
  type ColourJitter,
} from './augment.ts';
import { LANDMARK_COUNT } from '../face/meshIndices.ts';
import { mouthWeightMap } from './losses.ts';

const S = 64;
const NO_COLOUR: ColourJitter = { brightness: 0, contrast: 1, gain: [1, 1, 1] };
const ZERO = resolveAugment({ shift: 0, scale: 0, refShift: 0, refScale: 0, brightness: 0, contrast: 0, gain: 0, flip: 0 });

function noiseCrop(seed: number, size = S): Uint8Array {
  const rng = mulberry32(seed);
  return Uint8Array.from({ length: size * size * 3 }, () => Math.floor(rng() * 256));
}

function flatCrop(rgb: [number, number, number], size = S): Uint8Array {
  const out = new Uint8Array(size * size * 3);
  for (let i = 0; i < size * size; i++) out.set(rgb, 3 * i);
  return out;
}

/** The un-augmented conversion fineTune uses for validation: interleaved u8 → planar in [lo, hi]. */
function plainPlanar(src: Uint8Array, size: number, [lo, hi]: [number, number]): Float32Array {
  const plane = size * size;
  const out = new Float32Array(3 * plane);
  const k = (hi - lo) / 255;
  for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) out[c * plane + i] = src[3 * i + c] * k + lo;
  return out;
}

function warp(src: Uint8Array, affine: Affine, colour = NO_COLOUR, range: [number, number] = [0, 1], size = S, flip = false): Float32Array {
  const out = new Float32Array(3 * size * size);
  new CropWarper(size).warp(src, affine, colour, range, out, flip);
  return out;
}

/** Intensity-weighted centroid of channel 0 in continuous crop coordinates (pixel centres at i + 0.5). */
function centroid(planar: Float32Array, size: number): [number, number] {
  let sx = 0,
    sy = 0,
    sw = 0;
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const w = planar[y * size + x];
      sx += w * (x + 0.5);
      sy += w * (y + 0.5);
      sw += w;
    }
  return [sx / sw, sy / sw];
}

describe('augment settings and draws', () => {
  it('defaults come from the contract file (the offline trainer reads the same; tools/train/augmentParity.int.test.ts)', () => {
    expect({ ...DEFAULT_AUGMENT }).toEqual(augmentFromContract(contract));
    expect(DEFAULT_AUGMENT.flip).toBeGreaterThan(0);
    expect(augmentFromContract({ augment: { ...contract.augment, flip: 0.25, gain: 0.1 } })).toEqual({ ...DEFAULT_AUGMENT, flip: 0.25, gain: 0.1 });
    expect(resolveAugment({ shift: 0.1 })).toEqual({ ...DEFAULT_AUGMENT, shift: 0.1 });
    expect(() => resolveAugment({ gain: -0.1 })).toThrow(/augment\.gain/);
    expect(() => resolveAugment({ scale: Number.NaN })).toThrow(/augment\.scale/);
    expect(() => resolveAugment({ refScale: 1 })).toThrow(/zoom/);
    expect(() => resolveAugment({ flip: 1.5 })).toThrow(/augment\.flip/);
  });

  it('flips about as often as asked, and never or always at 0 and 1', () => {
    const count = (flip: number) => {
      const rng = mulberry32(17);
      let n = 0;
      for (let i = 0; i < 2000; i++) if (drawAugment(rng, resolveAugment({ flip })).flip) n++;
      return n;
    };
    expect(count(0)).toBe(0);
    expect(count(1)).toBe(2000);
    expect(count(0.5)).toBeGreaterThan(900);
    expect(count(0.5)).toBeLessThan(1100);
  });

  it('zero-strength settings draw the identity', () => {
    const a = drawAugment(mulberry32(3), ZERO);
    // (±0: a zero range may give −0, which is still exactly zero.)
    for (const t of [a.target, a.reference]) expect([t.scale, t.tx === 0, t.ty === 0]).toEqual([1, true, true]);
    expect([a.colour.brightness === 0, a.colour.contrast, ...a.colour.gain]).toEqual([true, 1, 1, 1, 1]);
  });

  it('draws stay within the configured ranges and cover them', () => {
    const rng = mulberry32(11);
    const d = DEFAULT_AUGMENT;
    let maxShift = 0,
      maxZoom = 0,
      maxRefShift = 0,
      maxBright = 0;
    for (let i = 0; i < 2000; i++) {
      const a = drawAugment(rng, d);
      for (const t of [a.target.tx, a.target.ty]) expect(Math.abs(t)).toBeLessThanOrEqual(2 * d.shift);
      for (const t of [a.reference.tx, a.reference.ty]) expect(Math.abs(t)).toBeLessThanOrEqual(2 * d.refShift);
      expect(Math.abs(a.target.scale - 1)).toBeLessThanOrEqual(d.scale);
      expect(Math.abs(a.reference.scale - 1)).toBeLessThanOrEqual(d.refScale);
      expect(Math.abs(a.colour.brightness)).toBeLessThanOrEqual(d.brightness);
      expect(Math.abs(a.colour.contrast - 1)).toBeLessThanOrEqual(d.contrast);
      for (const g of a.colour.gain) expect(Math.abs(g - 1)).toBeLessThanOrEqual(d.gain);
      maxShift = Math.max(maxShift, Math.abs(a.target.tx));
      maxRefShift = Math.max(maxRefShift, Math.abs(a.reference.tx));
      maxZoom = Math.max(maxZoom, Math.abs(a.target.scale - 1));
      maxBright = Math.max(maxBright, Math.abs(a.colour.brightness));
    }
    expect(maxShift).toBeGreaterThan(2 * d.shift * 0.95);
    expect(maxRefShift).toBeGreaterThan(2 * d.refShift * 0.95);
    expect(maxRefShift).toBeLessThan(maxShift); // the reference gets the smaller warp
    expect(maxZoom).toBeGreaterThan(d.scale * 0.95);
    expect(maxBright).toBeGreaterThan(d.brightness * 0.95);
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const run = (seed: number) => {
      const rng = mulberry32(seed);
      return Array.from({ length: 4 }, () => drawAugment(rng, DEFAULT_AUGMENT));
    };
    expect(run(5)).toEqual(run(5));
    expect(run(6)).not.toEqual(run(5));
    const src = noiseCrop(1);
    const a5 = run(5)[0],
      a6 = run(6)[0];
    expect(warp(src, a5.target, a5.colour)).toEqual(warp(src, run(5)[0].target, run(5)[0].colour));
    expect(warp(src, a6.target, a6.colour)).not.toEqual(warp(src, a5.target, a5.colour));
  });
});

describe('CropWarper', () => {
  it('identity warp and colour reproduce the plain conversion exactly, in any imageRange', () => {
    const src = noiseCrop(2);
    for (const range of [
      [0, 1],
      [-1, 1],
      [0, 255],
    ] as [number, number][]) {
      expect(warp(src, IDENTITY_AFFINE, NO_COLOUR, range)).toEqual(plainPlanar(src, S, range));
      const a = drawAugment(mulberry32(9), ZERO);
      expect(warp(src, a.target, a.colour, range)).toEqual(plainPlanar(src, S, range));
    }
  });

  it('a flip mirrors the warped image left-right, and the landmarks with it', () => {
    const src = noiseCrop(5);
    const a = drawAugment(mulberry32(8), DEFAULT_AUGMENT);
    const plain = warp(src, a.target, a.colour);
    const mirrored = warp(src, a.target, a.colour, [0, 1], S, true);
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) expect(mirrored[c * S * S + y * S + x]).toBe(plain[c * S * S + y * S + S - 1 - x]);
    // A bright dot and its landmark land on the same pixel after a flip.
    const dot = new Uint8Array(S * S * 3);
    dot[3 * (20 * S + 10)] = 255;
    const lm = warpLandmarks(new Float32Array([10.5, 20.5, 0]), S, IDENTITY_AFFINE, undefined, true);
    const out = warp(dot, IDENTITY_AFFINE, NO_COLOUR, [0, 1], S, true);
    expect(out[20 * S + (S - 1 - 10)]).toBe(1);
    expect([lm[0], lm[1]]).toEqual([S - 1 - 10 + 0.5, 20.5]);
  });

  it('a known shift moves a feature by the expected pixels', () => {
    // A bright vertical line at column 30 and a horizontal one at row 20.
    const src = new Uint8Array(S * S * 3);
    for (let i = 0; i < S; i++) {
      src[3 * (i * S + 30)] = 255;
      src[3 * (20 * S + i) + 1] = 255;
    }
    // tx = 2·4/S samples 4 px to the right, so the content moves 4 px left; ty likewise 6 px up.
    const out = warp(src, { scale: 1, tx: (2 * 4) / S, ty: (2 * 6) / S });
    const plane = S * S;
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        expect(out[y * S + x]).toBe(x === 26 ? 1 : 0);
        expect(out[plane + y * S + x]).toBe(y === 14 ? 1 : 0);
      }
    }
  });

  it('border clamp: a shift repeats the edge pixels instead of pulling in black', () => {
    const src = flatCrop([200, 100, 50]);
    for (let x = 0; x < S; x++) src[3 * ((S - 1) * S + x)] = 10; // last row different
    const out = warp(src, { scale: 1, tx: 0, ty: (2 * 3) / S }); // content moves 3 px up
    for (let y = S - 4; y < S; y++) for (let x = 0; x < S; x++) expect(out[y * S + x]).toBeCloseTo(10 / 255, 6);
    expect(out[(S - 5) * S]).toBeCloseTo(200 / 255, 6);
  });

  it('the landmark transform tracks the image warp (bright dot at a landmark)', () => {
    const rng = mulberry32(21);
    // Stronger than the defaults so the dot really moves (several px).
    const strong = resolveAugment({ shift: 0.08, scale: 0.15 });
    for (let trial = 0; trial < 20; trial++) {
      const px = 16 + Math.floor(rng() * 32),
        py = 16 + Math.floor(rng() * 32);
      const src = new Uint8Array(S * S * 3);
      src[3 * (py * S + px)] = 255;
      const lm = new Float32Array([px + 0.5, py + 0.5, 7]); // landmark at the dot's pixel centre
      const a = drawAugment(rng, strong).target;
      const out = warp(src, a);
      const [cx, cy] = centroid(out, S);
      const moved = warpLandmarks(lm, S, a);
      expect(Math.hypot(moved[0] - (px + 0.5), moved[1] - (py + 0.5))).toBeGreaterThan(0.5);
      expect(Math.abs(cx - moved[0])).toBeLessThan(1);
      expect(Math.abs(cy - moved[1])).toBeLessThan(1);
      expect(moved[2]).toBe(7);
      // The brightest pixel is the one under the moved landmark (or its neighbour).
      let best = 0;
      for (let i = 1; i < S * S; i++) if (out[i] > out[best]) best = i;
      expect(Math.abs((best % S) + 0.5 - moved[0])).toBeLessThanOrEqual(1);
      expect(Math.abs(Math.floor(best / S) + 0.5 - moved[1])).toBeLessThanOrEqual(1);
    }
  });

  it('the mouth weight map follows the warped landmarks', () => {
    // Lips around (32, 44); after a shift of the content by 5 px left, the weight peak moves by 5 px too.
    const lm = new Float32Array(LANDMARK_COUNT * 3);
    for (let i = 0; i < LANDMARK_COUNT; i++) {
      lm[3 * i] = 32 + 6 * Math.cos(i);
      lm[3 * i + 1] = 44 + 3 * Math.sin(i);
    }
    const a = { scale: 1, tx: (2 * 5) / S, ty: 0 };
    const w0 = mouthWeightMap(lm, S);
    const w1 = mouthWeightMap(warpLandmarks(lm, S, a), S);
    const c0 = centroid(w0, S),
      c1 = centroid(w1, S);
    expect(c1[0]).toBeCloseTo(c0[0] - 5, 1);
    expect(c1[1]).toBeCloseTo(c0[1], 3);
  });

  it('the colour jitter is identical for target and reference of a sample (flat colour pair)', () => {
    const rng = mulberry32(4);
    for (const range of [
      [0, 1],
      [-1, 1],
    ] as [number, number][]) {
      for (let i = 0; i < 10; i++) {
        const a = drawAugment(rng, DEFAULT_AUGMENT);
        const rgb: [number, number, number] = [90, 140, 200];
        // Different warps, same flat image: any difference would come from the colour transform.
        const t = warp(flatCrop(rgb), a.target, a.colour, range);
        const r = warp(flatCrop(rgb), a.reference, a.colour, range);
        expect(r).toEqual(t);
        const [lo, hi] = range;
        for (let c = 0; c < 3; c++) {
          const x = rgb[c] / 255;
          const want = Math.min(1, Math.max(0, ((x - 0.5) * a.colour.contrast + 0.5 + a.colour.brightness) * a.colour.gain[c]));
          expect(t[c * S * S]).toBeCloseTo(want * (hi - lo) + lo, 5);
          expect(t[c * S * S + S * S - 1]).toBe(t[c * S * S]);
        }
        expect(t[0]).not.toBeCloseTo(plainPlanar(flatCrop(rgb), S, range)[0], 4);
      }
    }
  });

  it('clamps jittered colours to the image range', () => {
    const t = warp(flatCrop([255, 0, 128]), IDENTITY_AFFINE, { brightness: 0, contrast: 1.15, gain: [1.06, 0.94, 1] }, [-1, 1]);
    expect(t[0]).toBe(1);
    expect(t[S * S]).toBe(-1);
    expect(t[2 * S * S]).toBeCloseTo(((128 / 255 - 0.5) * 1.15 + 0.5) * 2 - 1, 6);
  });
});
