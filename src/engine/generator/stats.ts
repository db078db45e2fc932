/**
 * Model size and compute per frame, from the graph alone: parameters, weight bytes, multiply-accumulates
 * of Conv/ConvTranspose/Gemm/MatMul (via a small shape inference: one rule per contract op, OP_RULES), and
 * which ops lack a WebGPU kernel. FLOPs are reported as 2·MACs.
 */
import { OnnxDataType, type OnnxModelInfo, type OnnxNode, type OnnxTensor } from './onnx.ts';
import { CodedError } from '../codedError.ts';
import { opName, opsRefusedMessage } from './opContract.ts';
import { WEBGPU_NATIVE_OPS } from './validate.ts';

export interface OpUsage {
  opType: string;
  count: number;
  webgpu: boolean;
}

export interface NodeMacs {
  node: string;
  opType: string;
  macs: number;
  outputShape: number[];
}

export interface ModelStats {
  /** Elements in floating-point initializers (and Constant-node tensors). */
  parameters: number;
  /** Bytes of all stored tensors. */
  weightBytes: number;
  /** Multiply-accumulates per run for Conv, ConvTranspose, Gemm and MatMul nodes whose shapes were inferred. */
  macs: number;
  /** 2·MACs / 1e9. */
  gflops: number;
  perNode: NodeMacs[];
  ops: OpUsage[];
  /** Ops without a WebGPU kernel in the allowlist. */
  unsupportedOps: string[];
  /** Compute nodes whose MACs could not be counted (shape unknown); `macs` excludes them. */
  uncounted: string[];
}

type Shape = number[];

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

function intsAttr(n: OnnxNode, key: string): number[] | undefined {
  const a = n.attributes[key];
  return a?.type === 'ints' ? a.value : undefined;
}

function intAttr(n: OnnxNode, key: string, dflt: number): number {
  const a = n.attributes[key];
  return a?.type === 'int' ? a.value : dflt;
}

function strAttr(n: OnnxNode, key: string, dflt: string): string {
  const a = n.attributes[key];
  return a?.type === 'string' ? a.value : dflt;
}

function broadcast(shapes: Shape[]): Shape | undefined {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    let d = 1;
    for (const s of shapes) {
      const v = s[s.length - rank + i] ?? 1;
      if (v !== 1) {
        if (d !== 1 && d !== v) return undefined;
        d = v;
      }
    }
    out.push(d);
  }
  return out;
}

const normAxis = (a: number, rank: number) => (a < 0 ? a + rank : a);

/** Output spatial size of a conv/pool window. */
function windowOut(n: OnnxNode, inSpatial: number[], kernel: number[]): number[] {
  const k = kernel.length;
  const strides = intsAttr(n, 'strides') ?? new Array(k).fill(1);
  const dil = intsAttr(n, 'dilations') ?? new Array(k).fill(1);
  const pads = intsAttr(n, 'pads') ?? new Array(2 * k).fill(0);
  const autoPad = strAttr(n, 'auto_pad', 'NOTSET');
  const ceil = intAttr(n, 'ceil_mode', 0) === 1;
  return inSpatial.map((x, i) => {
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') return Math.ceil(x / strides[i]);
    const p = autoPad === 'VALID' ? 0 : pads[i] + pads[i + k];
    const span = x + p - dil[i] * (kernel[i] - 1) - 1;
    return (ceil ? Math.ceil(span / strides[i]) : Math.floor(span / strides[i])) + 1;
  });
}

/** One node as a shape rule sees it: the node, its input shapes (where known) and its constant inputs. */
interface NodeView {
  n: OnnxNode;
  ins: (Shape | undefined)[];
  in0: Shape | undefined;
  /** Values of input `i` when it is a small constant (initializer or Constant node). */
  c(i: number): number[] | undefined;
}

/** What a node gives the stats: its output shape (or one per output), MACs for compute ops, a stored tensor. */
interface RuleResult {
  out?: Shape;
  outs?: Shape[];
  macs?: number;
  constant?: OnnxTensor;
}

/** Per op: its shape rule, and whether it is a compute op whose MACs count (Conv, ConvTranspose, Gemm, MatMul). */
interface OpRule {
  shape(v: NodeView): RuleResult | undefined;
  compute?: true;
}

const same: OpRule = { shape: ({ in0 }) => (in0 ? { out: [...in0] } : undefined) };
const elementwise: OpRule = { shape: ({ ins }) => (ins.every(Boolean) ? { out: broadcast(ins as Shape[]) } : undefined) };

