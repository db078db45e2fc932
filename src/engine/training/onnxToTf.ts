/**
 * Builds a trainable tfjs network from a generator's ONNX graph, so fine-tuning trains exactly the model
 * that runs live, and writes the trained weights back into the same ONNX bytes.
 *
 *  - Supported ops: the default generator's set (Conv, ConvTranspose, Relu, Sigmoid, Tanh, Resize nearest ×k,
 *    Concat, Slice, Gemm, Reshape, Unsqueeze, Mul, Add, Sub, Constant, Identity), Transpose and GridSample (a warp
 *    of the reference), plus Clip and ReduceMean (used by the built-in test generator). Anything else is refused up front with code 'unsupported-op' naming the op.
 *  - Trainable variables: the float initializers (or those `trainable` selects).
 *  - Layout: values keep ONNX (NCHW) semantics. Conv runs in tfjs's NHWC, so 4-D values carry a flag
 *    saying whether they are stored NHWC; ops that mix layouts convert lazily and map axes
 *    (Concat/Slice), ops whose meaning depends on memory order (Reshape, Unsqueeze, Gemm, ReduceMean)
 *    always see NCHW. Conv weights used only by Conv are stored HWIO once (transposed back on export).
 *  - Batch: the graph is exported for batch 1; a batch of B > 1 is run by reading a Reshape target's
 *    leading 1 as B when the value being reshaped has B rows (the batch axis is preserved by our graphs).
 */
import * as tf from '@tensorflow/tfjs-core';
import { readOnnxModel, replaceInitializers, OnnxDataType, type OnnxModelInfo, type OnnxNode, type OnnxTensor } from '../generator/onnx.ts';
import { ensureTrainingGradients } from './gradients.ts';
import { gridSampleBilinearBorder } from './gridSample.ts';
import { opName, opsRefusedMessage } from '../generator/opContract.ts';
import { CodedError } from '../codedError.ts';

export type OnnxToTfErrorCode = 'unsupported-op' | 'unsupported-attribute' | 'bad-graph' | 'bad-input' | 'disposed';

export class OnnxToTfError extends CodedError<OnnxToTfErrorCode> {
  override readonly name = 'OnnxToTfError';
}

/** A value during a forward pass: a tensor (4-D ones maybe stored NHWC) or a static integer list. */
type Value = { kind: 'tensor'; t: tf.Tensor; nhwc: boolean } | { kind: 'ints'; ints: number[] };

/** NCHW axis → position of that axis in an NHWC tensor. */
const NHWC_AXIS = [0, 3, 1, 2];
const TO_NHWC = [0, 2, 3, 1];
const TO_NCHW = [0, 3, 1, 2];
/** ONNX [M,C,kh,kw] ↔ tfjs conv filter [kh,kw,C,M]. */
const OIHW_TO_HWIO = [2, 3, 1, 0];
const HWIO_TO_OIHW = [3, 2, 0, 1];

export interface BuildOptions {
  /** Which float initializers become trainable variables (default: all). */
  trainable?: (name: string) => boolean;
}

interface Weight {
  name: string;
  onnxDims: number[];
  /** Stored as a conv filter [kh,kw,C,M] (only used as a Conv weight). */
  hwio: boolean;
  tensor: tf.Tensor;
  trainable: boolean;
}

function attrInt(node: OnnxNode, name: string, fallback: number): number {
  const a = node.attributes[name];
  return a && a.type === 'int' ? a.value : fallback;
}
function attrFloat(node: OnnxNode, name: string, fallback: number): number {
  const a = node.attributes[name];
  if (!a) return fallback;
  if (a.type === 'float' || a.type === 'int') return a.value;
  return fallback;
}
function attrInts(node: OnnxNode, name: string): number[] | undefined {
  const a = node.attributes[name];
  return a && a.type === 'ints' ? a.value : undefined;
}
function attrString(node: OnnxNode, name: string, fallback: string): string {
  const a = node.attributes[name];
  return a && a.type === 'string' ? a.value : fallback;
}

function nodeLabel(node: OnnxNode): string {
  return `${node.opType} node "${node.name || node.outputs[0]}"`;
}

/** One op of the fine-tune's registry (TfOnnxNetwork.KERNELS). */
interface TfKernel {
  /** Inputs that must be constants (the trainer cannot follow run-time shapes), checked when the graph is read. */
  staticInputs?(n: OnnxNode, opset: number): { index: number; what: string; kind: 'ints' | 'floats' }[];
  run(net: TfOnnxNetwork, n: OnnxNode, env: Map<string, Value>, batch: number): Value;
}

