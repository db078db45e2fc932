/// <reference lib="webworker" />
/**
 * Fine-tuning worker (thin adapter over src/engine/training): picks a tfjs backend (WebGPU → WebGL → CPU),
 * prepares the clip with the engine's face tracker / crop / mel (frames arrive one by one from the page),
 * then trains with FineTuner and reports progress, validation, previews; pause / resume / cancel.
 * On a GPU failure (device lost, out of memory) it stops and hands back the last checkpoint.
 * Debug: 'debug-lose-gpu' really loses the training GPU (WEBGL_lose_context / GPUDevice.destroy()).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import type { RgbaImage } from '../engine/types.ts';
import { FaceLandmarker } from '../engine/face/landmarker.ts';
import { prepareClip, ClipPrepError, type PreparedClip } from '../engine/training/clipPrep.ts';
import { FineTuner } from '../engine/training/fineTune.ts';
import type { GeneratorManifest } from '../engine/generator/manifest.ts';
import { loadGeneratorFromBytes, ModelLoadError, type LoadedGenerator } from './modelLoader.ts';
import { loadBuildFor } from './generatorStart.ts';
import { chooseGeneratorBackends, chooseLandmarkBackends, chooseTrainingBackends, probeWebGl, probeWebGpu } from './gpuProbe.ts';
import { GpuFailureError, GpuWatch, type WebGlLike, type WebGpuDeviceLike } from './gpuWatch.ts';
import { classifyTrainingError } from './trainingErrors.ts';
import type { FromTrainingWorker, ToTrainingWorker, TrainingBackend, TrainingConfig, TrainingResult } from './protocol.ts';

const scope = self as unknown as DedicatedWorkerGlobalScope;
const post = (msg: FromTrainingWorker, transfer: Transferable[] = []) => scope.postMessage(msg, transfer);

/** Frames posted by the page, consumed by prepareClip as an async iterable. */
class FrameQueue implements AsyncIterable<RgbaImage> {
  private items: RgbaImage[] = [];
  private ended = false;
  private wake?: () => void;
  push(f: RgbaImage): void {
    this.items.push(f);
    this.wake?.();
  }
  end(): void {
    this.ended = true;
    this.wake?.();
  }
  async *[Symbol.asyncIterator](): AsyncIterator<RgbaImage> {
    for (;;) {
      const f = this.items.shift();
      if (f) yield f;
      else if (this.ended) return;
      else await new Promise<void>((r) => (this.wake = r));
    }
  }
}

let frames: FrameQueue | undefined;
const control = { aborted: false, paused: false, resume: undefined as (() => void) | undefined };
/** The training backend's GPU (replaced once the backend is chosen). */
let gpu = GpuWatch.none();

// Once the GPU is gone, work started before the loss can still fail outside the training loop (tfjs polls
// read-back fences from timers; abandoned GPU promises reject). The loop reports the loss itself: an uncaught
// error here would reach the page as a generic worker failure and end the run before the checkpoint is sent.
scope.addEventListener('error', (ev) => {
  if (gpu.check()) ev.preventDefault();
});
scope.addEventListener('unhandledrejection', (ev) => {
  if (gpu.check()) ev.preventDefault();
});

scope.onmessage = (ev: MessageEvent<ToTrainingWorker>) => {
  const msg = ev.data;
  switch (msg.type) {
    case 'start':
      frames = new FrameQueue();
      void run(msg.config, msg.fps, msg.totalFrames, msg.audio, frames);
      break;
    case 'frame':
      frames?.push({ width: msg.width, height: msg.height, data: new Uint8ClampedArray(msg.data) });
      break;
    case 'frames-end':
      frames?.end();
      break;
    case 'pause':
      control.paused = true;
      post({ type: 'paused' });
      break;
    case 'resume':
      control.paused = false;
      control.resume?.();
      post({ type: 'resumed' });
      break;
    case 'cancel':
      control.aborted = true;
      control.paused = false;
      control.resume?.();
      frames?.end();
      break;
    case 'debug-lose-gpu':
      post({ type: 'debug', message: gpu.loseForDebug() });
      break;
  }
};

/**
 * Picks the backend from what the GPUs really are (gpuProbe.ts: 'auto' skips a software WebGPU adapter),
 * then tries the candidates in order; says which and why.
 */
async function chooseBackend(pref: TrainingConfig['backend']): Promise<{ backend: TrainingBackend; reason?: string }> {
  const decision = chooseTrainingBackends(pref, await probeWebGpu(), probeWebGl());
  const notes: string[] = decision.reason ? [decision.reason] : [];
  for (const name of decision.order) {
    try {
      if (name === 'webgpu') await import('@tensorflow/tfjs-backend-webgpu');
      if (await tf.setBackend(name)) {
        await tf.ready();
        gpu = watchDevice(name);
        return { backend: name, reason: notes.join('; ') || undefined };
      }
      notes.push(`${name} backend failed to initialise`);
    } catch (e) {
      notes.push(`${name} failed: ${(e as Error).message}`);
    }
  }
  throw new Error(`No tfjs backend could start: ${notes.join('; ')}`);
}

