/**
 * Builds a MediaPipe Tasks `face_landmarker.task` from the Apache-2.0 models inside the npm package
 * `@mediapipe/face_mesh` (devDependency), fully offline:
 *
 *   npx tsx tools/build-face-task.ts [--mesh attention|plain] [--experiment no-metadata|no-head] [--out FILE]
 *
 * Default output: .cache/face-task/face_landmarker.task (gitignored; `_plain` / `_<experiment>` suffixes).
 *
 * A .task is a zip whose entries the FaceLandmarkerGraph looks up by name: `face_detector.tflite`,
 * `face_landmarks_detector.tflite` (both required), `face_blendshapes.tflite` (optional, not built
 * here) and `geometry_pipeline_metadata_landmarks.binarypb` (only read when transformation matrices are
 * requested). Entries are stored uncompressed: the bundle reader hands out views into the zip.
 *
 * The face_mesh models are not accepted as they are:
 *  1. Tasks' ImagePreprocessingGraph refuses a float32 input without TFLite metadata ("Input tensor has
 *     type float32: it requires specifying NormalizationOptions metadata to preprocess input images."),
 *     and the face_mesh .tflite files carry none. We add a TFLITE_METADATA entry (ModelMetadata, "M001")
 *     with RGB ImageProperties and NormalizationOptions: detector mean 127.5 std 127.5 (→ [-1, 1]),
 *     mesh mean 0 std 255 (→ [0, 1]).
 *  2. Tasks' landmarks detector takes output tensor 0 as the landmarks, always decoded as 478 points
 *     (TensorsToFaceLandmarksGraph: kMeshWithIrisLandmarksNum, no refinement step), and output 1 as the
 *     presence logit. face_landmark.tflite gives 468×3 = 1404 values (would silently decode as 478 2-D
 *     points), face_landmark_with_attention.tflite gives 7 outputs (mesh, lips, eyes, irises, flag). We
 *     append a few builtin ops so output 0 is [1,1,1,1434] = 478×3 in Face Mesh topology and output 1 the
 *     face flag:
 *       attention: x,y refined by lips/eyes/irises exactly like MediaPipe's LandmarksRefinementCalculator
 *                  (same index maps as src/engine/face/landmarker.ts), iris z = mean z of the eye contour.
 *       plain:     468 mesh points + iris points synthesised as the eye-contour centre (no iris model).
 *     Ops used: FULLY_CONNECTED (iris z / synthesised irises), RESHAPE, CONCATENATION, GATHER.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FbReader, f32Vec, i32Vec, old, refs, str, table, bytesVec, writeForward, type NewObj, type Ref } from './face-task/flatbuf.ts';

const require = createRequire(import.meta.url);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_TASK_PATH = join(ROOT, '.cache/face-task/face_landmarker.task');

// ---------- face_mesh package ----------

export function readFaceMeshAssets(): Map<string, Uint8Array> {
  let dir: string;
  try {
    dir = dirname(require.resolve('@mediapipe/face_mesh/package.json'));
  } catch {
    throw new Error('@mediapipe/face_mesh is not installed: run `npm install -D @mediapipe/face_mesh`');
  }
  const loader = readFileSync(join(dir, 'face_mesh_solution_packed_assets_loader.js'), 'utf8');
  const m = loader.match(/loadPackage\((\{"files".*?\})\)/s);
  if (!m) throw new Error('face_mesh_solution_packed_assets_loader.js: no loadPackage({...}) file list found');
  const pkg = JSON.parse(m[1]) as { files: { filename: string; start: number; end: number }[] };
  const data = new Uint8Array(readFileSync(join(dir, 'face_mesh_solution_packed_assets.data')));
  const out = new Map<string, Uint8Array>();
  for (const f of pkg.files) {
    if (f.end > data.length) throw new Error(`${f.filename}: byte range ${f.start}-${f.end} beyond the .data file (${data.length})`);
    out.set(f.filename.split('/').pop()!, data.slice(f.start, f.end));
  }
  return out;
}

// ---------- TFLite patching ----------

const OP = { CONCATENATION: 2, FULLY_CONNECTED: 9, RESHAPE: 22, GATHER: 36 } as const;
/** BuiltinOptions union type of each op's options table. */
const OPTS: Record<keyof typeof OP, number> = { CONCATENATION: 10, FULLY_CONNECTED: 8, RESHAPE: 17, GATHER: 23 };
const FLOAT32 = 0;
const INT32 = 2;

