/**
 * Frame → crop alignment: a least-squares similarity (Umeyama) from stable face points to a fixed
 * template, plus One-Euro smoothing over time. Lips and chin are not used, so talking does not
 * move the crop.
 */
import type { Affine, FaceLandmarks } from '../types.ts';
import { STABLE_POINTS } from './meshIndices.ts';
import { CodedError } from '../codedError.ts';

/** Id of the crop geometry; written to manifests and datasets so mismatched crops are detected. */
export const CROP_TEMPLATE = 'facemesh-sim-v1';

/**
 * Template positions (crop units, S = 1) of STABLE_POINTS, in that order. Mean shape of real
 * landmarks (191 frames of the frontal shared clips, eyes levelled), scaled so the eye line sits at
 * y≈0.29, the mouth centre at y≈0.68, the nose bottom at ≈0.54 and the chin at ≈0.93; the face
 * (234↔454) spans ≈75% of the width. With mask ratio 0.5 the masked half therefore covers nose
 * bottom to chin, including the whole mouth and jaw, with a margin under the chin.
 */
// biome-ignore format: a table, one row per line
export const TEMPLATE_POINTS: Float32Array = new Float32Array([
  0.2631, 0.2872, // 33
  0.4069, 0.2928, // 133
  0.5910, 0.2929, // 362
  0.7390, 0.2871, // 263
  0.4978, 0.2613, // 168
  0.4973, 0.3028, // 6
  0.4968, 0.3413, // 197
  0.4963, 0.3775, // 195
  0.4957, 0.4163, // 5
  0.4953, 0.4634, // 4
  0.4955, 0.5004, // 1
  0.4037, 0.5273, // 98
  0.5936, 0.5269, // 327
  0.4984, -0.0058, // 10
  0.4977, 0.0805, // 151
  0.4974, 0.1735, // 9
  0.1812, 0.1004, // 54
  0.8242, 0.0974, // 284
  0.2330, 0.0486, // 103
  0.7698, 0.0460, // 332
  0.1335, 0.4009, // 234
  0.8842, 0.3996, // 454
  0.1286, 0.3200, // 127
  0.8865, 0.3178, // 356
  0.1398, 0.4826, // 93
  0.8794, 0.4822, // 323
]);

export class AlignError extends CodedError<'bad-landmarks'> {
  override readonly name = 'AlignError';
  constructor(message: string) {
    super('bad-landmarks', message);
  }
}

export function applyAffine(a: Affine, x: number, y: number): [number, number] {
  return [a[0] * x + a[1] * y + a[2], a[3] * x + a[4] * y + a[5]];
}

export function invertAffine(a: Affine): Affine {
  const det = a[0] * a[4] - a[1] * a[3];
  if (!Number.isFinite(det) || Math.abs(det) < 1e-12) throw new AlignError(`Affine ${a.join(',')} is not invertible`);
  const ia = a[4] / det;
  const ib = -a[1] / det;
  const id = -a[3] / det;
  const ie = a[0] / det;
  return [ia, ib, -(ia * a[2] + ib * a[5]), id, ie, -(id * a[2] + ie * a[5])];
}

/** Umeyama similarity (no reflection) mapping src[i] → dst[i] in the least-squares sense. */
export function fitSimilarity(src: ArrayLike<number>, dst: ArrayLike<number>, n: number): Affine {
  let sx = 0,
    sy = 0,
    dx = 0,
    dy = 0;
  for (let i = 0; i < n; i++) {
    sx += src[2 * i];
    sy += src[2 * i + 1];
    dx += dst[2 * i];
    dy += dst[2 * i + 1];
  }
  sx /= n;
  sy /= n;
  dx /= n;
  dy /= n;
  let a = 0,
    b = 0,
    v = 0;
  for (let i = 0; i < n; i++) {
    const px = src[2 * i] - sx;
    const py = src[2 * i + 1] - sy;
    const qx = dst[2 * i] - dx;
    const qy = dst[2 * i + 1] - dy;
    a += px * qx + py * qy;
    b += px * qy - py * qx;
    v += px * px + py * py;
  }
  if (!(v > 1e-9)) throw new AlignError('Landmarks are degenerate (all stable points coincide)');
  const c = a / v;
  const s = b / v;
  return [c, -s, dx - (c * sx - s * sy), s, c, dy - (s * sx + c * sy)];
}

