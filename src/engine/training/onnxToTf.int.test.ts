import { beforeAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-web';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { buildOnnxModel, readOnnxModel } from '../generator/onnx.ts';
import { buildTestGenerator, buildWarpTestGenerator } from '../generator/testGenerator.ts';
import { mulberry32 } from './rng.ts';
import { onnxToTf, OnnxToTfError } from './onnxToTf.ts';
import { exportedGenerator, maxAbsDiff, pythonTorchMissing, type ExportedGenerator } from '../../node/exportedGenerator.testutil.ts';

ort.env.wasm.numThreads = 1;

interface Inputs {
  masked: Float32Array;
  reference: Float32Array;
  audio: Float32Array;
}

function contractInputs(S: number, M: number, T: number, seed: number, batch = 1): Inputs {
  const r = mulberry32(seed);
  const img = () => Float32Array.from({ length: batch * 3 * S * S }, r);
  const masked = img();
  // Lower half blanked like the live pipeline does.
  for (let b = 0; b < batch; b++) for (let c = 0; c < 3; c++) masked.fill(0.5, ((b * 3 + c) * S + S / 2) * S, (b * 3 + c + 1) * S * S);
  return { masked, reference: img(), audio: Float32Array.from({ length: batch * M * T }, () => r() * 2 - 1) };
}

async function runOrt(bytes: Uint8Array, x: Inputs, S: number, M: number, T: number): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
  try {
    const out = await session.run({
      masked: new ort.Tensor('float32', x.masked, [1, 3, S, S]),
      reference: new ort.Tensor('float32', x.reference, [1, 3, S, S]),
      audio: new ort.Tensor('float32', x.audio, [1, M, T]),
    });
    return out[session.outputNames[0]].data as Float32Array;
  } finally {
    await session.release();
  }
}

function runTf(net: ReturnType<typeof onnxToTf>, x: Inputs, S: number, M: number, T: number, batch = 1): Float32Array {
  return tf.tidy(
    () =>
      net
        .forward({
          masked: tf.tensor(x.masked, [batch, 3, S, S]),
          reference: tf.tensor(x.reference, [batch, 3, S, S]),
          audio: tf.tensor(x.audio, [batch, M, T]),
        })
        .dataSync() as Float32Array,
  );
}

/** A few Adam steps towards a random target (changes every weight, so parity after training means something). */
function trainSteps(net: ReturnType<typeof onnxToTf>, x: Inputs, S: number, M: number, T: number, steps: number, lr = 1e-2): number[] {
  const opt = tf.train.adam(lr);
  const target = tf.tidy(() => tf.randomUniform([1, 3, S, S], 0, 1, 'float32', 7));
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    const loss = opt.minimize(
      () =>
        tf.mean(
          tf.abs(
            tf.sub(
              net.forward({ masked: tf.tensor(x.masked, [1, 3, S, S]), reference: tf.tensor(x.reference, [1, 3, S, S]), audio: tf.tensor(x.audio, [1, M, T]) }),
              target,
            ),
          ),
        ) as tf.Scalar,
      true,
      net.variables,
    )!;
    losses.push(loss.dataSync()[0]);
    loss.dispose();
  }
  target.dispose();
  opt.dispose();
  return losses;
}

/**
 * The reader on `bytes`: equal to onnxruntime before training, then a few Adam steps that lower the loss. Returns the
 * trained network (the caller disposes it), its inputs and its output after training.
 */