interface NewTensor {
  shape: number[];
  type: number;
  name: string;
  data?: Uint8Array; // constant
}
interface NewOp {
  op: keyof typeof OP;
  inputs: number[];
  outputs: number[];
  options?: NewObj;
}

interface TensorMeta {
  name: string;
  image?: { mean: number; std: number };
}

/** ModelMetadata flatbuffer (file identifier M001) describing one image input and the outputs. */
function modelMetadata(name: string, input: TensorMeta, outputs: TensorMeta[]): Uint8Array {
  const tensorMeta = (t: TensorMeta) =>
    table([
      { id: 0, ref: str(t.name) },
      t.image && {
        id: 3,
        // Content { content_properties_type = ImageProperties (2), content_properties = { color_space RGB } }
        ref: table([
          { id: 0, u8: 2 },
          { id: 1, ref: table([{ id: 0, u8: 1 }]) },
        ]),
      },
      t.image && {
        id: 4,
        // [ProcessUnit { options_type = NormalizationOptions (1), options = { mean, std } }]
        ref: refs([
          table([
            { id: 0, u8: 1 },
            {
              id: 1,
              ref: table([
                { id: 0, ref: f32Vec([t.image.mean]) },
                { id: 1, ref: f32Vec([t.image.std]) },
              ]),
            },
          ]),
        ]),
      },
    ]);
  const root = table([
    { id: 0, ref: str(name) },
    { id: 1, ref: str('Built by tools/build-face-task.ts from @mediapipe/face_mesh (Apache-2.0)') },
    {
      id: 3,
      ref: refs([
        table([
          { id: 2, ref: refs([tensorMeta(input)]) },
          { id: 3, ref: refs(outputs.map(tensorMeta)) },
        ]),
      ]),
    },
    { id: 5, ref: str('Apache-2.0') },
    { id: 7, ref: str('1.0.0') },
  ]);
  return writeForward(root, 'M001', 0, 4);
}

interface PatchSpec {
  metadata: Uint8Array;
  tensors?: NewTensor[]; // appended after the model's tensors; refer to them as N+i
  ops?: NewOp[];
  outputs?: number[]; // new subgraph outputs (indices into old+new tensors)
}

/**
 * Returns a new .tflite: the original bytes untouched behind a prefix holding a new Model root, a new
 * SubGraph 0 (old tensors/ops + new ones, new outputs), extra buffers, opcodes and the metadata entry.
 */
