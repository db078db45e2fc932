/**
 * The offline trainer's pixel losses (tools/train/train.py `losses`, data.py `mouth_weight`) in tfjs:
 *
 *   loss = L1(generated rows) + mouthWeight · mouth-region L1 + gradWeight · image-gradient L1
 *          + textureWeight · |local detail energy − the target's|
 *
 * The texture term keeps more of the mouth's detail: L1 on a mouth whose exact edges the network is unsure of is lowest
 * for a blur, so a fine-tune on the pixel terms alone softens the mouth it started from. Per 8×8 block it asks for
 * as much fine detail (RMS of the luma Laplacian) as the target has there, wherever the edges fall.
 *
 * All terms only look at the generated rows y ≥ y0 (the rows above are copied from the input). The trainer
 * has more terms (experts, discriminators); which ones a fine-tune leaves out, and why, is stated once, in
 * the contract's `losses` (src/engine/contract.json), and listed by OFFLINE_ONLY_LOSSES.
 */
import * as tf from '@tensorflow/tfjs-core';
import contract from '../contract.json' with { type: 'json' };
import { INNER_LIPS, OUTER_LIPS } from '../face/meshIndices.ts';
import { ensureTrainingGradients } from './gradients.ts';
import { LUMA_601 } from '../eval/metrics.ts';

export interface LossWeights {
  /** Weight of the mouth-region L1 (train.py --mouth-weight, default 2). */
  mouth: number;
  /** Weight of the image-gradient L1 (train.py --grad-weight, default 0.5). */
  grad: number;
  /** Weight of the local detail-energy term (train.py --texture-weight; the fine-tune's default is the contract's fineTuneWeight). */
  texture: number;
}

export interface ContractLoss {
  weight: number;
  fineTune: boolean;
  /** The fine-tune's weight when it differs from the trainer's default. */
  fineTuneWeight?: number;
  why?: string;
}

const LOSSES = Object.fromEntries(Object.entries(contract.losses).filter(([k]) => !k.startsWith('$'))) as Record<string, ContractLoss>;

/** A contract term's weight in the fine-tune: its fineTuneWeight where given, else the trainer's default; 0 when off. */
export function fineTuneWeightOf(l: ContractLoss): number {
  return l.fineTune ? (l.fineTuneWeight ?? l.weight) : 0;
}

/** The fine-tune's weights, from the contract (fineTuneWeight where given, else the offline trainer's default). */
export const DEFAULT_LOSS_WEIGHTS: Readonly<LossWeights> = Object.freeze({
  mouth: fineTuneWeightOf(LOSSES.mouth),
  grad: fineTuneWeightOf(LOSSES.grad),
  texture: fineTuneWeightOf(LOSSES.texture),
});

/** The trainer's terms the browser fine-tune does not optimise, with the contract's reason for each. */
export const OFFLINE_ONLY_LOSSES: readonly { term: string; why: string }[] = Object.entries(LOSSES)
  .filter(([, l]) => !l.fineTune)
  .map(([term, l]) => ({ term, why: l.why ?? '' }));

/** The terms lipsyncLoss computes: every contract term marked fineTune must be one of them. */
export const FINE_TUNE_LOSSES: readonly string[] = ['l1', 'mouth', 'grad', 'texture'];

export interface LossTerms<T> {
  loss: T;
  l1: T;
  mouth: T;
  grad: T;
  texture: T;
}

/** The 4-neighbour Laplacian of the eval's sharpness metric (metrics.ts laplacianVariance; adversarial.py `_LAPLACE`). */
const LAPLACE = [0, 1, 0, 1, -4, 1, 0, 1, 0];
/** Block size of the detail energy (train.py `texture_energy`). */
const TEXTURE_PATCH = 8;

/**
 * RMS of the luma Laplacian per 8×8 block of [B,3,h,w] images ("valid" borders, partial blocks dropped), [B,h',w']:
 * train.py `texture_energy`. The block mean is a reshape and a mean, not avgPool, whose gradient kernel not every
 * tfjs backend has.
 */
export function textureEnergy(x: tf.Tensor4D): tf.Tensor3D {
  const [B, , h, w] = x.shape;
  const luma = tf.sum(tf.mul(x, tf.tensor4d([...LUMA_601], [1, 3, 1, 1])), 1, true);
  const lap = tf.conv2d(tf.reshape(luma, [B, h, w, 1]) as tf.Tensor4D, tf.tensor4d(LAPLACE, [3, 3, 1, 1]), 1, 'valid');
  const [bh, bw] = [Math.floor((h - 2) / TEXTURE_PATCH), Math.floor((w - 2) / TEXTURE_PATCH)];
  const blocks = tf.reshape(tf.slice(tf.square(lap), [0, 0, 0, 0], [B, bh * TEXTURE_PATCH, bw * TEXTURE_PATCH, 1]), [B, bh, TEXTURE_PATCH, bw, TEXTURE_PATCH]);
  return tf.sqrt(tf.add(tf.mean(blocks, [2, 4]), 1e-6)) as tf.Tensor3D;
}

