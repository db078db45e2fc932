/**
 * Face landmarks with MediaPipe's two-stage pipeline on TFJS graph models:
 * BlazeFace short-range (128², anchors) finds the face, Face Mesh with attention (192² rotated crop)
 * gives 468 mesh points + refined lips/eyes + 10 iris points = 478 (or, unrefined, the plain mesh's 468
 * with iris centres from the eye contours). Like MediaPipe, the next frame's
 * crop comes from the previous landmarks; the detector only runs when the track is lost.
 * Synchronous (execute + dataSync) so it fits a per-frame loop on any tfjs backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import type { Affine, FaceLandmarks, RgbaImage } from '../types.ts';
import { applyAffine, invertAffine } from './align.ts';
import { LANDMARK_COUNT } from './meshIndices.ts';
import { CodedError } from '../codedError.ts';

export class FaceLandmarkerError extends CodedError<'model-load' | 'model-output' | 'bad-image' | 'disposed'> {
  override readonly name = 'FaceLandmarkerError';
}

export interface FaceLandmarkerOptions {
  /** URL or directory holding facemesh-detection-short.json and facemesh-attention.json (+ .bin). */
  modelBaseUrl: string;
  /** Custom loader (e.g. a file IOHandler in Node); default is tfjs' URL loader. */
  loadModel?: (url: string) => Promise<tf.io.IOHandler | string>;
  /** Minimum detector score to start a track. */
  minDetectionScore?: number;
  /** Mesh face score below which the track is dropped and the detector runs again. */
  minTrackingScore?: number;
  /**
   * MediaPipe's `refine_landmarks`. true (default): the attention mesh, whose lips, eyes and irises are refined; the
   * tools, training data and metrics read lip shapes off it. false: the plain mesh, several times cheaper. The live
   * path needs only the crop (stable points) and the paste mask (face oval, mouth corners), which both give alike;
   * irises are then the eye contours' centres.
   */
  refineLandmarks?: boolean;
}

const DETECTOR_SIZE = 128;
const MESH_SIZE = 192;
/** Crop enlargement around the face box (MediaPipe uses 1.5 for both detection and landmark ROIs). */
const ROI_SCALE = 1.5;

// Refinement maps of the attention model's sub-outputs onto the 468-point mesh (MediaPipe's
// landmarks_refinement configs, as used by @vladmandic/human).
// biome-ignore format: a table, one row per line
const LIPS_REFINEMENT = [
  61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 185, 40, 39, 37, 0, 267, 269, 270, 409,
  78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 191, 80, 81, 82, 13, 312, 311, 310, 415,
  76, 77, 90, 180, 85, 16, 315, 404, 320, 307, 306, 184, 74, 73, 72, 11, 302, 303, 304, 408,
  62, 96, 89, 179, 86, 15, 316, 403, 319, 325, 292, 183, 42, 41, 38, 12, 268, 271, 272, 407,
];
// biome-ignore format: a table, one row per line
const RIGHT_EYE_REFINEMENT = [
  33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157, 173,
  130, 25, 110, 24, 23, 22, 26, 112, 243, 247, 30, 29, 27, 28, 56, 190,
  226, 31, 228, 229, 230, 231, 232, 233, 244, 113, 225, 224, 223, 222, 221, 189,
  35, 124, 46, 53, 52, 65, 143, 111, 117, 118, 119, 120, 121, 128, 245, 156, 70, 63, 105, 66, 107, 55, 193,
];
// biome-ignore format: a table, one row per line
const LEFT_EYE_REFINEMENT = [
  263, 249, 390, 373, 374, 380, 381, 382, 362, 466, 388, 387, 386, 385, 384, 398,
  359, 255, 339, 254, 253, 252, 256, 341, 463, 467, 260, 259, 257, 258, 286, 414,
  446, 261, 448, 449, 450, 451, 452, 453, 464, 342, 445, 444, 443, 442, 441, 413,
  265, 353, 276, 283, 282, 295, 372, 340, 346, 347, 348, 349, 350, 357, 465, 383, 300, 293, 334, 296, 336, 285, 417,
];
const RIGHT_EYE_CONTOUR = RIGHT_EYE_REFINEMENT.slice(0, 16);
const LEFT_EYE_CONTOUR = LEFT_EYE_REFINEMENT.slice(0, 16);

