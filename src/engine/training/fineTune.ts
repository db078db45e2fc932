/**
 * Fine-tunes a generator on one prepared clip, framework-free (Node tests and the training worker):
 * the ONNX graph becomes a trainable tfjs network (onnxToTf), pairs follow the reference rule through the
 * shared sampler (|r − t| > minOffset), the last `holdOut` of the clip is held out for validation (targets
 * and references both inside it), losses are the contract's fine-tune terms (losses.ts), Adam optimises. Training batches are
 * augmented like the offline trainer's (augment.ts: small zoom/shift, colour jitter, mirror); validation and preview
 * batches never are, so validation losses stay comparable across runs and settings.
 *
 * The caller drives it: step() as often as it likes (pause = stop calling), validate() now and then,
 * toOnnx() at the end. Every step runs inside tf.tidy, so tensor count stays flat over any number of steps.
 */
import * as tf from '@tensorflow/tfjs-core';
import contract from '../contract.json' with { type: 'json' };
import type { GeneratorManifest } from '../generator/manifest.ts';
import { melIndexForVideoFrame, melWindowFromFrames } from '../audio/melRing.ts';
import { MEL_CONFIG } from '../audio/melConfig.ts';
import { LANDMARK_COUNT } from '../face/meshIndices.ts';
import { articulationAround, cropMouthOpeningInCrop } from '../face/articulation.ts';
import type { RgbaImage } from '../types.ts';
import { onnxToTf, type TfOnnxNetwork } from './onnxToTf.ts';
import { DEFAULT_LOSS_WEIGHTS, lipsyncLoss, mouthWeightMap, type LossTerms, type LossWeights } from './losses.ts';
import {
  DEFAULT_MIN_OFFSET,
  SamplerError,
  epochPairs,
  holdOutTail,
  planPairs,
  restrictValid,
  samplePairs,
  type PairPlan,
  type TrainingPair,
} from './sampler.ts';
import { mulberry32, type Rng } from './rng.ts';
import { CropWarper, drawAugment, resolveAugment, warpLandmarks, type AugmentSettings } from './augment.ts';
import { CodedError } from '../codedError.ts';

/** The layers the app's fine-tune leaves as they are (contract fineTune.frozen; the model card says why). */
export const DEFAULT_FROZEN: readonly string[] = Object.freeze([...contract.fineTune.frozen]);

/** Which weights train when `frozen` (name prefixes) keep theirs; a prefix no weight has is simply skipped. */
export function trainableUnder(frozen: readonly string[]): (name: string) => boolean {
  return (name) => !frozen.some((p) => name === p || name.startsWith(`${p}.`));
}

/** The per-clip arrays data:prepare writes (see clipPrep.ts). */
export interface ClipData {
  size: number;
  frames: number;
  fps: number;
  crops: Uint8Array;
  valid: Uint8Array;
  landmarks: Float32Array;
  mel: Float32Array;
  melFrames: number;
}

export type FineTuneErrorCode = 'bad-clip' | 'bad-options' | 'diverged' | 'disposed';

export class FineTuneError extends CodedError<FineTuneErrorCode> {
  override readonly name = 'FineTuneError';
}

export interface FineTuneOptions {
  modelBytes: Uint8Array;
  manifest: GeneratorManifest;
  clip: ClipData;
  /** Samples per step (default 4). */
  batchSize?: number;
  /** Adam learning rate (default 3e-4). */
  learningRate?: number;
  /** Reference rule: |r − t| > minOffset (default 5). */
  minOffset?: number;
  /** Fraction of the clip's tail held out for validation (default 0.1). */
  holdOut?: number;
  /** Validation pairs (fixed for the whole run, default 16). */
  valPairs?: number;
  lossWeights?: LossWeights;
  /**
   * Name prefixes of the weights that keep their values (default the contract's fineTune.frozen: the layers at the two
   * finest resolutions). [] trains every layer. A prefix matches a weight named `prefix` or `prefix.…`.
   */
  frozen?: readonly string[];
  /**
   * Training-batch augmentation as in tools/train/data.py (default on with DEFAULT_AUGMENT; a partial
   * object overrides single settings, false turns it off). Drawn from its own stream of the seed, so it
   * never changes the pair schedule.
   */
  augment?: Partial<AugmentSettings> | false;
  seed?: number;
}

