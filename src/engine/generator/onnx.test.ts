import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-web';
import { buildOnnxModel, OnnxDataType, OnnxFormatError, readOnnxModel, replaceInitializers } from './onnx.ts';
import { parseFields, ProtoWriter } from './protobuf.ts';

ort.env.wasm.numThreads = 1;

function seeded(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296 - 0.5;
  };
}
const randArray = (n: number, seed: number) => Float32Array.from({ length: n }, seeded(seed));

/** x [1,C,H,W] → Conv(W [M,C,3,3], B [M], pads 1) computed directly, in float64. */
function conv3x3(x: Float32Array, C: number, H: number, W: number, w: Float32Array, b: Float32Array, M: number): Float64Array {
  const out = new Float64Array(M * H * W);
  for (let m = 0; m < M; m++)
    for (let y = 0; y < H; y++)
      for (let xx = 0; xx < W; xx++) {
        let s = b[m];
        for (let c = 0; c < C; c++)
          for (let ky = 0; ky < 3; ky++)
            for (let kx = 0; kx < 3; kx++) {
              const iy = y + ky - 1;
              const ix = xx + kx - 1;
              if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
              s += x[(c * H + iy) * W + ix] * w[((m * C + c) * 3 + ky) * 3 + kx];
            }
        out[(m * H + y) * W + xx] = s;
      }
  return out;
}

const C = 2,
  M = 3,
  H = 5,
  W = 6;
function oneConvModel(w: Float32Array, b: Float32Array): Uint8Array {
  return buildOnnxModel({
    inputs: [{ name: 'x', dims: [1, C, H, W] }],
    outputs: [{ name: 'y', dims: [1, M, H, W] }],
    initializers: [
      { name: 'conv.weight', dims: [M, C, 3, 3], data: w },
      { name: 'conv.bias', dims: [M], data: b },
    ],
    nodes: [{ opType: 'Conv', inputs: ['x', 'conv.weight', 'conv.bias'], outputs: ['y'], attributes: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } }],
  });
}

async function runConv(bytes: Uint8Array, x: Float32Array): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
  try {
    const out = await session.run({ x: new ort.Tensor('float32', x, [1, C, H, W]) });
    expect(out.y.dims).toEqual([1, M, H, W]);
    return out.y.data as Float32Array;
  } finally {
    await session.release();
  }
}

describe('buildOnnxModel → readOnnxModel', () => {
  it('round-trips nodes, attributes, initializers, inputs, outputs and opset', () => {
    const w = randArray(4 * 3 * 3 * 3, 1);
    const bytes = buildOnnxModel({
      opset: 13,
      graphName: 'g',
      inputs: [
        { name: 'img', dims: ['batch', 3, 16, 16] },
        { name: 'ids', elemType: OnnxDataType.INT64, dims: [1, 4] },
      ],
      outputs: [{ name: 'out', dims: ['batch', 4, 16, 16] }],
      initializers: [
        { name: 'w', dims: [4, 3, 3, 3], data: w },
        { name: 'shape', dims: [3], int64: [0, -1, 16] },
      ],
      nodes: [
        { opType: 'Conv', inputs: ['img', 'w', ''], outputs: ['c'], attributes: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], group: 1 } },
        { opType: 'LeakyRelu', name: 'act', inputs: ['c'], outputs: ['out'], attributes: { alpha: 0.2, note: 'hi', axes: [-1, 2], neg: -3 } },
      ],
    });
    const info = readOnnxModel(bytes);
    expect(info.opset).toBe(13);
    expect(info.graphName).toBe('g');
    expect(info.inputs).toEqual([
      { name: 'img', elemType: OnnxDataType.FLOAT, dims: ['batch', 3, 16, 16] },
      { name: 'ids', elemType: OnnxDataType.INT64, dims: [1, 4] },
    ]);
    expect(info.outputs[0].dims).toEqual(['batch', 4, 16, 16]);
    expect(info.nodes.map((n) => [n.opType, n.inputs, n.outputs])).toEqual([
      ['Conv', ['img', 'w', ''], ['c']],
      ['LeakyRelu', ['c'], ['out']],
    ]);
    expect(info.nodes[1].name).toBe('act');
    expect(info.nodes[0].attributes.pads).toEqual({ type: 'ints', value: [1, 1, 1, 1] });
    const act = info.nodes[1].attributes;
    expect(act.alpha.type).toBe('float');
    expect(act.alpha.value).toBeCloseTo(0.2, 7);
    expect(act.note).toEqual({ type: 'string', value: 'hi' });
    expect(act.axes).toEqual({ type: 'ints', value: [-1, 2] });
    expect(act.neg).toEqual({ type: 'int', value: -3 });
    const [wt, shape] = info.initializers;
    expect(wt.name).toBe('w');
    expect(wt.dims).toEqual([4, 3, 3, 3]);
    expect(wt.data).toEqual(w);
    expect(wt.byteLength).toBe(w.length * 4);
    expect(shape.ints).toEqual([0, -1, 16]);
    expect(shape.data).toBeNull();
  });

  it('reads float_data initializers (the other encoding exporters use)', () => {
    const base = oneConvModel(randArray(M * C * 9, 2), randArray(M, 3));
    // Append a second initializer encoded with packed float_data into the graph.
    const values = [1.5, -2.25, 3];
    const tensor = new ProtoWriter().packedVarints(1, [3]).varint(2, 1).packedFloats(4, values).string(8, 'extra').finish();
    const info0 = readOnnxModel(base);
    const graphField = new ProtoWriter().bytes(5, tensor).finish();
    const patched = appendToGraph(base, graphField);
    const info = readOnnxModel(patched);
    expect(info.initializers.length).toBe(info0.initializers.length + 1);
    expect(Array.from(info.initializers.at(-1)!.data!)).toEqual(values);
  });

  it('rejects bytes that are not an ONNX model', () => {
    expect(() => readOnnxModel(new TextEncoder().encode('<!DOCTYPE html><html>Not found</html>'))).toThrow(OnnxFormatError);
    expect(() => readOnnxModel(new Uint8Array())).toThrow(/empty/);
    const bytes = oneConvModel(randArray(M * C * 9, 2), randArray(M, 3));
    expect(() => readOnnxModel(bytes.subarray(0, bytes.length - 40))).toThrow(/truncated/);
  });
});

