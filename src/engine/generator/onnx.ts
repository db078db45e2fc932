/**
 * Reads, patches and builds ONNX models (onnx.proto field numbers, IR v3+).
 *  - readOnnxModel: graph inputs/outputs, nodes, initializers, opsets — enough to validate and measure a generator.
 *  - replaceInitializers: writes new float weights into named initializers and leaves every other byte
 *    untouched, so fine-tuned weights round-trip into exactly the model that was loaded.
 *  - buildOnnxModel: encodes a small graph description (tests, the built-in test generator).
 */
import {
  ProtoWriter,
  ProtobufError,
  WIRE_LEN,
  decodeString,
  parseFields,
  readFloat32,
  readPackedFloats,
  readPackedVarints,
  type RawField,
} from './protobuf.ts';

export class OnnxFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OnnxFormatError';
  }
}

/** onnx.TensorProto.DataType values. */
export const OnnxDataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  BFLOAT16: 16,
} as const;

const DATA_TYPE_NAMES: Record<number, string> = {
  0: 'undefined',
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  12: 'uint32',
  13: 'uint64',
  14: 'complex64',
  15: 'complex128',
  16: 'bfloat16',
};

const DATA_TYPE_BYTES: Record<number, number> = { 1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 16: 2 };

export function dataTypeName(t: number): string {
  return DATA_TYPE_NAMES[t] ?? `type ${t}`;
}

export function dataTypeBytes(t: number): number {
  return DATA_TYPE_BYTES[t] ?? 0;
}

/** A dimension: a number, a symbolic name (dim_param), or null when the model leaves it unspecified. */
export type OnnxDim = number | string | null;

export interface OnnxValueInfo {
  name: string;
  /** onnx DataType (1 = float32); 0 if the value is not a tensor. */
  elemType: number;
  /** null when the model gives no shape at all. */
  dims: OnnxDim[] | null;
}

export interface OnnxTensor {
  name: string;
  dataType: number;
  dims: number[];
  /** Values as float32 for float, float16 and double tensors; null for other types. */
  data: Float32Array | null;
  /** Values for int32/int64 tensors (shape constants, axes, …); null otherwise. */
  ints: number[] | null;
  /** Stored size of the values in bytes. */
  byteLength: number;
  /** True when the values live in a separate file (data_location = EXTERNAL). */
  external: boolean;
}

export type OnnxAttribute =
  | { type: 'float'; value: number }
  | { type: 'int'; value: number }
  | { type: 'string'; value: string }
  | { type: 'floats'; value: number[] }
  | { type: 'ints'; value: number[] }
  | { type: 'strings'; value: string[] }
  | { type: 'tensor'; value: OnnxTensor }
  /** Subgraphs (If/Loop bodies) and other kinds are recognised but not decoded. */
  | { type: 'graph' | 'other'; value: null };

export interface OnnxNode {
  name: string;
  opType: string;
  /** '' for the default ai.onnx domain. */
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: Record<string, OnnxAttribute>;
}

export interface OnnxOpset {
  domain: string;
  version: number;
}

export interface OnnxModelInfo {
  irVersion: number;
  producerName: string;
  /** Version of the default (ai.onnx) opset. */
  opset: number;
  opsets: OnnxOpset[];
  graphName: string;
  /** Graph inputs that must be fed (initializers listed as inputs by old exporters are excluded). */
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  /** Intermediate value shapes, when the exporter stored them. */
  valueInfo: OnnxValueInfo[];
  nodes: OnnxNode[];
  initializers: OnnxTensor[];
}

// ---- field numbers (onnx.proto) ----
const MODEL = { irVersion: 1, producerName: 2, opsetImport: 8, graph: 7 } as const;
const OPSET = { domain: 1, version: 2 } as const;
const GRAPH = { node: 1, name: 2, initializer: 5, input: 11, output: 12, valueInfo: 13 } as const;
const NODE = { input: 1, output: 2, name: 3, opType: 4, attribute: 5, domain: 7 } as const;
const ATTR = { name: 1, f: 2, i: 3, s: 4, t: 5, g: 6, floats: 7, ints: 8, strings: 9, type: 20 } as const;
const VALUE_INFO = { name: 1, type: 2 } as const;
const TYPE = { tensorType: 1 } as const;
const TENSOR_TYPE = { elemType: 1, shape: 2 } as const;
const SHAPE = { dim: 1 } as const;
const DIM = { value: 1, param: 2 } as const;
const TENSOR = {
  dims: 1,
  dataType: 2,
  floatData: 4,
  int32Data: 5,
  int64Data: 7,
  name: 8,
  rawData: 9,
  doubleData: 10,
  externalData: 13,
  dataLocation: 14,
} as const;
const ATTR_TYPE = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