export type LossValues = LossTerms<number>;

export interface StepResult extends LossValues {
  step: number;
}

export interface PreviewImages {
  pair: TrainingPair;
  target: RgbaImage;
  reference: RgbaImage;
  prediction: RgbaImage;
}

export class FineTuner {
  readonly net: TfOnnxNetwork;
  readonly batchSize: number;
  readonly minOffset: number;
  readonly trainPlan: PairPlan;
  readonly valPairs: readonly TrainingPair[];
  private readonly optimizer: tf.AdamOptimizer;
  private readonly rng: Rng;
  private readonly augment: AugmentSettings | null;
  private readonly augRng: Rng;
  private readonly warper: CropWarper;
  private readonly lipsScratch = new Float32Array(LANDMARK_COUNT * 3);
  private readonly weights: LossWeights;
  private readonly y0: number;
  private readonly S: number;
  private readonly T: number;
  /**
   * Per target frame, the articulation input (the person's range away from it, or the prior), for generators that
   * take it: computed once, not per step.
   */
  private readonly articulations: Float32Array[] | null;
  private schedule: Iterator<TrainingPair>;
  private lastGood: Map<string, Float32Array> | null = null;
  private disposed = false;
  steps = 0;

  constructor(private readonly opts: FineTuneOptions) {
    const { manifest, clip } = opts;
    this.S = manifest.cropSize;
    this.T = manifest.audioWindow.past + manifest.audioWindow.lookahead;
    checkClip(clip, this.S);
    this.batchSize = opts.batchSize ?? 4;
    this.minOffset = opts.minOffset ?? DEFAULT_MIN_OFFSET;
    this.weights = opts.lossWeights ?? DEFAULT_LOSS_WEIGHTS;
    this.y0 = Math.round(this.S * (1 - manifest.maskRatio));
    const seed = opts.seed ?? 1;
    this.rng = mulberry32(seed);
    this.augment = opts.augment === false ? null : resolveAugment(opts.augment);
    // A separate stream (seed + 1 already drives the validation pairs), so augmentation leaves the schedule alone.
    this.augRng = mulberry32((seed ^ 0x5bd1e995) >>> 0);
    this.warper = new CropWarper(this.S);

    const split = holdOutTail(clip.frames, opts.holdOut ?? 0.1);
    this.trainPlan = planSplit(clip.valid, split.train, this.minOffset, 'training part', clip.fps);
    const valPlan = planSplit(clip.valid, split.holdout, this.minOffset, 'held-out tail', clip.fps);
    this.valPairs = samplePairs({
      valid: restrictValid(clip.valid, split.holdout),
      count: Math.min(opts.valPairs ?? 16, Math.max(valPlan.targetCount, 1) * 4),
      rng: seed + 1,
      minOffset: this.minOffset,
    }).pairs;
    this.schedule = epochPairs({ plan: this.trainPlan, rng: this.rng });

    this.articulations = manifest.inputs.articulation ? clipArticulations(clip, this.S, this.minOffset, manifest.inputs.articulation.prior) : null;
    this.net = onnxToTf(opts.modelBytes, { trainable: trainableUnder(opts.frozen ?? DEFAULT_FROZEN) });
    if (this.net.trainableNames.length === 0) {
      this.net.dispose();
      throw new FineTuneError('bad-options', 'Every layer of this generator is frozen, so there is nothing to fine-tune.');
    }
    this.optimizer = tf.train.adam(opts.learningRate ?? 3e-4);
  }

  private nextPairs(n: number): TrainingPair[] {
    const out: TrainingPair[] = [];
    while (out.length < n) {
      const r = this.schedule.next();
      if (r.done) this.schedule = epochPairs({ plan: this.trainPlan, rng: this.rng });
      else out.push(r.value);
    }
    return out;
  }