const asValue = (t: tf.Tensor, nhwc: boolean): Value => ({ kind: 'tensor', t, nhwc: nhwc && t.rank === 4 });

/** A trainable tfjs version of an ONNX generator. Call dispose() when done (frees the variables). */
export class TfOnnxNetwork {
  readonly info: OnnxModelInfo;
  private readonly weights = new Map<string, Weight>();
  private readonly staticInts = new Map<string, number[]>();
  private readonly staticFloats = new Map<string, number[]>();
  private readonly consts = new Map<string, tf.Tensor>();
  private readonly graphBatch: number;
  private disposed = false;

  constructor(
    private readonly bytes: Uint8Array,
    opts: BuildOptions = {},
  ) {
    ensureTrainingGradients();
    this.info = readOnnxModel(bytes);
    const { nodes, initializers } = this.info;
    const refused = opsRefusedMessage(nodes.map(opName), 'fineTune');
    if (refused) throw new OnnxToTfError('unsupported-op', `This model cannot be fine-tuned in the browser: it ${refused}.`);
    this.graphBatch = typeof this.info.inputs[0]?.dims?.[0] === 'number' ? (this.info.inputs[0].dims[0] as number) : 1;

    const uses = new Map<string, { node: OnnxNode; index: number }[]>();
    for (const n of nodes) n.inputs.forEach((x, index) => x && (uses.get(x) ?? uses.set(x, []).get(x)!).push({ node: n, index }));
    const trainable = opts.trainable ?? (() => true);
    const created: tf.Tensor[] = [];
    try {
      for (const init of initializers) this.addInitializer(init, uses.get(init.name) ?? [], trainable, created);
      for (const n of nodes) if (n.opType === 'Constant') this.addConstant(n, created);
      this.checkStatic(nodes);
    } catch (e) {
      for (const t of created) t.dispose();
      throw e;
    }
  }

  private addInitializer(init: OnnxTensor, uses: { node: OnnxNode; index: number }[], trainable: (n: string) => boolean, created: tf.Tensor[]): void {
    if (init.external) throw new OnnxToTfError('bad-graph', `Initializer "${init.name}" is stored in an external file, which the trainer cannot read.`);
    if (init.ints) {
      this.staticInts.set(init.name, init.ints);
      return;
    }
    if (!init.data) throw new OnnxToTfError('bad-graph', `Initializer "${init.name}" has type ${init.dataType}, which the trainer does not support.`);
    this.staticFloats.set(init.name, init.data.length <= 16 ? Array.from(init.data) : []);
    const hwio =
      init.dims.length === 4 && uses.length > 0 && uses.every((u) => (u.node.opType === 'Conv' || u.node.opType === 'ConvTranspose') && u.index === 1);
    const isTrainable = init.dataType === OnnxDataType.FLOAT && trainable(init.name);
    const tensor = tf.tidy(() => {
      const t = tf.tensor(init.data!, init.dims, 'float32');
      const stored = hwio ? tf.transpose(t, OIHW_TO_HWIO) : t;
      return isTrainable ? tf.variable(stored, true) : stored;
    });
    created.push(tensor);
    this.weights.set(init.name, { name: init.name, onnxDims: init.dims, hwio, tensor, trainable: isTrainable });
  }

  private addConstant(n: OnnxNode, created: tf.Tensor[]): void {
    const out = n.outputs[0];
    const a = n.attributes;
    if (a.value?.type === 'tensor') {
      const v = a.value.value;
      if (v.ints) this.staticInts.set(out, v.ints);
      else if (v.data) {
        this.staticFloats.set(out, Array.from(v.data));
        const t = tf.keep(tf.tensor(v.data, v.dims, 'float32'));
        created.push(t);
        this.consts.set(out, t);
      } else throw new OnnxToTfError('unsupported-attribute', `${nodeLabel(n)} holds a tensor of type ${v.dataType}, which the trainer does not support.`);
    } else if (a.value_int?.type === 'int') this.staticInts.set(out, [a.value_int.value]);
    else if (a.value_ints?.type === 'ints') this.staticInts.set(out, a.value_ints.value);
    else if (a.value_float?.type === 'float' || a.value_floats?.type === 'floats') {
      const vals = a.value_float?.type === 'float' ? [a.value_float.value] : (a.value_floats!.value as number[]);
      this.staticFloats.set(out, vals);
      const t = tf.keep(a.value_float ? tf.scalar(vals[0]) : tf.tensor1d(vals));
      created.push(t);
      this.consts.set(out, t);
    } else throw new OnnxToTfError('unsupported-attribute', `${nodeLabel(n)} has no value the trainer can read.`);
  }