function wrap<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ProtobufError) throw new OnnxFormatError(`${what}: ${e.message}`);
    throw e;
  }
}

function lenFields(f: RawField, what: string): RawField[] {
  if (f.wire !== WIRE_LEN) throw new OnnxFormatError(`${what} has the wrong wire type (not an ONNX file?)`);
  return parseFields(f.bytes!, what);
}

/** push(...xs) overflows the stack for millions of values (big float_data payloads). */
function append(target: number[], xs: number[]): void {
  for (const x of xs) target.push(x);
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (m / 1024);
  if (e === 31) return m ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + m / 1024);
}

function decodeTensor(bytes: Uint8Array): OnnxTensor {
  const fields = parseFields(bytes, 'tensor');
  let name = '';
  let dataType = 0;
  const dims: number[] = [];
  let raw: Uint8Array | null = null;
  const floats: number[] = [];
  const int32s: number[] = [];
  const int64s: number[] = [];
  const doubles: number[] = [];
  let external = false;
  for (const f of fields) {
    switch (f.field) {
      case TENSOR.dims:
        append(dims, readPackedVarints(f));
        break;
      case TENSOR.dataType:
        dataType = f.varint ?? 0;
        break;
      case TENSOR.name:
        name = decodeString(f.bytes);
        break;
      case TENSOR.rawData:
        raw = f.bytes!;
        break;
      case TENSOR.floatData:
        append(floats, readPackedFloats(f));
        break;
      case TENSOR.int32Data:
        append(int32s, readPackedVarints(f));
        break;
      case TENSOR.int64Data:
        append(int64s, readPackedVarints(f));
        break;
      case TENSOR.doubleData:
        if (f.wire === WIRE_LEN) {
          const dv = new DataView(f.bytes!.buffer, f.bytes!.byteOffset, f.bytes!.length);
          for (let i = 0; i + 8 <= f.bytes!.length; i += 8) doubles.push(dv.getFloat64(i, true));
        } else doubles.push(new DataView(f.bytes!.buffer, f.bytes!.byteOffset, 8).getFloat64(0, true));
        break;
      case TENSOR.dataLocation:
        external = f.varint === 1;
        break;
      case TENSOR.externalData:
        external = true;
        break;
    }
  }
  const count = dims.reduce((a, b) => a * b, 1);
  const byteLength = count * dataTypeBytes(dataType);
  let data: Float32Array | null = null;
  let ints: number[] | null = null;
  if (!external) {
    const dv = raw ? new DataView(raw.buffer, raw.byteOffset, raw.length) : null;
    const need = (n: number) => {
      if (dv && dv.byteLength < n) throw new OnnxFormatError(`initializer "${name}" holds ${dv.byteLength} bytes but its shape [${dims}] needs ${n}`);
    };
    if (dataType === OnnxDataType.FLOAT) {
      need(count * 4);
      // raw_data is little-endian, as is every platform a browser runs on: a plain copy is exact and fast.
      if (raw) data = new Float32Array(raw.slice(0, count * 4).buffer);
      else {
        if (floats.length < count) throw new OnnxFormatError(`initializer "${name}" holds ${floats.length} values but its shape [${dims}] needs ${count}`);
        data = new Float32Array(count);
        data.set(floats.slice(0, count));
      }
    } else if (dataType === OnnxDataType.FLOAT16) {
      need(count * 2);
      data = new Float32Array(count);
      // float16 payloads without raw_data are stored as uint16 values in int32_data.
      for (let i = 0; i < count; i++) data[i] = halfToFloat(dv ? dv.getUint16(i * 2, true) : (int32s[i] ?? 0));
    } else if (dataType === OnnxDataType.DOUBLE) {
      need(count * 8);
      data = new Float32Array(count);
      for (let i = 0; i < count; i++) data[i] = dv ? dv.getFloat64(i * 8, true) : (doubles[i] ?? 0);
    } else if (dataType === OnnxDataType.INT64) {
      need(count * 8);
      ints = [];
      for (let i = 0; i < count; i++) ints.push(dv ? Number(dv.getBigInt64(i * 8, true)) : (int64s[i] ?? 0));
    } else if (dataType === OnnxDataType.INT32) {
      need(count * 4);
      ints = [];
      for (let i = 0; i < count; i++) ints.push(dv ? dv.getInt32(i * 4, true) : (int32s[i] ?? 0));
    }
  }
  return { name, dataType, dims, data, ints, byteLength, external };
}