export function patchTflite(src: Uint8Array, spec: PatchSpec): Uint8Array {
  const r = new FbReader(src);
  if (r.ident() !== 'TFL3') throw new Error('not a TFLite flatbuffer (identifier is not TFL3)');
  const m = r.root();
  const subgraphs = r.tables(m, 2);
  if (subgraphs.length !== 1) throw new Error(`expected 1 subgraph, got ${subgraphs.length}`);
  const sg = subgraphs[0];
  if (r.tables(m, 6).some((t) => r.string(t, 0) === 'TFLITE_METADATA')) throw new Error('model already has TFLITE_METADATA');

  const oldCodes = r.tables(m, 1);
  const oldBuffers = r.tables(m, 4);
  const oldTensors = r.tables(sg, 0);
  const oldOps = r.tables(sg, 3);
  const newCodes: NewObj[] = [];
  const codeIndex = new Map<number, number>();
  const opcode = (op: number): number => {
    if (!codeIndex.has(op)) {
      codeIndex.set(op, oldCodes.length + newCodes.length);
      newCodes.push(
        table([
          { id: 0, u8: op },
          { id: 2, i32: 1 },
          { id: 3, i32: op },
        ]),
      );
    }
    return codeIndex.get(op)!;
  };
  const newBuffers: NewObj[] = [];
  const addBuffer = (data: Uint8Array): number => {
    newBuffers.push(table([{ id: 0, ref: bytesVec(data, 16) }]));
    return oldBuffers.length + newBuffers.length - 1;
  };
  const metaBuffer = addBuffer(spec.metadata);
  const newTensors = (spec.tensors ?? []).map((t) =>
    table([
      { id: 0, ref: i32Vec(t.shape) },
      { id: 1, u8: t.type },
      { id: 2, u32: t.data ? addBuffer(t.data) : 0 },
      { id: 3, ref: str(t.name) },
    ]),
  );
  const newOps = (spec.ops ?? []).map((o) =>
    table([
      { id: 0, u32: opcode(OP[o.op]) },
      { id: 1, ref: i32Vec(o.inputs) },
      { id: 2, ref: i32Vec(o.outputs) },
      o.options && { id: 3, u8: OPTS[o.op] },
      o.options && { id: 4, ref: o.options },
    ]),
  );

  const keep = (t: number, id: number): Ref | null => {
    const f = r.field(t, id);
    return f ? old(r.deref(f)) : null;
  };
  const subgraph = table([
    { id: 0, ref: refs([...oldTensors.map(old), ...newTensors]) },
    { id: 1, ref: keep(sg, 1)! },
    { id: 2, ref: spec.outputs ? i32Vec(spec.outputs) : keep(sg, 2)! },
    { id: 3, ref: refs([...oldOps.map(old), ...newOps]) },
    r.field(sg, 4) ? { id: 4, ref: keep(sg, 4)! } : null,
  ]);
  const root = table([
    { id: 0, u32: r.scalarU32(m, 0) },
    { id: 1, ref: refs([...oldCodes.map(old), ...newCodes]) },
    { id: 2, ref: refs([subgraph]) },
    r.field(m, 3) ? { id: 3, ref: keep(m, 3)! } : null,
    { id: 4, ref: refs([...oldBuffers.map(old), ...newBuffers]) },
    r.field(m, 5) ? { id: 5, ref: keep(m, 5)! } : null,
    {
      id: 6,
      ref: refs([
        ...r.tables(m, 6).map(old),
        table([
          { id: 0, ref: str('TFLITE_METADATA') },
          { id: 1, u32: metaBuffer },
        ]),
      ]),
    },
    r.field(m, 7) ? { id: 7, ref: keep(m, 7)! } : null,
  ]);
  const size = writeForward(root, 'TFL3', 0, 16).length;
  const prefix = writeForward(root, 'TFL3', size, 16);
  if (prefix.length !== size) throw new Error('flatbuffer prefix size changed between passes');
  const out = new Uint8Array(prefix.length + src.length);
  out.set(prefix);
  out.set(src, prefix.length);
  return out;
}

// ---------- the landmark head ----------

// MediaPipe's refinement maps (tensors_to_face_landmarks / LandmarksRefinementCalculator; same as landmarker.ts).
// biome-ignore format: a table, one row per line
const LIPS = [
  61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 185, 40, 39, 37, 0, 267, 269, 270, 409,
  78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 191, 80, 81, 82, 13, 312, 311, 310, 415,
  76, 77, 90, 180, 85, 16, 315, 404, 320, 307, 306, 184, 74, 73, 72, 11, 302, 303, 304, 408,
  62, 96, 89, 179, 86, 15, 316, 403, 319, 325, 292, 183, 42, 41, 38, 12, 268, 271, 272, 407,
];
// biome-ignore format: a table, one row per line
const LEFT_EYE = [ // MediaPipe's "left" = image left = subject's right (starts at 33)
  33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157, 173,
  130, 25, 110, 24, 23, 22, 26, 112, 243, 247, 30, 29, 27, 28, 56, 190,
  226, 31, 228, 229, 230, 231, 232, 233, 244, 113, 225, 224, 223, 222, 221, 189,
  35, 124, 46, 53, 52, 65, 143, 111, 117, 118, 119, 120, 121, 128, 245, 156, 70, 63, 105, 66, 107, 55, 193,
];
// biome-ignore format: a table, one row per line
const RIGHT_EYE = [
  263, 249, 390, 373, 374, 380, 381, 382, 362, 466, 388, 387, 386, 385, 384, 398,
  359, 255, 339, 254, 253, 252, 256, 341, 463, 467, 260, 259, 257, 258, 286, 414,
  446, 261, 448, 449, 450, 451, 452, 453, 464, 342, 445, 444, 443, 442, 441, 413,
  265, 353, 276, 283, 282, 295, 372, 340, 346, 347, 348, 349, 350, 357, 465, 383, 300, 293, 334, 296, 336, 285, 417,
];
const LEFT_CONTOUR = LEFT_EYE.slice(0, 16);
const RIGHT_CONTOUR = RIGHT_EYE.slice(0, 16);

