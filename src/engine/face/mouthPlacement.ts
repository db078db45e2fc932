/**
 * Places the generated mouth where the person's own mouth is: a closed loop over the output.
 *
 * A generator trained on a few dozen faces draws a new face's mouth where its training faces had theirs. On a turned
 * head, or a person whose mouth sits higher or lower than most, the whole mouth then comes out displaced for the whole
 * clip (the eval's fixed LMD error: 0.057 of 0.3.1's 0.079, most of it the mouth moved as one). No crop, loss or
 * input tried moved it (model card). This measures it instead: on some output frames the face mesh reads the pasted
 * mouth, and the mean offset of its lip points from the person's real ones (same frame) is how far the generator
 * misplaces this face's mouth. The generated crop is then pasted moved back by that mean.
 *
 * Like the training reference rule, frame t never uses its own neighbourhood: only outputs of frames at least
 * PLACEMENT_GAP before t count, so the shift cannot carry the real mouth of t (or its opening) into t.
 */
import type { Affine } from '../types.ts';
import { applyAffine } from './align.ts';

/** Frames between the newest output that may count and the frame being pasted (the reference rule: |r − t| > 5). */
export const PLACEMENT_GAP = 6;
/** Frames the mean covers (1 s at 25 fps): the offset changes as the head turns, so a longer mean lags behind. */
export const PLACEMENT_WINDOW = 25;
/** Every how many output frames the mouth is read (each read is one face-mesh pass over the output). */
export const PLACEMENT_EVERY = 4;
/** Reads needed in the window before any shift: fewer are too noisy to move a mouth by. */
export const PLACEMENT_MIN_READS = 3;
/** Largest shift, crop units (8 px of 128): beyond it the landmarks, not the mouth, are off. */
export const PLACEMENT_MAX = 1 / 16;

/** A shift of the generated crop's content, crop units (S = 1): + moves the mouth right / down in the crop. */
export type CropShift = readonly [number, number];
export const NO_SHIFT: CropShift = [0, 0];

/**
 * The points whose place is read: the mouth corners and the upper lip's outer and inner contours. Not the lower lip,
 * which moves with the jaw: an output that opens more or less than the camera's mouth (a still photo, a silent user
 * driven by other audio) must not read as a mouth in the wrong place. Measured on the 9 held-out clips (rc1, reads
 * every 4th frame): LMD 0.064 with all 40 lip points, 0.065 with these, 0.069 with the corners alone (0.075 unplaced).
 */
export const PLACEMENT_POINTS: readonly number[] = [61, 291, 185, 40, 39, 37, 0, 267, 269, 270, 409, 78, 308, 191, 80, 81, 82, 13, 312, 311, 310, 415];
const POINTS = PLACEMENT_POINTS;

interface Reading {
  index: number;
  /** Where the generator drew the mouth relative to the real one, before any shift: crop units. */
  x: number;
  y: number;
}

export class MouthPlacement {
  private readonly readings: Reading[] = [];
  private readonly applied = new Map<number, CropShift>();
  private last: CropShift = NO_SHIFT;
  /** The newest frame read so far. */
  private newest = -Infinity;

  /** True when frame `index`'s output should be read (one in PLACEMENT_EVERY). */
  wants(index: number): boolean {
    return index % PLACEMENT_EVERY === 0;
  }

  /** The shift to paste frame `index` with: minus the mean misplacement read on frames index − GAP − WINDOW < i ≤ index − GAP. */
  shiftFor(index: number): CropShift {
    let x = 0;
    let y = 0;
    let n = 0;
    for (const r of this.readings) {
      if (r.index > index - PLACEMENT_GAP || r.index <= index - PLACEMENT_GAP - PLACEMENT_WINDOW) continue;
      x += r.x;
      y += r.y;
      n++;
    }
    const shift: CropShift = n >= PLACEMENT_MIN_READS ? [clamp(-x / n), clamp(-y / n)] : NO_SHIFT;
    this.applied.set(index, shift);
    this.last = shift;
    // Shifts older than any frame still in flight are not needed to undo a reading.
    if (this.applied.size > 4 * PLACEMENT_WINDOW) this.applied.delete(this.applied.keys().next().value!);
    return shift;
  }

  /**
   * Frame `index`'s output was read: `output` are the landmarks the face mesh found on the pasted frame, `real` the
   * person's on the camera frame, both in frame pixels; `frameToCrop` and `S` are that frame's crop. The shift the
   * frame was pasted with is taken off, so a reading says where the generator itself drew the mouth.
   */
  observe(index: number, output: ArrayLike<number>, real: ArrayLike<number>, frameToCrop: Affine, S: number): void {
    let dx = 0;
    let dy = 0;
    for (const i of POINTS) {
      const [gu, gv] = applyAffine(frameToCrop, output[i * 3], output[i * 3 + 1]);
      const [ru, rv] = applyAffine(frameToCrop, real[i * 3], real[i * 3 + 1]);
      dx += gu - ru;
      dy += gv - rv;
    }
    const [sx, sy] = this.applied.get(index) ?? NO_SHIFT;
    const x = dx / POINTS.length / S - sx;
    const y = dy / POINTS.length / S - sy;
    if (!Number.isFinite(x) || !Number.isFinite(y)) return;
    this.readings.push({ index, x, y });
    // Readings are kept only while a later frame can still use them.
    this.newest = Math.max(this.newest, index);
    while (this.readings.length && this.readings[0].index <= this.newest - PLACEMENT_GAP - PLACEMENT_WINDOW) this.readings.shift();
  }

  /** The latest shift handed out (crop units), for the stats. */
  get lastShift(): CropShift {
    return this.last;
  }

  reset(): void {
    this.readings.length = 0;
    this.applied.clear();
    this.last = NO_SHIFT;
    this.newest = -Infinity;
  }
}

function clamp(v: number): number {
  return Math.max(-PLACEMENT_MAX, Math.min(PLACEMENT_MAX, v));
}