/** Landmark indices of the lips (outer + inner contour), as data.py uses them. */
export const LIP_POINTS: readonly number[] = [...OUTER_LIPS, ...INNER_LIPS];

/**
 * Soft elliptical mask [S,S] around the lips (data.py `mouth_weight`): 1 inside the lip box's ellipse padded
 * by 25% plus (3%, 5%) of S for teeth and jaw movement, fading linearly to 0 at 1.5× its radius.
 * `landmarks` is one frame's [478·3] in crop pixels.
 */
export function mouthWeightMap(landmarks: Float32Array, size: number, out = new Float32Array(size * size)): Float32Array {
  let x0 = Infinity,
    y0 = Infinity,
    x1 = -Infinity,
    y1 = -Infinity;
  for (const i of LIP_POINTS) {
    const x = landmarks[3 * i];
    const y = landmarks[3 * i + 1];
    x0 = Math.min(x0, x);
    x1 = Math.max(x1, x);
    y0 = Math.min(y0, y);
    y1 = Math.max(y1, y);
  }
  const cx = (x0 + x1) / 2;
  const cy = (y0 + y1) / 2;
  const hx = ((x1 - x0) / 2) * 1.25 + 0.03 * size;
  const hy = ((y1 - y0) / 2) * 1.25 + 0.05 * size;
  for (let y = 0; y < size; y++) {
    const dy = (y + 0.5 - cy) / hy;
    for (let x = 0; x < size; x++) {
      const dx = (x + 0.5 - cx) / hx;
      out[y * size + x] = Math.min(1, Math.max(0, 1.5 - Math.sqrt(dx * dx + dy * dy)));
    }
  }
  return out;
}

/**
 * Loss terms for a batch. `output`/`target` [B,3,S,S], `weight` [B,1,S,S] (mouthWeightMap per sample),
 * `y0` the first generated row. Returns scalars; call inside tf.tidy / an optimizer's minimize.
 */
export function lipsyncLoss(output: tf.Tensor, target: tf.Tensor, weight: tf.Tensor, y0: number, w: LossWeights = DEFAULT_LOSS_WEIGHTS): LossTerms<tf.Scalar> {
  ensureTrainingGradients();
  const [B, C, S] = output.shape;
  const rows = S - y0;
  const lower = (x: tf.Tensor, c: number) => tf.slice(x, [0, 0, y0, 0], [B, c, rows, S]);
  const o = lower(output, C);
  const t = lower(target, C);
  const wt = lower(weight, 1);
  const diff = tf.abs(tf.sub(o, t));
  const l1 = tf.mean(diff) as tf.Scalar;
  const mouth = tf.div(tf.sum(tf.mul(diff, wt)), tf.add(tf.mul(tf.sum(wt), 3), 1e-6)) as tf.Scalar;
  // The gradient term spans the mask line (row y0 − 1 → y0, as train.py): a brightness step there costs loss.
  const start = Math.max(0, y0 - 1);
  const g = S - start;
  const from = (x: tf.Tensor) => tf.slice(x, [0, 0, start, 0], [B, C, g, S]);
  const gx = (x: tf.Tensor) => tf.sub(tf.slice(x, [0, 0, 0, 1], [B, C, g, S - 1]), tf.slice(x, [0, 0, 0, 0], [B, C, g, S - 1]));
  const gy = (x: tf.Tensor) => tf.sub(tf.slice(x, [0, 0, 1, 0], [B, C, g - 1, S]), tf.slice(x, [0, 0, 0, 0], [B, C, g - 1, S]));
  const [og, tg] = [from(output), from(target)];
  const grad = tf.add(tf.mean(tf.abs(tf.sub(gx(og), gx(tg)))), tf.mean(tf.abs(tf.sub(gy(og), gy(tg))))) as tf.Scalar;
  // Computed at any weight, so validation reports how much detail a run without it loses.
  const texture = tf.mean(tf.abs(tf.sub(textureEnergy(o as tf.Tensor4D), textureEnergy(t as tf.Tensor4D)))) as tf.Scalar;
  const loss = tf.add(tf.add(tf.add(l1, tf.mul(mouth, w.mouth)), tf.mul(grad, w.grad)), tf.mul(texture, w.texture)) as tf.Scalar;
  return { loss, l1, mouth, grad, texture };
}
