/**
 * Face tracking for the live worker, on its own thread: camera frame → RGBA pixels + landmarks.
 *
 * With cores to spare (planThreads in gpuProbe.ts), tracking runs in a nested worker (the same script,
 * started with the name 'lipsync-face', so the app and the library need no extra file) and frame n+1 is
 * tracked while the generator paints frame n; frames and pixel buffers move between the two by transfer,
 * never by copy. Otherwise, or where a nested worker cannot be started, the same tracker runs on the
 * inference worker's thread (LocalFaceTracker). Either way VideoFrame.copyTo fills a pooled buffer.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { FaceLandmarker } from '../engine/face/landmarker.ts';
import { refinesLandmarksOn } from '../engine/face/meshChoice.ts';
import type { FaceLandmarks, RgbaImage } from '../engine/types.ts';
import { chooseLandmarkBackends } from './gpuProbe.ts';
import { readRgba } from './frameIo.ts';
import type { BackendChoice, LandmarkBackend, StartProgress } from './protocol.ts';

/** The nested worker's name: the inference worker's script serves face tracking when started under it. */
export const FACE_WORKER_NAME = 'lipsync-face';

export interface FaceTrackingConfig {
  faceModelBaseUrl: string;
  tfWasmBaseUrl: string;
  landmarkBackend?: BackendChoice<LandmarkBackend>;
}

export interface TrackedFrame {
  image: RgbaImage;
  landmarks: FaceLandmarks | null;
  /** Frame → pixels, ms. */
  captureMs: number;
  landmarksMs: number;
}

export interface TrackedImage {
  image: RgbaImage;
  landmarks: FaceLandmarks | null;
  landmarksMs: number;
}

export interface FaceTracker {
  readonly backend: LandmarkBackend;
  /** Why this backend (when it is not the first choice). */
  readonly reason?: string;
  /** True in the nested worker, false on the calling thread (the fallback). */
  readonly ownThread: boolean;
  /** Tracks `frame` (and closes it); the pixels land in `buffer` when it has the right size. */
  track(frame: VideoFrame, buffer: Uint8ClampedArray<ArrayBuffer> | undefined, timestampMs: number): Promise<TrackedFrame>;
  /** Landmarks of decoded pixels (render mode); the image's buffer travels to the tracker and back. */
  trackImage(image: RgbaImage, timestampMs: number): Promise<TrackedImage>;
  /**
   * Landmarks of an output frame, read near `near` (the face found on its camera frame) without touching the track: how
   * the mouth placement learns where the generator drew the mouth. The image's buffer travels and comes back.
   */
  readOutput(image: RgbaImage, near: Float32Array): Promise<TrackedImage>;
  /** Forget the track (the next frame runs the detector). */
  reset(): void;
  /** Frees the tracker; a frame being tracked is finished (and closed) first. */
  close(): Promise<void>;
}

type ToFace =
  | { type: 'face-init'; config: FaceTrackingConfig }
  | { type: 'face-track'; id: number; frame: VideoFrame; buffer?: Uint8ClampedArray<ArrayBuffer>; timestampMs: number }
  | { type: 'face-track-image'; id: number; image: RgbaImage; timestampMs: number }
  | { type: 'face-read'; id: number; image: RgbaImage; near: Float32Array }
  | { type: 'face-reset' };
type FromFace =
  | { type: 'face-progress'; progress: StartProgress }
  | { type: 'face-ready'; backend: LandmarkBackend; reason?: string }
  | { type: 'face-failed'; message: string }
  | { type: 'face-tracked'; id: number; frame: TrackedFrame }
  | { type: 'face-tracked-image'; id: number; tracked: TrackedImage }
  | { type: 'face-error'; id: number; message: string };

export interface Loaded {
  landmarker: FaceLandmarker;
  backend: LandmarkBackend;
  reason?: string;
}

/** tfjs backend (by the GPU probe) + the Face Mesh models, warmed up. */
export async function loadLandmarker(config: FaceTrackingConfig, progress: (p: StartProgress) => void): Promise<Loaded> {
  setWasmPaths(config.tfWasmBaseUrl);
  const decision = chooseLandmarkBackends(config.landmarkBackend ?? 'auto');
  let reason = decision.reason;
  let backend: LandmarkBackend = 'cpu';
  for (const name of decision.order) {
    try {
      // tfjs-backend-wasm's threaded build breaks when bundled into a worker (its pthread
      // bootstrap references an unbundled symbol), so the face tracker uses the SIMD build.
      if (name === 'wasm') tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
      if (name === 'webgpu') await import('@tensorflow/tfjs-backend-webgpu');
      if (await tf.setBackend(name)) {
        await tf.ready();
        backend = name;
        break;
      }
    } catch (e) {
      reason = `${name} failed (${(e as Error).message})`;
    }
  }
  const refineLandmarks = refinesLandmarksOn(backend);
  const detail = `on ${backend}${refineLandmarks ? '' : ', plain mesh'}`;
  progress({ step: 'face-model', status: 'start', detail });
  let landmarker: FaceLandmarker;
  try {
    landmarker = await FaceLandmarker.create({ modelBaseUrl: config.faceModelBaseUrl, refineLandmarks });
  } catch (e) {
    throw new Error(`The face tracking model could not be loaded from ${config.faceModelBaseUrl}: ${(e as Error).message}`);
  }
  landmarker.warmUp();
  progress({ step: 'face-model', status: 'done', detail });
  return { landmarker, backend, reason };
}