function decodeAttribute(bytes: Uint8Array): [string, OnnxAttribute] {
  const fields = parseFields(bytes, 'attribute');
  let name = '';
  let type = 0;
  let f: number | undefined;
  let i: number | undefined;
  let s: string | undefined;
  let t: OnnxTensor | undefined;
  let g = false;
  const floats: number[] = [];
  const ints: number[] = [];
  const strings: string[] = [];
  for (const x of fields) {
    switch (x.field) {
      case ATTR.name:
        name = decodeString(x.bytes);
        break;
      case ATTR.type:
        type = x.varint ?? 0;
        break;
      case ATTR.f:
        f = readFloat32(x.bytes!);
        break;
      case ATTR.i:
        i = x.varint;
        break;
      case ATTR.s:
        s = decodeString(x.bytes);
        break;
      case ATTR.t:
        t = decodeTensor(x.bytes!);
        break;
      case ATTR.g:
        g = true;
        break;
      case ATTR.floats:
        append(floats, readPackedFloats(x));
        break;
      case ATTR.ints:
        append(ints, readPackedVarints(x));
        break;
      case ATTR.strings:
        strings.push(decodeString(x.bytes));
        break;
    }
  }
  // Very old models omit `type`; infer it from which field is present.
  if (type === 0) {
    if (f !== undefined) type = ATTR_TYPE.FLOAT;
    else if (i !== undefined) type = ATTR_TYPE.INT;
    else if (s !== undefined) type = ATTR_TYPE.STRING;
    else if (t) type = ATTR_TYPE.TENSOR;
    else if (g) type = ATTR_TYPE.GRAPH;
    else if (floats.length) type = ATTR_TYPE.FLOATS;
    else if (ints.length) type = ATTR_TYPE.INTS;
    else if (strings.length) type = ATTR_TYPE.STRINGS;
  }
  switch (type) {
    case ATTR_TYPE.FLOAT:
      return [name, { type: 'float', value: f ?? 0 }];
    case ATTR_TYPE.INT:
      return [name, { type: 'int', value: i ?? 0 }];
    case ATTR_TYPE.STRING:
      return [name, { type: 'string', value: s ?? '' }];
    case ATTR_TYPE.TENSOR:
      return [name, t ? { type: 'tensor', value: t } : { type: 'other', value: null }];
    case ATTR_TYPE.GRAPH:
      return [name, { type: 'graph', value: null }];
    case ATTR_TYPE.FLOATS:
      return [name, { type: 'floats', value: floats }];
    case ATTR_TYPE.INTS:
      return [name, { type: 'ints', value: ints }];
    case ATTR_TYPE.STRINGS:
      return [name, { type: 'strings', value: strings }];
    default:
      return [name, { type: 'other', value: null }];
  }
}

function decodeNode(bytes: Uint8Array): OnnxNode {
  const node: OnnxNode = { name: '', opType: '', domain: '', inputs: [], outputs: [], attributes: {} };
  for (const f of parseFields(bytes, 'node')) {
    switch (f.field) {
      case NODE.input:
        node.inputs.push(decodeString(f.bytes));
        break;
      case NODE.output:
        node.outputs.push(decodeString(f.bytes));
        break;
      case NODE.name:
        node.name = decodeString(f.bytes);
        break;
      case NODE.opType:
        node.opType = decodeString(f.bytes);
        break;
      case NODE.domain:
        node.domain = decodeString(f.bytes);
        break;
      case NODE.attribute: {
        const [k, v] = decodeAttribute(f.bytes!);
        node.attributes[k] = v;
        break;
      }
    }
  }
  return node;
}

