/**
 * The fine-tune's loss terms against the contract file (the parity of their values with the trainer runs live in
 * tools/train/lossesParity.int.test.ts), and the mouth weight map.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import contract from '../contract.json' with { type: 'json' };
import readme from '../../../README.md?raw';
import { DEFAULT_LOSS_WEIGHTS, FINE_TUNE_LOSSES, LIP_POINTS, OFFLINE_ONLY_LOSSES, lipsyncLoss, mouthWeightMap } from './losses.ts';

const S = 32;

/** Lips on an ellipse around (cx, cy) in crop pixels; the other landmarks far away (they must not matter). */
function landmarks(cx: number, cy: number, rx: number, ry: number): Float32Array {
  const p = new Float32Array(478 * 3).fill(-1000);
  LIP_POINTS.forEach((i, k) => {
    const a = (2 * Math.PI * k) / LIP_POINTS.length;
    p[3 * i] = cx + rx * Math.cos(a);
    p[3 * i + 1] = cy + ry * Math.sin(a);
    p[3 * i + 2] = 0;
  });
  return p;
}

describe("the fine-tune's loss terms and the contract", () => {
  const terms = Object.entries(contract.losses).filter(([k]) => !k.startsWith('$')) as [string, { weight: number; fineTune: boolean; why?: string }][];

  it("computes exactly the terms the contract marks fineTune, at the contract's weights", () => {
    expect(
      terms
        .filter(([, t]) => t.fineTune)
        .map(([k]) => k)
        .sort(),
    ).toEqual([...FINE_TUNE_LOSSES].sort());
    expect(DEFAULT_LOSS_WEIGHTS).toEqual({
      mouth: contract.losses.mouth.weight,
      grad: contract.losses.grad.weight,
      texture: contract.losses.texture.fineTuneWeight,
    });
  });

  it('gives a fine-tune weight only to terms the fine-tune optimises, and only a finite one of 0 or more', () => {
    for (const [term, t] of terms as [string, { fineTune: boolean; fineTuneWeight?: number }][]) {
      if (t.fineTuneWeight === undefined) continue;
      expect(t.fineTune, term).toBe(true);
      expect(Number.isFinite(t.fineTuneWeight) && t.fineTuneWeight >= 0, term).toBe(true);
    }
  });

  it('states why for every term it leaves out, and the README lists each one', () => {
    expect(OFFLINE_ONLY_LOSSES.map((l) => l.term).sort()).toEqual(
      terms
        .filter(([, t]) => !t.fineTune)
        .map(([k]) => k)
        .sort(),
    );
    for (const { term, why } of OFFLINE_ONLY_LOSSES) {
      expect(why.length, term).toBeGreaterThan(10);
      expect(readme, term).toContain(`- \`${term}\` (`);
      expect(readme, term).toContain(why);
    }
  });
});

describe('mouthWeightMap', () => {
  it('is 1 on the lips, 0 far away, and centred on them', () => {
    const w = mouthWeightMap(landmarks(16, 24, 5, 2), S);
    expect(w[24 * S + 16]).toBe(1);
    expect(w[2 * S + 2]).toBe(0);
    expect(w[24 * S + 10]).toBeCloseTo(w[24 * S + 21], 5); // symmetric about x = 16 (pixel x is centred at x + 0.5)
    expect(w[24 * S + 10]).toBeLessThan(1);
  });
});

describe('the texture term', () => {
  // A striped target (lip edges, teeth), the same stripes two pixels lower, and their blur: L1 prefers the blur,
  // which is how a fine-tune on pixel terms alone softens a sharp mouth; the texture term prefers the detail.
  const B = 1;
  const size = 32;
  const y0 = 16;
  const image = (f: (y: number, x: number) => number) =>
    tf.tensor4d(
      Float32Array.from({ length: 3 * size * size }, (_, i) => f(Math.floor((i % (size * size)) / size), i % size)),
      [B, 3, size, size],
    );
  const stripes = (shift: number) => image((y) => ((y + shift) % 4 < 2 ? 0.8 : 0.2));
  const weight = tf.ones([B, 1, size, size]);
  const terms = (out: tf.Tensor, target: tf.Tensor) => {
    const t = lipsyncLoss(out, target, weight, y0, { mouth: 0, grad: 0, texture: 1 });
    return { l1: t.l1.dataSync()[0], texture: t.texture.dataSync()[0] };
  };

  it('prefers misplaced detail to a blur, where L1 prefers the blur', async () => {
    await tf.setBackend('cpu');
    const target = stripes(0);
    const shifted = terms(stripes(2), target);
    const blurred = terms(
      image(() => 0.5),
      target,
    );
    expect(blurred.l1).toBeLessThan(shifted.l1);
    expect(shifted.texture).toBeLessThan(0.01);
    expect(blurred.texture).toBeGreaterThan(0.5);
  });
});