  /** Shape-like inputs must be known before running: fail at build time, naming the node. */
  private checkStatic(nodes: OnnxNode[]): void {
    const need = (n: OnnxNode, i: number, what: string, kind: 'ints' | 'floats') => {
      const name = n.inputs[i];
      if (!name) return;
      const ok = kind === 'ints' ? this.staticInts.has(name) : this.staticFloats.has(name) && this.staticFloats.get(name)!.length > 0;
      if (!ok)
        throw new OnnxToTfError('unsupported-attribute', `${nodeLabel(n)}: its ${what} ("${name}") is computed at run time; the trainer needs it constant.`);
    };
    for (const n of nodes)
      for (const { index, what, kind } of TfOnnxNetwork.KERNELS[n.opType]?.staticInputs?.(n, this.info.opset) ?? []) need(n, index, what, kind);
  }

  /** Float32 initializer names that are trained. */
  get trainableNames(): string[] {
    return [...this.weights.values()].filter((w) => w.trainable).map((w) => w.name);
  }

  /** The trainable tfjs variables (for an optimizer's varList). */
  get variables(): tf.Variable[] {
    return [...this.weights.values()].filter((w) => w.trainable).map((w) => w.tensor as tf.Variable);
  }

  /**
   * Runs the graph on NCHW inputs (named as in the ONNX graph; batch B ≥ 1) and returns the first graph
   * output in NCHW. Differentiable with respect to `variables`.
   */
  forward(inputs: Record<string, tf.Tensor>): tf.Tensor {
    if (this.disposed) throw new OnnxToTfError('disposed', 'The network was already disposed.');
    return tf.tidy(() => {
      const env = new Map<string, Value>();
      let batch = this.graphBatch;
      for (const spec of this.info.inputs) {
        const t = inputs[spec.name];
        if (!t) throw new OnnxToTfError('bad-input', `Missing input "${spec.name}" (the graph needs ${this.info.inputs.map((i) => i.name).join(', ')}).`);
        if (spec.dims && spec.dims.length !== t.rank) {
          throw new OnnxToTfError('bad-input', `Input "${spec.name}" has rank ${t.rank} but the graph expects [${spec.dims.join(',')}].`);
        }
        spec.dims?.forEach((d, i) => {
          if (i > 0 && typeof d === 'number' && d !== t.shape[i]) {
            throw new OnnxToTfError('bad-input', `Input "${spec.name}" has shape [${t.shape}] but the graph expects [${spec.dims!.join(',')}].`);
          }
        });
        batch = t.shape[0];
        env.set(spec.name, { kind: 'tensor', t, nhwc: false });
      }
      for (const n of this.info.nodes) {
        const out = this.run(n, env, batch);
        env.set(n.outputs[0], out);
      }
      const o = env.get(this.info.outputs[0].name);
      if (o?.kind !== 'tensor') throw new OnnxToTfError('bad-graph', `The graph output "${this.info.outputs[0].name}" was not computed.`);
      return o.nhwc ? tf.transpose(o.t, TO_NCHW) : o.t;
    });
  }

  private value(env: Map<string, Value>, name: string): Value {
    const v = env.get(name);
    if (v) return v;
    const w = this.weights.get(name);
    if (w) return { kind: 'tensor', t: w.hwio ? tf.transpose(w.tensor, HWIO_TO_OIHW) : w.tensor, nhwc: false };
    const c = this.consts.get(name);
    if (c) return { kind: 'tensor', t: c, nhwc: false };
    const ints = this.staticInts.get(name);
    if (ints) return { kind: 'ints', ints };
    throw new OnnxToTfError('bad-graph', `Value "${name}" is used before it is computed (graph not in topological order?).`);
  }

  private tensor(env: Map<string, Value>, name: string, n: OnnxNode): { t: tf.Tensor; nhwc: boolean } {
    const v = this.value(env, name);
    if (v.kind !== 'tensor') {
      // Integer tensors only feed shape inputs in the graphs we support.
      throw new OnnxToTfError('unsupported-attribute', `${nodeLabel(n)} uses the integer tensor "${name}" as data.`);
    }
    return v;
  }

  private nchw(env: Map<string, Value>, name: string, n: OnnxNode): tf.Tensor {
    const v = this.tensor(env, name, n);
    return v.nhwc ? tf.transpose(v.t, TO_NCHW) : v.t;
  }

  private ints(name: string | undefined): number[] | undefined {
    return name ? this.staticInts.get(name) : undefined;
  }

