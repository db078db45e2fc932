/**
 * Fine-tune actions: record or import a clip, decode it, run the training worker, save / use / download /
 * delete models. Reports through the fine-tune store and the app's message list.
 */
import { ModelStore, type ModelStoreError, type StoredModelMeta } from '../../engine/training/modelStore.ts';
import type { FromTrainingWorker, ToTrainingWorker, TrainingConfig, TrainingResult } from '../../workers/protocol.ts';
import { getSession } from '../controller.ts';
import { useAppStore } from '../store.ts';
import { type ClipSourceError, TRAIN_FPS, decodeAudio, decodeFrames, recordClip } from './clipSource.ts';
import { useFineTuneStore } from './fineTuneStore.ts';

const store = () => useFineTuneStore.getState();
const app = () => useAppStore.getState();
const models = new ModelStore();
const MESSAGE_CODES = ['clip-too-short', 'no-face', 'no-audio', 'silent-audio', 'not-a-video', 'gpu-lost', 'out-of-memory', 'quota-exceeded', 'unsupported-op', 'bad-model', 'finetune'];

let worker: Worker | undefined;
let abort = { aborted: false };
/** Ends the current run's wait (trainOn) when Cancel has to terminate a busy worker. */
let endRun: (() => void) | undefined;
/** The newest trained checkpoint the worker sent (validation after step 0): survives a terminated worker. */
let checkpoint: TrainingResult | undefined;
let cancelTimer: ReturnType<typeof setTimeout> | undefined;
/**
 * How long a cancelled worker may take to stop on its own. It checks between steps; a step in progress
 * (tens of seconds for a first step on a slow GPU) cannot be interrupted, so the worker is terminated.
 */
const CANCEL_GRACE_MS = 1000;

function baseModel(): Pick<TrainingConfig, 'manifestUrl'> {
  const q = new URLSearchParams(location.search);
  return { manifestUrl: new URL(q.get('model') ?? 'models/manifest.json', document.baseURI).href };
}

function fail(code: string, message: string): void {
  app().addMessage('error', code, message);
  store().set({ phase: 'failed', stage: message });
}

export async function refreshSavedModels(): Promise<void> {
  try {
    store().set({ saved: await models.list() });
  } catch (e) {
    app().addMessage('warning', (e as ModelStoreError).code ?? 'finetune', (e as Error).message);
  }
}

export async function recordAndTrain(): Promise<void> {
  if (isBusy()) return;
  app().clearMessages(MESSAGE_CODES);
  abort = { aborted: false };
  const s = store();
  s.set({ phase: 'countdown', countdown: 3, elapsed: 0, result: undefined });
  let blob: Blob;
  try {
    blob = await recordClip({
      seconds: s.recordSeconds,
      cameraId: app().cameraId,
      micId: app().micId,
      signal: abort,
      onCountdown: (left) => store().set(left > 0 ? { countdown: left } : { countdown: 0, phase: 'recording' }),
      onLevel: (level) => store().set({ level }),
      onElapsed: (elapsed) => store().set({ elapsed }),
      onStream: (cameraStream) => store().set({ cameraStream }),
    });
  } catch (e) {
    if ((e as ClipSourceError).code === 'cancelled') return void store().set({ phase: 'idle', stage: 'Cancelled.' });
    return fail((e as { code?: string }).code ?? 'finetune', (e as Error).message);
  }
  await trainOn(blob);
}

export async function importAndTrain(file: File): Promise<void> {
  if (isBusy()) return;
  app().clearMessages(MESSAGE_CODES);
  abort = { aborted: false };
  await trainOn(file);
}

function isBusy(): boolean {
  return !['idle', 'done', 'failed'].includes(store().phase);
}