/**
 * Watches the backend's GPU: tfjs-backend-webgl keeps its context in `backend.gpgpu.gl`; in a worker that
 * context belongs to an OffscreenCanvas (canvas_util.ts createCanvas), which is where the browser fires
 * `webglcontextlost`. tfjs-backend-webgpu keeps its GPUDevice in `backend.device`.
 */
function watchDevice(name: TrainingBackend): GpuWatch {
  const backend = tf.findBackend(name) as unknown as { device?: WebGpuDeviceLike; gpgpu?: { gl?: WebGlLike } };
  if (name === 'webgpu' && backend.device) return GpuWatch.webgpu(backend.device);
  if (name === 'webgl' && backend.gpgpu?.gl) return GpuWatch.webgl(backend.gpgpu.gl);
  return GpuWatch.none();
}

async function loadModel(cfg: TrainingConfig): Promise<LoadedGenerator> {
  if (cfg.modelBytes) return loadGeneratorFromBytes(new Uint8Array(cfg.modelBytes), cfg.manifest, 'fine-tune base');
  if (!cfg.manifestUrl) throw new ModelLoadError('bad-model', 'No generator to fine-tune was given.');
  // The build live mode will run the result as (wasm: the manifest's cpu variant), by the live worker's own rule.
  const live = await chooseGeneratorBackends(cfg.generatorBackend ?? 'auto');
  return loadBuildFor(cfg.manifestUrl, live.order[0]);
}

async function toBitmap(img: RgbaImage): Promise<ImageBitmap> {
  return createImageBitmap(new ImageData(img.data as Uint8ClampedArray<ArrayBuffer>, img.width, img.height));
}