function reduce({ n, in0, c }: NodeView): RuleResult | undefined {
  if (!in0) return undefined;
  const axes = (intsAttr(n, 'axes') ?? c(1) ?? in0.map((_, i) => i)).map((a) => normAxis(a, in0.length));
  const keep = intAttr(n, 'keepdims', 1) === 1;
  return { out: keep ? in0.map((d, i) => (axes.includes(i) ? 1 : d)) : in0.filter((_, i) => !axes.includes(i)) };
}

function resize({ n, in0, c }: NodeView): RuleResult | undefined {
  if (!in0) return undefined;
  const sizes = c(3);
  const scales = n.opType === 'Upsample' ? c(1) : c(2);
  if (sizes?.length) return in0.length === sizes.length ? { out: sizes } : undefined;
  if (scales?.length === in0.length) return { out: in0.map((d, i) => Math.floor(d * scales[i])) };
  return undefined;
}

function pool({ n, in0 }: NodeView): RuleResult | undefined {
  const kernel = intsAttr(n, 'kernel_shape');
  return in0 && kernel ? { out: [in0[0], in0[1], ...windowOut(n, in0.slice(2), kernel)] } : undefined;
}

const globalPool: OpRule = { shape: ({ in0 }) => (in0 ? { out: [in0[0], in0[1], ...in0.slice(2).map(() => 1)] } : undefined) };

function spaceDepth({ n, in0 }: NodeView): RuleResult | undefined {
  if (in0?.length !== 4) return undefined;
  const b = intAttr(n, 'blocksize', 1);
  return {
    out: n.opType === 'DepthToSpace' ? [in0[0], in0[1] / (b * b), in0[2] * b, in0[3] * b] : [in0[0], in0[1] * b * b, in0[2] / b, in0[3] / b],
  };
}

/**
 * The shape/MAC rule of every op in the generator contract (src/engine/contract.json; stats.test.ts checks that
 * each contract op has one). Ops that keep their input's shape share `same`.
 */
