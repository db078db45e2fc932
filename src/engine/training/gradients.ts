/**
 * Gradient functions for the tfjs kernels the fine-tuning network and losses use.
 *
 * Why this file exists: `@tensorflow/tfjs-core` only registers gradients when the full `@tensorflow/tfjs`
 * bundle is imported, and its `register_all_gradients` module is ESM-only (it cannot load in Node, where
 * tfjs-core resolves to its CommonJS bundle). These are the same formulas as tfjs-core's
 * `src/gradients/*_grad.ts`, for exactly the kernels used here, registered on tfjs's global registry
 * only where nothing is registered yet — so the Node tests and the browser worker train with the same code.
 */
import * as tf from '@tensorflow/tfjs-core';
import { installFastCpuKernels } from './cpuKernels.ts';

type GradFunc = tf.GradConfig['gradFunc'];
const { getReductionAxes, assertAndGetBroadcastShape } = tf.broadcast_util;

/** Gradient of a broadcasting binary op wrt one operand: sum over the broadcast axes, back to its shape. */
function unbroadcast(res: tf.Tensor, shape: number[], outShape: number[]): tf.Tensor {
  const axes = getReductionAxes(shape, outShape);
  return tf.reshape(axes.length ? tf.sum(res, axes) : res, shape);
}

function reduceAxes(axis: unknown, shape: number[]): number[] {
  return tf.util.parseAxisParam(axis as number | number[], shape);
}

/** Gradient of a 2-D conv's filter: the conv's input `x` against the gradient `dy` at its output. */
function filterGradient(
  x: tf.Tensor,
  dy: tf.Tensor,
  filterShape: number[],
  attrs: { strides: unknown; pad: unknown; dataFormat: string; dimRoundingMode?: string },
): tf.Tensor {
  return tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape } as never) as tf.Tensor;
}