  /**
   * CPU-side batch in the generator's layout; `augment` only for training steps. The masked input is cut
   * from the (augmented) target, and the mouth weight follows the target's warp.
   */
  private batch(
    pairs: readonly TrainingPair[],
    augment = false,
  ): { masked: Float32Array; reference: Float32Array; target: Float32Array; audio: Float32Array; weight: Float32Array; articulation: Float32Array | null } {
    const { clip, manifest } = this.opts;
    const S = this.S;
    const B = pairs.length;
    const plane = S * S;
    const [lo, hi] = manifest.imageRange;
    const k = (hi - lo) / 255;
    const target = new Float32Array(B * 3 * plane);
    const reference = new Float32Array(B * 3 * plane);
    const weight = new Float32Array(B * plane);
    const audio = new Float32Array(B * MEL_CONFIG.nMels * this.T);
    const articulation = manifest.inputs.articulation ? new Float32Array(B * 2) : null;
    const toPlanar = (frame: number, out: Float32Array, b: number) => {
      const src = clip.crops.subarray(frame * plane * 3, (frame + 1) * plane * 3);
      const base = b * 3 * plane;
      for (let i = 0; i < plane; i++) {
        out[base + i] = src[3 * i] * k + lo;
        out[base + plane + i] = src[3 * i + 1] * k + lo;
        out[base + 2 * plane + i] = src[3 * i + 2] * k + lo;
      }
    };
    const aug = augment ? this.augment : null;
    const crop = (frame: number) => clip.crops.subarray(frame * plane * 3, (frame + 1) * plane * 3);
    const planes = (out: Float32Array, b: number) => out.subarray(b * 3 * plane, (b + 1) * 3 * plane);
    pairs.forEach((p, b) => {
      let lips = clip.landmarks.subarray(p.target * LANDMARK_COUNT * 3, (p.target + 1) * LANDMARK_COUNT * 3);
      if (aug) {
        const a = drawAugment(this.augRng, aug);
        this.warper.warp(crop(p.target), a.target, a.colour, manifest.imageRange, planes(target, b), a.flip);
        this.warper.warp(crop(p.reference), a.reference, a.colour, manifest.imageRange, planes(reference, b), a.flip);
        lips = warpLandmarks(lips, S, a.target, this.lipsScratch, a.flip);
      } else {
        toPlanar(p.target, target, b);
        toPlanar(p.reference, reference, b);
      }
      mouthWeightMap(lips, S, weight.subarray(b * plane, (b + 1) * plane));
      const { past, lookahead } = manifest.audioWindow;
      melWindowFromFrames(
        clip.mel,
        clip.melFrames,
        melIndexForVideoFrame(p.target, clip.fps),
        past,
        lookahead,
        audio.subarray(b * MEL_CONFIG.nMels * this.T, (b + 1) * MEL_CONFIG.nMels * this.T),
      );
      if (articulation) {
        // The person's range away from the target (|f − t| > minOffset), as the offline trainer measures it.
        articulation.set(this.articulations![p.target], 2 * b);
      }
    });
    const masked = new Float32Array(target);
    for (let b = 0; b < B; b++) for (let c = 0; c < 3; c++) masked.fill(manifest.maskFill, (b * 3 + c) * plane + this.y0 * S, (b * 3 + c + 1) * plane);
    return { masked, reference, target, audio, weight, articulation };
  }

  private terms(pairs: readonly TrainingPair[], augment = false): LossTerms<tf.Scalar> & { output: tf.Tensor } {
    const S = this.S;
    const B = pairs.length;
    const x = this.batch(pairs, augment);
    const output = this.net.forward(this.feeds(x, B));
    const t = lipsyncLoss(output, tf.tensor4d(x.target, [B, 3, S, S]), tf.tensor4d(x.weight, [B, 1, S, S]), this.y0, this.weights);
    return { ...t, output };
  }

