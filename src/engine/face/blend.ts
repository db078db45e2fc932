/**
 * Paste-back: the generated lower face goes into the frame through the crop transform, blended with
 * a feathered mask so there is no seam. Only the bounding box of the crop's lower region is visited;
 * pixels where the mask is 0 are not written (byte-identical).
 */
import type { Affine, PlanarImage, RgbaImage } from '../types.ts';
import { applyAffine, invertAffine } from './align.ts';
import { maskStartRow } from './warp.ts';

export interface PasteOptions {
  range: [number, number];
  maskRatio: number;
  /** Width of the soft edge in crop pixels (default 0.08·S). */
  feather?: number;
}

export class BlendError extends Error {
  readonly code = 'bad-paste';
  constructor(message: string) {
    super(message);
    this.name = 'BlendError';
  }
}

const smooth = (t: number) => (t <= 0 ? 0 : t >= 1 ? 1 : t * t * (3 - 2 * t));

/**
 * Mask weight at crop coordinates (u, v): 0 above the masked half and at the crop's left/right/bottom
 * borders (inset by 1 px so edge-clamped samples never show), rising smoothly to 1 over `f` pixels.
 * The top ramp is centred on the mask line: the generator reproduces the unmasked rows above it.
 */
export function pasteMaskWeight(u: number, v: number, S: number, y0: number, f: number): number {
  const inset = 1;
  const top = (v - (y0 - f / 2)) / f;
  const left = (u - inset) / f;
  const right = (S - 1 - inset - u) / f;
  const bottom = (S - 1 - inset - v) / f;
  return smooth(Math.min(top, left, right, bottom));
}

export function pasteBack(image: RgbaImage, generated: PlanarImage, frameToCrop: Affine, opts: PasteOptions): void {
  const S = generated.size;
  if (generated.data.length !== 3 * S * S) throw new BlendError(`Generated image must hold 3×${S}×${S} values, got ${generated.data.length}`);
  if (image.data.length < image.width * image.height * 4) throw new BlendError(`Frame ${image.width}×${image.height} has too few bytes`);
  const f = Math.max(1, opts.feather ?? 0.08 * S);
  const y0 = maskStartRow(S, opts.maskRatio);
  const vTop = Math.max(0, y0 - f / 2);

  // Frame bounding box of the crop region that can have weight > 0.
  const cropToFrame = invertAffine(frameToCrop);
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  for (const [u, v] of [[0, vTop], [S - 1, vTop], [0, S - 1], [S - 1, S - 1]]) {
    const [x, y] = applyAffine(cropToFrame, u, v);
    minX = Math.min(minX, x); maxX = Math.max(maxX, x);
    minY = Math.min(minY, y); maxY = Math.max(maxY, y);
  }
  const x0 = Math.max(0, Math.floor(minX));
  const x1 = Math.min(image.width - 1, Math.ceil(maxX));
  const yA = Math.max(0, Math.floor(minY));
  const yB = Math.min(image.height - 1, Math.ceil(maxY));
  if (x0 > x1 || yA > yB) return;

  const [a, b, c, d, e, g] = frameToCrop;
  const k = 255 / (opts.range[1] - opts.range[0]);
  const r0 = opts.range[0];
  const plane = S * S;
  const src = generated.data;
  const out = image.data;
  const W = image.width;
  for (let y = yA; y <= yB; y++) {
    let u = a * x0 + b * y + c;
    let v = d * x0 + e * y + g;
    for (let x = x0; x <= x1; x++, u += a, v += d) {
      if (u < 0 || v < vTop || u > S - 1 || v > S - 1) continue;
      const w = pasteMaskWeight(u, v, S, y0, f);
      if (w <= 0) continue;
      let ui = u | 0;
      let vi = v | 0;
      if (ui >= S - 1) ui = S - 2;
      if (vi >= S - 1) vi = S - 2;
      const fu = u - ui;
      const fv = v - vi;
      const i00 = vi * S + ui;
      const w00 = (1 - fu) * (1 - fv), w01 = fu * (1 - fv), w10 = (1 - fu) * fv, w11 = fu * fv;
      const p = (y * W + x) * 4;
      for (let ch = 0; ch < 3; ch++) {
        const o = ch * plane + i00;
        const gen = ((src[o] * w00 + src[o + 1] * w01 + src[o + S] * w10 + src[o + S + 1] * w11) - r0) * k;
        out[p + ch] = out[p + ch] + (gen - out[p + ch]) * w; // Uint8ClampedArray rounds and clamps
      }
    }
  }
}