const f32bytes = (xs: ArrayLike<number>) => new Uint8Array(Float32Array.from(xs).buffer);
const i32bytes = (xs: ArrayLike<number>) => new Uint8Array(Int32Array.from(xs).buffer);
const fcOptions = () => table([{ id: 0, u8: 0 }]);
const concatOptions = (axis: number) =>
  table([
    { id: 0, i32: axis },
    { id: 1, u8: 0 },
  ]);
const gatherOptions = (axis: number) => table([{ id: 0, i32: axis }]);
const reshapeOptions = (shape: number[]) => table([{ id: 0, ref: i32Vec(shape) }]);

function outputsByName(model: Uint8Array): Map<string, number> {
  const r = new FbReader(model);
  const sg = r.tables(r.root(), 2)[0];
  const tensors = r.tables(sg, 0);
  return new Map(r.ints(sg, 2).map((i) => [r.string(tensors[i], 3) ?? `#${i}`, i]));
}
const tensorCount = (model: Uint8Array) => {
  const r = new FbReader(model);
  return r.tables(r.tables(r.root(), 2)[0], 0).length;
};

const MESH_META = (outName: string) =>
  modelMetadata('face_landmarks_detector', { name: 'input_image', image: { mean: 0, std: 255 } }, [{ name: outName }, { name: 'face_flag' }]);

/** face_landmark_with_attention.tflite → [1,1,1,1434] refined 478 points + face flag. */
export function attentionMeshForTasks(model: Uint8Array): Uint8Array {
  const outs = outputsByName(model);
  const need = ['output_mesh_identity', 'output_lips', 'output_left_eye', 'output_right_eye', 'output_left_iris', 'output_right_iris', 'conv_faceflag'];
  const missing = need.filter((n) => !outs.has(n));
  if (missing.length) throw new Error(`attention model lacks outputs ${missing.join(', ')} (has ${[...outs.keys()].join(', ')})`);
  const [mesh, lips, leye, reye, liris, riris, flag] = need.map((n) => outs.get(n)!);
  // Flat source vector: mesh(1404) | lips(160) | left eye(142) | right eye(142) | left iris(10) | right iris(10) | iris z(10)
  const base = { mesh: 0, lips: 1404, leye: 1564, reye: 1706, liris: 1848, riris: 1858, irisZ: 1868 };
  const total = 1878;
  // Each output value picks one source value; later refinements override earlier ones (MediaPipe order).
  const idx = new Int32Array(1434);
  for (let i = 0; i < 468; i++) for (let c = 0; c < 3; c++) idx[3 * i + c] = base.mesh + 3 * i + c;
  const refine = (map: number[], at: number) =>
    map.forEach((p, k) => {
      idx[3 * p] = at + 2 * k;
      idx[3 * p + 1] = at + 2 * k + 1;
    });
  refine(LIPS, base.lips);
  refine(LEFT_EYE, base.leye);
  refine(RIGHT_EYE, base.reye);
  for (let k = 0; k < 5; k++) {
    idx[3 * (468 + k)] = base.liris + 2 * k;
    idx[3 * (468 + k) + 1] = base.liris + 2 * k + 1;
    idx[3 * (468 + k) + 2] = base.irisZ + k;
    idx[3 * (473 + k)] = base.riris + 2 * k;
    idx[3 * (473 + k) + 1] = base.riris + 2 * k + 1;
    idx[3 * (473 + k) + 2] = base.irisZ + 5 + k;
  }
  // Iris z: FC over the flat mesh, row k = mean z of that eye's 16 contour points.
  const w = new Float32Array(10 * 1404);
  for (let k = 0; k < 10; k++) for (const p of k < 5 ? LEFT_CONTOUR : RIGHT_CONTOUR) w[k * 1404 + 3 * p + 2] = 1 / 16;
  const N = tensorCount(model);
  const T = { w: N, irisZ: N + 1, irisZShape: N + 2, irisZ4: N + 3, all: N + 4, idx: N + 5, out: N + 6 };
  return patchTflite(model, {
    metadata: MESH_META('landmarks_478'),
    tensors: [
      { name: 'tasks/iris_z_weights', shape: [10, 1404], type: FLOAT32, data: f32bytes(w) },
      { name: 'tasks/iris_z', shape: [1, 10], type: FLOAT32 },
      { name: 'tasks/iris_z_shape', shape: [4], type: INT32, data: i32bytes([1, 1, 1, 10]) },
      { name: 'tasks/iris_z_4d', shape: [1, 1, 1, 10], type: FLOAT32 },
      { name: 'tasks/all_heads', shape: [1, 1, 1, total], type: FLOAT32 },
      { name: 'tasks/refine_index', shape: [1434], type: INT32, data: i32bytes(idx) },
      { name: 'landmarks_478', shape: [1, 1, 1, 1434], type: FLOAT32 },
    ],
    ops: [
      { op: 'FULLY_CONNECTED', inputs: [mesh, T.w, -1], outputs: [T.irisZ], options: fcOptions() },
      { op: 'RESHAPE', inputs: [T.irisZ, T.irisZShape], outputs: [T.irisZ4], options: reshapeOptions([1, 1, 1, 10]) },
      { op: 'CONCATENATION', inputs: [mesh, lips, leye, reye, liris, riris, T.irisZ4], outputs: [T.all], options: concatOptions(3) },
      { op: 'GATHER', inputs: [T.all, T.idx], outputs: [T.out], options: gatherOptions(3) },
    ],
    outputs: [T.out, flag],
  });
}