  /** The network's inputs for a batch of B from `batch()`. */
  private feeds(x: ReturnType<FineTuner['batch']>, B: number): Record<string, tf.Tensor> {
    const S = this.S;
    const { inputs } = this.opts.manifest;
    return {
      [inputs.masked.name]: tf.tensor4d(x.masked, [B, 3, S, S]),
      [inputs.reference.name]: tf.tensor4d(x.reference, [B, 3, S, S]),
      [inputs.audio.name]: tf.tensor3d(x.audio, [B, MEL_CONFIG.nMels, this.T]),
      ...(inputs.articulation && x.articulation ? { [inputs.articulation.name]: tf.tensor2d(x.articulation, [B, 2]) } : {}),
      // The network as trained: the gain is an inference-time control.
      ...(inputs.openingGain ? { [inputs.openingGain.name]: tf.ones([B, 1]) } : {}),
    };
  }

  /** One Adam step on the next batch of the schedule. Throws FineTuneError('diverged') on a non-finite loss. */
  async step(): Promise<StepResult> {
    this.assertLive();
    const pairs = this.nextPairs(this.batchSize);
    let stats: tf.Tensor | undefined;
    tf.tidy(() => {
      this.optimizer.minimize(
        () => {
          const t = this.terms(pairs, true);
          // Kept past minimize's own tidy so the terms can be read back (disposed below).
          stats = tf.keep(tf.stack([t.loss, t.l1, t.mouth, t.grad, t.texture]));
          return t.loss;
        },
        false,
        this.net.variables,
      );
    });
    const [loss, l1, mouth, grad, texture] = await readAndDispose(stats!);
    if (!Number.isFinite(loss)) {
      if (this.lastGood) this.net.importWeights(this.lastGood);
      throw new FineTuneError(
        'diverged',
        `Training diverged at step ${this.steps + 1} (loss ${loss})${this.lastGood ? '; the last good weights were restored' : ''}. Try a lower learning rate.`,
      );
    }
    this.steps++;
    return { step: this.steps, loss, l1, mouth, grad, texture };
  }

  /** Mean loss terms over the fixed held-out pairs (no weight update). */
  async validate(): Promise<LossValues> {
    this.assertLive();
    const keys = ['loss', 'l1', 'mouth', 'grad', 'texture'] as const;
    const sums: LossValues = { loss: 0, l1: 0, mouth: 0, grad: 0, texture: 0 };
    for (let i = 0; i < this.valPairs.length; i += this.batchSize) {
      const chunk = this.valPairs.slice(i, i + this.batchSize);
      const values = await readAndDispose(
        tf.tidy(() => {
          const t = this.terms(chunk);
          return tf.stack(keys.map((k) => t[k]));
        }),
      );
      keys.forEach((k, j) => {
        sums[k] += values[j] * chunk.length;
      });
    }
    for (const k of keys) sums[k] /= this.valPairs.length;
    return sums;
  }

  /** Target | reference | prediction for held-out pair `index` (cycled). */
  async preview(index = 0): Promise<PreviewImages> {
    this.assertLive();
    const pair = this.valPairs[index % this.valPairs.length];
    const S = this.S;
    const x = this.batch([pair]);
    const pred = await readAndDispose(tf.tidy(() => this.net.forward(this.feeds(x, 1))));
    const range = this.opts.manifest.imageRange;
    return { pair, target: planarRgba(x.target, S, range), reference: planarRgba(x.reference, S, range), prediction: planarRgba(pred, S, range) };
  }

  /** Remembers the current weights as the ones to fall back to (GPU lost, divergence). */
  async checkpoint(): Promise<void> {
    this.assertLive();
    this.lastGood = await this.net.exportWeightsAsync();
  }

  get hasCheckpoint(): boolean {
    return this.lastGood !== null;
  }

  /** The model as ONNX bytes: current weights, or the last checkpoint when `fromCheckpoint`. */
  toOnnx(fromCheckpoint = false): Uint8Array {
    if (fromCheckpoint && this.lastGood) return this.net.toOnnx(this.lastGood);
    this.assertLive();
    return this.net.toOnnx();
  }