async function run(
  cfg: TrainingConfig,
  fps: number,
  total: number | undefined,
  audio: { samples: Float32Array; sampleRate: number },
  queue: FrameQueue,
): Promise<void> {
  let tuner: FineTuner | undefined;
  let clip: PreparedClip | undefined;
  let manifest: GeneratorManifest | undefined;
  let valLoss = NaN;
  /** The step and validation loss of the weights FineTuner.checkpoint() holds. */
  let kept: { step: number; valLoss: number } | undefined;
  const result = (): TrainingResult => ({
    onnx: tuner!.toOnnx().slice().buffer as ArrayBuffer,
    manifest,
    steps: tuner!.steps,
    valLoss,
    clipSeconds: clip!.frames / fps,
  });
  /**
   * Validates, then checkpoints those weights; the validation is reported once its checkpoint exists, so a
   * point on the loss plot is always a step whose weights survive a GPU failure. GPU work is abandoned as
   * soon as the GPU fails.
   */
  const validateAndCheckpoint = async (step: number): Promise<void> => {
    post({ type: 'busy', what: 'validation', step });
    const v = await gpu.guard(tuner!.validate());
    valLoss = v.loss;
    await gpu.guard(tuner!.checkpoint().then(() => (kept = { step, valLoss: v.loss })));
    // The page holds trained checkpoints itself: a Cancel that has to terminate a busy worker keeps them.
    const checkpoint: TrainingResult | undefined =
      step > 0
        ? { onnx: tuner!.toOnnx(true).slice().buffer as ArrayBuffer, manifest, steps: step, valLoss: v.loss, clipSeconds: clip!.frames / fps }
        : undefined;
    post({ type: 'validation', step, loss: v.loss, mouth: step === 0 ? NaN : v.mouth, checkpoint }, checkpoint ? [checkpoint.onnx] : []);
  };
  /** Lets queued messages (cancel, pause) in: the CPU backend's awaits never leave the microtask queue. */
  const yieldToMessages = () => new Promise((r) => setTimeout(r, 0));
  try {
    const chosen = await chooseBackend(cfg.backend);
    post({ type: 'backend', backend: chosen.backend, reason: chosen.reason });
    const loaded = await loadModel(cfg);
    manifest = loaded.manifest;
    // Not the build asked for (its cpu build failed to load): say so where the backend is shown.
    if (loaded.note) post({ type: 'backend', backend: chosen.backend, reason: [chosen.reason, `generator: ${loaded.note}`].filter(Boolean).join('; ') });

    // The face tracker runs where the live app runs it (wasm on software GPUs: far faster there);
    // training then switches to its own backend.
    setWasmPaths(cfg.tfWasmBaseUrl);
    for (const name of chooseLandmarkBackends('auto').order) {
      if (name === 'wasm') tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
      if (await tf.setBackend(name).catch(() => false)) break;
    }
    await tf.ready();
    let landmarker: FaceLandmarker;
    try {
      landmarker = await FaceLandmarker.create({ modelBaseUrl: cfg.faceModelBaseUrl });
    } catch (e) {
      throw Object.assign(new ClipPrepError('bad-input', `The face tracking model could not be loaded: ${(e as Error).message}`), { faceModel: true });
    }
    try {
      clip = await prepareClip({
        frames: queue,
        total,
        fps,
        audio,
        landmarker,
        size: manifest.cropSize,
        cropTemplate: manifest.cropTemplate,
        signal: control,
        onProgress: (p) => post({ type: 'prepare-progress', ...p }),
      });
    } finally {
      landmarker.dispose();
    }
    if (!(await tf.setBackend(chosen.backend))) throw new Error(`the ${chosen.backend} backend could not be re-activated after preprocessing`);
    await tf.ready();

    const lost = gpu.check();
    if (lost) throw new GpuFailureError(lost);

    tuner = new FineTuner({ modelBytes: loaded.bytes, manifest, clip, batchSize: cfg.batchSize, learningRate: cfg.learningRate, minOffset: cfg.minOffset });
    post({
      type: 'prepared',
      frames: clip.frames,
      dropped: clip.dropped,
      seconds: clip.frames / fps,
      trainTargets: tuner.trainPlan.targetCount,
      valPairs: tuner.valPairs.length,
    });

    await validateAndCheckpoint(0);
    await yieldToMessages();
    if (!control.aborted) await gpu.guard(sendPreview(tuner, 0));

    const window: number[] = [];
    while (tuner.steps < cfg.steps) {
      await yieldToMessages();
      if (control.aborted) break;
      if (control.paused) await Promise.race([new Promise<void>((r) => (control.resume = r)), gpu.failed]);
      if (control.aborted) break;
      const failure = gpu.check();
      if (failure) throw new GpuFailureError(failure);
      if (tuner.steps === 0) post({ type: 'busy', what: 'step', step: 0 });
      const t0 = performance.now();
      const s = await gpu.guard(tuner.step());
      // The first step compiles the GPU kernels: it only stands for the rate until a real one is measured.
      if (s.step === 2) window.shift();
      window.push(performance.now() - t0);
      if (window.length > 20) window.shift();
      const stepsPerSec = 1000 / (window.reduce((a, b) => a + b, 0) / window.length);
      post({ type: 'progress', step: s.step, steps: cfg.steps, stepsPerSec, etaSec: (cfg.steps - s.step) / stepsPerSec, trainLoss: s.loss });
      if (s.step % cfg.valEvery === 0 || s.step === cfg.steps) await validateAndCheckpoint(s.step);
      if (s.step % cfg.previewEvery === 0 && !control.aborted) await gpu.guard(sendPreview(tuner, s.step));
    }
    if (control.aborted) {
      post({ type: 'cancelled' });
      return;
    }
    const r = result();
    post({ type: 'done', result: r }, [r.onnx]);
  } catch (e) {
    if (e instanceof ClipPrepError && e.code === 'cancelled') {
      post({ type: 'cancelled' });
      return;
    }
    // An error thrown by a GL / GPU call can arrive before the loss event: give the event a moment.
    const failure = tuner ? await gpu.settled(500) : gpu.check();
    const c = (e as { faceModel?: boolean }).faceModel ? { code: 'face-model' as const, message: (e as Error).message } : classifyTrainingError(e, failure);
    let lastGood: TrainingResult | undefined;
    if (tuner && (c.code === 'gpu-lost' || c.code === 'out-of-memory' || c.code === 'diverged')) {
      // Writing the checkpoint's ONNX needs no GPU: the checkpoint is a CPU copy of the weights.
      const at = kept;
      if (at && at.step > 0 && tuner.hasCheckpoint) {
        try {
          lastGood = { onnx: tuner.toOnnx(true).slice().buffer as ArrayBuffer, manifest, steps: at.step, valLoss: at.valLoss, clipSeconds: clip!.frames / fps };
          c.message += ` The weights from step ${at.step} (validation loss ${at.valLoss.toFixed(4)}) were kept: save or download them below.`;
        } catch {
          c.message += ' The last checkpoint could not be written, so nothing was kept.';
        }
      } else if (c.code !== 'diverged') {
        c.message += ' No training step had been checkpointed yet, so there is nothing to keep: train again.';
      }
    }
    post({ type: 'error', code: c.code, message: c.message, lastGood }, lastGood ? [lastGood.onnx] : []);
  } finally {
    try {
      tuner?.dispose();
    } catch {
      // Freeing tensors on a lost context can fail; the worker is terminated right after anyway.
    }
  }
}

async function sendPreview(tuner: FineTuner, step: number): Promise<void> {
  post({ type: 'busy', what: 'preview', step });
  const p = await tuner.preview(step);
  const [target, reference, prediction] = await Promise.all([toBitmap(p.target), toBitmap(p.reference), toBitmap(p.prediction)]);
  post({ type: 'preview', step, target, reference, prediction }, [target, reference, prediction]);
}
