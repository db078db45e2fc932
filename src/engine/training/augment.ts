/**
 * Training-time augmentation for the in-browser fine-tune, mirroring the offline trainer
 * (tools/train/data.py `AugmentConfig`, `_affine`, `_warp`, `make_batch`) so a fine-tune sees the same kind
 * of variation the shipped model was trained with:
 *
 * - per sample, one random zoom/shift applied identically to the target (and so to the masked input, which
 *   the caller builds from the augmented target: masking happens after augmentation), and an independent
 *   smaller one on the reference; bilinear sampling with border clamp (grid_sample align_corners=False,
 *   padding 'border');
 * - the same colour jitter (brightness, contrast around 0.5, per-channel gain, clamp to [0,1]) on every
 *   image of a sample, so the colour relation between reference and target stays intact;
 * - the lip landmarks follow the target warp, so the mouth weight map stays on the mouth;
 * - with probability `flip`, the whole sample (target, reference, landmarks) mirrored left-right.
 *
 * The defaults are the contract's (src/engine/contract.json `augment`), which the offline trainer reads too.
 *
 * Plain typed arrays on the CPU: the batch is built there anyway and a tfjs round-trip per step would cost
 * more than the arithmetic (S=128, batch 4 takes a few ms, see augment.test.ts). The warp is scale + shift
 * only (no rotation), so the sampling positions are separable and precomputed per row and per column.
 */
import contract from '../contract.json' with { type: 'json' };
import type { Rng } from './rng.ts';

export interface AugmentSettings {
  /** Max shift of target/masked, fraction of S. */
  shift: number;
  /** Max relative zoom of target/masked. */
  scale: number;
  /** Max shift of the reference (independent of the target's), fraction of S. */
  refShift: number;
  /** Max relative zoom of the reference. */
  refScale: number;
  /** Max brightness offset, in [0,1] image units. */
  brightness: number;
  /** Max relative contrast change around 0.5. */
  contrast: number;
  /** Max relative per-channel colour gain. */
  gain: number;
  /** Probability of mirroring a whole sample left-right. */
  flip: number;
}

/** The augmentation defaults of a contract file (the trainer's data.py AugmentConfig reads the same keys). */
export function augmentFromContract(c: { augment: Record<string, unknown> }): AugmentSettings {
  const pick = (k: keyof AugmentSettings) => Number(c.augment[k]);
  return {
    shift: pick('shift'),
    scale: pick('scale'),
    refShift: pick('refShift'),
    refScale: pick('refScale'),
    brightness: pick('brightness'),
    contrast: pick('contrast'),
    gain: pick('gain'),
    flip: pick('flip'),
  };
}

/** The contract's defaults, shared with the offline trainer. */
export const DEFAULT_AUGMENT: Readonly<AugmentSettings> = Object.freeze(augmentFromContract(contract));

/**
 * affine_grid's theta for a scale + shift: output normalised coords (−1…1) map to input normalised coords
 * `in = scale · out + (tx, ty)`. tx/ty are in normalised units, which span 2 across the crop.
 */
export interface Affine {
  scale: number;
  tx: number;
  ty: number;
}

/** `((x − 0.5) · contrast + 0.5 + brightness) · gain[c]`, then clamped to [0,1]; x in [0,1]. */
export interface ColourJitter {
  brightness: number;
  contrast: number;
  gain: [number, number, number];
}

export interface SampleAugment {
  target: Affine;
  reference: Affine;
  colour: ColourJitter;
  /** Mirror target, reference and landmarks left-right (after the warp, as data.py). */
  flip: boolean;
}

export const IDENTITY_AFFINE: Readonly<Affine> = Object.freeze({ scale: 1, tx: 0, ty: 0 });

/** Defaults overridden by `partial`; every value must be finite, ≥ 0, and zooms < 1. */
export function resolveAugment(partial: Partial<AugmentSettings> = {}): AugmentSettings {
  const s: AugmentSettings = { ...DEFAULT_AUGMENT, ...partial };
  for (const [k, v] of Object.entries(s)) {
    if (!Number.isFinite(v) || v < 0) throw new RangeError(`augment.${k} must be a finite number ≥ 0, got ${v}`);
  }
  if (s.scale >= 1 || s.refScale >= 1) throw new RangeError(`augment zoom must be < 1 (got scale ${s.scale}, refScale ${s.refScale})`);
  if (s.flip > 1) throw new RangeError(`augment.flip is a probability in [0, 1], got ${s.flip}`);
  return s;
}

/** Uniform in [−1, 1). */
const sym = (rng: Rng) => rng() * 2 - 1;

function drawAffine(rng: Rng, shift: number, scale: number): Affine {
  const s = 1 + sym(rng) * scale;
  // Normalised coordinates span 2, so a shift of `shift`·S is 2·shift in theta (as in data.py).
  return { scale: s, tx: sym(rng) * shift * 2, ty: sym(rng) * shift * 2 };
}

/** One sample's random parameters; always draws 12 numbers, so the stream does not depend on the settings. */
export function drawAugment(rng: Rng, s: AugmentSettings): SampleAugment {
  const target = drawAffine(rng, s.shift, s.scale);
  const reference = drawAffine(rng, s.refShift, s.refScale);
  const brightness = sym(rng) * s.brightness;
  const contrast = 1 + sym(rng) * s.contrast;
  const gain: [number, number, number] = [1 + sym(rng) * s.gain, 1 + sym(rng) * s.gain, 1 + sym(rng) * s.gain];
  const flip = rng() < s.flip;
  return { target, reference, colour: { brightness, contrast, gain }, flip };
}