  private assertLive(): void {
    if (this.disposed) throw new FineTuneError('disposed', 'The fine-tuning run was already closed.');
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.optimizer.dispose();
    this.net.dispose();
  }
}

async function readAndDispose(t: tf.Tensor): Promise<Float32Array> {
  try {
    return (await t.data()) as Float32Array;
  } finally {
    t.dispose();
  }
}

function planarRgba(data: Float32Array, S: number, [lo, hi]: [number, number]): RgbaImage {
  const plane = S * S;
  const out = new Uint8ClampedArray(plane * 4);
  const k = 255 / (hi - lo);
  for (let i = 0; i < plane; i++) {
    out[4 * i] = (data[i] - lo) * k + 0.5;
    out[4 * i + 1] = (data[plane + i] - lo) * k + 0.5;
    out[4 * i + 2] = (data[2 * plane + i] - lo) * k + 0.5;
    out[4 * i + 3] = 255;
  }
  return { width: S, height: S, data: out };
}

function checkClip(clip: ClipData, S: number): void {
  const n = clip.frames;
  const bad = (msg: string) => new FineTuneError('bad-clip', msg);
  if (clip.size !== S) throw bad(`The clip was prepared with ${clip.size}px crops but the model needs ${S}px crops.`);
  if (clip.crops.length !== n * S * S * 3) throw bad(`crops hold ${clip.crops.length} bytes, expected ${n}×${S}×${S}×3.`);
  if (clip.valid.length !== n) throw bad(`valid has ${clip.valid.length} entries for ${n} frames.`);
  if (clip.landmarks.length !== n * LANDMARK_COUNT * 3) throw bad(`landmarks hold ${clip.landmarks.length} values, expected ${n}×${LANDMARK_COUNT}×3.`);
  if (clip.mel.length !== clip.melFrames * MEL_CONFIG.nMels) throw bad(`mel holds ${clip.mel.length} values, expected ${clip.melFrames}×${MEL_CONFIG.nMels}.`);
}

/** Plans one split; a split without any admissible pair is reported in terms a user can act on. */
function planSplit(valid: Uint8Array, range: { start: number; end: number }, minOffset: number, what: string, fps: number): PairPlan {
  try {
    return planPairs({ valid: restrictValid(valid, range), minOffset });
  } catch (e) {
    if (!(e instanceof SamplerError) || e.code !== 'clip-too-short') throw e;
    let faces = 0;
    for (let i = range.start; i < range.end; i++) faces += valid[i] ? 1 : 0;
    // Each split needs two face frames more than minOffset apart; the held-out tail is 10% of the clip.
    const needFrames = Math.ceil((minOffset + 2) / 0.1);
    throw new SamplerError(
      'clip-too-short',
      `The clip is too short for the reference rule: its ${what} (frames ${range.start}–${range.end - 1}) has ${faces} frame(s) with a face, ` +
        `but a training pair needs two face frames more than ${minOffset} frames apart. Record at least ${(needFrames / fps).toFixed(1)} s ` +
        `(${needFrames} frames) with your face in view.`,
    );
  }
}

/**
 * Each frame's articulation input: the range of the clip's inner-lip gaps (crop-space landmarks, NaN where no face)
 * more than minOffset frames from it, as the offline trainer measures it, or the prior when unknown.
 */
function clipArticulations(clip: ClipData, S: number, minOffset: number, prior: [number, number]): Float32Array[] {
  const openings = new Float32Array(clip.frames);
  const n = LANDMARK_COUNT * 3;
  for (let t = 0; t < clip.frames; t++) {
    openings[t] = clip.valid[t] ? cropMouthOpeningInCrop(clip.landmarks.subarray(t * n, (t + 1) * n), S) : NaN;
  }
  return Array.from({ length: clip.frames }, (_, t) => articulationAround(openings, t, minOffset) ?? Float32Array.from(prior));
}