export const OP_RULES: Readonly<Record<string, OpRule>> = {
  Constant: {
    shape: ({ n }) => {
      const v = n.attributes.value;
      return v?.type === 'tensor' ? { out: v.value.dims, constant: v.value } : undefined;
    },
  },
  Conv: {
    compute: true,
    shape: ({ n, ins: [x, w] }) => {
      if (!x || !w) return undefined;
      const group = intAttr(n, 'group', 1);
      const kernel = w.slice(2);
      const out = [x[0], w[0], ...windowOut(n, x.slice(2), kernel)];
      return { out, macs: prod(out) * (x[1] / group) * prod(kernel) };
    },
  },
  ConvTranspose: {
    compute: true,
    shape: ({ n, ins: [x, w] }) => {
      if (!x || !w) return undefined;
      const group = intAttr(n, 'group', 1);
      const kernel = w.slice(2);
      const k = kernel.length;
      const strides = intsAttr(n, 'strides') ?? new Array(k).fill(1);
      const dil = intsAttr(n, 'dilations') ?? new Array(k).fill(1);
      const pads = intsAttr(n, 'pads') ?? new Array(2 * k).fill(0);
      const outPad = intsAttr(n, 'output_padding') ?? new Array(k).fill(0);
      const explicit = intsAttr(n, 'output_shape');
      const spatial = explicit?.slice(-k) ?? x.slice(2).map((d, i) => strides[i] * (d - 1) + outPad[i] + (kernel[i] - 1) * dil[i] + 1 - pads[i] - pads[i + k]);
      // Every input pixel scatters a (M/group)×kernel patch.
      return { out: [x[0], w[1] * group, ...spatial], macs: prod(x) * w[1] * prod(kernel) };
    },
  },
  Gemm: {
    compute: true,
    shape: ({ n, ins: [a, b] }) => {
      if (!a || !b) return undefined;
      const [m, k] = intAttr(n, 'transA', 0) ? [a[1], a[0]] : [a[0], a[1]];
      const nn = intAttr(n, 'transB', 0) ? b[0] : b[1];
      return { out: [m, nn], macs: m * nn * k };
    },
  },
  MatMul: {
    compute: true,
    shape: ({ ins: [a, b] }) => {
      if (!a || !b) return undefined;
      const a2 = a.length === 1 ? [1, a[0]] : a;
      const b2 = b.length === 1 ? [b[0], 1] : b;
      const batch = broadcast([a2.slice(0, -2), b2.slice(0, -2)]);
      if (!batch) return undefined;
      const m = a2[a2.length - 2];
      const k = a2[a2.length - 1];
      const nn = b2[b2.length - 1];
      return { out: [...batch, ...(a.length === 1 ? [] : [m]), ...(b.length === 1 ? [] : [nn])], macs: prod(batch) * m * k * nn };
    },
  },
  Add: elementwise,
  Sub: elementwise,
  Mul: elementwise,
  Div: elementwise,
  Pow: elementwise,
  Where: elementwise,
  Equal: elementwise,
  Greater: elementwise,
  Less: elementwise,
  Max: elementwise,
  Min: elementwise,
  Concat: {
    shape: ({ n, ins, in0 }) => {
      if (!in0 || !ins.every(Boolean)) return undefined;
      const axis = normAxis(intAttr(n, 'axis', 0), in0.length);
      const out = [...in0];
      out[axis] = (ins as Shape[]).reduce((sum, x) => sum + x[axis], 0);
      return { out };
    },
  },
  Resize: { shape: resize },
  Upsample: { shape: resize },
  MaxPool: { shape: pool },
  AveragePool: { shape: pool },
  GlobalAveragePool: globalPool,
  GlobalMaxPool: globalPool,
  ReduceMean: { shape: reduce },
  ReduceSum: { shape: reduce },
  ReduceMax: { shape: reduce },
  ReduceMin: { shape: reduce },
  Reshape: {
    shape: ({ in0, c }) => {
      const target = c(1);
      if (!in0 || !target) return undefined;
      const s = target.map((d, i) => (d === 0 ? in0[i] : d));
      const known = prod(s.filter((d) => d !== -1));
      return { out: s.map((d) => (d === -1 ? prod(in0) / known : d)) };
    },
  },
  Flatten: {
    shape: ({ n, in0 }) => {
      if (!in0) return undefined;
      const axis = normAxis(intAttr(n, 'axis', 1), in0.length);
      return { out: [prod(in0.slice(0, axis)), prod(in0.slice(axis))] };
    },
  },
  Transpose: {
    shape: ({ n, in0 }) => {
      if (!in0) return undefined;
      const perm = intsAttr(n, 'perm') ?? in0.map((_, i) => in0.length - 1 - i);
      return { out: perm.map((p) => in0[p]) };
    },
  },
  // [N,C,H,W] sampled at an [N,Ho,Wo,2] grid → [N,C,Ho,Wo] (a handful of multiply-adds per output: not counted).
  GridSample: {
    shape: ({ ins: [x, grid] }) => (x && grid && x.length === 4 && grid.length === 4 ? { out: [x[0], x[1], grid[1], grid[2]] } : undefined),
  },
  Unsqueeze: {
    shape: ({ n, in0, c }) => {
      const axesRaw = intsAttr(n, 'axes') ?? c(1);
      if (!in0 || !axesRaw) return undefined;
      const rank = in0.length + axesRaw.length;
      const axes = axesRaw.map((a) => normAxis(a, rank));
      const rest = [...in0];
      return { out: Array.from({ length: rank }, (_, i) => (axes.includes(i) ? 1 : rest.shift()!)) };
    },
  },
  Squeeze: {
    shape: ({ n, in0, c }) => {
      if (!in0) return undefined;
      const axes = (intsAttr(n, 'axes') ?? c(1))?.map((a) => normAxis(a, in0.length));
      return { out: in0.filter((d, i) => (axes ? !axes.includes(i) : d !== 1)) };
    },
  },
  Pad: {
    shape: ({ n, in0, c }) => {
      const pads = intsAttr(n, 'pads') ?? c(1);
      return in0 && pads && pads.length === 2 * in0.length ? { out: in0.map((d, i) => d + pads[i] + pads[i + in0.length]) } : undefined;
    },
  },
  Slice: {
    shape: ({ in0, c }) => {
      const starts = c(1);
      const ends = c(2);
      if (!in0 || !starts || !ends) return undefined;
      const axes = (c(3) ?? starts.map((_, i) => i)).map((a) => normAxis(a, in0.length));
      const steps = c(4) ?? starts.map(() => 1);
      const out = [...in0];
      const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
      axes.forEach((ax, i) => {
        const d = in0[ax];
        const st = steps[i];
        const s0 = starts[i] < 0 ? starts[i] + d : starts[i];
        const e0 = ends[i] < 0 ? ends[i] + d : ends[i];
        const b = st > 0 ? clamp(s0, 0, d) : clamp(s0, -1, d - 1);
        const e = st > 0 ? clamp(e0, 0, d) : clamp(e0, -1, d - 1);
        out[ax] = Math.max(0, Math.ceil((e - b) / st));
      });
      return { out };
    },
  },
  DepthToSpace: { shape: spaceDepth },
  SpaceToDepth: { shape: spaceDepth },
  Split: {
    shape: ({ n, in0, c }) => {
      if (!in0) return undefined;
      const axis = normAxis(intAttr(n, 'axis', 0), in0.length);
      const sizes = intsAttr(n, 'split') ?? c(1) ?? n.outputs.map(() => in0[axis] / n.outputs.length);
      return {
        outs: n.outputs.map((_, i) => {
          const s = [...in0];
          s[axis] = sizes[i];
          return s;
        }),
      };
    },
  },
  Expand: {
    shape: ({ in0, c }) => {
      const to = c(1);
      return in0 && to ? { out: broadcast([in0, to]) } : undefined;
    },
  },
  Tile: {
    shape: ({ in0, c }) => {
      const reps = c(1);
      return in0 && reps?.length === in0.length ? { out: in0.map((d, i) => d * reps[i]) } : undefined;
    },
  },
  // Activations, normalisation, Clip, Softmax, …: the input's shape.
  Abs: same,
  BatchNormalization: same,
  Clip: same,
  Elu: same,
  Erf: same,
  Exp: same,
  Gelu: same,
  HardSigmoid: same,
  HardSwish: same,
  Identity: same,
  InstanceNormalization: same,
  LayerNormalization: same,
  LeakyRelu: same,
  Neg: same,
  Reciprocal: same,
  Relu: same,
  Sigmoid: same,
  Softmax: same,
  Sqrt: same,
  Tanh: same,
};

