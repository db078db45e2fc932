/**
 * Model size and compute per frame, from the graph alone: parameters, weight bytes, multiply-accumulates
 * of Conv/ConvTranspose/Gemm/MatMul (via a small shape inference over the ops a generator uses), and
 * which ops lack a WebGPU kernel. FLOPs are reported as 2·MACs.
 */
import { OnnxDataType, type OnnxModelInfo, type OnnxNode } from './onnx.ts';
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

/** Infers output shapes node by node (graph order is topological in valid ONNX) and counts MACs. */
/** A model with an op the generator contract does not know (src/engine/contract.json). */
export class ModelStatsError extends CodedError<'unknown-op'> {
  override readonly name = 'ModelStatsError';
}

export function computeModelStats(info: OnnxModelInfo, dimOverrides: Record<string, number> = {}): ModelStats {
  const refused = opsRefusedMessage(info.nodes.map(opName));
  if (refused) throw new ModelStatsError('unknown-op', `The model ${refused}.`);
  const shapes = new Map<string, Shape>();
  const consts = new Map<string, number[]>();
  let parameters = 0;
  let weightBytes = 0;
  const isFloat = (t: number) => t === OnnxDataType.FLOAT || t === OnnxDataType.FLOAT16 || t === OnnxDataType.DOUBLE || t === OnnxDataType.BFLOAT16;

  for (const t of info.initializers) {
    shapes.set(t.name, t.dims);
    const values = t.ints ?? (t.data && t.data.length <= 64 ? Array.from(t.data) : null);
    if (values) consts.set(t.name, values);
    weightBytes += t.byteLength;
    if (isFloat(t.dataType)) parameters += prod(t.dims);
  }
  const dimOf = (d: number | string | null) => (typeof d === 'number' ? d : (dimOverrides[d ?? ''] ?? 1));
  for (const v of info.inputs) if (v.dims) shapes.set(v.name, v.dims.map(dimOf));
  const declared = new Map(info.valueInfo.filter((v) => v.dims?.every((d) => typeof d === 'number')).map((v) => [v.name, v.dims as number[]]));

  const perNode: NodeMacs[] = [];
  const uncounted: string[] = [];
  const opCounts = new Map<string, number>();
  const COMPUTE = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul']);

  for (const n of info.nodes) {
    opCounts.set(n.opType, (opCounts.get(n.opType) ?? 0) + 1);
    const ins = n.inputs.map((x) => (x ? shapes.get(x) : undefined));
    const in0 = ins[0];
    const c = (i: number) => (n.inputs[i] ? consts.get(n.inputs[i]) : undefined);
    let out: Shape | undefined;
    let macs: number | undefined;
    const label = n.name || `${n.opType}→${n.outputs[0]}`;

    switch (n.opType) {
      case 'Constant': {
        const v = n.attributes.value;
        if (v?.type === 'tensor') {
          out = v.value.dims;
          weightBytes += v.value.byteLength;
          if (isFloat(v.value.dataType)) parameters += prod(v.value.dims);
          const values = v.value.ints ?? (v.value.data && v.value.data.length <= 64 ? Array.from(v.value.data) : null);
          if (values) consts.set(n.outputs[0], values);
        }
        break;
      }
      case 'Conv': {
        const w = ins[1];
        if (in0 && w) {
          const group = intAttr(n, 'group', 1);
          const kernel = w.slice(2);
          const spatial = windowOut(n, in0.slice(2), kernel);
          out = [in0[0], w[0], ...spatial];
          macs = prod(out) * (in0[1] / group) * prod(kernel);
        }
        break;
      }
      case 'ConvTranspose': {
        const w = ins[1];
        if (in0 && w) {
          const group = intAttr(n, 'group', 1);
          const kernel = w.slice(2);
          const k = kernel.length;
          const strides = intsAttr(n, 'strides') ?? new Array(k).fill(1);
          const dil = intsAttr(n, 'dilations') ?? new Array(k).fill(1);
          const pads = intsAttr(n, 'pads') ?? new Array(2 * k).fill(0);
          const outPad = intsAttr(n, 'output_padding') ?? new Array(k).fill(0);
          const explicit = intsAttr(n, 'output_shape');
          const spatial =
            explicit?.slice(-k) ??
            in0.slice(2).map((x, i) => strides[i] * (x - 1) + outPad[i] + (kernel[i] - 1) * dil[i] + 1 - pads[i] - pads[i + k]);
          out = [in0[0], w[1] * group, ...spatial];
          // Every input pixel scatters a (M/group)×kernel patch.
          macs = prod(in0) * w[1] * prod(kernel);
        }
        break;
      }
      case 'Gemm': {
        const b = ins[1];
        if (in0 && b) {
          const [m, k] = intAttr(n, 'transA', 0) ? [in0[1], in0[0]] : [in0[0], in0[1]];
          const nn = intAttr(n, 'transB', 0) ? b[0] : b[1];
          out = [m, nn];
          macs = m * nn * k;
        }
        break;
      }
      case 'MatMul': {
        const b = ins[1];
        if (in0 && b) {
          const a2 = in0.length === 1 ? [1, in0[0]] : in0;
          const b2 = b.length === 1 ? [b[0], 1] : b;
          const batch = broadcast([a2.slice(0, -2), b2.slice(0, -2)]);
          if (batch) {
            const m = a2[a2.length - 2];
            const k = a2[a2.length - 1];
            const nn = b2[b2.length - 1];
            out = [...batch, ...(in0.length === 1 ? [] : [m]), ...(b.length === 1 ? [] : [nn])];
            macs = prod(batch) * m * k * nn;
          }
        }
        break;
      }
      case 'Add':
      case 'Sub':
      case 'Mul':
      case 'Div':
      case 'Pow':
      case 'Where':
      case 'Equal':
      case 'Greater':
      case 'Less':
      case 'Max':
      case 'Min':
        if (ins.every(Boolean)) out = broadcast(ins as Shape[]);
        break;
      case 'Concat':
        if (ins.every(Boolean) && in0) {
          const axis = normAxis(intAttr(n, 'axis', 0), in0.length);
          out = [...in0];
          out[axis] = (ins as Shape[]).reduce((s, x) => s + x[axis], 0);
        }
        break;
      case 'Resize':
      case 'Upsample':
        if (in0) {
          const sizes = c(3);
          const scales = n.opType === 'Upsample' ? c(1) : c(2);
          if (sizes?.length) out = in0.length === sizes.length ? sizes : undefined;
          else if (scales?.length === in0.length) out = in0.map((d, i) => Math.floor(d * scales[i]));
        }
        break;
      case 'MaxPool':
      case 'AveragePool':
        if (in0) {
          const kernel = intsAttr(n, 'kernel_shape');
          if (kernel) out = [in0[0], in0[1], ...windowOut(n, in0.slice(2), kernel)];
        }
        break;
      case 'GlobalAveragePool':
      case 'GlobalMaxPool':
        if (in0) out = [in0[0], in0[1], ...in0.slice(2).map(() => 1)];
        break;
      case 'ReduceMean':
      case 'ReduceSum':
      case 'ReduceMax':
      case 'ReduceMin':
        if (in0) {
          const axes = (intsAttr(n, 'axes') ?? c(1) ?? in0.map((_, i) => i)).map((a) => normAxis(a, in0.length));
          const keep = intAttr(n, 'keepdims', 1) === 1;
          out = keep ? in0.map((d, i) => (axes.includes(i) ? 1 : d)) : in0.filter((_, i) => !axes.includes(i));
        }
        break;
      case 'Reshape': {
        const target = c(1);
        if (in0 && target) {
          const s = target.map((d, i) => (d === 0 ? in0[i] : d));
          const known = prod(s.filter((d) => d !== -1));
          out = s.map((d) => (d === -1 ? prod(in0) / known : d));
        }
        break;
      }
      case 'Flatten':
        if (in0) {
          const axis = normAxis(intAttr(n, 'axis', 1), in0.length);
          out = [prod(in0.slice(0, axis)), prod(in0.slice(axis))];
        }
        break;
      case 'Transpose':
        if (in0) {
          const perm = intsAttr(n, 'perm') ?? in0.map((_, i) => in0.length - 1 - i);
          out = perm.map((p) => in0[p]);
        }
        break;
      case 'Unsqueeze':
        if (in0) {
          const axesRaw = intsAttr(n, 'axes') ?? c(1);
          if (axesRaw) {
            const rank = in0.length + axesRaw.length;
            const axes = axesRaw.map((a) => normAxis(a, rank));
            const rest = [...in0];
            out = Array.from({ length: rank }, (_, i) => (axes.includes(i) ? 1 : rest.shift()!));
          }
        }
        break;
      case 'Squeeze':
        if (in0) {
          const axes = (intsAttr(n, 'axes') ?? c(1))?.map((a) => normAxis(a, in0.length));
          out = in0.filter((d, i) => (axes ? !axes.includes(i) : d !== 1));
        }
        break;
      case 'Pad':
        if (in0) {
          const pads = intsAttr(n, 'pads') ?? c(1);
          if (pads && pads.length === 2 * in0.length) out = in0.map((d, i) => d + pads[i] + pads[i + in0.length]);
        }
        break;
      case 'Slice':
        if (in0) {
          const starts = c(1);
          const ends = c(2);
          if (starts && ends) {
            const axes = (c(3) ?? starts.map((_, i) => i)).map((a) => normAxis(a, in0.length));
            const steps = c(4) ?? starts.map(() => 1);
            out = [...in0];
            axes.forEach((ax, i) => {
              const d = in0[ax];
              const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
              const st = steps[i];
              const s0 = starts[i] < 0 ? starts[i] + d : starts[i];
              const e0 = ends[i] < 0 ? ends[i] + d : ends[i];
              const s = st > 0 ? clamp(s0, 0, d) : clamp(s0, -1, d - 1);
              const e = st > 0 ? clamp(e0, 0, d) : clamp(e0, -1, d - 1);
              out![ax] = Math.max(0, Math.ceil((e - s) / st));
            });
          }
        }
        break;
      case 'DepthToSpace':
      case 'SpaceToDepth':
        if (in0 && in0.length === 4) {
          const b = intAttr(n, 'blocksize', 1);
          out = n.opType === 'DepthToSpace' ? [in0[0], in0[1] / (b * b), in0[2] * b, in0[3] * b] : [in0[0], in0[1] * b * b, in0[2] / b, in0[3] / b];
        }
        break;
      case 'Split':
        if (in0) {
          const axis = normAxis(intAttr(n, 'axis', 0), in0.length);
          const sizes = intsAttr(n, 'split') ?? c(1) ?? n.outputs.map(() => in0[axis] / n.outputs.length);
          n.outputs.forEach((o, i) => {
            const s = [...in0];
            s[axis] = sizes[i];
            shapes.set(o, s);
          });
        }
        break;
      default:
        // Shape-preserving ops (activations, normalisation, Clip, Cast, Softmax, …).
        if (in0) out = [...in0];
    }
    const declaredOut = declared.get(n.outputs[0]);
    if (!out && declaredOut) out = declaredOut;
    if (out && n.opType !== 'Split') shapes.set(n.outputs[0], out);
    if (COMPUTE.has(n.opType)) {
      if (macs !== undefined && out && Number.isFinite(macs)) perNode.push({ node: label, opType: n.opType, macs, outputShape: out });
      else uncounted.push(label);
    }
  }

  const macs = perNode.reduce((s, x) => s + x.macs, 0);
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
