import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';

// The original kernels, captured before the fast ones replace them.
const originalFilter = tf.getKernel('Conv2DBackpropFilter', 'cpu')!.kernelFunc;
const originalSlice = tf.getKernel('Slice', 'cpu')!.kernelFunc;
const { installFastCpuKernels } = await import('./cpuKernels.ts');

function run(kernel: tf.KernelFunc, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap): Float32Array {
  const backend = tf.backend();
  const info = kernel({ inputs, backend, attrs }) as tf.TensorInfo;
  const t = tf.engine().makeTensorFromTensorInfo(info);
  const v = t.dataSync() as Float32Array;
  t.dispose();
  return v;
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  installFastCpuKernels();
});

describe("fast cpu kernels give the original kernels' results", () => {
  it.each([
    { x: [2, 9, 8, 3], f: [3, 3, 3, 4], strides: [2, 2], pad: 1 },
    { x: [1, 8, 8, 2], f: [3, 3, 2, 5], strides: [1, 1], pad: 'valid' },
    {
      x: [1, 1, 16, 4],
      f: [1, 3, 4, 6],
      strides: [1, 2],
      pad: [
        [0, 0],
        [0, 0],
        [1, 1],
        [0, 0],
      ],
    },
  ] as const)('Conv2DBackpropFilter %j', ({ x, f, strides, pad }) => {
    const xs = tf.randomNormal([...x], 0, 1, 'float32', 1);
    const y = tf.conv2d(xs as tf.Tensor4D, tf.zeros([...f]) as tf.Tensor4D, [...strides] as [number, number], pad as never);
    const dy = tf.randomNormal(y.shape, 0, 1, 'float32', 2);
    const attrs = { strides: [...strides], pad, dataFormat: 'NHWC', filterShape: [...f] } as unknown as tf.NamedAttrMap;
    const fast = run(tf.getKernel('Conv2DBackpropFilter', 'cpu')!.kernelFunc, { x: xs, dy }, attrs);
    expect(maxDiff(fast, run(originalFilter, { x: xs, dy }, attrs))).toBeLessThan(1e-4);
    expect(Math.max(...fast.map(Math.abs))).toBeGreaterThan(0.1);
    tf.dispose([xs, y, dy]);
  });

  it.each([
    { shape: [2, 3, 5, 7], begin: [0, 1, 2, 3], size: [2, 2, 3, 4] },
    { shape: [4, 6], begin: [1, 0], size: [2, -1] },
    { shape: [10], begin: [3], size: [5] },
  ])('Slice %j', ({ shape, begin, size }) => {
    const x = tf.randomNormal(shape, 0, 1, 'float32', 3);
    const attrs = { begin, size } as unknown as tf.NamedAttrMap;
    const fast = run(tf.getKernel('Slice', 'cpu')!.kernelFunc, { x }, attrs);
    expect(fast).toEqual(run(originalSlice, { x }, attrs));
    x.dispose();
  });
});