  /** Broadcast-compatible operands in one layout: NHWC if any 4-D operand is NHWC, else as given. */
  private sameLayout(vals: { t: tf.Tensor; nhwc: boolean }[]): { ts: tf.Tensor[]; nhwc: boolean } {
    const anyNhwc = vals.some((v) => v.nhwc);
    if (!anyNhwc || vals.some((v) => v.t.rank > 4)) return { ts: vals.map((v) => (v.nhwc ? tf.transpose(v.t, TO_NCHW) : v.t)), nhwc: false };
    return {
      nhwc: true,
      ts: vals.map((v) => {
        if (v.nhwc || v.t.rank === 0 || v.t.size === 1) return v.t;
        // ONNX broadcasting aligns trailing axes: lift to rank 4 in NCHW, then to NHWC.
        const lifted = v.t.rank < 4 ? tf.reshape(v.t, [...new Array(4 - v.t.rank).fill(1), ...v.t.shape]) : v.t;
        return tf.transpose(lifted, TO_NHWC);
      }),
    };
  }

  private static unary(f: (x: tf.Tensor) => tf.Tensor): TfKernel {
    return {
      run: (net, n, env) => {
        const x = net.tensor(env, n.inputs[0], n);
        return asValue(f(x.t), x.nhwc);
      },
    };
  }

  private static binary(f: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor): TfKernel {
    return {
      run: (net, n, env) => {
        const { ts, nhwc } = net.sameLayout([net.tensor(env, n.inputs[0], n), net.tensor(env, n.inputs[1], n)]);
        return asValue(f(ts[0], ts[1]), nhwc);
      },
    };
  }