function decodeValueInfo(bytes: Uint8Array): OnnxValueInfo {
  const info: OnnxValueInfo = { name: '', elemType: 0, dims: null };
  for (const f of parseFields(bytes, 'value info')) {
    if (f.field === VALUE_INFO.name) info.name = decodeString(f.bytes);
    else if (f.field === VALUE_INFO.type) {
      for (const tf of lenFields(f, 'type')) {
        if (tf.field !== TYPE.tensorType) continue;
        for (const tt of lenFields(tf, 'tensor type')) {
          if (tt.field === TENSOR_TYPE.elemType) info.elemType = tt.varint ?? 0;
          else if (tt.field === TENSOR_TYPE.shape) {
            info.dims = [];
            for (const d of lenFields(tt, 'shape')) {
              if (d.field !== SHAPE.dim) continue;
              let dim: OnnxDim = null;
              for (const df of lenFields(d, 'dimension')) {
                if (df.field === DIM.value) dim = df.varint ?? null;
                else if (df.field === DIM.param) dim = decodeString(df.bytes);
              }
              info.dims.push(dim);
            }
          }
        }
      }
    }
  }
  return info;
}

/** Parses an ONNX model. Throws OnnxFormatError when the bytes are not a readable ONNX ModelProto. */
export function readOnnxModel(bytes: Uint8Array): OnnxModelInfo {
  return wrap('not a readable ONNX model', () => {
    if (bytes.length === 0) throw new OnnxFormatError('the file is empty');
    const top = parseFields(bytes, 'model');
    const info: OnnxModelInfo = {
      irVersion: 0,
      producerName: '',
      opset: 0,
      opsets: [],
      graphName: '',
      inputs: [],
      outputs: [],
      valueInfo: [],
      nodes: [],
      initializers: [],
    };
    let graph: RawField | undefined;
    for (const f of top) {
      if (f.field === MODEL.irVersion && f.wire === 0) info.irVersion = f.varint!;
      else if (f.field === MODEL.producerName && f.wire === WIRE_LEN) info.producerName = decodeString(f.bytes);
      else if (f.field === MODEL.graph) graph = f;
      else if (f.field === MODEL.opsetImport) {
        const op: OnnxOpset = { domain: '', version: 0 };
        for (const o of lenFields(f, 'opset import')) {
          if (o.field === OPSET.domain) op.domain = decodeString(o.bytes);
          else if (o.field === OPSET.version) op.version = o.varint ?? 0;
        }
        info.opsets.push(op);
      }
    }
    if (!graph || info.irVersion <= 0) throw new OnnxFormatError('it has no ONNX graph or IR version');
    info.opset = info.opsets.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? 0;
    const declaredInputs: OnnxValueInfo[] = [];
    for (const f of lenFields(graph, 'graph')) {
      switch (f.field) {
        case GRAPH.node:
          info.nodes.push(decodeNode(f.bytes!));
          break;
        case GRAPH.name:
          info.graphName = decodeString(f.bytes);
          break;
        case GRAPH.initializer:
          info.initializers.push(decodeTensor(f.bytes!));
          break;
        case GRAPH.input:
          declaredInputs.push(decodeValueInfo(f.bytes!));
          break;
        case GRAPH.output:
          info.outputs.push(decodeValueInfo(f.bytes!));
          break;
        case GRAPH.valueInfo:
          info.valueInfo.push(decodeValueInfo(f.bytes!));
          break;
      }
    }
    const initNames = new Set(info.initializers.map((t) => t.name));
    info.inputs = declaredInputs.filter((i) => !initNames.has(i.name));
    return info;
  });
}

// ---------------------------------------------------------------------------------------------
// Writing new weights

/**
 * Returns a copy of the model in which each named float32 initializer holds the given values
 * (stored as raw_data). Every other byte — other initializers, nodes, metadata, unknown fields —
 * is copied verbatim. Throws if a name is missing, not float32, external, or the length differs.
 */