async function trainOn(file: Blob): Promise<void> {
  const s = store();
  s.set({ phase: 'decoding', stage: 'Reading the clip…', progress: 0, train: [], val: [], step: 0, stepsPerSec: 0, etaSec: 0, activity: undefined, cancelling: false, preview: undefined, result: undefined, framesDropped: 0 });
  checkpoint = undefined;
  let audio: Awaited<ReturnType<typeof decodeAudio>>;
  try {
    audio = await decodeAudio(file);
  } catch (e) {
    // A file that is not media at all fails here too; let the video decoder say which it is.
    try {
      await decodeFrames(file, { onFrame: () => undefined, maxSeconds: 0.05 });
    } catch (v) {
      return fail((v as ClipSourceError).code, (v as Error).message);
    }
    return fail((e as ClipSourceError).code ?? 'no-audio', (e as Error).message);
  }
  // An audio-only file decodes as audio: check for a picture before a training worker starts and claims a backend.
  try {
    await decodeFrames(file, { onFrame: () => undefined, maxSeconds: 0.05 });
  } catch (v) {
    return fail((v as ClipSourceError).code ?? 'not-a-video', (v as Error).message);
  }
  const seconds = audio.samples.length / audio.sampleRate;
  const w = new Worker(new URL('../../workers/training.worker.ts', import.meta.url), { type: 'module', name: 'lipsync-training' });
  worker = w;
  const post = (m: ToTrainingWorker, t: Transferable[] = []) => w.postMessage(m, t);
  const finished = new Promise<void>((resolve) => {
    endRun = resolve;
    w.onmessage = (ev: MessageEvent<FromTrainingWorker>) => {
      if (onWorkerMessage(ev.data)) resolve();
    };
    w.onerror = (ev) => {
      fail('finetune', `The training worker failed: ${ev.message || 'it could not start'}.`);
      resolve();
    };
  });
  const cfg: TrainingConfig = {
    ...activeBase(),
    faceModelBaseUrl: new URL('models/face/', document.baseURI).href,
    tfWasmBaseUrl: new URL('tfjs/', document.baseURI).href,
    backend: (new URLSearchParams(location.search).get('trainBackend') as TrainingConfig['backend'] | null) ?? 'auto',
    steps: s.steps,
    batchSize: s.batchSize,
    learningRate: 3e-4,
    minOffset: 5,
    valEvery: Math.max(5, Math.round(s.steps / 10)),
    previewEvery: Math.max(5, Math.round(s.steps / 10)),
  };
  post({ type: 'start', config: cfg, fps: TRAIN_FPS, totalFrames: Math.floor(seconds * TRAIN_FPS), audio }, [audio.samples.buffer]);
  store().set({ stage: 'Decoding frames…' });
  try {
    await decodeFrames(file, {
      signal: abort,
      maxSeconds: seconds,
      onFrame: (f) => post({ type: 'frame', ...f }, [f.data]),
      onProgress: (t) => store().set({ progress: Math.min(1, t / seconds) }),
    });
    post({ type: 'frames-end' });
    if (store().phase === 'decoding') store().set({ phase: 'preparing', stage: 'Finding the face in every frame…' });
  } catch (e) {
    post({ type: 'cancel' });
    if ((e as ClipSourceError).code !== 'cancelled') fail((e as ClipSourceError).code ?? 'not-a-video', (e as Error).message);
  }
  await finished;
  clearTimeout(cancelTimer);
  w.terminate();
  if (worker === w) worker = undefined;
}

/** The model fine-tuning starts from: the saved model in use, else the app's model. */
function activeBase(): Pick<TrainingConfig, 'manifestUrl' | 'modelBytes' | 'manifest'> {
  const pending = activeModel;
  if (pending) return { modelBytes: pending.bytes.slice().buffer, manifest: pending.manifest };
  return baseModel();
}
let activeModel: { bytes: Uint8Array; manifest: unknown } | undefined;

/** Returns true when the run is over. */
function onWorkerMessage(m: FromTrainingWorker): boolean {
  const s = store();
  switch (m.type) {
    case 'backend':
      s.set({ backend: m.backend, backendReason: m.reason });
      return false;
    case 'prepare-progress':
      s.set({ framesDropped: m.dropped, progress: m.total ? m.done / m.total : s.progress, stage: `Finding the face: frame ${m.done}${m.total ? ` of ${m.total}` : ''}` });
      if (s.phase === 'decoding' && !m.total) s.set({ phase: 'preparing' });
      return false;
    case 'prepared':
      s.set({
        phase: 'training',
        progress: 0,
        framesDropped: m.dropped,
        stage: `Training on ${m.seconds.toFixed(1)} s (${m.frames} frames${m.dropped ? `, ${m.dropped} without a face dropped` : ''}; ${m.trainTargets} training targets, ${m.valPairs} held-out pairs)…`,
      });
      if (m.dropped) app().addMessage('info', 'frames-dropped', `${m.dropped} of ${m.frames} frames had no face and were left out.`);
      return false;
    case 'progress':
      s.set({ step: m.step, stepsPerSec: m.stepsPerSec, etaSec: m.etaSec, progress: m.step / m.steps, activity: undefined, train: [...s.train, { step: m.step, loss: m.trainLoss }] });
      return false;
    case 'busy':
      s.set({ activity: m.what });
      return false;
    case 'validation':
      if (m.checkpoint) checkpoint = m.checkpoint;
      s.set({ val: [...s.val, { step: m.step, loss: m.loss }], activity: undefined });
      return false;
    case 'preview':
      s.preview?.target.close();
      s.preview?.reference.close();
      s.preview?.prediction.close();
      s.set({ preview: { step: m.step, target: m.target, reference: m.reference, prediction: m.prediction } });
      return false;
    case 'paused':
      s.set({ phase: 'paused' });
      return false;
    case 'resumed':
      s.set({ phase: 'training' });
      return false;
    case 'done':
      s.set({ phase: 'done', result: m.result, progress: 1, stage: `Done: ${m.result.steps} steps (${s.stepsPerSec.toFixed(2)} steps/s on ${s.backend}), validation loss ${s.val[0]?.loss.toFixed(4)} → ${m.result.valLoss.toFixed(4)}. Save it to use it.` });
      return true;
    case 'cancelled':
      cancelled(s.step);
      return true;
    case 'error':
      fail(m.code, m.message);
      if (m.lastGood) s.set({ result: m.lastGood });
      return true;
    case 'debug':
      debugReply?.(m.message);
      debugReply = undefined;
      return false;
  }
}

