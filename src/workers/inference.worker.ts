/// <reference lib="webworker" />
/**
 * Inference worker: camera frames in, lip-synced frames out, all off the main thread.
 *
 * Two stages run interleaved on this thread:
 *  A. take the NEWEST camera frame (older ones are dropped and counted), copy its pixels once,
 *     find the face and cut the crops; then queue it until its audio has arrived.
 *  B. when the mel window around a queued frame is complete (lookahead included), run the
 *     generator, paste the mouth back and write the frame to the output track.
 * A frame's audio arrives ~lookahead + one worklet block after the frame itself, so stage A of
 * later frames overlaps stage B's wait instead of stalling the pipeline.
 */
import * as ort from 'onnxruntime-web';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import type { RgbaImage } from '../engine/types.ts';
import { FaceLandmarker } from '../engine/face/landmarker.ts';
import { GeneratorRunner } from '../engine/generator/runner.ts';
import type { MelWorkletMessage } from '../engine/audio/messages.ts';
import { LipsyncPipeline, type PreparedFrame } from '../engine/pipeline/lipsyncPipeline.ts';
import { LiveScheduler } from '../engine/live/scheduler.ts';
import { LatencyTracker } from '../engine/live/avSync.ts';
import { PipelineStats } from '../engine/live/stats.ts';
import { chooseGeneratorBackends, chooseLandmarkBackends } from './gpuProbe.ts';
import { loadGeneratorFromBytes, loadGeneratorFromUrl, ModelLoadError, type LoadedGenerator } from './modelLoader.ts';
import type { BackendInfo, FromWorker, LandmarkBackend, ToWorker, WorkerConfig } from './protocol.ts';

const scope = self as unknown as DedicatedWorkerGlobalScope;
const epochNow = () => performance.timeOrigin + performance.now();
const post = (msg: FromWorker) => scope.postMessage(msg);

interface Queued {
  image: RgbaImage;
  timestamp: number;
  duration: number | null;
  epochMs: number;
  prepared: PreparedFrame | null;
  captureMs: number;
  /** False when the frame is passed through unchanged (no face, no model): it needs no audio. */
  needsAudio: boolean;
}

let config: WorkerConfig | undefined;
let initDone: Promise<void> | undefined;
let landmarker: FaceLandmarker | undefined;
let landmarkBackend: LandmarkBackend = 'cpu';
let landmarkReason: string | undefined;
let runner: GeneratorRunner | undefined;
let generatorLabel = '';
let pipeline: LipsyncPipeline | undefined;
let running = false;

// Which frame is generated with which audio, and what is dropped: src/engine/live/scheduler.ts.
const scheduler = new LiveScheduler<VideoFrame, Queued>({ now: epochNow, release: (f) => f.close() });
const latency = new LatencyTracker();
const stats = new PipelineStats({ now: epochNow });
let faceVisible = false;

let canvas: OffscreenCanvas | undefined;
let ctx2d: OffscreenCanvasRenderingContext2D | undefined;
let writer: WritableStreamDefaultWriter<VideoFrame> | undefined;
let wakeGenerate: (() => void) | undefined;
let statsTimer: ReturnType<typeof setInterval> | undefined;

scope.onmessage = (e: MessageEvent<ToWorker>) => {
  const msg = e.data;
  switch (msg.type) {
    case 'init':
      config = msg.config;
      initDone = init(msg.config).catch((err) => {
        const code = err instanceof ModelLoadError ? err.code : 'pipeline';
        post({ type: 'error', code, message: (err as Error).message, fatal: true });
        throw err;
      });
      break;
    case 'start':
      void start(msg.readable, msg.writable, msg.melPort);
      break;
    case 'clock':
      scheduler.addClockPair(msg.contextTime, msg.epochMs);
      break;
    case 'set-model':
      void setModel(msg);
      break;
    case 'stop':
      void stop();
      break;
  }
};

async function init(cfg: WorkerConfig): Promise<void> {
  ort.env.wasm.wasmPaths = cfg.ortWasmBaseUrl;
  setWasmPaths(cfg.tfWasmBaseUrl);
  const [loaded] = await Promise.all([loadGeneratorFromUrl(cfg.manifestUrl), initLandmarks(cfg)]);
  await activateGenerator(loaded);
  post({ type: 'ready', backend: backendInfo() });
}