async function trackWith(
  landmarker: FaceLandmarker,
  frame: VideoFrame,
  buffer: Uint8ClampedArray<ArrayBuffer> | undefined,
  timestampMs: number,
): Promise<TrackedFrame> {
  const t0 = performance.now();
  let image: RgbaImage;
  try {
    image = await readRgba(frame, (bytes) => (buffer?.byteLength === bytes ? buffer : new Uint8ClampedArray(bytes)));
  } finally {
    frame.close();
  }
  const t1 = performance.now();
  const landmarks = landmarker.detect(image, timestampMs);
  return { image, landmarks, captureMs: t1 - t0, landmarksMs: performance.now() - t1 };
}

/** Landmarks of decoded pixels: tracked (render mode), or read near a known face (`near`: the mouth placement's reads). */
function imageWith(landmarker: FaceLandmarker, image: RgbaImage, how: { timestampMs: number } | { near: Float32Array }): TrackedImage {
  const t0 = performance.now();
  const landmarks = 'near' in how ? landmarker.readNear(image, how.near) : landmarker.detect(image, how.timestampMs);
  return { image, landmarks, landmarksMs: performance.now() - t0 };
}

/** Tracking on the calling thread (the fallback). */
class LocalFaceTracker implements FaceTracker {
  readonly ownThread = false;
  constructor(private readonly loaded: Loaded) {}
  get backend() {
    return this.loaded.backend;
  }
  get reason() {
    return this.loaded.reason;
  }
  track(frame: VideoFrame, buffer: Uint8ClampedArray<ArrayBuffer> | undefined, timestampMs: number): Promise<TrackedFrame> {
    return trackWith(this.loaded.landmarker, frame, buffer, timestampMs);
  }
  async trackImage(image: RgbaImage, timestampMs: number): Promise<TrackedImage> {
    return imageWith(this.loaded.landmarker, image, { timestampMs });
  }
  async readOutput(image: RgbaImage, near: Float32Array): Promise<TrackedImage> {
    return imageWith(this.loaded.landmarker, image, { near });
  }
  reset(): void {
    this.loaded.landmarker.reset();
  }
  async close(): Promise<void> {
    this.loaded.landmarker.close();
  }
}

/** Tracking in the nested worker. */
class WorkerFaceTracker implements FaceTracker {
  readonly ownThread = true;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly settled = new Set<Promise<unknown>>();

  constructor(
    private readonly worker: Worker,
    readonly backend: LandmarkBackend,
    readonly reason: string | undefined,
  ) {
    worker.onmessage = (e: MessageEvent<FromFace>) => {
      const msg = e.data;
      if (msg.type !== 'face-tracked' && msg.type !== 'face-tracked-image' && msg.type !== 'face-error') return;
      // face-tracked-image also answers face-read.
      const p = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      if (msg.type === 'face-tracked') p?.resolve(msg.frame);
      else if (msg.type === 'face-tracked-image') p?.resolve(msg.tracked);
      else p?.reject(new Error(msg.message));
    };
    worker.onerror = (e) => {
      e.preventDefault();
      this.failAll(new Error(`Face tracking stopped: ${e.message || 'its worker failed'}.`));
    };
  }

  track(frame: VideoFrame, buffer: Uint8ClampedArray<ArrayBuffer> | undefined, timestampMs: number): Promise<TrackedFrame> {
    return this.request<TrackedFrame>({ type: 'face-track', id: this.nextId++, frame, buffer, timestampMs }, buffer ? [frame, buffer.buffer] : [frame]);
  }

  trackImage(image: RgbaImage, timestampMs: number): Promise<TrackedImage> {
    return this.request<TrackedImage>({ type: 'face-track-image', id: this.nextId++, image, timestampMs }, [image.data.buffer as ArrayBuffer]);
  }

  readOutput(image: RgbaImage, near: Float32Array): Promise<TrackedImage> {
    // `near` is copied (a few KB): the caller keeps the frame's landmarks.
    return this.request<TrackedImage>({ type: 'face-read', id: this.nextId++, image, near }, [image.data.buffer as ArrayBuffer]);
  }