  /**
   * The fine-tune's op registry: per ONNX op, its tfjs implementation and the inputs it needs constant. Its keys
   * are exactly the contract's fineTune ops (opContract.test.ts); ops outside the contract were refused by the
   * constructor with the contract's one message. (A static member so the kernels can use the private helpers.)
   */
  private static readonly KERNELS: Readonly<Record<string, TfKernel>> = {
    Constant: { run: (net, n, env) => net.value(env, n.outputs[0]) },
    Identity: { run: (net, n, env) => net.value(env, n.inputs[0]) },
    Relu: TfOnnxNetwork.unary(tf.relu),
    Sigmoid: TfOnnxNetwork.unary(tf.sigmoid),
    Tanh: TfOnnxNetwork.unary(tf.tanh),
    Add: TfOnnxNetwork.binary(tf.add),
    Sub: TfOnnxNetwork.binary(tf.sub),
    Mul: TfOnnxNetwork.binary(tf.mul),
    Clip: {
      run: (net, n, env) => {
        const x = net.tensor(env, n.inputs[0], n);
        let y = x.t;
        const bound = (i: number, attr: 'min' | 'max', f: typeof tf.maximum) => {
          if (n.inputs[i]) {
            const b = net.tensor(env, n.inputs[i], n).t;
            if (b.size !== 1) throw new OnnxToTfError('unsupported-attribute', `${nodeLabel(n)}: its ${attr} must be a scalar.`);
            y = f(y, tf.reshape(b, []));
          } else if (n.attributes[attr]) y = f(y, tf.scalar(attrFloat(n, attr, 0)));
        };
        bound(1, 'min', tf.maximum);
        bound(2, 'max', tf.minimum);
        return asValue(y, x.nhwc);
      },
    },
    Concat: {
      run: (net, n, env) => {
        const vals = n.inputs.map((i) => net.tensor(env, i, n));
        const rank = vals[0].t.rank;
        const axis = attrInt(n, 'axis', 0);
        const a = axis < 0 ? axis + rank : axis;
        const { ts, nhwc } = rank === 4 ? net.sameLayout(vals) : { ts: vals.map((v) => v.t), nhwc: false };
        return asValue(tf.concat(ts, nhwc ? NHWC_AXIS[a] : a), nhwc);
      },
    },
    Slice: {
      staticInputs: () => ['starts', 'ends', 'axes', 'steps'].map((what, i) => ({ index: i + 1, what, kind: 'ints' as const })),
      run: (net, n, env) => net.slice(n, env),
    },
    Conv: { run: (net, n, env) => net.conv(n, env) },
    Transpose: {
      run: (net, n, env) => {
        const v = net.tensor(env, n.inputs[0], n);
        const perm = attrInts(n, 'perm') ?? v.t.shape.map((_, i) => v.t.rank - 1 - i);
        // NCHW → NHWC of a value already stored NHWC (a conv's output feeding GridSample's grid): nothing to move.
        if (v.nhwc && perm.join() === TO_NHWC.join()) return asValue(v.t, false);
        return asValue(tf.transpose(net.nchw(env, n.inputs[0], n), perm), false);
      },
    },
    GridSample: { run: (net, n, env) => net.gridSample(n, env) },
    ConvTranspose: { run: (net, n, env) => net.convTranspose(n, env) },
    Resize: {
      staticInputs: (n, opset) =>
        n.inputs.length >= 4 && n.inputs[3] ? [{ index: 3, what: 'sizes', kind: 'ints' }] : [{ index: opset >= 11 ? 2 : 1, what: 'scales', kind: 'floats' }],
      run: (net, n, env) => net.resize(n, env),
    },
    Gemm: {
      run: (net, n, env) => {
        const a = net.nchw(env, n.inputs[0], n);
        const b = net.nchw(env, n.inputs[1], n);
        if (a.rank !== 2 || b.rank !== 2)
          throw new OnnxToTfError('unsupported-attribute', `${nodeLabel(n)}: Gemm needs 2-D inputs, got [${a.shape}] and [${b.shape}].`);
        let y = tf.matMul(a, b, attrInt(n, 'transA', 0) === 1, attrInt(n, 'transB', 0) === 1);
        const alpha = attrFloat(n, 'alpha', 1);
        if (alpha !== 1) y = tf.mul(y, alpha);
        if (n.inputs[2]) {
          const c = net.nchw(env, n.inputs[2], n);
          const beta = attrFloat(n, 'beta', 1);
          y = tf.add(y, beta === 1 ? c : tf.mul(c, beta));
        }
        return asValue(y, false);
      },
    },
    Reshape: {
      staticInputs: () => [{ index: 1, what: 'shape', kind: 'ints' }],
      run: (net, n, env, batch) => {
        const x = net.nchw(env, n.inputs[0], n);
        const target = [...net.ints(n.inputs[1])!];
        const allowZero = attrInt(n, 'allowzero', 0) === 1;
        const shape = target.map((d, i) => (d === 0 && !allowZero ? x.shape[i] : d));
        if (batch !== net.graphBatch && shape[0] === net.graphBatch && x.shape[0] === batch) shape[0] = batch;
        return asValue(tf.reshape(x, shape), false);
      },
    },
    Unsqueeze: {
      staticInputs: () => [{ index: 1, what: 'axes', kind: 'ints' }],
      run: (net, n, env) => {
        const x = net.nchw(env, n.inputs[0], n);
        const axes = net.ints(n.inputs[1]) ?? attrInts(n, 'axes');
        if (!axes) throw new OnnxToTfError('unsupported-attribute', `${nodeLabel(n)} has no axes.`);
        const outRank = x.rank + axes.length;
        const norm = axes.map((a) => (a < 0 ? a + outRank : a)).sort((p, q) => p - q);
        const shape = [...x.shape];
        for (const a of norm) shape.splice(a, 0, 1);
        return asValue(tf.reshape(x, shape), false);
      },
    },
    ReduceMean: {
      staticInputs: () => [{ index: 1, what: 'axes', kind: 'ints' }],
      run: (net, n, env) => {
        const x = net.nchw(env, n.inputs[0], n);
        const axes = net.ints(n.inputs[1]) ?? attrInts(n, 'axes');
        const keep = attrInt(n, 'keepdims', 1) === 1;
        if (!axes || axes.length === 0) {
          if (attrInt(n, 'noop_with_empty_axes', 0) === 1) return asValue(x, false);
          return asValue(tf.mean(x, undefined, keep), false);
        }
        return asValue(
          tf.mean(
            x,
            axes.map((a) => (a < 0 ? a + x.rank : a)),
            keep,
          ),
          false,
        );
      },
    },
  };

  /** The ops this reader implements (the registry's keys). */
  static readonly KERNEL_OPS: ReadonlySet<string> = new Set(Object.keys(TfOnnxNetwork.KERNELS));

  private run(n: OnnxNode, env: Map<string, Value>, batch: number): Value {
    const kernel = TfOnnxNetwork.KERNELS[n.opType];
    if (!kernel) throw new OnnxToTfError('unsupported-op', `The trainer does not support the ${n.opType} op.`);
    return kernel.run(this, n, env, batch);
  }

