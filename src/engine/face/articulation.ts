/**
 * The person's own articulation: how far this person's mouth opens when they speak, for generators with the
 * `articulation` input (manifest.inputs.articulation). Audio alone says little about it for a voice the model never
 * heard (held-out opening error 0.0224 vs 0.0232 for a constant), while the person's own median opening says much
 * (0.0180), and the landmarker measures it on every camera frame anyway.
 *
 * The measure is the inner-lip gap in crop pixels ÷ crop size, at the contract's quantiles (src/engine/contract.json
 * `articulation`). The trainer computes the same thing in tools/train/data.py (`frame_openings`, `articulation_stats`);
 * tools/train/parity.int.test.ts holds the two together.
 */
import contract from '../contract.json' with { type: 'json' };
import type { Affine } from '../types.ts';

export const ARTICULATION = {
  /** Quantiles of the opening that make the input, in input order (median, 90th percentile). */
  quantiles: contract.articulation.quantiles as readonly number[],
  /** Frames with a face needed before the person's range replaces the model's prior. */
  minFrames: contract.articulation.minFrames,
  /** The running window: the most recent frames with a face (250 = 10 s at 25 fps). */
  windowFrames: contract.articulation.windowFrames,
  /** Below this 90th percentile the mouth never opened (a silent person): unknown, not "this person barely opens". */
  openFloor: contract.articulation.openFloor,
} as const;

/** Face Mesh inner-lip pairs (upper, lower) whose gap is the opening: 13/14, 82/87, 312/317. */
const INNER_PAIRS = [
  [13, 14],
  [82, 87],
  [312, 317],
] as const;

/**
 * Inner-lip gap of one face as a fraction of the crop: the frame's landmarks taken through the frame → crop transform
 * (clipPrep's landmarks in crop pixels), the mean over the three pairs of max(0, lower y − upper y), ÷ S.
 */
export function cropMouthOpening(points: ArrayLike<number>, transform: Affine, S: number): number {
  let gap = 0;
  for (const [u, d] of INNER_PAIRS) {
    const yu = transform[3] * points[3 * u] + transform[4] * points[3 * u + 1] + transform[5];
    const yd = transform[3] * points[3 * d] + transform[4] * points[3 * d + 1] + transform[5];
    gap += Math.max(0, yd - yu);
  }
  return gap / INNER_PAIRS.length / S;
}

/** Same measure on landmarks already in crop pixels (data:prepare's landmarks.f32, one face of 478 × 3). */
export function cropMouthOpeningInCrop(points: ArrayLike<number>, S: number): number {
  return cropMouthOpening(points, [1, 0, 0, 0, 1, 0], S);
}

/** Linear-interpolation quantile of sorted values (numpy's default). */
function quantileSorted(sorted: readonly number[], q: number): number {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * The articulation input from a set of openings (NaN = no face, skipped): the contract's quantiles, or null when it
 * cannot be known yet (fewer than minFrames faces, or a mouth that never opened past openFloor).
 */
export function articulationOf(openings: ArrayLike<number>): Float32Array | null {
  const v: number[] = [];
  for (let i = 0; i < openings.length; i++) if (!Number.isNaN(openings[i])) v.push(openings[i]);
  if (v.length < ARTICULATION.minFrames) return null;
  v.sort((a, b) => a - b);
  const out = Float32Array.from(ARTICULATION.quantiles, (q) => quantileSorted(v, q));
  return out[out.length - 1] < ARTICULATION.openFloor ? null : out;
}

/**
 * A prepared clip's articulation for target frame t, as the trainer computes it without randomness
 * (tools/train/data.py `PreparedData.articulation`): the windowFrames frames nearest t (earlier first on a tie) among
 * those more than minOffset away, the reference rule's distance, so the target's own mouth never enters.
 * `openings` holds one value per frame, NaN where there is no face.
 */
export function articulationAround(openings: ArrayLike<number>, t: number, minOffset: number): Float32Array | null {
  const picked: number[] = [];
  // Walk outwards from t: distance minOffset + 1, + 2, …, earlier frame before later at equal distance.
  for (let d = minOffset + 1; picked.length < ARTICULATION.windowFrames && (t - d >= 0 || t + d < openings.length); d++) {
    if (t - d >= 0) picked.push(openings[t - d]);
    if (t + d < openings.length && picked.length < ARTICULATION.windowFrames) picked.push(openings[t + d]);
  }
  return articulationOf(picked);
}

/**
 * The running articulation of a live source: the last windowFrames faces' openings. Like the reference frame, it is
 * taken from the person in front of the camera; a new source or session starts over (reset).
 */
export class ArticulationTracker {
  private readonly ring: Float32Array;
  private count = 0;
  private next = 0;

  constructor(readonly windowFrames: number = ARTICULATION.windowFrames) {
    this.ring = new Float32Array(windowFrames);
  }

  /** One face's opening (cropMouthOpening); frames without a face are simply not pushed. */
  push(opening: number): void {
    if (!Number.isFinite(opening)) return;
    this.ring[this.next] = opening;
    this.next = (this.next + 1) % this.ring.length;
    this.count = Math.min(this.count + 1, this.ring.length);
  }

  /** Faces seen in the window. */
  get frames(): number {
    return this.count;
  }

  /** The person's (p50, p90) so far, or null while unknown (the generator then gets its prior). */
  value(): Float32Array | null {
    return articulationOf(this.ring.subarray(0, this.count));
  }

  reset(): void {
    this.count = 0;
    this.next = 0;
  }
}
