import { beforeAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-web';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { buildOnnxModel } from '../generator/onnx.ts';
import { gridSampleBilinearBorder } from './gridSample.ts';
import { ensureTrainingGradients } from './gradients.ts';
import { mulberry32 } from './rng.ts';

ort.env.wasm.numThreads = 1;
const [N, C, H, W, Ho, Wo] = [2, 3, 7, 9, 5, 6];

/** onnxruntime's own GridSample (bilinear, border) on NCHW `image` → NCHW output. */
async function ortGridSample(image: Float32Array, grid: Float32Array, alignCorners: boolean): Promise<Float32Array> {
  const model = buildOnnxModel({
    opset: 17,
    inputs: [
      { name: 'x', dims: [N, C, H, W] },
      { name: 'grid', dims: [N, Ho, Wo, 2] },
    ],
    outputs: [{ name: 'y', dims: [N, C, Ho, Wo] }],
    nodes: [
      {
        opType: 'GridSample',
        inputs: ['x', 'grid'],
        outputs: ['y'],
        attributes: { mode: 'bilinear', padding_mode: 'border', align_corners: alignCorners ? 1 : 0 },
      },
    ],
  });
  const s = await ort.InferenceSession.create(model, { executionProviders: ['wasm'] });
  try {
    const out = await s.run({ x: new ort.Tensor('float32', image, [N, C, H, W]), grid: new ort.Tensor('float32', grid, [N, Ho, Wo, 2]) });
    return out.y.data as Float32Array;
  } finally {
    await s.release();
  }
}

function ours(image: Float32Array, grid: Float32Array, alignCorners: boolean): Float32Array {
  return tf.tidy(() => {
    const x = tf.transpose(tf.tensor4d(image, [N, C, H, W]), [0, 2, 3, 1]) as tf.Tensor4D;
    const y = gridSampleBilinearBorder(x, tf.tensor4d(grid, [N, Ho, Wo, 2]), alignCorners);
    return tf.transpose(y, [0, 3, 1, 2]).dataSync() as Float32Array;
  });
}

const r = mulberry32(4);
const image = Float32Array.from({ length: N * C * H * W }, r);
// Positions inside and up to 30 % outside the image: border padding is exercised.
const grid = Float32Array.from({ length: N * Ho * Wo * 2 }, () => (r() * 2 - 1) * 1.3);

beforeAll(async () => {
  await tf.setBackend('cpu');
  ensureTrainingGradients();
});

describe('gridSampleBilinearBorder (the fine-tune reader’s GridSample)', () => {
  for (const align of [false, true]) {
    it(`equals onnxruntime's GridSample, align_corners ${align ? 1 : 0}, including positions outside the image`, async () => {
      const a = ours(image, grid, align);
      const b = await ortGridSample(image, grid, align);
      let d = 0;
      for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
      expect(d).toBeLessThan(1e-5);
    });
  }

  it('at the pixel centres it returns the image itself', () => {
    const centres = new Float32Array(N * H * W * 2);
    for (let n = 0; n < N; n++)
      for (let y = 0; y < H; y++)
        for (let x = 0; x < W; x++) {
          const i = ((n * H + y) * W + x) * 2;
          centres[i] = (2 * x + 1) / W - 1;
          centres[i + 1] = (2 * y + 1) / H - 1;
        }
    const out = tf.tidy(() => {
      const x = tf.transpose(tf.tensor4d(image, [N, C, H, W]), [0, 2, 3, 1]) as tf.Tensor4D;
      return tf.transpose(gridSampleBilinearBorder(x, tf.tensor4d(centres, [N, H, W, 2]), false), [0, 3, 1, 2]).dataSync();
    });
    let d = 0;
    for (let i = 0; i < out.length; i++) d = Math.max(d, Math.abs(out[i] - image[i]));
    expect(d).toBeLessThan(1e-6);
  });

  it('its gradients with respect to the grid and the image match finite differences', () => {
    const weights = Float32Array.from({ length: N * Ho * Wo * C }, r);
    const loss = (img: tf.Tensor4D, g: tf.Tensor4D) => tf.sum(tf.mul(gridSampleBilinearBorder(img, g, false), tf.tensor4d(weights, [N, Ho, Wo, C])));
    const img = tf.transpose(tf.tensor4d(image, [N, C, H, W]), [0, 2, 3, 1]) as tf.Tensor4D;
    // Inside the image and away from pixel centres, where the bilinear surface is smooth.
    const g0 = Float32Array.from({ length: N * Ho * Wo * 2 }, () => (r() * 2 - 1) * 0.8);
    const gt = tf.tensor4d(g0, [N, Ho, Wo, 2]);
    const [dImg, dGrid] = tf.grads((a: tf.Tensor, b: tf.Tensor) => loss(a as tf.Tensor4D, b as tf.Tensor4D))([img, gt]);
    const analytic = dGrid.dataSync();
    const eps = 1e-3;
    for (const i of [0, 7, 31, 58, 101]) {
      const plus = Float32Array.from(g0);
      const minus = Float32Array.from(g0);
      plus[i] += eps;
      minus[i] -= eps;
      const fd = (loss(img, tf.tensor4d(plus, [N, Ho, Wo, 2])).dataSync()[0] - loss(img, tf.tensor4d(minus, [N, Ho, Wo, 2])).dataSync()[0]) / (2 * eps);
      expect(analytic[i]).toBeCloseTo(fd, 1);
    }
    // The loss is linear in the image: its gradient is exact, and sums to the sum of the weights.
    const total = tf.sum(dImg).dataSync()[0];
    expect(total).toBeCloseTo(
      weights.reduce((a, b) => a + b, 0),
      2,
    );
  });
});