/** face_landmark.tflite (468, no attention) → [1,1,1,1434] with irises at the eye-contour centres + flag. */
export function plainMeshForTasks(model: Uint8Array): Uint8Array {
  const r = new FbReader(model);
  const sg = r.tables(r.root(), 2)[0];
  const [mesh, flag] = r.ints(sg, 2);
  const w = new Float32Array(30 * 1404);
  for (let k = 0; k < 10; k++) {
    const contour = k < 5 ? LEFT_CONTOUR : RIGHT_CONTOUR;
    for (let c = 0; c < 3; c++) for (const p of contour) w[(3 * k + c) * 1404 + 3 * p + c] = 1 / 16;
  }
  const N = tensorCount(model);
  const T = { w: N, iris: N + 1, shape: N + 2, iris4: N + 3, out: N + 4 };
  return patchTflite(model, {
    metadata: MESH_META('landmarks_478'),
    tensors: [
      { name: 'tasks/iris_weights', shape: [30, 1404], type: FLOAT32, data: f32bytes(w) },
      { name: 'tasks/iris', shape: [1, 30], type: FLOAT32 },
      { name: 'tasks/iris_shape', shape: [4], type: INT32, data: i32bytes([1, 1, 1, 30]) },
      { name: 'tasks/iris_4d', shape: [1, 1, 1, 30], type: FLOAT32 },
      { name: 'landmarks_478', shape: [1, 1, 1, 1434], type: FLOAT32 },
    ],
    ops: [
      { op: 'FULLY_CONNECTED', inputs: [mesh, T.w, -1], outputs: [T.iris], options: fcOptions() },
      { op: 'RESHAPE', inputs: [T.iris, T.shape], outputs: [T.iris4], options: reshapeOptions([1, 1, 1, 30]) },
      { op: 'CONCATENATION', inputs: [mesh, T.iris4], outputs: [T.out], options: concatOptions(3) },
    ],
    outputs: [T.out, flag],
  });
}

export function detectorForTasks(model: Uint8Array): Uint8Array {
  return patchTflite(model, {
    metadata: modelMetadata('face_detector', { name: 'input', image: { mean: 127.5, std: 127.5 } }, [{ name: 'regressors' }, { name: 'classificators' }]),
  });
}