/** Adds raw graph-field bytes at the end of the model's graph message. */
function appendToGraph(model: Uint8Array, extra: Uint8Array): Uint8Array {
  // Model from buildOnnxModel: ir_version, producer_name, graph, opset_import — re-emit with a longer graph.
  const info = readOnnxModel(model);
  expect(info.irVersion).toBeGreaterThan(0);
  const out = new ProtoWriter();
  for (const f of parseFields(model)) {
    if (f.field === 7) {
      const g = new Uint8Array(f.bytes!.length + extra.length);
      g.set(f.bytes!);
      g.set(extra, f.bytes!.length);
      out.bytes(7, g);
    } else out.raw(model.subarray(f.start, f.end));
  }
  return out.finish();
}
describe('replaceInitializers', () => {
  const w0 = randArray(M * C * 9, 10);
  const b0 = randArray(M, 11);
  const x = randArray(C * H * W, 12);

  it('writes new weights that onnxruntime then computes with', async () => {
    const original = oneConvModel(w0, b0);
    const w1 = randArray(M * C * 9, 20);
    const b1 = randArray(M, 21);
    const patched = replaceInitializers(
      original,
      new Map([
        ['conv.weight', w1],
        ['conv.bias', b1],
      ]),
    );

    const before = await runConv(original, x);
    const after = await runConv(patched, x);
    const expected = conv3x3(x, C, H, W, w1, b1, M);
    const expectedBefore = conv3x3(x, C, H, W, w0, b0, M);
    for (let i = 0; i < expected.length; i++) {
      expect(Math.abs(after[i] - expected[i])).toBeLessThan(1e-5);
      expect(Math.abs(before[i] - expectedBefore[i])).toBeLessThan(1e-5);
    }
    // The change is real, not within tolerance of the old output.
    expect(Math.max(...after.map((v, i) => Math.abs(v - before[i])))).toBeGreaterThan(0.1);
    expect(readOnnxModel(patched).initializers.find((t) => t.name === 'conv.weight')!.data).toEqual(w1);
  });

  it('replacing one tensor leaves the others and all metadata byte-identical', async () => {
    // Add a metadata_props entry (field 14) that this code knows nothing about.
    const original = new ProtoWriter()
      .raw(oneConvModel(w0, b0))
      .message(14, (m) => m.string(1, 'author').string(2, 'lipsync-live'))
      .finish();
    const b1 = Float32Array.of(7, 8, 9);
    const patched = replaceInitializers(original, new Map([['conv.bias', b1]]));
    const tail = original.subarray(original.length - 30);
    expect(patched.subarray(patched.length - 30)).toEqual(tail);
    const a = readOnnxModel(original);
    const b = readOnnxModel(patched);
    expect(b.nodes).toEqual(a.nodes);
    expect(b.inputs).toEqual(a.inputs);
    expect(b.initializers[0]).toEqual(a.initializers[0]);
    expect(b.initializers[1].data).toEqual(b1);
    const out = await runConv(patched, x);
    const expected = conv3x3(x, C, H, W, w0, b1, M);
    for (let i = 0; i < expected.length; i++) expect(Math.abs(out[i] - expected[i])).toBeLessThan(1e-5);
  });

  it('with the same weights gives identical outputs; with no weights, identical bytes', async () => {
    const original = oneConvModel(w0, b0);
    expect(replaceInitializers(original, new Map())).toEqual(original);
    const same = replaceInitializers(original, new Map([['conv.weight', new Float32Array(w0)]]));
    expect(same).toEqual(original);
    expect(await runConv(same, x)).toEqual(await runConv(original, x));
  });

  it('refuses a wrong length or an unknown name, naming the tensor', () => {
    const original = oneConvModel(w0, b0);
    expect(() => replaceInitializers(original, new Map([['conv.weight', new Float32Array(5)]]))).toThrow(
      /"conv\.weight" has shape \[3,2,3,3\] \(54 values\) but 5 values were given/,
    );
    expect(() => replaceInitializers(original, new Map([['decoder.weight', new Float32Array(5)]]))).toThrow(/no initializer named "decoder\.weight"/);
  });
});