async function initLandmarks(cfg: WorkerConfig): Promise<void> {
  const decision = chooseLandmarkBackends(cfg.landmarkBackend);
  landmarkReason = decision.reason;
  for (const name of decision.order) {
    try {
      // tfjs-backend-wasm's threaded build breaks when bundled into a worker (its pthread
      // bootstrap references an unbundled symbol), so the face tracker uses the SIMD build.
      if (name === 'wasm') tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
      if (name === 'webgpu') await import('@tensorflow/tfjs-backend-webgpu');
      if (await tf.setBackend(name)) {
        await tf.ready();
        landmarkBackend = name;
        break;
      }
    } catch (e) {
      landmarkReason = `${name} failed (${(e as Error).message})`;
    }
  }
  try {
    landmarker = await FaceLandmarker.create({ modelBaseUrl: cfg.faceModelBaseUrl });
  } catch (e) {
    throw Object.assign(new Error(`The face tracking model could not be loaded from ${cfg.faceModelBaseUrl}: ${(e as Error).message}`), {
      code: 'face-model',
    });
  }
}

async function activateGenerator(loaded: LoadedGenerator): Promise<void> {
  const decision = await chooseGeneratorBackends(config!.generatorBackend);
  const next = await GeneratorRunner.create({
    modelBytes: loaded.bytes,
    manifest: loaded.manifest,
    ort,
    preferredBackends: decision.order,
  });
  if (decision.reason && !next.fallbackReason) next.fallbackReason = decision.reason;
  const previous = runner;
  runner = next;
  generatorLabel = loaded.label;
  if (pipeline) pipeline.setGenerator(next, loaded.manifest);
  else pipeline = new LipsyncPipeline(landmarker!, next, loaded.manifest);
  await previous?.dispose();
}

function backendInfo(): BackendInfo {
  return {
    generator: runner!.backend,
    generatorReason: runner!.fallbackReason,
    landmarks: landmarkBackend,
    landmarksReason: landmarkReason,
    modelName: generatorLabel,
    threads: ort.env.wasm.numThreads ?? 1,
  };
}

async function setModel(msg: Extract<ToWorker, { type: 'set-model' }>): Promise<void> {
  try {
    await initDone;
    const loaded = msg.manifestUrl
      ? await loadGeneratorFromUrl(msg.manifestUrl)
      : loadGeneratorFromBytes(new Uint8Array(msg.modelBytes!), msg.manifest ?? pipeline!.contract, msg.label ?? 'custom model');
    await activateGenerator(loaded);
    post({ type: 'model-changed', requestId: msg.requestId, backend: backendInfo() });
  } catch (e) {
    const code = e instanceof ModelLoadError ? e.code : 'bad-model';
    // The running model stays active: nothing is lost.
    post({ type: 'error', code, message: (e as Error).message, fatal: false, requestId: msg.requestId });
  }
}

async function start(readable: ReadableStream<VideoFrame>, writable: WritableStream<VideoFrame>, melPort: MessagePort): Promise<void> {
  running = true;
  writer = writable.getWriter();
  melPort.onmessage = (e: MessageEvent<MelWorkletMessage>) => onMel(e.data);
  statsTimer = setInterval(postStats, 250);
  try {
    await initDone;
  } catch {
    // Without a model we still show the camera, unchanged, so the user is never left with a frozen output.
  }
  void generateLoop();
  const reader = readable.getReader();
  void prepareLoop();
  try {
    while (running) {
      const { value, done } = await reader.read();
      if (done || !value) break;
      stats.count('framesIn');
      scheduler.offerFrame(value, epochNow(), value.timestamp);
      wakePrepare?.();
    }
  } catch (e) {
    if (running) post({ type: 'error', code: 'pipeline', message: `Camera stream ended: ${(e as Error).message}`, fatal: true });
  } finally {
    reader.releaseLock();
  }
}

function onMel(msg: MelWorkletMessage): void {
  if (msg.type !== 'mel') return;
  scheduler.pushMel(msg);
  wakeGenerate?.();
}

let wakePrepare: (() => void) | undefined;

/** Stage A: newest camera frame → pixels → landmarks → crops. */
async function prepareLoop(): Promise<void> {
  while (running) {
    const item = scheduler.takeFrame();
    if (!item) {
      await new Promise<void>((r) => (wakePrepare = r));
      wakePrepare = undefined;
      continue;
    }
    const frame = item.captured;
    try {
      const t0 = epochNow();
      const image = copyPixels(frame);
      const queued: Queued = {
        image,
        timestamp: frame.timestamp,
        duration: frame.duration,
        epochMs: item.epochMs,
        prepared: null,
        captureMs: epochNow() - t0,
        needsAudio: false,
      };
      frame.close();
      if (pipeline) {
        queued.prepared = pipeline.prepare(image, item.epochMs);
        if (queued.prepared) {
          stats.record('landmarks', queued.prepared.timings.landmarksMs);
          stats.record('crop', queued.prepared.timings.cropMs);
        } else {
          stats.count('noFace');
          stats.record('landmarks', epochNow() - t0 - queued.captureMs);
        }
        faceVisible = queued.prepared !== null;
      }
      queued.needsAudio = queued.prepared !== null;
      stats.record('capture', queued.captureMs);
      scheduler.enqueue(queued);
      stats.dropped = scheduler.droppedTotal;
      wakeGenerate?.();
    } catch (e) {
      frame.close();
      post({ type: 'error', code: 'pipeline', message: `Frame processing failed: ${(e as Error).message}`, fatal: false });
    }
    // Yield so messages (mel blocks, clock) are handled between frames.
    await new Promise((r) => setTimeout(r, 0));
  }
}