// ---------- stored zip ----------

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();
function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = CRC_TABLE[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A zip with stored (uncompressed) entries, each entry's data aligned to 64 bytes (extra-field padding). */
export function storedZip(files: [string, Uint8Array][]): Uint8Array {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let off = 0;
  const DOS_TIME = 0,
    DOS_DATE = (1 << 5) | 1 | ((2023 - 1980) << 9); // fixed date: reproducible output
  for (const [name, data] of files) {
    const nameBytes = new TextEncoder().encode(name);
    const crc = crc32(data);
    const pad = (64 - ((off + 30 + nameBytes.length) % 64)) % 64;
    const extra = pad === 0 ? 0 : pad < 4 ? pad + 64 : pad;
    const local = new Uint8Array(30 + nameBytes.length + extra);
    const dv = new DataView(local.buffer);
    dv.setUint32(0, 0x04034b50, true);
    dv.setUint16(4, 10, true);
    dv.setUint16(6, 0, true);
    dv.setUint16(8, 0, true); // stored
    dv.setUint16(10, DOS_TIME, true);
    dv.setUint16(12, DOS_DATE, true);
    dv.setUint32(14, crc, true);
    dv.setUint32(18, data.length, true);
    dv.setUint32(22, data.length, true);
    dv.setUint16(26, nameBytes.length, true);
    dv.setUint16(28, extra, true);
    local.set(nameBytes, 30);
    if (extra) {
      dv.setUint16(30 + nameBytes.length, 0xd935, true); // padding extra-field id (as zipalign/Android use)
      dv.setUint16(32 + nameBytes.length, extra - 4, true);
    }
    const c = new Uint8Array(46 + nameBytes.length);
    const cv = new DataView(c.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 10, true);
    cv.setUint16(6, 10, true);
    cv.setUint16(8, 0, true);
    cv.setUint16(10, 0, true);
    cv.setUint16(12, DOS_TIME, true);
    cv.setUint16(14, DOS_DATE, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, data.length, true);
    cv.setUint32(24, data.length, true);
    cv.setUint16(28, nameBytes.length, true);
    cv.setUint32(42, off, true);
    c.set(nameBytes, 46);
    central.push(c);
    parts.push(local, data);
    off += local.length + data.length;
  }
  const cdSize = central.reduce((n, c) => n + c.length, 0);
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, files.length, true);
  ev.setUint16(10, files.length, true);
  ev.setUint32(12, cdSize, true);
  ev.setUint32(16, off, true);
  const all = [...parts, ...central, end];
  const out = new Uint8Array(all.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of all) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

// ---------- main ----------

/**
 * `experiment` builds the variants that show why the patches are needed (for the feasibility report):
 * 'no-metadata' = models as shipped; 'no-head' = metadata added but the landmark model's outputs untouched.
 */
export function buildFaceTask(mesh: 'attention' | 'plain' = 'attention', experiment?: 'no-metadata' | 'no-head'): Uint8Array {
  const assets = readFaceMeshAssets();
  const get = (n: string) => {
    const b = assets.get(n);
    if (!b) throw new Error(`@mediapipe/face_mesh has no ${n} (has ${[...assets.keys()].join(', ')})`);
    return b;
  };
  const meshModel = get(mesh === 'attention' ? 'face_landmark_with_attention.tflite' : 'face_landmark.tflite');
  const landmarks =
    experiment === 'no-metadata'
      ? meshModel
      : experiment === 'no-head'
        ? patchTflite(meshModel, { metadata: MESH_META('landmarks') })
        : mesh === 'attention'
          ? attentionMeshForTasks(meshModel)
          : plainMeshForTasks(meshModel);
  const detector = get('face_detection_short_range.tflite');
  return storedZip([
    ['face_detector.tflite', experiment === 'no-metadata' ? detector : detectorForTasks(detector)],
    ['face_landmarks_detector.tflite', landmarks],
    ['geometry_pipeline_metadata_landmarks.binarypb', get('geometry_pipeline_metadata_landmarks.binarypb')],
  ]);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = (k: string) => {
    const i = args.indexOf(k);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const mesh = (opt('--mesh') ?? 'attention') as 'attention' | 'plain';
  if (mesh !== 'attention' && mesh !== 'plain') throw new Error('--mesh must be attention or plain');
  const experiment = opt('--experiment') as 'no-metadata' | 'no-head' | undefined;
  if (experiment && experiment !== 'no-metadata' && experiment !== 'no-head') throw new Error('--experiment must be no-metadata or no-head');
  const suffix = `${mesh === 'attention' ? '' : '_plain'}${experiment ? `_${experiment}` : ''}`;
  const out = resolve(opt('--out') ?? DEFAULT_TASK_PATH.replace(/\.task$/, `${suffix}.task`));
  const task = buildFaceTask(mesh, experiment);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, task);
  console.log(`wrote ${out} (${(task.length / 1e6).toFixed(2)} MB, mesh=${mesh})`);
}