/** Anchors of BlazeFace short-range: strides 8 (2/cell) and 16 (6/cell), unit size. */
function blazeFaceAnchors(): Float32Array {
  const out: number[] = [];
  for (const [stride, perCell] of [
    [8, 2],
    [16, 6],
  ] as const) {
    const n = DETECTOR_SIZE / stride;
    for (let y = 0; y < n; y++) {
      for (let x = 0; x < n; x++) {
        for (let k = 0; k < perCell; k++) out.push((x + 0.5) / n, (y + 0.5) / n);
      }
    }
  }
  return new Float32Array(out);
}

/** Frame → model-input transform for a square ROI centred at (cx, cy), side `size`, rotated by `angle`. */
function roiTransform(cx: number, cy: number, size: number, angle: number, out: number): Affine {
  const k = out / size;
  const c = Math.cos(-angle) * k;
  const s = Math.sin(-angle) * k;
  // input = R(-angle)·k·(p − centre) + out/2
  return [c, -s, out / 2 - c * cx + s * cy, s, c, out / 2 - s * cx - c * cy];
}

/** Bilinear RGB sampling of `image` into an HWC float tensor buffer, values scaled by k and offset o. */
function sampleInput(image: RgbaImage, frameToInput: Affine, size: number, k: number, o: number, buf: Float32Array): void {
  const [a, b, c, d, e, f] = invertAffine(frameToInput);
  const { width: W, height: H, data } = image;
  for (let v = 0; v < size; v++) {
    let x = b * v + c;
    let y = e * v + f;
    for (let u = 0; u < size; u++, x += a, y += d) {
      const j = 3 * (v * size + u);
      if (x < 0 || y < 0 || x > W - 1 || y > H - 1) {
        // Outside the frame: black, as MediaPipe pads with zeros.
        buf[j] = o;
        buf[j + 1] = o;
        buf[j + 2] = o;
        continue;
      }
      let x0 = Math.floor(x);
      let y0 = Math.floor(y);
      if (x0 >= W - 1) x0 = Math.max(0, W - 2);
      if (y0 >= H - 1) y0 = Math.max(0, H - 2);
      const fx = Math.min(1, x - x0);
      const fy = Math.min(1, y - y0);
      const p00 = (y0 * W + x0) * 4;
      const p01 = p00 + (W > 1 ? 4 : 0);
      const p10 = p00 + (H > 1 ? 4 * W : 0);
      const p11 = p10 + (W > 1 ? 4 : 0);
      const w00 = (1 - fx) * (1 - fy);
      const w01 = fx * (1 - fy);
      const w10 = (1 - fx) * fy;
      const w11 = fx * fy;
      for (let ch = 0; ch < 3; ch++) {
        buf[j + ch] = (data[p00 + ch] * w00 + data[p01 + ch] * w01 + data[p10 + ch] * w10 + data[p11 + ch] * w11) * k + o;
      }
    }
  }
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

interface MeshOutputs {
  flag: string;
  mesh: string;
  /** The attention model's refinement heads; absent for the plain mesh. */
  refined?: { lips: string; eyes: [string, string]; irises: [string, string] };
}

function meshOutputOrder(o: MeshOutputs): string[] {
  const r = o.refined;
  return r ? [o.flag, o.mesh, r.lips, r.eyes[0], r.eyes[1], r.irises[0], r.irises[1]] : [o.flag, o.mesh];
}

export interface Roi {
  cx: number;
  cy: number;
  size: number;
  angle: number;
}

export class FaceLandmarker {
  private readonly anchors = blazeFaceAnchors();
  private readonly detInput = new Float32Array(DETECTOR_SIZE * DETECTOR_SIZE * 3);
  private readonly meshInput = new Float32Array(MESH_SIZE * MESH_SIZE * 3);
  private previous: Float32Array | null = null;
  private disposed = false;
  readonly minDetectionScore: number;
  readonly minTrackingScore: number;

  private constructor(
    private readonly detector: GraphModel,
    private readonly mesh: GraphModel,
    private readonly meshOutputs: MeshOutputs,
    opts: FaceLandmarkerOptions,
  ) {
    this.minDetectionScore = opts.minDetectionScore ?? 0.5;
    this.minTrackingScore = opts.minTrackingScore ?? 0.5;
  }

  static async create(opts: FaceLandmarkerOptions): Promise<FaceLandmarker> {
    const base = opts.modelBaseUrl.replace(/\/+$/, '');
    const load = async (file: string): Promise<GraphModel> => {
      const url = `${base}/${file}`;
      try {
        const source = opts.loadModel ? await opts.loadModel(url) : url;
        const handler = typeof source === 'string' ? tf.io.http(source) : source;
        return await loadGraphModel({ load: async () => floatIntMatMuls(await handler.load!()) });
      } catch (e) {
        throw new FaceLandmarkerError('model-load', `Could not load face model ${url}: ${(e as Error).message}`);
      }
    };
    const refine = opts.refineLandmarks ?? true;
    const meshFile = refine ? 'facemesh-attention.json' : 'facemesh.json';
    const [detector, mesh] = await Promise.all([load('facemesh-detection-short.json'), load(meshFile)]);
    // Heads of the mesh model (names from its signature; sizes are checked on first run).
    const outputs: MeshOutputs = refine
      ? {
          flag: 'Identity',
          mesh: 'Identity_4',
          // Identity_1/Identity_2 are the subject's right eye/iris, Identity_5/Identity_6 the left (checked on real frames).
          refined: { lips: 'Identity_3', eyes: ['Identity_1', 'Identity_5'], irises: ['Identity_2', 'Identity_6'] },
        }
      : { flag: 'Identity_1', mesh: 'Identity_2' };
    const names = mesh.outputs.map((o) => o.name.replace(/:0$/, ''));
    const want = meshOutputOrder(outputs);
    const missing = want.filter((n) => !names.includes(n));
    if (missing.length) {
      throw new FaceLandmarkerError(
        'model-output',
        `${meshFile} lacks outputs ${missing.join(', ')} (has ${names.join(', ')}); expected the ${refine ? 'attention' : 'plain'} mesh model`,
      );
    }
    return new FaceLandmarker(detector, mesh, outputs, opts);
  }

  /** Landmarks of the most prominent face in frame pixel coordinates, or null. */
  detect(image: RgbaImage, _timestampMs: number): FaceLandmarks | null {
    if (this.disposed) throw new FaceLandmarkerError('disposed', 'FaceLandmarker was disposed');
    if (!(image.width > 0 && image.height > 0) || image.data.length < image.width * image.height * 4) {
      throw new FaceLandmarkerError('bad-image', `Bad image ${image.width}×${image.height} with ${image.data.length} bytes`);
    }
    if (this.previous) {
      const tracked = this.runMesh(image, roiFromLandmarks(this.previous));
      if (tracked && tracked.score >= this.minTrackingScore) {
        this.previous = tracked.points;
        return tracked;
      }
      this.previous = null;
    }
    const roi = this.runDetector(image);
    if (!roi) return null;
    const found = this.runMesh(image, roi);
    if (!found || found.score < this.minTrackingScore) return null;
    // One refinement pass: a crop built from landmarks is tighter and level, like the tracked case.
    const refined = this.runMesh(image, roiFromLandmarks(found.points));
    const best = refined && refined.score >= found.score * 0.9 ? refined : found;
    this.previous = best.points;
    return best;
  }

  reset(): void {
    this.previous = null;
  }

  /**
   * Landmarks of a face known to be near `near` (landmarks in the same image's pixels), with one mesh pass framed on
   * them: how the app reads its own output (face/mouthPlacement.ts). The track that detect() keeps is left as it was.
   */
  readNear(image: RgbaImage, near: Float32Array): FaceLandmarks | null {
    if (this.disposed) throw new FaceLandmarkerError('disposed', 'FaceLandmarker was disposed');
    const found = this.runMesh(image, roiFromLandmarks(near));
    return found && found.score >= this.minTrackingScore ? found : null;
  }

  /**
   * Runs the detector and the mesh once on a blank frame: their first runs compile kernels (seconds on
   * WebGL), which would otherwise delay the first live frame. Tracking state is left untouched.
   */
  warmUp(): void {
    if (this.disposed) throw new FaceLandmarkerError('disposed', 'FaceLandmarker was disposed');
    const size = MESH_SIZE * 2;
    const blank: RgbaImage = { width: size, height: size, data: new Uint8ClampedArray(size * size * 4).fill(128) };
    this.runDetector(blank);
    this.runMesh(blank, { cx: size / 2, cy: size / 2, size, angle: 0 });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.detector.dispose();
    this.mesh.dispose();
  }

  /** Alias of dispose(). */
  close(): void {
    this.dispose();
  }

  private runDetector(image: RgbaImage): Roi | null {
    // Letterbox the whole frame into 128², values in [-1, 1].
    const k = DETECTOR_SIZE / Math.max(image.width, image.height);
    const toInput: Affine = [k, 0, (DETECTOR_SIZE - image.width * k) / 2, 0, k, (DETECTOR_SIZE - image.height * k) / 2];
    sampleInput(image, toInput, DETECTOR_SIZE, 2 / 255, -1, this.detInput);
    const raw = tf.tidy(() => {
      const input = tf.tensor4d(this.detInput, [1, DETECTOR_SIZE, DETECTOR_SIZE, 3]);
      const out = this.detector.execute(input) as tf.Tensor;
      return out.dataSync() as Float32Array;
    });
    const stride = raw.length / (this.anchors.length / 2);
    let best = -1;
    let bestLogit = -Infinity;
    for (let i = 0; i < this.anchors.length / 2; i++) {
      const logit = raw[i * stride];
      if (logit > bestLogit) {
        bestLogit = logit;
        best = i;
      }
    }
    if (best < 0 || sigmoid(bestLogit) < this.minDetectionScore) return null;
    const o = best * stride;
    const ax = this.anchors[2 * best] * DETECTOR_SIZE;
    const ay = this.anchors[2 * best + 1] * DETECTOR_SIZE;
    const fromInput = invertAffine(toInput);
    const kp = (j: number) => applyAffine(fromInput, raw[o + 5 + 2 * j] + ax, raw[o + 6 + 2 * j] + ay);
    const [cx, cy] = applyAffine(fromInput, raw[o + 1] + ax, raw[o + 2] + ay);
    const w = raw[o + 3] / k;
    const h = raw[o + 4] / k;
    const [rex, rey] = kp(0); // subject's right eye (image left)
    const [lex, ley] = kp(1);
    const angle = Math.atan2(ley - rey, lex - rex);
    return { cx, cy, size: Math.max(w, h) * ROI_SCALE, angle };
  }

  private runMesh(image: RgbaImage, roi: Roi): FaceLandmarks | null {
    if (!(roi.size > 1) || !Number.isFinite(roi.cx) || !Number.isFinite(roi.cy)) return null;
    const toInput = roiTransform(roi.cx, roi.cy, roi.size, roi.angle, MESH_SIZE);
    sampleInput(image, toInput, MESH_SIZE, 1 / 255, 0, this.meshInput);
    const order = meshOutputOrder(this.meshOutputs);
    const outs = tf.tidy(() => {
      const input = tf.tensor4d(this.meshInput, [1, MESH_SIZE, MESH_SIZE, 3]);
      return (this.mesh.execute(input, order) as tf.Tensor[]).map((t) => t.dataSync() as Float32Array);
    });
    const sizes = [1, 1404, 160, 142, 142, 10, 10].slice(0, order.length);
    const got = outs.map((d) => d.length);
    if (got.some((n, i) => n !== sizes[i])) {
      throw new FaceLandmarkerError('model-output', `Face mesh model output sizes ${got.join(',')} differ from ${sizes.join(',')}`);
    }
    const [flagD, meshD, lipsD, eyeR, eyeL, irisR, irisL] = outs;
    const flag = flagD[0];
    const score = flag >= 0 && flag <= 1 ? flag : sigmoid(flag);
    const pts = new Float32Array(LANDMARK_COUNT * 3);
    pts.set(meshD.subarray(0, 1404));
    const refine2d = (src: Float32Array, map: number[]) => {
      for (let i = 0; i < map.length; i++) {
        pts[3 * map[i]] = src[2 * i];
        pts[3 * map[i] + 1] = src[2 * i + 1];
      }
    };
    const addIris = (src: Float32Array | null, first: number, contour: number[]) => {
      let [x, y, z] = [0, 0, 0];
      for (const i of contour) {
        x += pts[3 * i];
        y += pts[3 * i + 1];
        z += pts[3 * i + 2];
      }
      const n = contour.length;
      for (let i = 0; i < 5; i++) {
        // Unrefined: all five iris points at the eye contour's centre.
        pts[3 * (first + i)] = src ? src[2 * i] : x / n;
        pts[3 * (first + i) + 1] = src ? src[2 * i + 1] : y / n;
        pts[3 * (first + i) + 2] = z / n;
      }
    };
    if (this.meshOutputs.refined) {
      refine2d(lipsD, LIPS_REFINEMENT);
      refine2d(eyeR, RIGHT_EYE_REFINEMENT);
      refine2d(eyeL, LEFT_EYE_REFINEMENT);
    }
    addIris(irisR ?? null, 468, RIGHT_EYE_CONTOUR);
    addIris(irisL ?? null, 473, LEFT_EYE_CONTOUR);
    // Model-input pixels → frame pixels; z scales like x.
    const back = invertAffine(toInput);
    const zScale = roi.size / MESH_SIZE;
    for (let i = 0; i < LANDMARK_COUNT; i++) {
      const [x, y] = applyAffine(back, pts[3 * i], pts[3 * i + 1]);
      pts[3 * i] = x;
      pts[3 * i + 1] = y;
      pts[3 * i + 2] *= zScale;
    }
    return { points: pts, score };
  }
}

interface GraphNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, { type?: string }>;
}