/** A model with an op the generator contract does not know (src/engine/contract.json). */
export class ModelStatsError extends CodedError<'unknown-op'> {
  override readonly name = 'ModelStatsError';
}

/** Infers output shapes node by node (graph order is topological in valid ONNX) and counts MACs. */
export function computeModelStats(info: OnnxModelInfo, dimOverrides: Record<string, number> = {}): ModelStats {
  const refused = opsRefusedMessage(info.nodes.map(opName));
  if (refused) throw new ModelStatsError('unknown-op', `The model ${refused}.`);
  const shapes = new Map<string, Shape>();
  const consts = new Map<string, number[]>();
  let parameters = 0;
  let weightBytes = 0;
  const isFloat = (t: number) => t === OnnxDataType.FLOAT || t === OnnxDataType.FLOAT16 || t === OnnxDataType.DOUBLE || t === OnnxDataType.BFLOAT16;
  const store = (name: string, t: OnnxTensor) => {
    weightBytes += t.byteLength;
    if (isFloat(t.dataType)) parameters += prod(t.dims);
    const values = t.ints ?? (t.data && t.data.length <= 64 ? Array.from(t.data) : null);
    if (values) consts.set(name, values);
  };

  for (const t of info.initializers) {
    shapes.set(t.name, t.dims);
    store(t.name, t);
  }
  const dimOf = (d: number | string | null) => (typeof d === 'number' ? d : (dimOverrides[d ?? ''] ?? 1));
  for (const v of info.inputs) if (v.dims) shapes.set(v.name, v.dims.map(dimOf));
  const declared = new Map(info.valueInfo.filter((v) => v.dims?.every((d) => typeof d === 'number')).map((v) => [v.name, v.dims as number[]]));

  const perNode: NodeMacs[] = [];
  const uncounted: string[] = [];
  const opCounts = new Map<string, number>();

  for (const n of info.nodes) {
    opCounts.set(n.opType, (opCounts.get(n.opType) ?? 0) + 1);
    const rule = OP_RULES[n.opType];
    if (!rule) throw new ModelStatsError('unknown-op', `The model uses the op ${n.opType}, which model stats cannot size.`);
    const ins = n.inputs.map((x) => (x ? shapes.get(x) : undefined));
    const r = rule.shape({ n, ins, in0: ins[0], c: (i) => (n.inputs[i] ? consts.get(n.inputs[i]) : undefined) });
    if (r?.constant) store(n.outputs[0], r.constant);
    if (r?.outs) r.outs.forEach((s, i) => shapes.set(n.outputs[i], s));
    const out = r?.out ?? (r?.outs ? undefined : declared.get(n.outputs[0]));
    if (out) shapes.set(n.outputs[0], out);
    if (rule.compute) {
      const label = n.name || `${n.opType}→${n.outputs[0]}`;
      if (r?.macs !== undefined && out && Number.isFinite(r.macs)) perNode.push({ node: label, opType: n.opType, macs: r.macs, outputShape: out });
      else uncounted.push(label);
    }
  }

  const macs = perNode.reduce((sum, x) => sum + x.macs, 0);
  const ops = [...opCounts].map(([opType, count]) => ({ opType, count, webgpu: WEBGPU_NATIVE_OPS.has(opType) })).sort((a, b) => b.count - a.count);
  return {
    parameters,
    weightBytes,
    macs,
    gflops: (2 * macs) / 1e9,
    perNode,
    ops,
    unsupportedOps: ops.filter((o) => !o.webgpu).map((o) => o.opType),
    uncounted,
  };
}
