/// <reference lib="webworker" />
/**
 * Fine-tuning worker (thin adapter over src/engine/training): picks a tfjs backend (WebGPU → WebGL → CPU),
 * prepares the clip with the engine's face tracker / crop / mel (frames arrive one by one from the page),
 * then trains with FineTuner and reports progress, validation, previews; pause / resume / cancel.
 * On a GPU failure (device lost, out of memory) it stops and hands back the last checkpoint.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import type { RgbaImage } from '../engine/types.ts';
import { FaceLandmarker } from '../engine/face/landmarker.ts';
import { prepareClip, ClipPrepError, type PreparedClip } from '../engine/training/clipPrep.ts';
import { FineTuner, FineTuneError } from '../engine/training/fineTune.ts';
import { OnnxToTfError } from '../engine/training/onnxToTf.ts';
import { SamplerError } from '../engine/training/sampler.ts';
import type { GeneratorManifest } from '../engine/generator/manifest.ts';
import { loadGeneratorFromBytes, loadGeneratorFromUrl, ModelLoadError, type LoadedGenerator } from './modelLoader.ts';
import { chooseLandmarkBackends, probeWebGl, probeWebGpu } from './gpuProbe.ts';
import type { FromTrainingWorker, ToTrainingWorker, TrainingBackend, TrainingConfig, TrainingErrorCode, TrainingResult } from './protocol.ts';

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
let gpuLost: string | undefined;

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
  }
};

/** Tries WebGPU, WebGL, CPU in that order (or the one asked for first); says which and why. */
async function chooseBackend(pref: TrainingConfig['backend']): Promise<{ backend: TrainingBackend; reason?: string }> {
  const order: TrainingBackend[] = pref === 'auto' ? ['webgpu', 'webgl', 'cpu'] : [pref, ...(['webgpu', 'webgl', 'cpu'] as TrainingBackend[]).filter((b) => b !== pref)];
  const notes: string[] = [];
  for (const name of order) {
    try {
      if (name === 'webgpu') {
        const gpu = await probeWebGpu();
        if (!gpu.available) {
          notes.push(`WebGPU unavailable: ${gpu.description}`);
          continue;
        }
        await import('@tensorflow/tfjs-backend-webgpu');
        if (gpu.software) notes.push(`WebGPU adapter is software-rendered (${gpu.description})`);
      }
      if (name === 'webgl') {
        const gl = probeWebGl();
        if (!gl.available) {
          notes.push(`WebGL unavailable: ${gl.renderer}`);
          continue;
        }
        if (gl.software) notes.push(`WebGL is software-rendered (${gl.renderer})`);
      }
      if (await tf.setBackend(name)) {
        await tf.ready();
        watchDevice(name);
        return { backend: name, reason: notes.join('; ') || undefined };
      }
      notes.push(`${name} backend failed to initialise`);
    } catch (e) {
      notes.push(`${name} failed: ${(e as Error).message}`);
    }
  }
  throw new Error(`No tfjs backend could start: ${notes.join('; ')}`);
}

/** Remembers a lost WebGPU device / WebGL context so the training loop stops with the right message. */
function watchDevice(name: TrainingBackend): void {
  const backend = tf.backend() as unknown as { device?: { lost?: Promise<{ message?: string; reason?: string }> }; gpgpu?: { gl?: WebGL2RenderingContext } };
  if (name === 'webgpu') void backend.device?.lost?.then((info) => (gpuLost = `the WebGPU device was lost (${info.reason ?? ''} ${info.message ?? ''})`.trim()));
  if (name === 'webgl') {
    const canvas = backend.gpgpu?.gl?.canvas as OffscreenCanvas | undefined;
    canvas?.addEventListener?.('webglcontextlost', () => (gpuLost = 'the WebGL context was lost'));
  }
}

function classify(e: unknown): { code: TrainingErrorCode; message: string } {
  const msg = (e as Error)?.message ?? String(e);
  if (e instanceof SamplerError && e.code === 'clip-too-short') return { code: 'clip-too-short', message: msg };
  if (e instanceof ClipPrepError && e.code !== 'cancelled' && e.code !== 'bad-input') return { code: e.code, message: msg };
  if (e instanceof OnnxToTfError && e.code === 'unsupported-op') return { code: 'unsupported-op', message: msg };
  if (e instanceof OnnxToTfError || e instanceof ModelLoadError) return { code: 'bad-model', message: msg };
  if (e instanceof FineTuneError && e.code === 'diverged') return { code: 'diverged', message: msg };
  if (gpuLost || /device (was )?lost|context (was )?lost|CONTEXT_LOST/i.test(msg)) return { code: 'gpu-lost', message: `Training stopped: ${gpuLost ?? msg}.` };
  if (/out of memory|OOM|allocat|Failed to create|exceeds|too large/i.test(msg)) return { code: 'out-of-memory', message: `Training stopped: the GPU ran out of memory (${msg}). Use a smaller batch size.` };
  return { code: 'failed', message: `Training failed: ${msg}` };
}