const stableSrc = new Float64Array(STABLE_POINTS.length * 2);
const stableDst = new Float64Array(STABLE_POINTS.length * 2);

/** Frame → crop transform placing the face's stable points on the template scaled to S. */
export function estimateCropTransform(landmarks: FaceLandmarks, S: number): Affine {
  const p = landmarks.points;
  if (!p || p.length < 478 * 3) throw new AlignError(`Expected 478×3 landmark values, got ${p?.length ?? 0}`);
  for (let k = 0; k < STABLE_POINTS.length; k++) {
    const i = STABLE_POINTS[k];
    stableSrc[2 * k] = p[3 * i];
    stableSrc[2 * k + 1] = p[3 * i + 1];
    stableDst[2 * k] = TEMPLATE_POINTS[2 * k] * S;
    stableDst[2 * k + 1] = TEMPLATE_POINTS[2 * k + 1] * S;
  }
  return fitSimilarity(stableSrc, stableDst, STABLE_POINTS.length);
}

export interface SmootherOptions {
  /** Cutoff (Hz) when still: lower removes more jitter. */
  minCutoff?: number;
  /** Cutoff increase per crop-pixel/s of motion: higher follows fast moves with less lag. */
  beta?: number;
  /** Cutoff (Hz) for the speed estimate. */
  dCutoff?: number;
}

/** Crop point whose frame position is filtered (the centre of a 128 crop); also crop px per unit of log-scale/angle. */
const REF = 64;

const alpha = (cutoff: number, dt: number) => 1 / (1 + 1 / (2 * Math.PI * cutoff * dt));

/**
 * One-Euro filter over the similarity's parameters. Filtered in crop-pixel units: scale and angle
 * as the displacement they cause at the crop edge, translation as the crop centre's position in the
 * frame × the first frame's scale, so one beta fits all four.
 */
export class TransformSmoother {
  private readonly minCutoff: number;
  private readonly beta: number;
  private readonly dCutoff: number;
  private x: number[] | null = null;
  private dx = [0, 0, 0, 0];
  private lastT = 0;
  private unit = 1; // crop px per frame px at the first sample

  constructor(opts: SmootherOptions = {}) {
    this.minCutoff = opts.minCutoff ?? 1.0;
    this.beta = opts.beta ?? 0.05;
    this.dCutoff = opts.dCutoff ?? 1.0;
  }

  reset(): void {
    this.x = null;
    this.dx = [0, 0, 0, 0];
  }

  filter(raw: Affine, tMs: number): Affine {
    // Decompose: scale, angle, and the frame position of a fixed crop point.
    const c = (raw[0] + raw[4]) / 2;
    const s = (raw[3] - raw[1]) / 2;
    const scale = Math.hypot(c, s);
    const angle = Math.atan2(s, c);
    const [qx, qy] = applyAffine(invertAffine(raw), REF, REF);
    if (!this.x) this.unit = scale;
    const u = this.unit;
    const v = [Math.log(scale) * REF, angle * REF, qx * u, qy * u];
    if (!this.x) {
      this.x = v;
      this.lastT = tMs;
      return raw.slice() as Affine;
    }
    const dt = Math.max(1e-3, (tMs - this.lastT) / 1000);
    this.lastT = tMs;
    const x = this.x;
    if (x[1] - v[1] > Math.PI * REF) v[1] += 2 * Math.PI * REF;
    if (v[1] - x[1] > Math.PI * REF) v[1] -= 2 * Math.PI * REF;
    for (let i = 0; i < 4; i++) {
      const d = (v[i] - x[i]) / dt;
      this.dx[i] += alpha(this.dCutoff, dt) * (d - this.dx[i]);
      const cutoff = this.minCutoff + this.beta * Math.abs(this.dx[i]);
      x[i] += alpha(cutoff, dt) * (v[i] - x[i]);
    }
    const fs = Math.exp(x[0] / REF);
    const fa = x[1] / REF;
    const fc = fs * Math.cos(fa);
    const fsn = fs * Math.sin(fa);
    const fqx = x[2] / u;
    const fqy = x[3] / u;
    // crop = M·p + t with M·q + t = (REF, REF).
    return [fc, -fsn, REF - (fc * fqx - fsn * fqy), fsn, fc, REF - (fsn * fqx + fc * fqy)];
  }
}
