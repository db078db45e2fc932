import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-web';
import { buildOnnxModel, readOnnxModel } from './onnx.ts';
import { computeModelStats } from './stats.ts';

ort.env.wasm.numThreads = 1;

const f = (n: number) => new Float32Array(n).fill(0.01);

/**
 * x [1,3,64,64]
 *  → Conv 3→16, 3×3, stride 2, pad 1           → [1,16,32,32]
 *  → Conv depthwise 16, 3×3, group 16, pad 1    → [1,16,32,32]
 *  → ConvTranspose 16→8, 4×4, stride 2, pad 1   → [1,8,64,64]
 *  → Resize ×0.5 (nearest)                      → [1,8,32,32]
 *  → GlobalAveragePool → Flatten                → [1,8]
 *  → Gemm 8→10                                  → [1,10]
 *  → Reshape [1,10,1] → MatMul with [1,4]       → [1,10,4]
 */
function convStack(): Uint8Array {
  return buildOnnxModel({
    inputs: [{ name: 'x', dims: ['batch', 3, 64, 64] }],
    outputs: [{ name: 'out', dims: [1, 10, 4] }],
    initializers: [
      { name: 'w1', dims: [16, 3, 3, 3], data: f(16 * 3 * 9) },
      { name: 'b1', dims: [16], data: f(16) },
      { name: 'wd', dims: [16, 1, 3, 3], data: f(16 * 9) },
      { name: 'wt', dims: [16, 8, 4, 4], data: f(16 * 8 * 16) },
      { name: 'scales', dims: [4], data: Float32Array.of(1, 1, 0.5, 0.5) },
      { name: 'wg', dims: [10, 8], data: f(80) },
      { name: 'shape', dims: [3], int64: [1, -1, 1] },
      { name: 'wm', dims: [1, 4], data: f(4) },
    ],
    nodes: [
      { opType: 'Conv', name: 'down', inputs: ['x', 'w1', 'b1'], outputs: ['c1'], attributes: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] } },
      { opType: 'Conv', name: 'depthwise', inputs: ['c1', 'wd'], outputs: ['c2'], attributes: { group: 16, pads: [1, 1, 1, 1] } },
      { opType: 'ConvTranspose', name: 'up', inputs: ['c2', 'wt'], outputs: ['c3'], attributes: { strides: [2, 2], pads: [1, 1, 1, 1] } },
      { opType: 'Resize', inputs: ['c3', '', 'scales'], outputs: ['r'], attributes: { mode: 'nearest' } },
      { opType: 'GlobalAveragePool', inputs: ['r'], outputs: ['g'] },
      { opType: 'Flatten', inputs: ['g'], outputs: ['fl'] },
      { opType: 'Gemm', name: 'fc', inputs: ['fl', 'wg'], outputs: ['fc'], attributes: { transB: 1 } },
      { opType: 'Reshape', inputs: ['fc', 'shape'], outputs: ['col'] },
      { opType: 'MatMul', name: 'outer', inputs: ['col', 'wm'], outputs: ['out'] },
    ],
  });
}

describe('computeModelStats', () => {
  it('counts MACs of a conv stack as computed by hand', () => {
    const stats = computeModelStats(readOnnxModel(convStack()));
    const byNode = Object.fromEntries(stats.perNode.map((n) => [n.node, n]));
    // MACs = output elements × (input channels per group × kernel area)
    expect(byNode.down.macs).toBe(16 * 32 * 32 * (3 * 3 * 3));
    expect(byNode.depthwise.macs).toBe(16 * 32 * 32 * (1 * 3 * 3));
    // ConvTranspose: every input element scatters into out-channels × kernel area
    expect(byNode.up.macs).toBe(16 * 32 * 32 * (8 * 4 * 4));
    expect(byNode.up.outputShape).toEqual([1, 8, 64, 64]);
    expect(byNode.fc.macs).toBe(1 * 10 * 8);
    expect(byNode.outer.macs).toBe(10 * 1 * 4);
    const total = 16 * 32 * 32 * 27 + 16 * 32 * 32 * 9 + 16 * 32 * 32 * 128 + 80 + 40;
    expect(stats.macs).toBe(total);
    expect(stats.gflops).toBeCloseTo((2 * total) / 1e9, 12);
    expect(stats.uncounted).toEqual([]);
    expect(stats.parameters).toBe(16 * 27 + 16 + 16 * 9 + 16 * 8 * 16 + 4 + 80 + 4);
    expect(stats.unsupportedOps).toEqual([]);
  });

  it('infers the same output shape onnxruntime computes', async () => {
    const bytes = convStack();
    const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
    const out = await session.run({ x: new ort.Tensor('float32', new Float32Array(3 * 64 * 64), [1, 3, 64, 64]) });
    await session.release();
    const stats = computeModelStats(readOnnxModel(bytes));
    expect(stats.perNode.find((n) => n.node === 'outer')!.outputShape).toEqual(out.out.dims);
  });

  it('flags ops without a WebGPU kernel and lists compute nodes it could not size', () => {
    const bytes = buildOnnxModel({
      inputs: [{ name: 'x', dims: [1, 8] }],
      outputs: [{ name: 'y', dims: [1, 4] }],
      initializers: [{ name: 'w', dims: [8, 4], data: f(32) }],
      nodes: [
        // Max has no WebGPU kernel; a shape computed at run time can't be sized statically
        { opType: 'Max', inputs: ['x', 'x'], outputs: ['s'] },
        { opType: 'Equal', inputs: ['x', 'x'], outputs: ['eq'] },
        { opType: 'Reshape', inputs: ['x', 's'], outputs: ['xr'] },
        { opType: 'MatMul', name: 'mm', inputs: ['xr', 'w'], outputs: ['y'] },
      ],
    });
    const stats = computeModelStats(readOnnxModel(bytes));
    expect(stats.unsupportedOps).toEqual(['Max', 'Equal']);
    expect(stats.uncounted).toEqual(['mm']);
  });
});