async function loadModel(cfg: TrainingConfig): Promise<LoadedGenerator> {
  if (cfg.modelBytes) return loadGeneratorFromBytes(new Uint8Array(cfg.modelBytes), cfg.manifest, 'fine-tune base');
  if (!cfg.manifestUrl) throw new ModelLoadError('bad-model', 'No generator to fine-tune was given.');
  return loadGeneratorFromUrl(cfg.manifestUrl);
}

async function toBitmap(img: RgbaImage): Promise<ImageBitmap> {
  return createImageBitmap(new ImageData(img.data as Uint8ClampedArray<ArrayBuffer>, img.width, img.height));
}

async function run(cfg: TrainingConfig, fps: number, total: number | undefined, audio: { samples: Float32Array; sampleRate: number }, queue: FrameQueue): Promise<void> {
  let tuner: FineTuner | undefined;
  let clip: PreparedClip | undefined;
  let manifest: GeneratorManifest | undefined;
  let valLoss = NaN;
  const result = async (fromCheckpoint: boolean): Promise<TrainingResult> => ({
    onnx: tuner!.toOnnx(fromCheckpoint).slice().buffer as ArrayBuffer,
    manifest,
    steps: tuner!.steps,
    valLoss,
    clipSeconds: clip!.frames / fps,
  });
  try {
    const chosen = await chooseBackend(cfg.backend);
    post({ type: 'backend', backend: chosen.backend, reason: chosen.reason });
    const loaded = await loadModel(cfg);
    manifest = loaded.manifest;

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
        signal: control,
        onProgress: (p) => post({ type: 'prepare-progress', ...p }),
      });
    } finally {
      landmarker.dispose();
    }
    if (!(await tf.setBackend(chosen.backend))) throw new Error(`the ${chosen.backend} backend could not be re-activated after preprocessing`);
    await tf.ready();

    tuner = new FineTuner({ modelBytes: loaded.bytes, manifest, clip, batchSize: cfg.batchSize, learningRate: cfg.learningRate, minOffset: cfg.minOffset });
    post({ type: 'prepared', frames: clip.frames, dropped: clip.dropped, seconds: clip.frames / fps, trainTargets: tuner.trainPlan.targetCount, valPairs: tuner.valPairs.length });

    valLoss = (await tuner.validate()).loss;
    post({ type: 'validation', step: 0, loss: valLoss, mouth: NaN });
    await tuner.checkpoint();
    await sendPreview(tuner, 0);

    const window: number[] = [];
    while (tuner.steps < cfg.steps) {
      if (control.aborted) break;
      if (control.paused) await new Promise<void>((r) => (control.resume = r));
      if (control.aborted) break;
      if (gpuLost) throw new Error(gpuLost);
      const t0 = performance.now();
      const s = await tuner.step();
      window.push(performance.now() - t0);
      if (window.length > 20) window.shift();
      const stepsPerSec = 1000 / (window.reduce((a, b) => a + b, 0) / window.length);
      post({ type: 'progress', step: s.step, steps: cfg.steps, stepsPerSec, etaSec: (cfg.steps - s.step) / stepsPerSec, trainLoss: s.loss });
      if (s.step % cfg.valEvery === 0 || s.step === cfg.steps) {
        const v = await tuner.validate();
        valLoss = v.loss;
        post({ type: 'validation', step: s.step, loss: v.loss, mouth: v.mouth });
        await tuner.checkpoint();
      }
      if (s.step % cfg.previewEvery === 0) await sendPreview(tuner, s.step);
    }
    if (control.aborted) {
      post({ type: 'cancelled' });
      return;
    }
    const r = await result(false);
    post({ type: 'done', result: r }, [r.onnx]);
  } catch (e) {
    if (e instanceof ClipPrepError && e.code === 'cancelled') {
      post({ type: 'cancelled' });
      return;
    }
    const c = (e as { faceModel?: boolean }).faceModel ? { code: 'face-model' as const, message: (e as Error).message } : classify(e);
    let lastGood: TrainingResult | undefined;
    if (tuner?.hasCheckpoint && (c.code === 'gpu-lost' || c.code === 'out-of-memory' || c.code === 'diverged')) {
      try {
        lastGood = await result(true);
        c.message += ` The weights from step ${tuner.steps - (tuner.steps % cfg.valEvery)} were kept: you can still save them.`;
      } catch {
        // Writing the checkpoint needs no GPU, but if even that fails there is nothing to keep.
      }
    }
    post({ type: 'error', code: c.code, message: c.message, lastGood }, lastGood ? [lastGood.onnx] : []);
  } finally {
    tuner?.dispose();
  }
}

async function sendPreview(tuner: FineTuner, step: number): Promise<void> {
  const p = await tuner.preview(step);
  const [target, reference, prediction] = await Promise.all([toBitmap(p.target), toBitmap(p.reference), toBitmap(p.prediction)]);
  post({ type: 'preview', step, target, reference, prediction }, [target, reference, prediction]);
}