/**
 * The attention model has three int32 MatMuls (index "repeat" in its spatial transformer) that the
 * wasm backend cannot run. Rewrites them as Cast→float MatMul→Cast back (values are small integers,
 * exact in float32). A no-op for models without them.
 */
export function floatIntMatMuls(artifacts: tf.io.ModelArtifacts): tf.io.ModelArtifacts {
  const topology = artifacts.modelTopology as { node?: GraphNode[] } | undefined;
  const nodes = topology?.node;
  if (!nodes) return artifacts;
  const added: GraphNode[] = [];
  for (const node of nodes) {
    if (node.op !== 'MatMul' || node.attr?.T?.type !== 'DT_INT32' || !node.input) continue;
    const orig = node.name;
    node.input = node.input.map((inp, k) => {
      const name = `${orig}/float_in${k}`;
      added.push({ name, op: 'Cast', input: [inp], attr: { SrcT: { type: 'DT_INT32' }, DstT: { type: 'DT_FLOAT' } } });
      return name;
    });
    node.attr.T = { type: 'DT_FLOAT' };
    // Consumers keep referring to `orig`, so the float MatMul gets a new name and `orig` becomes the cast back.
    node.name = `${orig}/float`;
    added.push({ name: orig, op: 'Cast', input: [node.name], attr: { SrcT: { type: 'DT_FLOAT' }, DstT: { type: 'DT_INT32' } } });
  }
  nodes.push(...added);
  return artifacts;
}

/** MediaPipe-style ROI from landmarks: level the eyes (33 → 263), box in the rotated frame, ×1.5, square. */
export function roiFromLandmarks(points: Float32Array): Roi {
  const angle = Math.atan2(points[3 * 263 + 1] - points[3 * 33 + 1], points[3 * 263] - points[3 * 33]);
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  let minU = Infinity;
  let maxU = -Infinity;
  let minV = Infinity;
  let maxV = -Infinity;
  for (let i = 0; i < 468; i++) {
    const x = points[3 * i];
    const y = points[3 * i + 1];
    const u = c * x + s * y;
    const v = -s * x + c * y;
    if (u < minU) minU = u;
    if (u > maxU) maxU = u;
    if (v < minV) minV = v;
    if (v > maxV) maxV = v;
  }
  const mu = (minU + maxU) / 2;
  const mv = (minV + maxV) / 2;
  return {
    cx: c * mu - s * mv,
    cy: s * mu + c * mv,
    size: Math.max(maxU - minU, maxV - minV) * ROI_SCALE,
    angle,
  };
}