/**
 * Source pixel position sampled by output pixel `i` along one axis (grid_sample, align_corners=False):
 * centres at i + 0.5 in continuous crop coordinates, `u_in = scale·(u_out − S/2) + S/2 + t·S/2`, then
 * minus 0.5 back to an index; border padding clamps it to [0, S−1]. Writes the two neighbours and the weight.
 */
function axisTaps(S: number, scale: number, t: number, i0: Int32Array, i1: Int32Array, f: Float64Array): void {
  const half = S / 2;
  for (let i = 0; i < S; i++) {
    let p = scale * (i + 0.5 - half) + half + t * half - 0.5;
    if (p < 0) p = 0;
    else if (p > S - 1) p = S - 1;
    const a = Math.floor(p);
    i0[i] = a;
    i1[i] = a + 1 < S ? a + 1 : S - 1;
    f[i] = p - a;
  }
}

/** Reusable tap tables for one crop size (avoids allocating per image). */
export class CropWarper {
  private readonly x0: Int32Array;
  private readonly x1: Int32Array;
  private readonly fx: Float64Array;
  private readonly y0: Int32Array;
  private readonly y1: Int32Array;
  private readonly fy: Float64Array;

  constructor(readonly size: number) {
    this.x0 = new Int32Array(size);
    this.x1 = new Int32Array(size);
    this.fx = new Float64Array(size);
    this.y0 = new Int32Array(size);
    this.y1 = new Int32Array(size);
    this.fy = new Float64Array(size);
  }

  /**
   * Warps one interleaved RGB uint8 crop [S,S,3] and writes it planar [3,S,S] into `out` in `range`
   * (the manifest's imageRange), with the colour jitter applied after the warp as in data.py, and mirrored
   * left-right when `flip`. Identity parameters reproduce `v · (hi − lo)/255 + lo` bit for bit.
   */
  warp(src: Uint8Array, affine: Affine, colour: ColourJitter, [lo, hi]: readonly [number, number], out: Float32Array, flip = false): void {
    const S = this.size;
    const plane = S * S;
    const { x0, x1, fx, y0, y1, fy } = this;
    axisTaps(S, affine.scale, affine.tx, x0, x1, fx);
    axisTaps(S, affine.scale, affine.ty, y0, y1, fy);
    // The jitter in 0…255 units folded into one multiply-add per channel: y = a·x + b, clamped to [0,255].
    // With contrast 1, brightness 0, gain 1 this is y = x exactly.
    const c = colour.contrast;
    const off = 127.5 - 127.5 * c + 255 * colour.brightness;
    const a0 = c * colour.gain[0],
      b0 = off * colour.gain[0];
    const a1 = c * colour.gain[1],
      b1 = off * colour.gain[1];
    const a2 = c * colour.gain[2],
      b2 = off * colour.gain[2];
    const k = (hi - lo) / 255;
    for (let y = 0; y < S; y++) {
      const r0 = 3 * y0[y] * S,
        r1 = 3 * y1[y] * S,
        wy = fy[y];
      const o = y * S;
      for (let x = 0; x < S; x++) {
        const c0 = 3 * x0[x],
          c1 = 3 * x1[x],
          wx = fx[x];
        const p00 = r0 + c0,
          p01 = r0 + c1,
          p10 = r1 + c0,
          p11 = r1 + c1;
        const i = flip ? o + S - 1 - x : o + x;
        out[i] = jitter(bilinear(src, p00, p01, p10, p11, wx, wy), a0, b0) * k + lo;
        out[plane + i] = jitter(bilinear(src, p00 + 1, p01 + 1, p10 + 1, p11 + 1, wx, wy), a1, b1) * k + lo;
        out[2 * plane + i] = jitter(bilinear(src, p00 + 2, p01 + 2, p10 + 2, p11 + 2, wx, wy), a2, b2) * k + lo;
      }
    }
  }
}

/** Written as lerps so that zero weights return the source value exactly (identity warp = no change). */
function bilinear(src: Uint8Array, p00: number, p01: number, p10: number, p11: number, wx: number, wy: number): number {
  const top = src[p00] + (src[p01] - src[p00]) * wx;
  const bot = src[p10] + (src[p11] - src[p10]) * wx;
  return top + (bot - top) * wy;
}

function jitter(v: number, a: number, b: number): number {
  const j = a * v + b;
  return j < 0 ? 0 : Math.min(j, 255);
}

/**
 * Landmarks [N·3] in crop pixels moved with the image warp `affine` (x, y; z copied): the inverse of the
 * sampling map, `u_out = (u_in − S/2 − t·S/2) / scale + S/2` (data.py: out_n = (in_n − t) / s), then mirrored
 * when `flip`.
 */
export function warpLandmarks(landmarks: Float32Array, S: number, affine: Affine, out = new Float32Array(landmarks.length), flip = false): Float32Array {
  const half = S / 2;
  const cx = half + affine.tx * half;
  const cy = half + affine.ty * half;
  for (let i = 0; i + 2 < landmarks.length; i += 3) {
    const x = (landmarks[i] - cx) / affine.scale + half;
    // Mirrored: pixel-edge coordinates 0…S, so x → S − x. Points keep their indices (the mouth weight map reads
    // only the lips' extent, which a left/right swap of names does not change).
    out[i] = flip ? S - x : x;
    out[i + 1] = (landmarks[i + 1] - cy) / affine.scale + half;
    out[i + 2] = landmarks[i + 2];
  }
  return out;
}