export function replaceInitializers(bytes: Uint8Array, weights: ReadonlyMap<string, Float32Array>): Uint8Array {
  return wrap('cannot rewrite weights', () => {
    const top = parseFields(bytes, 'model');
    const graphIdx = top.findIndex((f) => f.field === MODEL.graph && f.wire === WIRE_LEN);
    if (graphIdx < 0) throw new OnnxFormatError('the model has no graph');
    const graph = top[graphIdx];
    const pending = new Set(weights.keys());
    const graphWriter = new ProtoWriter();
    const graphBytes = graph.bytes!;
    for (const f of parseFields(graphBytes, 'graph')) {
      const verbatim = graphBytes.subarray(f.start, f.end);
      if (f.field !== GRAPH.initializer || f.wire !== WIRE_LEN) {
        graphWriter.raw(verbatim);
        continue;
      }
      const tensorFields = parseFields(f.bytes!, 'tensor');
      const nameField = tensorFields.find((t) => t.field === TENSOR.name);
      const name = decodeString(nameField?.bytes);
      const values = weights.get(name);
      if (!values || !pending.has(name)) {
        graphWriter.raw(verbatim);
        continue;
      }
      pending.delete(name);
      const info = decodeTensor(f.bytes!);
      if (info.dataType !== OnnxDataType.FLOAT) {
        throw new OnnxFormatError(`initializer "${name}" is ${dataTypeName(info.dataType)}, only float32 weights can be replaced`);
      }
      if (info.external) throw new OnnxFormatError(`initializer "${name}" is stored in an external file and cannot be replaced`);
      const count = info.dims.reduce((a, b) => a * b, 1);
      if (values.length !== count) {
        throw new OnnxFormatError(`initializer "${name}" has shape [${info.dims.join(',')}] (${count} values) but ${values.length} values were given`);
      }
      // Keep the tensor's other fields in place; drop the old payload and append the new raw_data.
      const tw = new ProtoWriter();
      for (const t of tensorFields) {
        if (t.field === TENSOR.floatData || t.field === TENSOR.rawData) continue;
        tw.raw(f.bytes!.subarray(t.start, t.end));
      }
      const raw = new Uint8Array(count * 4);
      const dv = new DataView(raw.buffer);
      for (let i = 0; i < count; i++) dv.setFloat32(i * 4, values[i], true);
      tw.bytes(TENSOR.rawData, raw);
      graphWriter.bytes(GRAPH.initializer, tw.finish());
    }
    if (pending.size) {
      throw new OnnxFormatError(`the model has no initializer named ${[...pending].map((n) => `"${n}"`).join(', ')}`);
    }
    const out = new ProtoWriter();
    top.forEach((f, i) => {
      if (i === graphIdx) out.bytes(MODEL.graph, graphWriter.finish());
      else out.raw(bytes.subarray(f.start, f.end));
    });
    return out.finish();
  });
}

// ---------------------------------------------------------------------------------------------
// Building models

/**
 * Attribute value in a spec: an integer number → INT, a fractional number → FLOAT, number[] → INTS,
 * string → STRING; use the tagged form for anything else (e.g. `{ type: 'float', value: 1 }`).
 */
export type OnnxAttributeSpec = number | number[] | string | Exclude<OnnxAttribute, { type: 'graph' | 'other' }>;

export interface OnnxNodeSpec {
  opType: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  domain?: string;
  attributes?: Record<string, OnnxAttributeSpec>;
}

export type OnnxTensorSpec = { name: string; dims: number[]; data: Float32Array } | { name: string; dims: number[]; int64: number[] };

export interface OnnxValueSpec {
  name: string;
  /** Defaults to float32. */
  elemType?: number;
  dims: (number | string)[];
}

export interface OnnxModelSpec {
  nodes: OnnxNodeSpec[];
  initializers?: OnnxTensorSpec[];
  inputs: OnnxValueSpec[];
  outputs: OnnxValueSpec[];
  /** Default-domain opset version (default 17). */
  opset?: number;
  /** IR version (default 8, readable by every onnxruntime-web since 1.14). */
  irVersion?: number;
  graphName?: string;
  producerName?: string;
}

function writeTensor(w: ProtoWriter, t: OnnxTensorSpec): void {
  const count = t.dims.reduce((a, b) => a * b, 1);
  w.packedVarints(TENSOR.dims, t.dims);
  if ('data' in t) {
    if (t.data.length !== count) throw new OnnxFormatError(`initializer "${t.name}" has shape [${t.dims}] but ${t.data.length} values`);
    w.varint(TENSOR.dataType, OnnxDataType.FLOAT);
    w.string(TENSOR.name, t.name);
    const raw = new Uint8Array(count * 4);
    const dv = new DataView(raw.buffer);
    for (let i = 0; i < count; i++) dv.setFloat32(i * 4, t.data[i], true);
    w.bytes(TENSOR.rawData, raw);
  } else {
    if (t.int64.length !== count) throw new OnnxFormatError(`initializer "${t.name}" has shape [${t.dims}] but ${t.int64.length} values`);
    w.varint(TENSOR.dataType, OnnxDataType.INT64);
    w.string(TENSOR.name, t.name);
    const raw = new Uint8Array(count * 8);
    const dv = new DataView(raw.buffer);
    for (let i = 0; i < count; i++) dv.setBigInt64(i * 8, BigInt(t.int64[i]), true);
    w.bytes(TENSOR.rawData, raw);
  }
}

