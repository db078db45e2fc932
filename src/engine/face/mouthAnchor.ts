/**
 * The person's mouth placement as part of the crop (crop template `facemesh-sim-mouth-v1`).
 *
 * The stable-point similarity (align.ts) puts eyes and nose on the template, but where the mouth then sits differs
 * from person to person and with the head's turn: on a turned head it lands several pixels to the side of and above
 * where frontal faces have it. A generator trained on few faces draws the mouth where most of them had it, so on such
 * a face the mouth came out displaced and over-opened (the eval's fixed LMD error). This template also moves the crop
 * so that the person's *usual* mouth position, the running mean over earlier frames, lands on one point. It never
 * reads the current frame's mouth: the offset for frame t comes from frames before t, so a crop cannot leak the
 * opening it is asked to paint.
 */
import type { Affine } from '../types.ts';
import { applyAffine, CROP_TEMPLATE } from './align.ts';

/** Crop template id of the stable-point similarity plus the person's mouth anchor (align.ts CROP_TEMPLATE: without). */
export const CROP_TEMPLATE_MOUTH = 'facemesh-sim-mouth-v1';

/** The trainer's synthetic test data (tools/train/synth.py): not faces; models trained on it are only run as graphs. */
export const CROP_TEMPLATE_SYNTHETIC = 'synthetic';

/** The face crops this code cuts: the plain one (align.ts) and the mouth-anchored one. */
export const FACE_CROP_TEMPLATES: readonly string[] = [CROP_TEMPLATE, CROP_TEMPLATE_MOUTH];
/** Every crop template a manifest may name: the face crops, and the trainer's synthetic data. */
export const CROP_TEMPLATES: readonly string[] = [...FACE_CROP_TEMPLATES, CROP_TEMPLATE_SYNTHETIC];

/**
 * Where an anchored crop puts the person's mean mouth-corner midpoint (crop units, S = 1): the mean over the shared
 * clips' plain crops (72 clips; per clip 0.50 ± 0.013 across, 0.66 ± 0.020 down), so a typical face barely moves.
 */
export const MOUTH_ANCHOR: readonly [number, number] = [0.5018, 0.6563];
/** Frames before the offset reaches full strength: it eases in, so the first frames never jump. */
export const MOUTH_ANCHOR_WARMUP = 25;
/**
 * Frames the mean covers (1 s at 25 fps). Short, because on a turned head the offset changes with the turn: a longer
 * mean lagged behind a head that moves. Long enough that one frame's opening moves the crop by at most 1/25 of it.
 */
export const MOUTH_ANCHOR_WINDOW = 25;
/** Largest offset applied, crop units: beyond it the landmarks, not the face, are off. */
export const MOUTH_ANCHOR_MAX = 0.1;

const LEFT_CORNER = 61;
const RIGHT_CORNER = 291;

/** True when crops for `template` carry the mouth anchor. */
export function usesMouthAnchor(template: string): boolean {
  return template === CROP_TEMPLATE_MOUTH;
}

/** Running mean of the mouth-corner midpoint in plain-crop units over the last MOUTH_ANCHOR_WINDOW frames. */
export class MouthAnchor {
  private readonly xs = new Float64Array(MOUTH_ANCHOR_WINDOW);
  private readonly ys = new Float64Array(MOUTH_ANCHOR_WINDOW);
  private count = 0;
  private sumX = 0;
  private sumY = 0;

  /** Records a frame: its landmarks (frame px, x,y,z per point) and its plain (unanchored) frame → crop transform. */
  push(points: ArrayLike<number>, plain: Affine, S: number): void {
    const mx = (points[3 * LEFT_CORNER] + points[3 * RIGHT_CORNER]) / 2;
    const my = (points[3 * LEFT_CORNER + 1] + points[3 * RIGHT_CORNER + 1]) / 2;
    const [u, v] = applyAffine(plain, mx, my);
    const x = u / S;
    const y = v / S;
    if (!Number.isFinite(x) || !Number.isFinite(y)) return;
    const i = this.count % MOUTH_ANCHOR_WINDOW;
    if (this.count >= MOUTH_ANCHOR_WINDOW) {
      this.sumX -= this.xs[i];
      this.sumY -= this.ys[i];
    }
    this.xs[i] = x;
    this.ys[i] = y;
    this.sumX += x;
    this.sumY += y;
    this.count++;
  }

  /** How far the person's mean mouth lies from MOUTH_ANCHOR (crop units), eased in over the first frames. */
  offset(): [number, number] {
    const n = Math.min(this.count, MOUTH_ANCHOR_WINDOW);
    if (n === 0) return [0, 0];
    const ease = Math.min(1, this.count / MOUTH_ANCHOR_WARMUP);
    const clamp = (v: number) => Math.max(-MOUTH_ANCHOR_MAX, Math.min(MOUTH_ANCHOR_MAX, v));
    return [clamp((this.sumX / n - MOUTH_ANCHOR[0]) * ease), clamp((this.sumY / n - MOUTH_ANCHOR[1]) * ease)];
  }

  /** Frames recorded so far. */
  get frames(): number {
    return this.count;
  }

  reset(): void {
    this.count = 0;
    this.sumX = 0;
    this.sumY = 0;
  }
}

/** The plain transform moved so that a mouth `offset` (crop units) from MOUTH_ANCHOR lands on it. */
export function anchorTransform(plain: Affine, offset: readonly [number, number], S: number): Affine {
  return [plain[0], plain[1], plain[2] - offset[0] * S, plain[3], plain[4], plain[5] - offset[1] * S];
}

/**
 * The frame → crop transform for `template`: the plain one, or for the mouth template the plain one moved by the
 * anchor's offset from earlier frames; then records this frame. Shared by the live pipeline and clip preparation.
 */
export function templateTransform(template: string, plain: Affine, points: ArrayLike<number>, anchor: MouthAnchor, S: number): Affine {
  const offset = anchor.offset();
  anchor.push(points, plain, S);
  return usesMouthAnchor(template) ? anchorTransform(plain, offset, S) : plain;
}