async function matchThenTrain(bytes: Uint8Array, S: number, seed: number, steps: number, lr: number) {
  const M = 80,
    T = 16;
  const x = contractInputs(S, M, T, seed);
  const net = onnxToTf(bytes);
  const before = runTf(net, x, S, M, T);
  expect(maxAbsDiff(before, await runOrt(bytes, x, S, M, T))).toBeLessThan(1e-4);
  const losses = trainSteps(net, x, S, M, T, steps, lr);
  expect(losses.at(-1)!).toBeLessThan(losses[0]);
  return { net, x, before, after: runTf(net, x, S, M, T) };
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('onnxToTf on the built-in test generator', () => {
  const S = 32,
    M = 80,
    T = 16;
  const { bytes } = buildTestGenerator({ size: S, melFrames: T, past: 8 });

  it('matches onnxruntime within 1e-4, before and after training', async () => {
    const x = contractInputs(S, M, T, 3);
    const net = onnxToTf(bytes);
    try {
      expect(maxAbsDiff(runTf(net, x, S, M, T), await runOrt(bytes, x, S, M, T))).toBeLessThan(1e-4);
      const before = runTf(net, x, S, M, T);
      const losses = trainSteps(net, x, S, M, T, 5);
      expect(losses.at(-1)!).toBeLessThan(losses[0]);
      const after = runTf(net, x, S, M, T);
      expect(maxAbsDiff(after, before)).toBeGreaterThan(1e-3); // training really changed the output
      const written = net.toOnnx();
      expect(maxAbsDiff(await runOrt(written, x, S, M, T), after)).toBeLessThan(1e-4);
      // Only weights changed: same nodes, same inputs.
      expect(readOnnxModel(written).nodes).toEqual(readOnnxModel(bytes).nodes);
    } finally {
      net.dispose();
    }
  });
});

describe('onnxToTf on a warping generator (Transpose + GridSample)', () => {
  it('matches onnxruntime within 1e-4, before and after training', async () => {
    const S = 32,
      M = 80,
      T = 16;
    const { bytes } = buildWarpTestGenerator({ size: S });
    const { net, x, before, after } = await matchThenTrain(bytes, S, 8, 5, 1e-2);
    try {
      expect(maxAbsDiff(after, before)).toBeGreaterThan(1e-3); // the flow convs trained through GridSample
      expect(maxAbsDiff(await runOrt(net.toOnnx(), x, S, M, T), after)).toBeLessThan(1e-4);
    } finally {
      net.dispose();
    }
  });
});

const noTorch = pythonTorchMissing();
if (noTorch) console.warn(`onnxToTf exported-generator tests skipped: ${noTorch}`);

describe.skipIf(!!noTorch)('onnxToTf on a generator exported by tools/train', () => {
  let full: ExportedGenerator;
  let fullNearest: ExportedGenerator;
  let tiny: ExportedGenerator;
  let warp: ExportedGenerator;
  beforeAll(() => {
    warp = exportedGenerator({ size: 64, widths: '8,16,16,16', output: 'warp' });
    full = exportedGenerator({ refFeatures: 16 });
    fullNearest = exportedGenerator({ refFeatures: 16, upsample: 'nearest' });
    tiny = exportedGenerator({ size: 64, widths: '8,16,16,16', refFeatures: 4 });
  }, 300_000);

  it.each([
    ['transposed-conv upsampling (new runs)', () => full, 'ConvTranspose'],
    ['nearest upsampling (0.3.0 and earlier)', () => fullNearest, 'Resize'],
  ] as const)('the 0.4 architecture (128 px, full-resolution reference path), %s, matches onnxruntime within 1e-4', async (_, model, upOp) => {
    const S = 128,
      M = 80,
      T = 16;
    const { bytes } = model();
    const ops = new Set(readOnnxModel(bytes).nodes.map((n) => n.opType));
    for (const op of ['Conv', upOp, 'Slice', 'Gemm', 'Reshape', 'Unsqueeze', 'Concat', 'Tanh', 'Sub']) expect(ops).toContain(op);
    const x = contractInputs(S, M, T, 11);
    const net = onnxToTf(bytes);
    try {
      expect(maxAbsDiff(runTf(net, x, S, M, T), await runOrt(bytes, x, S, M, T))).toBeLessThan(1e-4);
    } finally {
      net.dispose();
    }
  });

  it('the warp output (flow → Transpose → GridSample of the reference) matches onnxruntime, trains, and writes back', async () => {
    const S = 64,
      M = 80,
      T = 16;
    const ops = readOnnxModel(warp.bytes).nodes.map((n) => n.opType);
    expect(ops).toContain('GridSample');
    expect(ops).toContain('Transpose');
    const { net, x, after } = await matchThenTrain(warp.bytes, S, 13, 4, 3e-2);
    try {
      // The flow head trained (its gradient goes through GridSample's bilinear weights) and the result is what
      // onnxruntime computes from the written-back file, now at fractional sampling positions.
      const flowRows = (onnx: Uint8Array) => readOnnxModel(onnx).initializers.find((i) => i.name === 'head.weight')!;
      const written = net.toOnnx();
      const w0 = flowRows(warp.bytes).data!;
      const w1 = flowRows(written).data!;
      const perOut = w0.length / 5;
      let flowChange = 0;
      for (let i = 3 * perOut; i < w0.length; i++) flowChange = Math.max(flowChange, Math.abs(w1[i] - w0[i]));
      expect(flowChange).toBeGreaterThan(1e-3);
      expect(maxAbsDiff(await runOrt(written, x, S, M, T), after)).toBeLessThan(1e-4);
    } finally {
      net.dispose();
    }
  });

  it('after training, the written-back ONNX gives the tfjs outputs within 1e-4; batches match single runs', async () => {
    const S = 64,
      M = 80,
      T = 16;
    expect(readOnnxModel(tiny.bytes).nodes.some((n) => n.opType === 'ConvTranspose')).toBe(true); // its weights train too
    const { net, x, after } = await matchThenTrain(tiny.bytes, S, 5, 4, 3e-3);
    try {
      const written = net.toOnnx();
      expect(maxAbsDiff(await runOrt(written, x, S, M, T), after)).toBeLessThan(1e-4);
      expect(maxAbsDiff(await runOrt(written, x, S, M, T), await runOrt(tiny.bytes, x, S, M, T))).toBeGreaterThan(1e-3);

      // Batch of 2 (the graph was exported for batch 1): each row equals its single-sample run.
      const x2 = contractInputs(S, M, T, 9);
      const both: Inputs = {
        masked: Float32Array.from([...x.masked, ...x2.masked]),
        reference: Float32Array.from([...x.reference, ...x2.reference]),
        audio: Float32Array.from([...x.audio, ...x2.audio]),
      };
      const batched = runTf(net, both, S, M, T, 2);
      const n = 3 * S * S;
      expect(maxAbsDiff(batched.subarray(0, n), after)).toBeLessThan(1e-5);
      expect(maxAbsDiff(batched.subarray(n), runTf(net, x2, S, M, T))).toBeLessThan(1e-5);
    } finally {
      net.dispose();
    }
  });
});

describe('onnxToTf refuses what it cannot train', () => {
  it('names an unsupported op', () => {
    const bytes = buildOnnxModel({
      inputs: [{ name: 'x', dims: [1, 3, 4, 4] }],
      outputs: [{ name: 'y', dims: [1, 3, 4, 4] }],
      nodes: [
        { opType: 'Relu', inputs: ['x'], outputs: ['r'] },
        { opType: 'LeakyRelu', inputs: ['r'], outputs: ['y'], attributes: { alpha: 0.2 } },
      ],
    });
    let err: unknown;
    try {
      onnxToTf(bytes);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OnnxToTfError);
    expect((err as OnnxToTfError).code).toBe('unsupported-op');
    expect((err as Error).message).toMatch(/LeakyRelu/);
  });

  it('refuses grouped convolutions with a message naming the node', () => {
    const bytes = buildOnnxModel({
      inputs: [{ name: 'x', dims: [1, 4, 4, 4] }],
      outputs: [{ name: 'y', dims: [1, 4, 4, 4] }],
      initializers: [{ name: 'w', dims: [4, 2, 1, 1], data: new Float32Array(8) }],
      nodes: [{ opType: 'Conv', name: 'grouped', inputs: ['x', 'w'], outputs: ['y'], attributes: { group: 2, kernel_shape: [1, 1] } }],
    });
    const net = onnxToTf(bytes);
    try {
      expect(() => tf.tidy(() => net.forward({ x: tf.zeros([1, 4, 4, 4]) }))).toThrow(/grouped.*group 2/);
    } finally {
      net.dispose();
    }
  });

  it('keeps memory flat: forward + dispose leaves no tensors behind', () => {
    const { bytes } = buildTestGenerator({ size: 16, melFrames: 8, past: 4 });
    const before = tf.memory().numTensors;
    const net = onnxToTf(bytes);
    const x = contractInputs(16, 80, 8, 1);
    runTf(net, x, 16, 80, 8);
    runTf(net, x, 16, 80, 8);
    net.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