  private slice(n: OnnxNode, env: Map<string, Value>): Value {
    const x = this.tensor(env, n.inputs[0], n);
    const legacy = this.info.opset < 10;
    const starts = legacy ? attrInts(n, 'starts') : this.ints(n.inputs[1]);
    const ends = legacy ? attrInts(n, 'ends') : this.ints(n.inputs[2]);
    const axes = (legacy ? attrInts(n, 'axes') : this.ints(n.inputs[3])) ?? starts?.map((_, i) => i);
    const steps = legacy ? undefined : this.ints(n.inputs[4]);
    if (!starts || !ends || !axes) throw new OnnxToTfError('unsupported-attribute', `${nodeLabel(n)} has no constant starts/ends.`);
    if (steps?.some((s) => s !== 1))
      throw new OnnxToTfError('unsupported-attribute', `${nodeLabel(n)}: only step 1 slices are supported, got steps [${steps}].`);
    const rank = x.t.rank;
    const nchwShape = x.nhwc ? TO_NCHW.map((p) => x.t.shape[p]) : x.t.shape;
    const begin = new Array<number>(rank).fill(0);
    const size = [...x.t.shape];
    axes.forEach((axRaw, i) => {
      const ax = axRaw < 0 ? axRaw + rank : axRaw;
      const dim = nchwShape[ax];
      const clamp = (v: number) => Math.max(0, Math.min(dim, v < 0 ? v + dim : v));
      const s = clamp(starts[i]);
      const e = clamp(ends[i]);
      const at = x.nhwc ? NHWC_AXIS[ax] : ax;
      begin[at] = s;
      size[at] = Math.max(0, e - s);
    });
    return { kind: 'tensor', t: tf.slice(x.t, begin, size), nhwc: x.nhwc };
  }

  /** Bilinear, border padding (what the trainer exports): see gridSample.ts. Output stored NHWC. */
  private gridSample(n: OnnxNode, env: Map<string, Value>): Value {
    const mode = attrString(n, 'mode', 'bilinear');
    const padding = attrString(n, 'padding_mode', 'zeros');
    if ((mode !== 'bilinear' && mode !== 'linear') || padding !== 'border')
      throw new OnnxToTfError('unsupported-attribute', `${nodeLabel(n)}: only bilinear sampling with border padding is supported, got ${mode} / ${padding}.`);
    const xv = this.tensor(env, n.inputs[0], n);
    const grid = this.nchw(env, n.inputs[1], n);
    if (xv.t.rank !== 4 || grid.rank !== 4 || grid.shape[3] !== 2)
      throw new OnnxToTfError('unsupported-attribute', `${nodeLabel(n)}: needs a 4-D image and an [N,H,W,2] grid, got [${xv.t.shape}] and [${grid.shape}].`);
    const x = (xv.nhwc ? xv.t : tf.transpose(xv.t, TO_NHWC)) as tf.Tensor4D;
    // A grid computed for batch 1 (a constant) serves every sample of a training batch.
    const g = (grid.shape[0] === x.shape[0] ? grid : tf.tile(grid, [x.shape[0] / grid.shape[0], 1, 1, 1])) as tf.Tensor4D;
    return { kind: 'tensor', t: gridSampleBilinearBorder(x, g, attrInt(n, 'align_corners', 0) === 1), nhwc: true };
  }

  private conv(n: OnnxNode, env: Map<string, Value>): Value {
    const group = attrInt(n, 'group', 1);
    if (group !== 1) throw new OnnxToTfError('unsupported-attribute', `${nodeLabel(n)}: grouped convolution (group ${group}) is not supported.`);
    const autoPad = attrString(n, 'auto_pad', 'NOTSET');
    if (autoPad !== 'NOTSET') throw new OnnxToTfError('unsupported-attribute', `${nodeLabel(n)}: auto_pad ${autoPad} is not supported (explicit pads only).`);
    const xv = this.tensor(env, n.inputs[0], n);
    if (xv.t.rank !== 4) throw new OnnxToTfError('unsupported-attribute', `${nodeLabel(n)}: only 2-D convolution is supported (input rank ${xv.t.rank}).`);
    const x = (xv.nhwc ? xv.t : tf.transpose(xv.t, TO_NHWC)) as tf.Tensor4D;
    const w = this.weights.get(n.inputs[1]);
    let filter = (w?.hwio ? w.tensor : tf.transpose(this.nchw(env, n.inputs[1], n), OIHW_TO_HWIO)) as tf.Tensor4D;
    const strides = attrInts(n, 'strides') ?? [1, 1];
    const dil = attrInts(n, 'dilations') ?? [1, 1];
    const [pt, pl, pb, pr] = attrInts(n, 'pads') ?? [0, 0, 0, 0];
    if (dil[0] !== 1 || dil[1] !== 1) filter = dilateFilter(filter, dil[0], dil[1]);
    let input = x;
    let pad: number | 'valid' = 'valid';
    if (pt === pb && pl === pr && pt === pl) pad = pt === 0 ? 'valid' : pt;
    else
      input = tf.pad(x, [
        [0, 0],
        [pt, pb],
        [pl, pr],
        [0, 0],
      ]);
    let y: tf.Tensor = tf.conv2d(input, filter, [strides[0], strides[1]], pad);
    if (n.inputs[2]) y = tf.add(y, this.nchw(env, n.inputs[2], n));
    return { kind: 'tensor', t: y, nhwc: true };
  }

