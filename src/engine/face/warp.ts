/**
 * Frame ↔ crop resampling. Hot path (every live frame): one inverse affine per call, incremental
 * source coordinates per row, no allocations besides the output.
 */
import type { Affine, PlanarImage, RgbaImage } from '../types.ts';
import { invertAffine } from './align.ts';
import { CodedError } from '../codedError.ts';

export class WarpError extends CodedError<'bad-image'> {
  override readonly name = 'WarpError';
  constructor(message: string) {
    super('bad-image', message);
  }
}

function checkImage(image: RgbaImage): void {
  if (!(image.width > 0 && image.height > 0) || image.data.length < image.width * image.height * 4) {
    throw new WarpError(`Image ${image.width}×${image.height} needs ${image.width * image.height * 4} RGBA bytes, got ${image.data.length}`);
  }
}

function checkSize(S: number): void {
  if (!Number.isInteger(S) || S <= 0) throw new WarpError(`Crop size must be a positive integer, got ${S}`);
}

/**
 * Samples `image` at crop pixels (0..S-1)² through the inverse of frameToCrop and hands each
 * bilinear RGB result to `write(pixelIndex, r, g, b)`. Edge-clamped outside the image.
 */
function sampleCrop(image: RgbaImage, frameToCrop: Affine, S: number, write: (i: number, r: number, g: number, b: number) => void): void {
  const [a, b, c, d, e, f] = invertAffine(frameToCrop);
  const { width: W, height: H, data } = image;
  const maxX = W - 1;
  const maxY = H - 1;
  for (let v = 0; v < S; v++) {
    let x = b * v + c;
    let y = e * v + f;
    for (let u = 0; u < S; u++, x += a, y += d) {
      const xc = x < 0 ? 0 : Math.min(x, maxX);
      const yc = y < 0 ? 0 : Math.min(y, maxY);
      let x0 = xc | 0;
      let y0 = yc | 0;
      if (x0 >= maxX) x0 = maxX > 0 ? maxX - 1 : 0;
      if (y0 >= maxY) y0 = maxY > 0 ? maxY - 1 : 0;
      const fx = W > 1 ? xc - x0 : 0;
      const fy = H > 1 ? yc - y0 : 0;
      const x1 = W > 1 ? 1 : 0;
      const y1 = H > 1 ? W : 0;
      const p00 = (y0 * W + x0) * 4;
      const p01 = p00 + x1 * 4;
      const p10 = p00 + y1 * 4;
      const p11 = p10 + x1 * 4;
      const w00 = (1 - fx) * (1 - fy);
      const w01 = fx * (1 - fy);
      const w10 = (1 - fx) * fy;
      const w11 = fx * fy;
      write(
        v * S + u,
        data[p00] * w00 + data[p01] * w01 + data[p10] * w10 + data[p11] * w11,
        data[p00 + 1] * w00 + data[p01 + 1] * w01 + data[p10 + 1] * w10 + data[p11 + 1] * w11,
        data[p00 + 2] * w00 + data[p01 + 2] * w01 + data[p10 + 2] * w10 + data[p11 + 2] * w11,
      );
    }
  }
}

/** Cuts the S×S crop: CHW float RGB, 0 → range[0], 255 → range[1]. */
export function warpToCrop(image: RgbaImage, frameToCrop: Affine, S: number, range: [number, number]): PlanarImage {
  checkImage(image);
  checkSize(S);
  const out = new Float32Array(3 * S * S);
  const k = (range[1] - range[0]) / 255;
  const o = range[0];
  const plane = S * S;
  sampleCrop(image, frameToCrop, S, (i, r, g, b) => {
    out[i] = r * k + o;
    out[plane + i] = g * k + o;
    out[2 * plane + i] = b * k + o;
  });
  return { size: S, data: out };
}

/** Same sampling as warpToCrop, as HWC RGB uint8 (the dataset format). */
export function warpToCropU8(image: RgbaImage, frameToCrop: Affine, S: number): Uint8Array {
  checkImage(image);
  checkSize(S);
  const out = new Uint8Array(3 * S * S);
  sampleCrop(image, frameToCrop, S, (i, r, g, b) => {
    out[3 * i] = r + 0.5;
    out[3 * i + 1] = g + 0.5;
    out[3 * i + 2] = b + 0.5;
  });
  return out;
}

/** First masked row for a crop of size S and mask ratio (lower `ratio` of the rows are masked). */
export function maskStartRow(S: number, ratio: number): number {
  return Math.round(S * (1 - ratio));
}

/** A copy of `crop` with rows y ≥ round(S·(1−ratio)) set to `fill` in every channel. */
export function maskLower(crop: PlanarImage, ratio: number, fill: number): PlanarImage {
  if (!(ratio >= 0 && ratio <= 1)) throw new WarpError(`Mask ratio must be in [0, 1], got ${ratio}`);
  const S = crop.size;
  const out = new Float32Array(crop.data);
  const y0 = maskStartRow(S, ratio);
  for (let c = 0; c < 3; c++) out.fill(fill, c * S * S + y0 * S, (c + 1) * S * S);
  return { size: S, data: out };
}

/** Planar float image back to RGBA8 (alpha 255), clamped. */
export function planarToRgba(p: PlanarImage, range: [number, number]): RgbaImage {
  const S = p.size;
  const plane = S * S;
  const data = new Uint8ClampedArray(plane * 4);
  const k = 255 / (range[1] - range[0]);
  for (let i = 0; i < plane; i++) {
    data[4 * i] = (p.data[i] - range[0]) * k + 0.5;
    data[4 * i + 1] = (p.data[plane + i] - range[0]) * k + 0.5;
    data[4 * i + 2] = (p.data[2 * plane + i] - range[0]) * k + 0.5;
    data[4 * i + 3] = 255;
  }
  return { width: S, height: S, data };
}