  private request<T>(msg: Extract<ToFace, { id: number }>, transfer: Transferable[]): Promise<T> {
    const result = new Promise<T>((resolve, reject) => {
      this.pending.set(msg.id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage(msg, transfer);
    });
    const done = result.catch(() => undefined).finally(() => this.settled.delete(done));
    this.settled.add(done);
    return result;
  }

  reset(): void {
    this.worker.postMessage({ type: 'face-reset' } satisfies ToFace);
  }

  async close(): Promise<void> {
    // A frame still being tracked was transferred to the face worker: let it finish and close the frame there
    // (terminating under it would leave the frame to the garbage collector). Bounded: a hung worker is ended anyway.
    if (this.settled.size) await Promise.race([Promise.all(this.settled), new Promise((r) => setTimeout(r, 1000))]);
    this.worker.terminate();
    this.failAll(new Error('Face tracking was closed.'));
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}

/**
 * Starts face tracking: in a nested worker running `scriptUrl` (the caller's own script) when given and the
 * browser allows one, else on the calling thread. Progress (face-model) is reported either way.
 */
export async function startFaceTracking(config: FaceTrackingConfig, scriptUrl: string | undefined, progress: (p: StartProgress) => void): Promise<FaceTracker> {
  let worker: Worker | undefined;
  try {
    if (scriptUrl) worker = new Worker(scriptUrl, { type: 'module', name: FACE_WORKER_NAME });
  } catch {
    worker = undefined; // no nested workers here: track on this thread
  }
  if (worker) {
    const w = worker;
    const ready = await new Promise<{ backend: LandmarkBackend; reason?: string } | { failed: string; fatal: boolean }>((resolve) => {
      w.onmessage = (e: MessageEvent<FromFace>) => {
        const msg = e.data;
        if (msg.type === 'face-progress') progress(msg.progress);
        else if (msg.type === 'face-ready') resolve({ backend: msg.backend, reason: msg.reason });
        else if (msg.type === 'face-failed') resolve({ failed: msg.message, fatal: true });
      };
      // The worker script itself did not start (e.g. a blocked nested worker): fall back, not fail.
      w.onerror = (e) => {
        e.preventDefault();
        resolve({ failed: e.message || 'the face worker did not start', fatal: false });
      };
      w.postMessage({ type: 'face-init', config } satisfies ToFace);
    });
    if (!('failed' in ready)) return new WorkerFaceTracker(w, ready.backend, ready.reason);
    w.terminate();
    if (ready.fatal) throw new Error(ready.failed); // the models themselves failed: the same would happen here
  }
  return new LocalFaceTracker(await loadLandmarker(config, progress));
}

/** The nested worker's side: answers face-init / face-track / face-reset. */
export function serveFaceTracking(scope: DedicatedWorkerGlobalScope): void {
  let loaded: Promise<Loaded> | undefined;
  const post = (msg: FromFace, transfer: Transferable[] = []) => scope.postMessage(msg, transfer);
  scope.onmessage = async (e: MessageEvent<ToFace>) => {
    const msg = e.data;
    if (msg.type === 'face-init') {
      loaded = loadLandmarker(msg.config, (progress) => post({ type: 'face-progress', progress }));
      loaded.then(
        (l) => post({ type: 'face-ready', backend: l.backend, reason: l.reason }),
        (err) => post({ type: 'face-failed', message: (err as Error).message }),
      );
    } else if (msg.type === 'face-track') {
      try {
        if (!loaded) throw new Error('face tracking was not initialised');
        const { landmarker } = await loaded;
        const frame = await trackWith(landmarker, msg.frame, msg.buffer, msg.timestampMs);
        const transfer: Transferable[] = [frame.image.data.buffer as ArrayBuffer];
        if (frame.landmarks) transfer.push(frame.landmarks.points.buffer as ArrayBuffer);
        post({ type: 'face-tracked', id: msg.id, frame }, transfer);
      } catch (err) {
        msg.frame.close();
        post({ type: 'face-error', id: msg.id, message: (err as Error).message });
      }
    } else if (msg.type === 'face-track-image' || msg.type === 'face-read') {
      try {
        if (!loaded) throw new Error('face tracking was not initialised');
        const how = msg.type === 'face-read' ? { near: msg.near } : { timestampMs: msg.timestampMs };
        const tracked = imageWith((await loaded).landmarker, msg.image, how);
        const transfer: Transferable[] = [tracked.image.data.buffer as ArrayBuffer];
        if (tracked.landmarks) transfer.push(tracked.landmarks.points.buffer as ArrayBuffer);
        post({ type: 'face-tracked-image', id: msg.id, tracked }, transfer);
      } catch (err) {
        post({ type: 'face-error', id: msg.id, message: (err as Error).message });
      }
    } else if (msg.type === 'face-reset') {
      (await loaded)?.landmarker.reset();
    }
  };
}