  /**
   * ONNX ConvTranspose (2-D, group 1, no dilation): tfjs's conv2dTranspose at 'valid' gives the full
   * (H−1)·s + k output, and the ONNX pads crop it. Its weight [Cin, Cout, kh, kw] goes to tfjs's
   * [kh, kw, Cout, Cin] by the same permutation as a Conv weight to HWIO, so both are stored alike.
   */
  private convTranspose(n: OnnxNode, env: Map<string, Value>): Value {
    const group = attrInt(n, 'group', 1);
    if (group !== 1) throw new OnnxToTfError('unsupported-attribute', `${nodeLabel(n)}: grouped transposed convolution (group ${group}) is not supported.`);
    const autoPad = attrString(n, 'auto_pad', 'NOTSET');
    if (autoPad !== 'NOTSET') throw new OnnxToTfError('unsupported-attribute', `${nodeLabel(n)}: auto_pad ${autoPad} is not supported (explicit pads only).`);
    const dil = attrInts(n, 'dilations') ?? [1, 1];
    if (dil.some((d) => d !== 1)) throw new OnnxToTfError('unsupported-attribute', `${nodeLabel(n)}: dilated transposed convolution is not supported.`);
    if (attrInts(n, 'output_shape')) throw new OnnxToTfError('unsupported-attribute', `${nodeLabel(n)}: output_shape is not supported (pads only).`);
    const xv = this.tensor(env, n.inputs[0], n);
    if (xv.t.rank !== 4)
      throw new OnnxToTfError('unsupported-attribute', `${nodeLabel(n)}: only 2-D transposed convolution is supported (input rank ${xv.t.rank}).`);
    const x = (xv.nhwc ? xv.t : tf.transpose(xv.t, TO_NHWC)) as tf.Tensor4D;
    const w = this.weights.get(n.inputs[1]);
    const filter = (w?.hwio ? w.tensor : tf.transpose(this.nchw(env, n.inputs[1], n), OIHW_TO_HWIO)) as tf.Tensor4D;
    const [kh, kw, cout] = filter.shape;
    const [sh, sw] = attrInts(n, 'strides') ?? [1, 1];
    const [pt, pl, pb, pr] = attrInts(n, 'pads') ?? [0, 0, 0, 0];
    const [op0, op1] = attrInts(n, 'output_padding') ?? [0, 0];
    const [b, h, wd] = x.shape;
    const fullH = (h - 1) * sh + kh + op0;
    const fullW = (wd - 1) * sw + kw + op1;
    let y: tf.Tensor = tf.conv2dTranspose(x, filter, [b, fullH, fullW, cout], [sh, sw], 'valid');
    if (pt || pl || pb || pr) y = tf.slice(y, [0, pt, pl, 0], [b, fullH - pt - pb, fullW - pl - pr, cout]);
    if (n.inputs[2]) y = tf.add(y, this.nchw(env, n.inputs[2], n));
    return { kind: 'tensor', t: y, nhwc: true };
  }

  private resize(n: OnnxNode, env: Map<string, Value>): Value {
    const mode = attrString(n, 'mode', 'nearest');
    if (mode !== 'nearest') throw new OnnxToTfError('unsupported-attribute', `${nodeLabel(n)}: Resize mode "${mode}" is not supported (nearest only).`);
    const xv = this.tensor(env, n.inputs[0], n);
    if (xv.t.rank !== 4) throw new OnnxToTfError('unsupported-attribute', `${nodeLabel(n)}: Resize needs a 4-D input.`);
    const shape = xv.nhwc ? TO_NCHW.map((p) => xv.t.shape[p]) : xv.t.shape;
    let scales: number[];
    const sizes = n.inputs.length >= 4 && n.inputs[3] ? this.ints(n.inputs[3]) : undefined;
    if (sizes) scales = sizes.map((s, i) => s / shape[i]);
    else scales = this.staticFloats.get(n.inputs[this.info.opset >= 11 ? 2 : 1])!;
    const [sn, sc, kh, kw] = scales;
    if (sn !== 1 || sc !== 1 || !Number.isInteger(kh) || !Number.isInteger(kw) || kh < 1 || kw < 1) {
      throw new OnnxToTfError('unsupported-attribute', `${nodeLabel(n)}: only integer up-scaling of H and W is supported, got scales [${scales}].`);
    }
    // For an integer factor k, output pixel k·i+j maps to input i under these coordinate/rounding modes.
    const coord = attrString(n, 'coordinate_transformation_mode', 'half_pixel');
    const round = attrString(n, 'nearest_mode', 'round_prefer_floor');
    const exact =
      (coord === 'asymmetric' && round === 'floor') ||
      ((coord === 'half_pixel' || coord === 'pytorch_half_pixel') && (round === 'round_prefer_floor' || round === 'round_prefer_ceil')) ||
      (kh === 1 && kw === 1);
    if (!exact) throw new OnnxToTfError('unsupported-attribute', `${nodeLabel(n)}: Resize with ${coord}/${round} is not supported.`);
    let y = xv.nhwc ? xv.t : tf.transpose(xv.t, TO_NHWC);
    const [N, H, W, C] = y.shape;
    // Repeat each pixel k times: stack copies next to it, then fold them into the axis (differentiable everywhere).
    if (kw > 1) y = tf.reshape(tf.stack(new Array(kw).fill(y), 3), [N, H, W * kw, C]);
    if (kh > 1) y = tf.reshape(tf.stack(new Array(kh).fill(y), 2), [N, H * kh, W * kw, C]);
    return { kind: 'tensor', t: y, nhwc: true };
  }