const configs: { kernelName: string; inputsToSave?: string[]; outputsToSave?: boolean[]; saveAllInputs?: boolean; gradFunc: GradFunc }[] = [
  {
    kernelName: 'Add',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved) => {
      const [a, b] = saved;
      const out = assertAndGetBroadcastShape(a.shape, b.shape);
      return { a: () => unbroadcast(dy as tf.Tensor, a.shape, out), b: () => unbroadcast(dy as tf.Tensor, b.shape, out) };
    },
  },
  {
    kernelName: 'Sub',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved) => {
      const [a, b] = saved;
      const out = assertAndGetBroadcastShape(a.shape, b.shape);
      return { a: () => unbroadcast(dy as tf.Tensor, a.shape, out), b: () => tf.neg(unbroadcast(dy as tf.Tensor, b.shape, out)) };
    },
  },
  {
    kernelName: 'Multiply',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved) => {
      const [a, b] = saved;
      const out = assertAndGetBroadcastShape(a.shape, b.shape);
      return {
        a: () => unbroadcast(tf.mul(dy as tf.Tensor, tf.cast(b, 'float32')), a.shape, out),
        b: () => unbroadcast(tf.mul(dy as tf.Tensor, tf.cast(a, 'float32')), b.shape, out),
      };
    },
  },
  {
    kernelName: 'RealDiv',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved) => {
      const [a, b] = saved;
      const out = assertAndGetBroadcastShape(a.shape, b.shape);
      return {
        a: () => unbroadcast(tf.div(dy as tf.Tensor, tf.cast(b, 'float32')), a.shape, out),
        b: () => tf.neg(tf.div(unbroadcast(tf.mul(dy as tf.Tensor, tf.cast(a, 'float32')), b.shape, out), tf.square(tf.cast(b, 'float32')))),
      };
    },
  },
  {
    kernelName: 'Maximum',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved) => {
      const [a, b] = saved;
      const out = assertAndGetBroadcastShape(a.shape, b.shape);
      return {
        a: () => unbroadcast(tf.mul(dy as tf.Tensor, tf.cast(tf.greaterEqual(a, b), 'float32')), a.shape, out),
        b: () => unbroadcast(tf.mul(dy as tf.Tensor, tf.cast(tf.less(a, b), 'float32')), b.shape, out),
      };
    },
  },
  {
    kernelName: 'Minimum',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved) => {
      const [a, b] = saved;
      const out = assertAndGetBroadcastShape(a.shape, b.shape);
      return {
        a: () => unbroadcast(tf.mul(dy as tf.Tensor, tf.cast(tf.lessEqual(a, b), 'float32')), a.shape, out),
        b: () => unbroadcast(tf.mul(dy as tf.Tensor, tf.cast(tf.greater(a, b), 'float32')), b.shape, out),
      };
    },
  },
  { kernelName: 'Neg', gradFunc: (dy) => ({ x: () => tf.neg(dy as tf.Tensor) }) },
  { kernelName: 'Identity', gradFunc: (dy) => ({ x: () => tf.cast(dy as tf.Tensor, 'float32') }) },
  { kernelName: 'Cast', gradFunc: (dy) => ({ x: () => (dy as tf.Tensor).clone() }) },
  {
    kernelName: 'Relu',
    inputsToSave: ['x'],
    gradFunc: (dy, [x]) => ({ x: () => tf.mul(dy as tf.Tensor, tf.cast(tf.step(x), 'float32')) }),
  },
  {
    kernelName: 'Abs',
    inputsToSave: ['x'],
    gradFunc: (dy, [x]) => ({ x: () => tf.mul(dy as tf.Tensor, tf.step(tf.cast(x, 'float32'), -1)) }),
  },
  {
    kernelName: 'Sigmoid',
    outputsToSave: [true],
    gradFunc: (dy, [y]) => ({ x: () => tf.mul(dy as tf.Tensor, tf.mul(y, tf.sub(tf.scalar(1), y))) }),
  },
  {
    kernelName: 'Tanh',
    outputsToSave: [true],
    gradFunc: (dy, [y]) => ({ x: () => tf.mul(tf.sub(tf.scalar(1), tf.square(y)), dy as tf.Tensor) }),
  },
  {
    kernelName: 'Square',
    inputsToSave: ['x'],
    gradFunc: (dy, [x]) => ({ x: () => tf.mul(dy as tf.Tensor, tf.mul(tf.cast(x, 'float32'), 2)) }),
  },
  {
    kernelName: 'Sqrt',
    inputsToSave: ['x'],
    gradFunc: (dy, [x]) => ({ x: () => tf.div(dy as tf.Tensor, tf.mul(tf.sqrt(tf.cast(x, 'float32')), 2)) }),
  },
  {
    kernelName: 'Reshape',
    inputsToSave: ['x'],
    gradFunc: (dy, [x]) => ({ x: () => tf.reshape(dy as tf.Tensor, x.shape) }),
  },
  {
    kernelName: 'ExpandDims',
    inputsToSave: ['input'],
    gradFunc: (dy, [input]) => ({ input: () => tf.reshape(dy as tf.Tensor, input.shape) }),
  },
  {
    kernelName: 'Transpose',
    gradFunc: (dy, _saved, attrs) => {
      const perm = (attrs as { perm: number[] }).perm;
      const undo = new Array<number>(perm.length);
      perm.forEach((p, i) => (undo[p] = i));
      return { x: () => tf.transpose(dy as tf.Tensor, undo) };
    },
  },
  {
    kernelName: 'Concat',
    saveAllInputs: true,
    gradFunc: (dy, saved, attrs) => {
      const axis = reduceAxes((attrs as { axis: number }).axis, saved[0].shape)[0];
      const parts = tf.split(
        dy as tf.Tensor,
        saved.map((t) => t.shape[axis]),
        axis,
      );
      // Kernels with list inputs take a gradient per input, in order (as tfjs-core's own Concat gradient).
      return parts.map((t) => () => t) as never;
    },
  },
  {
    kernelName: 'Pack',
    saveAllInputs: true,
    gradFunc: (dy, _saved, attrs) => tf.unstack(dy as tf.Tensor, (attrs as { axis: number }).axis).map((t) => () => t) as never,
  },
  {
    kernelName: 'Slice',
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => {
      const { begin, size } = attrs as { begin: number | number[]; size: number | number[] };
      const [b, s] = tf.slice_util.parseSliceParams(x, begin, size);
      const paddings: [number, number][] = x.shape.map((d, i) => [b[i], d - b[i] - s[i]]);
      return { x: () => tf.pad(dy as tf.Tensor, paddings) };
    },
  },
  // GridSample's (gridSample.ts) bilinear weights and gathers.
  { kernelName: 'Floor', gradFunc: (dy) => ({ x: () => tf.zerosLike(dy as tf.Tensor) }) },
  {
    kernelName: 'ClipByValue',
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => {
      const { clipValueMin, clipValueMax } = attrs as { clipValueMin: number; clipValueMax: number };
      return {
        x: () => tf.where(tf.logicalAnd(tf.greaterEqual(x, clipValueMin), tf.lessEqual(x, clipValueMax)), dy as tf.Tensor, tf.zerosLike(dy as tf.Tensor)),
      };
    },
  },
  {
    kernelName: 'GatherV2',
    inputsToSave: ['x', 'indices'],
    gradFunc: (dy, [x, indices], attrs) => {
      const { axis, batchDims } = attrs as { axis: number; batchDims: number };
      if (reduceAxes(axis, x.shape)[0] !== 0 || batchDims)
        throw new Error('Only gathers along axis 0 (rows) train here: tfjs-core gradient subset, see gradients.ts.');
      // Rows gathered more than once get the sum of their gradients.
      const rows = tf.reshape(dy as tf.Tensor, [indices.size, ...x.shape.slice(1)]);
      return {
        x: () => tf.unsortedSegmentSum(rows, tf.reshape(indices, [indices.size]) as tf.Tensor1D, x.shape[0]),
        indices: () => tf.zeros(indices.shape, 'float32'),
      };
    },
  },
  {
    kernelName: 'PadV2',
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => {
      const begin = (attrs as { paddings: [number, number][] }).paddings.map((p) => p[0]);
      return { x: () => tf.slice(dy as tf.Tensor, begin, x.shape) };
    },
  },
  {
    kernelName: 'Sum',
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => {
      const shape = x.shape.slice();
      for (const a of reduceAxes((attrs as { axis: number | number[] }).axis, x.shape)) shape[a] = 1;
      return { x: () => tf.mul(tf.reshape(dy as tf.Tensor, shape), tf.ones(x.shape, 'float32')) };
    },
  },
  {
    kernelName: 'Mean',
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => {
      const axes = reduceAxes((attrs as { axis: number | number[] }).axis, x.shape);
      const shape = x.shape.slice();
      let n = 1;
      for (const a of axes) {
        n *= x.shape[a];
        shape[a] = 1;
      }
      return { x: () => tf.div(tf.mul(tf.reshape(dy as tf.Tensor, shape), tf.ones(x.shape, 'float32')), n) };
    },
  },
  {
    kernelName: 'BatchMatMul',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b], attrs) => {
      const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
      const d = dy as tf.Tensor;
      if (!transposeA && !transposeB) return { a: () => tf.matMul(d, b, false, true), b: () => tf.matMul(a, d, true, false) };
      if (!transposeA && transposeB) return { a: () => tf.matMul(d, b, false, false), b: () => tf.matMul(d, a, true, false) };
      if (transposeA && !transposeB) return { a: () => tf.matMul(b, d, false, true), b: () => tf.matMul(a, d, false, false) };
      return { a: () => tf.matMul(b, d, true, true), b: () => tf.matMul(d, a, true, true) };
    },
  },
  {
    kernelName: 'Conv2D',
    inputsToSave: ['x', 'filter'],
    gradFunc: (dy, [x, filter], attrs) => {
      const { dilations, strides, pad, dataFormat, dimRoundingMode } = attrs as {
        dilations: number | [number, number];
        strides: number | [number, number];
        pad: unknown;
        dataFormat: string;
        dimRoundingMode?: string;
      };
      const d = typeof dilations === 'number' ? [dilations, dilations] : dilations;
      if (d[0] !== 1 || d[1] !== 1) throw new Error(`conv2d gradient: dilations ${d} are not supported (1 only)`);
      const e = tf.engine();
      return {
        x: () =>
          e.runKernel('Conv2DBackpropInput', { dy: dy as tf.Tensor, filter }, {
            strides,
            pad,
            dataFormat,
            dimRoundingMode,
            inputShape: x.shape,
          } as never) as tf.Tensor,
        filter: () => filterGradient(x, dy as tf.Tensor, filter.shape, { strides, pad, dataFormat, dimRoundingMode }),
      };
    },
  },
  {
    // A transposed conv (ONNX ConvTranspose) is Conv2DBackpropInput run forward: its input's gradient is the
    // plain conv, its filter's the filter gradient with input and output swapped.
    kernelName: 'Conv2DBackpropInput',
    inputsToSave: ['dy', 'filter'],
    gradFunc: (ddx, [dy, filter], attrs) => {
      const { strides, pad, dataFormat, dimRoundingMode } = attrs as { strides: [number, number]; pad: unknown; dataFormat: string; dimRoundingMode?: string };
      const e = tf.engine();
      return {
        dy: () => e.runKernel('Conv2D', { x: ddx as tf.Tensor, filter }, { strides, pad, dataFormat, dilations: 1, dimRoundingMode } as never) as tf.Tensor,
        filter: () => filterGradient(ddx as tf.Tensor, dy, filter.shape, { strides, pad, dataFormat, dimRoundingMode }),
      };
    },
  },
];

let registered = false;

/** Registers the gradients above for kernels that have none yet, and the faster cpu kernels (idempotent). */
export function ensureTrainingGradients(): void {
  if (registered) return;
  installFastCpuKernels();
  for (const c of configs) {
    if (!tf.getGradient(c.kernelName)) tf.registerGradient(c as tf.GradConfig);
  }
  registered = true;
}