/** Stage B: frames whose audio is complete → generator → paste → output track. */
async function generateLoop(): Promise<void> {
  while (running) {
    const manifest = pipeline?.contract;
    const next = scheduler.takeReady(manifest?.audioWindow.past ?? 0, manifest?.audioWindow.lookahead ?? 1);
    stats.dropped = scheduler.droppedTotal;
    if (!next) {
      await new Promise<void>((r) => {
        wakeGenerate = r;
        setTimeout(r, 20); // re-check audio timeouts even when no new audio arrives
      });
      wakeGenerate = undefined;
      continue;
    }
    const { item, audio } = next;
    try {
      if (item.prepared && pipeline && audio) {
        // Prepared before a hot swap to a model with another crop: cut again for the running one.
        item.prepared = pipeline.recut(item.image, item.prepared);
        const t0 = epochNow();
        const generated = await pipeline.generate(item.prepared, audio);
        const t1 = epochNow();
        pipeline.paste(item.image, item.prepared, generated);
        stats.record('inference', t1 - t0);
        stats.record('blend', epochNow() - t1);
      }
      await writeFrame(item);
      const now = epochNow();
      latency.add(item.epochMs, now);
      stats.record('total', now - item.epochMs);
      stats.frameOut(now);
    } catch (e) {
      await handleGeneratorFailure(e as Error);
    }
  }
}

function copyPixels(frame: VideoFrame): RgbaImage {
  const w = frame.displayWidth;
  const h = frame.displayHeight;
  if (!canvas || canvas.width !== w || canvas.height !== h) {
    canvas = new OffscreenCanvas(w, h);
    ctx2d = canvas.getContext('2d', { willReadFrequently: true })!;
  }
  ctx2d!.drawImage(frame, 0, 0, w, h);
  const img = ctx2d!.getImageData(0, 0, w, h);
  return { width: w, height: h, data: img.data };
}

async function writeFrame(item: Queued): Promise<void> {
  if (!writer || !ctx2d || !canvas) return;
  const { image } = item;
  if (canvas.width !== image.width || canvas.height !== image.height) {
    canvas.width = image.width;
    canvas.height = image.height;
  }
  ctx2d.putImageData(new ImageData(image.data as Uint8ClampedArray<ArrayBuffer>, image.width, image.height), 0, 0);
  const out = new VideoFrame(canvas, { timestamp: item.timestamp, duration: item.duration ?? undefined });
  await writer.write(out);
}

async function handleGeneratorFailure(err: Error): Promise<void> {
  if (!running) return;
  if (runner?.backend === 'webgpu') {
    post({
      type: 'error',
      code: 'webgpu-lost',
      message: `The GPU stopped responding (${err.message}). Switched to the wasm backend; live mode continues, slower.`,
      fatal: false,
    });
    try {
      config = { ...config!, generatorBackend: 'wasm' };
      await activateGenerator({ manifest: pipeline!.contract, bytes: runner.modelBytes, label: generatorLabel });
      post({ type: 'model-changed', requestId: -1, backend: backendInfo() });
      return;
    } catch (e) {
      err = e as Error;
    }
  }
  post({ type: 'error', code: 'pipeline', message: `Generating a frame failed: ${err.message}`, fatal: false });
}

function postStats(): void {
  const snap = stats.snapshot();
  post({
    type: 'stats',
    stats: {
      ...snap,
      framesOffered: scheduler.framesOffered,
      droppedBy: { ...scheduler.dropped },
      audioDelayMs: latency.audioDelaySeconds * 1000,
      faceVisible,
      audioStalled: scheduler.audioStalled,
    },
  });
}

async function stop(): Promise<void> {
  running = false;
  if (statsTimer) clearInterval(statsTimer);
  scheduler.clear();
  wakePrepare?.();
  wakeGenerate?.();
  try {
    await writer?.close();
  } catch {
    /* the track may already be gone */
  }
  await runner?.dispose();
  landmarker?.close();
  post({ type: 'stopped' });
}