  /** Current weights in ONNX layout, by initializer name (trainable ones only). */
  exportWeights(): Map<string, Float32Array> {
    if (this.disposed) throw new OnnxToTfError('disposed', 'The network was already disposed.');
    const out = new Map<string, Float32Array>();
    for (const w of this.weights.values()) {
      if (!w.trainable) continue;
      const data = tf.tidy(() => (w.hwio ? tf.transpose(w.tensor, HWIO_TO_OIHW) : w.tensor).dataSync() as Float32Array);
      out.set(w.name, new Float32Array(data));
    }
    return out;
  }

  /** Same as exportWeights, reading GPU memory asynchronously (no pipeline stall on WebGL/WebGPU). */
  async exportWeightsAsync(): Promise<Map<string, Float32Array>> {
    if (this.disposed) throw new OnnxToTfError('disposed', 'The network was already disposed.');
    const out = new Map<string, Float32Array>();
    for (const w of this.weights.values()) {
      if (!w.trainable) continue;
      const t = w.hwio ? tf.transpose(w.tensor, HWIO_TO_OIHW) : w.tensor.clone();
      try {
        out.set(w.name, new Float32Array((await t.data()) as Float32Array));
      } finally {
        t.dispose();
      }
    }
    return out;
  }

  /** Loads weights (ONNX layout) into the variables, e.g. to roll back to the last good checkpoint. */
  importWeights(weights: ReadonlyMap<string, Float32Array>): void {
    for (const [name, data] of weights) {
      const w = this.weights.get(name);
      if (!w?.trainable) throw new OnnxToTfError('bad-input', `No trainable weight named "${name}".`);
      tf.tidy(() => {
        const t = tf.tensor(data, w.onnxDims, 'float32');
        (w.tensor as tf.Variable).assign(w.hwio ? tf.transpose(t, OIHW_TO_HWIO) : t);
      });
    }
  }

  /** The original ONNX bytes with the current weights written in (every other byte unchanged). */
  toOnnx(weights: ReadonlyMap<string, Float32Array> = this.exportWeights()): Uint8Array {
    return replaceInitializers(this.bytes, weights);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const w of this.weights.values()) w.tensor.dispose();
    for (const c of this.consts.values()) c.dispose();
  }
}

/** Inserts (d−1) zeros between kernel taps, so a dilated conv runs as a plain (differentiable) one. */
function dilateFilter(f: tf.Tensor4D, dh: number, dw: number): tf.Tensor4D {
  const [kh, kw, c, m] = f.shape;
  let y: tf.Tensor = tf.reshape(f, [kh, 1, kw, 1, c * m]);
  y = tf.pad(y, [
    [0, 0],
    [0, dh - 1],
    [0, 0],
    [0, dw - 1],
    [0, 0],
  ]);
  y = tf.reshape(y, [kh * dh, kw * dw, c, m]);
  return tf.slice(y, [0, 0, 0, 0], [(kh - 1) * dh + 1, (kw - 1) * dw + 1, c, m]) as tf.Tensor4D;
}

/** Builds the trainable network. Throws OnnxToTfError ('unsupported-op' names the op) or OnnxFormatError. */
export function onnxToTf(bytes: Uint8Array, opts?: BuildOptions): TfOnnxNetwork {
  return new TfOnnxNetwork(bytes, opts);
}