let debugReply: ((message: string) => void) | undefined;

/**
 * Debug (window.lipsyncDebug.loseTrainingGpu): makes the browser really lose the training GPU — the worker
 * calls WEBGL_lose_context.loseContext() or GPUDevice.destroy() — to exercise the recovery path.
 * Resolves with what the worker did.
 */
export function loseTrainingGpu(): Promise<string> {
  const w = worker;
  if (!w) return Promise.resolve('no training is running');
  return new Promise((resolve) => {
    debugReply = resolve;
    w.postMessage({ type: 'debug-lose-gpu' } satisfies ToTrainingWorker);
  });
}

export function pauseTraining(): void {
  worker?.postMessage({ type: 'pause' } satisfies ToTrainingWorker);
}
export function resumeTraining(): void {
  worker?.postMessage({ type: 'resume' } satisfies ToTrainingWorker);
}
export function cancelFineTune(): void {
  abort.aborted = true;
  const w = worker;
  if (!w) return;
  w.postMessage({ type: 'cancel' } satisfies ToTrainingWorker);
  store().set({ cancelling: true, stage: 'Cancelling…' });
  clearTimeout(cancelTimer);
  cancelTimer = setTimeout(() => {
    if (worker !== w) return;
    // Still busy (inside a step): stop it the hard way. Saved models live in IndexedDB, the last checkpoint here.
    w.onmessage = null;
    w.terminate();
    worker = undefined;
    cancelled(store().step);
    endRun?.();
  }, CANCEL_GRACE_MS);
}

/** The run was cancelled at `step`: back to idle, offering the last trained checkpoint when there is one. */
function cancelled(step: number): void {
  clearTimeout(cancelTimer);
  const kept = checkpoint;
  store().set({
    phase: 'idle',
    progress: 0,
    cancelling: false,
    activity: undefined,
    result: kept,
    stage: kept
      ? `Cancelled at step ${step}. The weights from step ${kept.steps} (validation loss ${kept.valLoss.toFixed(4)}) were kept: save or download them below.`
      : `Cancelled at step ${step}, before any trained weights were checkpointed: nothing to keep.`,
  });
}

export async function saveResult(name: string): Promise<void> {
  const r = store().result;
  if (!r) return;
  try {
    const manifest = { ...(r.manifest as object), name, description: `Fine-tuned in the browser (${r.steps} steps on ${r.clipSeconds.toFixed(1)} s).` };
    await models.save({ name, date: new Date().toISOString(), steps: r.steps, valLoss: r.valLoss, clipSeconds: r.clipSeconds, bytes: new Uint8Array(r.onnx), manifest });
    store().set({ result: undefined, stage: `Saved "${name}".` });
    app().clearMessages(['quota-exceeded']);
    await refreshSavedModels();
  } catch (e) {
    const code = (e as ModelStoreError).code ?? 'finetune';
    // The result stays in memory (and the Save / Download buttons stay): nothing is lost.
    app().addMessage('error', code, `${(e as Error).message} The trained model was not lost: download it as .onnx, or make room and press Save again.`);
  }
}

/** Downloads the trained (not yet saved) model as .onnx: the way out when the browser has no room for it. */
export function downloadResult(name: string): void {
  const r = store().result;
  if (r) downloadBytes(r.onnx, name);
}

function downloadBytes(bytes: ArrayBuffer, name: string): void {
  const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = `${name.replace(/[^\w.-]+/g, '_')}.onnx`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export async function applySavedModel(meta: StoredModelMeta): Promise<void> {
  const session = getSession();
  if (!session) {
    app().addMessage('warning', 'finetune', 'Start live mode first, then press Use to swap this model in.');
    return;
  }
  try {
    const m = await models.get(meta.id);
    const backend = await session.setModel({ modelBytes: m.bytes.slice().buffer, manifest: m.manifest, label: m.name });
    activeModel = { bytes: m.bytes, manifest: m.manifest };
    store().set({ activeModelId: meta.id });
    app().set({ backend });
    app().addMessage('info', 'model', `Now using "${m.name}".`);
  } catch (e) {
    app().addMessage('error', 'bad-model', `${(e as Error).message} The previous model is still running.`);
  }
}

export async function downloadSavedModel(meta: StoredModelMeta): Promise<void> {
  try {
    const m = await models.get(meta.id);
    downloadBytes(m.bytes.slice().buffer, m.name);
  } catch (e) {
    app().addMessage('error', (e as ModelStoreError).code ?? 'finetune', (e as Error).message);
  }
}

export async function deleteSavedModel(meta: StoredModelMeta): Promise<void> {
  try {
    await models.delete(meta.id);
    if (store().activeModelId === meta.id) store().set({ activeModelId: undefined });
    await refreshSavedModels();
  } catch (e) {
    app().addMessage('error', (e as ModelStoreError).code ?? 'finetune', (e as Error).message);
  }
}
