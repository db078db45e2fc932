/**
 * The one (target, reference) pair sampler. Offline training reads its output from pairs.i32 and
 * in-browser fine-tuning calls it directly, so both follow MuseTalk's reference rule:
 * the reference is a valid frame of the same clip with |reference − target| > minOffset,
 * never the target itself, so the generator has to take the mouth shape from the audio.
 */

import { mulberry32, randomInt, shuffleInPlace, type Rng } from './rng.ts';
import { CodedError } from '../codedError.ts';

/** Per-frame validity (1/true = a face was found in that frame). */
export type ValidMask = Uint8Array | ArrayLike<number> | boolean[];

export interface TrainingPair {
  /** Index of the clip in the list given to the sampler. */
  clip: number;
  target: number;
  reference: number;
}

export type SamplerErrorCode = 'invalid-option' | 'clip-too-short' | 'no-pairs';

export class SamplerError extends CodedError<SamplerErrorCode> {
  override readonly name = 'SamplerError';
}

export const DEFAULT_MIN_OFFSET = 5;

/** Frames of one clip that can serve as targets, and the ones that cannot (valid but no admissible reference). */
export interface ClipPlan {
  clip: number;
  frames: number;
  /** Sorted indices of valid frames (the reference pool). */
  validFrames: Int32Array;
  /** Valid frames that have at least one admissible reference. */
  targets: Int32Array;
  /** Valid frames skipped because every other valid frame is within minOffset. */
  skippedTargets: Int32Array;
}

export interface PairPlan {
  minOffset: number;
  clips: ClipPlan[];
  /** Clips left out entirely (only when `skipShortClips` is set). */
  skippedClips: number[];
  /** Total admissible targets over all clips. */
  targetCount: number;
}

export interface PlanOptions {
  /** One clip's validity mask, or use `clips` for several. */
  valid?: ValidMask;
  clips?: ValidMask[];
  minOffset?: number;
  /** Leave clips with no admissible pair out (reported in `skippedClips`) instead of throwing. */
  skipShortClips?: boolean;
}

/**
 * Draw some references from near the target (still |r − t| > minOffset). A reference a few frames away has the
 * target's pose, light and lip colour, so the generator learns to carry them over and change only what the audio
 * asks for; uniform references alone (often seconds away) teach it the reference says little about the mouth.
 */
export interface NearReference {
  /** Probability in [0, 1] that a pair's reference comes from the near band. */
  fraction: number;
  /** The near band: minOffset < |r − t| ≤ within. */
  within: number;
}

export interface SampleOptions extends PlanOptions {
  /** A PRNG or a seed for mulberry32. */
  rng: Rng | number;
  /** Off by default: every reference is uniform over the clip. */
  nearReference?: NearReference;
  /** Number of pairs, targets drawn uniformly over all admissible targets (with replacement). */
  count?: number;
  /** Number of whole epochs: each is a shuffled pass over every admissible target once. */
  epochs?: number;
}

export interface SampleResult {
  pairs: TrainingPair[];
  plan: PairPlan;
  /** Valid frames that could not be targets, per clip (flattened). */
  skippedTargets: { clip: number; frame: number }[];
}

function isValidEntry(v: unknown): boolean {
  return v === true || v === false || v === 0 || v === 1;
}

function checkMinOffset(minOffset: number): void {
  if (!Number.isInteger(minOffset) || minOffset < 0) {
    throw new SamplerError('invalid-option', `minOffset must be a non-negative integer, got ${String(minOffset)}.`);
  }
}

function clipMasks(opts: PlanOptions): ValidMask[] {
  if (opts.valid !== undefined && opts.clips !== undefined) {
    throw new SamplerError('invalid-option', 'Pass either `valid` (one clip) or `clips` (several), not both.');
  }
  const clips = opts.clips ?? (opts.valid !== undefined ? [opts.valid] : undefined);
  if (!clips || clips.length === 0) {
    throw new SamplerError('invalid-option', 'No clips given: pass `valid` (per-frame validity of one clip) or a non-empty `clips` array.');
  }
  return clips;
}

/** Builds the reference pools of one clip. Throws on malformed masks. */
export function planClip(valid: ValidMask, minOffset: number, clip = 0): ClipPlan {
  checkMinOffset(minOffset);
  const n = valid.length;
  const pool: number[] = [];
  for (let i = 0; i < n; i++) {
    const v = (valid as ArrayLike<unknown>)[i];
    if (!isValidEntry(v)) {
      throw new SamplerError('invalid-option', `Clip ${clip}: validity of frame ${i} must be 0/1 or a boolean, got ${String(v)}.`);
    }
    if (v === true || v === 1) pool.push(i);
  }
  const validFrames = Int32Array.from(pool);
  const targets: number[] = [];
  const skipped: number[] = [];
  for (const t of pool) {
    if (countReferences(validFrames, t, minOffset) > 0) targets.push(t);
    else skipped.push(t);
  }
  return { clip, frames: n, validFrames, targets: Int32Array.from(targets), skippedTargets: Int32Array.from(skipped) };
}