function writeAttribute(w: ProtoWriter, name: string, spec: OnnxAttributeSpec): void {
  const a: OnnxAttribute =
    typeof spec === 'number'
      ? Number.isInteger(spec)
        ? { type: 'int', value: spec }
        : { type: 'float', value: spec }
      : typeof spec === 'string'
        ? { type: 'string', value: spec }
        : Array.isArray(spec)
          ? { type: 'ints', value: spec }
          : spec;
  w.string(ATTR.name, name);
  switch (a.type) {
    case 'float':
      w.float(ATTR.f, a.value).varint(ATTR.type, ATTR_TYPE.FLOAT);
      break;
    case 'int':
      w.varint(ATTR.i, a.value).varint(ATTR.type, ATTR_TYPE.INT);
      break;
    case 'string':
      w.string(ATTR.s, a.value).varint(ATTR.type, ATTR_TYPE.STRING);
      break;
    case 'floats':
      w.packedFloats(ATTR.floats, a.value).varint(ATTR.type, ATTR_TYPE.FLOATS);
      break;
    case 'ints':
      w.packedVarints(ATTR.ints, a.value).varint(ATTR.type, ATTR_TYPE.INTS);
      break;
    case 'strings':
      for (const s of a.value) w.string(ATTR.strings, s);
      w.varint(ATTR.type, ATTR_TYPE.STRINGS);
      break;
    case 'tensor': {
      const t = a.value;
      if (!t.data && !t.ints) throw new OnnxFormatError(`tensor attribute "${name}" has no values`);
      const ts: OnnxTensorSpec = t.data ? { name: t.name, dims: t.dims, data: t.data } : { name: t.name, dims: t.dims, int64: t.ints! };
      w.message(ATTR.t, (tw) => writeTensor(tw, ts)).varint(ATTR.type, ATTR_TYPE.TENSOR);
      break;
    }
  }
}

function writeValueInfo(w: ProtoWriter, v: OnnxValueSpec): void {
  w.string(VALUE_INFO.name, v.name);
  w.message(VALUE_INFO.type, (tw) =>
    tw.message(TYPE.tensorType, (tt) => {
      tt.varint(TENSOR_TYPE.elemType, v.elemType ?? OnnxDataType.FLOAT);
      tt.message(TENSOR_TYPE.shape, (sw) => {
        for (const d of v.dims) sw.message(SHAPE.dim, (dw) => (typeof d === 'number' ? dw.varint(DIM.value, d) : dw.string(DIM.param, d)));
      });
    }),
  );
}

/** Encodes a graph description as an ONNX ModelProto. */
export function buildOnnxModel(spec: OnnxModelSpec): Uint8Array {
  const w = new ProtoWriter();
  w.varint(MODEL.irVersion, spec.irVersion ?? 8);
  w.string(MODEL.producerName, spec.producerName ?? 'lipsync-live');
  w.message(MODEL.graph, (g) => {
    spec.nodes.forEach((n, i) =>
      g.message(GRAPH.node, (nw) => {
        for (const x of n.inputs) nw.string(NODE.input, x);
        for (const x of n.outputs) nw.string(NODE.output, x);
        nw.string(NODE.name, n.name ?? `${n.opType}_${i}`);
        nw.string(NODE.opType, n.opType);
        for (const [k, v] of Object.entries(n.attributes ?? {})) nw.message(NODE.attribute, (aw) => writeAttribute(aw, k, v));
        if (n.domain) nw.string(NODE.domain, n.domain);
      }),
    );
    g.string(GRAPH.name, spec.graphName ?? 'graph');
    for (const t of spec.initializers ?? []) g.message(GRAPH.initializer, (tw) => writeTensor(tw, t));
    for (const v of spec.inputs) g.message(GRAPH.input, (vw) => writeValueInfo(vw, v));
    for (const v of spec.outputs) g.message(GRAPH.output, (vw) => writeValueInfo(vw, v));
  });
  w.message(MODEL.opsetImport, (o) => o.string(OPSET.domain, '').varint(OPSET.version, spec.opset ?? 17));
  return w.finish();
}