/** First index in the sorted array whose value is ≥ x. */
function lowerBound(sorted: Int32Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Admissible references lie in validFrames[0, left) ∪ validFrames[right, end). */
function referenceRanges(validFrames: Int32Array, target: number, minOffset: number): [number, number] {
  return [lowerBound(validFrames, target - minOffset), lowerBound(validFrames, target + minOffset + 1)];
}

function countReferences(validFrames: Int32Array, target: number, minOffset: number): number {
  const [left, right] = referenceRanges(validFrames, target, minOffset);
  return left + (validFrames.length - right);
}

/** Validates masks and finds every admissible target. Throws `clip-too-short` for a clip without any pair. */
export function planPairs(opts: PlanOptions): PairPlan {
  const minOffset = opts.minOffset ?? DEFAULT_MIN_OFFSET;
  checkMinOffset(minOffset);
  const masks = clipMasks(opts);
  const clips: ClipPlan[] = [];
  const skippedClips: number[] = [];
  masks.forEach((mask, index) => {
    const plan = planClip(mask, minOffset, index);
    if (plan.targets.length === 0) {
      if (opts.skipShortClips) {
        skippedClips.push(index);
        return;
      }
      throw new SamplerError(
        'clip-too-short',
        `Clip ${index} has ${plan.validFrames.length} valid frame(s) out of ${plan.frames}, but a training pair needs two valid ` +
          `frames more than ${minOffset} frames apart (at least ${minOffset + 2} frames with a face at both ends). ` +
          `Use a longer clip, fix face detection, or lower minOffset.`,
      );
    }
    clips.push(plan);
  });
  const targetCount = clips.reduce((sum, c) => sum + c.targets.length, 0);
  if (targetCount === 0) {
    throw new SamplerError('no-pairs', `None of the ${masks.length} clip(s) has a valid frame pair more than ${minOffset} frames apart.`);
  }
  return { minOffset, clips, skippedClips, targetCount };
}

/**
 * A reference among the clip's valid frames with |r − target| > minOffset: uniform over all of them, or, with
 * probability `near.fraction`, uniform over those also within `near.within` (when the clip has any).
 */
export function sampleReference(clip: ClipPlan, target: number, minOffset: number, rng: Rng, near?: NearReference): number {
  const [left, right] = referenceRanges(clip.validFrames, target, minOffset);
  const count = left + (clip.validFrames.length - right);
  if (count === 0) {
    throw new SamplerError('clip-too-short', `Clip ${clip.clip}: frame ${target} has no valid frame more than ${minOffset} frames away.`);
  }
  if (near && near.fraction > 0 && rng() < near.fraction) {
    // Near band: validFrames[farLeft, left) ∪ validFrames[right, farRight).
    const farLeft = lowerBound(clip.validFrames, target - near.within);
    const farRight = lowerBound(clip.validFrames, target + near.within + 1);
    const nearLeft = left - farLeft;
    const nearCount = nearLeft + (farRight - right);
    if (nearCount > 0) {
      const k = randomInt(rng, nearCount);
      return k < nearLeft ? clip.validFrames[farLeft + k] : clip.validFrames[right + (k - nearLeft)];
    }
  }
  const k = randomInt(rng, count);
  return k < left ? clip.validFrames[k] : clip.validFrames[right + (k - left)];
}

function checkNearReference(near: NearReference | undefined, minOffset: number): void {
  if (near === undefined) return;
  if (!(near.fraction >= 0 && near.fraction <= 1)) {
    throw new SamplerError('invalid-option', `nearReference.fraction must be in [0, 1], got ${String(near.fraction)}.`);
  }
  if (!Number.isInteger(near.within) || near.within <= minOffset) {
    throw new SamplerError(
      'invalid-option',
      `nearReference.within must be an integer above minOffset (${minOffset}), so the near band keeps |r − t| > minOffset; got ${String(near.within)}.`,
    );
  }
}

function toRng(rng: Rng | number): Rng {
  if (typeof rng === 'function') return rng;
  if (!Number.isFinite(rng)) throw new SamplerError('invalid-option', `rng must be a function or a numeric seed, got ${String(rng)}.`);
  return mulberry32(rng);
}

/** Maps a global target index (over all clips' admissible targets) to its clip and frame. */
function locateTarget(plan: PairPlan, index: number): [ClipPlan, number] {
  let i = index;
  for (const clip of plan.clips) {
    if (i < clip.targets.length) return [clip, clip.targets[i]];
    i -= clip.targets.length;
  }
  throw new SamplerError('invalid-option', `Target index ${index} is out of range (${plan.targetCount} targets).`);
}

/** One shuffled epoch: every admissible target of every clip exactly once, each with a fresh reference. */
export function* epochPairs(opts: Omit<SampleOptions, 'count' | 'epochs'> & { plan?: PairPlan }): Generator<TrainingPair> {
  const plan = opts.plan ?? planPairs(opts);
  checkNearReference(opts.nearReference, plan.minOffset);
  const rng = toRng(opts.rng);
  const order = shuffleInPlace(
    Array.from({ length: plan.targetCount }, (_, i) => i),
    rng,
  );
  for (const index of order) {
    const [clip, target] = locateTarget(plan, index);
    yield { clip: clip.clip, target, reference: sampleReference(clip, target, plan.minOffset, rng, opts.nearReference) };
  }
}

/** Samples a training schedule: `count` pairs, or `epochs` shuffled epochs. Deterministic for a given seed. */
export function samplePairs(opts: SampleOptions): SampleResult {
  const hasCount = opts.count !== undefined;
  const hasEpochs = opts.epochs !== undefined;
  if (hasCount === hasEpochs) {
    throw new SamplerError('invalid-option', 'Pass exactly one of `count` (number of pairs) or `epochs` (number of full passes).');
  }
  const n = (hasCount ? opts.count : opts.epochs) as number;
  if (!Number.isInteger(n) || n <= 0) {
    throw new SamplerError('invalid-option', `${hasCount ? 'count' : 'epochs'} must be a positive integer, got ${String(n)}.`);
  }
  const plan = planPairs(opts);
  checkNearReference(opts.nearReference, plan.minOffset);
  const rng = toRng(opts.rng);
  const near = opts.nearReference;
  const pairs: TrainingPair[] = [];
  if (hasEpochs) {
    for (let e = 0; e < n; e++) pairs.push(...epochPairs({ plan, rng, nearReference: near }));
  } else {
    for (let i = 0; i < n; i++) {
      const [clip, target] = locateTarget(plan, randomInt(rng, plan.targetCount));
      pairs.push({ clip: clip.clip, target, reference: sampleReference(clip, target, plan.minOffset, rng, near) });
    }
  }
  const skippedTargets = plan.clips.flatMap((c) => Array.from(c.skippedTargets, (frame) => ({ clip: c.clip, frame })));
  return { pairs, plan, skippedTargets };
}

/** Serialises pairs as int32 triples (clip, target, reference): the pairs.i32 format the trainer reads. */
export function pairsToInt32(pairs: readonly TrainingPair[]): Int32Array {
  const out = new Int32Array(pairs.length * 3);
  pairs.forEach((p, i) => {
    out[3 * i] = p.clip;
    out[3 * i + 1] = p.target;
    out[3 * i + 2] = p.reference;
  });
  return out;
}

export interface FrameRange {
  /** First frame (inclusive). */
  start: number;
  /** End frame (exclusive). */
  end: number;
}

/** Splits N frames into a training head and a held-out tail of about `fraction` of the frames. */
export function holdOutTail(frames: number, fraction: number): { train: FrameRange; holdout: FrameRange } {
  if (!Number.isInteger(frames) || frames < 2) {
    throw new SamplerError('invalid-option', `holdOutTail needs an integer frame count ≥ 2, got ${String(frames)}.`);
  }
  if (!(fraction > 0 && fraction < 1)) {
    throw new SamplerError('invalid-option', `Hold-out fraction must be strictly between 0 and 1, got ${String(fraction)}.`);
  }
  const holdout = Math.min(frames - 1, Math.max(1, Math.round(frames * fraction)));
  const split = frames - holdout;
  return { train: { start: 0, end: split }, holdout: { start: split, end: frames } };
}

/**
 * Validity mask limited to a frame range (frames outside become invalid), so pairs sampled from a split
 * keep global frame indices but never reach into the other split.
 */
export function restrictValid(valid: ValidMask, range: FrameRange): Uint8Array {
  const out = new Uint8Array(valid.length);
  for (let i = Math.max(0, range.start); i < Math.min(valid.length, range.end); i++) {
    const v = (valid as ArrayLike<unknown>)[i];
    out[i] = v === true || v === 1 ? 1 : 0;
  }
  return out;
}
