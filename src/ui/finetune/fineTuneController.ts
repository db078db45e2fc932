/**
 * Fine-tune actions for the page: record or import a clip, run it through the client's TrainingSession, save /
 * use / download / delete models. Only maps the session's events and outcomes onto the fine-tune store and
 * the app's message list; the worker, decoding and model store belong to the session.
 */
import type { ModelStoreError, StoredModelMeta } from '../../engine/training/modelStore.ts';
import type { ClipSourceError } from '../../client/clipSource.ts';
import { TrainingSession, type TrainingEvent, type TrainingOutcome } from '../../client/trainingSession.ts';
import type { TrainingConfig } from '../../workers/protocol.ts';
import { getSession } from '../controller.ts';
import { useAppStore } from '../store.ts';
import { useFineTuneStore } from './fineTuneStore.ts';

const store = () => useFineTuneStore.getState();
const app = () => useAppStore.getState();
const MESSAGE_CODES = [
  'clip-too-short',
  'no-face',
  'no-audio',
  'silent-audio',
  'not-a-video',
  'gpu-lost',
  'out-of-memory',
  'quota-exceeded',
  'unsupported-op',
  'bad-model',
  'finetune',
];

const training = new TrainingSession({ onEvent });

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
    store().set({ saved: await training.listSaved() });
  } catch (e) {
    app().addMessage('warning', (e as ModelStoreError).code ?? 'finetune', (e as Error).message);
  }
}

export async function recordAndTrain(): Promise<void> {
  if (isBusy()) return;
  app().clearMessages(MESSAGE_CODES);
  const s = store();
  s.set({ phase: 'countdown', countdown: 3, elapsed: 0, result: undefined });
  let blob: Blob;
  try {
    blob = await training.record({
      seconds: s.recordSeconds,
      cameraId: app().cameraId,
      micId: app().micId,
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
  await trainOn(file);
}

function isBusy(): boolean {
  return !['idle', 'done', 'failed'].includes(store().phase);
}

async function trainOn(file: Blob): Promise<void> {
  const s = store();
  s.set({
    phase: 'decoding',
    stage: 'Reading the clip…',
    progress: 0,
    train: [],
    val: [],
    step: 0,
    stepsPerSec: 0,
    etaSec: 0,
    activity: undefined,
    cancelling: false,
    preview: undefined,
    result: undefined,
    framesDropped: 0,
  });
  const outcome = await training.train(file, {
    base: activeBase(),
    backend: (new URLSearchParams(location.search).get('trainBackend') as TrainingConfig['backend'] | null) ?? 'auto',
    generatorBackend: app().generatorBackend,
    steps: s.steps,
    batchSize: s.batchSize,
  });
  onOutcome(outcome);
}

/** The model fine-tuning starts from: the saved model in use, else the app's model. */
function activeBase(): Pick<TrainingConfig, 'manifestUrl' | 'modelBytes' | 'manifest'> {
  const pending = activeModel;
  if (pending) return { modelBytes: pending.bytes.slice().buffer, manifest: pending.manifest };
  return baseModel();
}
let activeModel: { bytes: Uint8Array; manifest: unknown } | undefined;

function onOutcome(o: TrainingOutcome): void {
  const s = store();
  switch (o.kind) {
    case 'done':
      s.set({
        phase: 'done',
        result: o.result,
        progress: 1,
        stage: `Done: ${o.result.steps} steps (${s.stepsPerSec.toFixed(2)} steps/s on ${s.backend}), validation loss ${s.val[0]?.loss.toFixed(4)} → ${o.result.valLoss.toFixed(4)}. Save it to use it.`,
      });
      return;
    case 'cancelled':
      s.set({
        phase: 'idle',
        progress: 0,
        cancelling: false,
        activity: undefined,
        result: o.kept,
        stage: o.kept
          ? `Cancelled at step ${o.step}. The weights from step ${o.kept.steps} (validation loss ${o.kept.valLoss.toFixed(4)}) were kept: save or download them below.`
          : `Cancelled at step ${o.step}, before any trained weights were checkpointed: nothing to keep.`,
      });
      return;
    case 'failed':
      fail(o.code, o.message);
      if (o.lastGood) s.set({ result: o.lastGood });
      return;
  }
}

function onEvent(m: TrainingEvent): void {
  const s = store();
  switch (m.type) {
    case 'decoding':
      if (s.phase === 'decoding') s.set({ stage: 'Decoding frames…', progress: m.progress });
      return;
    case 'decoded':
      if (s.phase === 'decoding') s.set({ phase: 'preparing', stage: 'Finding the face in every frame…' });
      return;
    case 'cancelling':
      s.set({ cancelling: true, stage: 'Cancelling…' });
      return;
    case 'backend':
      s.set({ backend: m.backend, backendReason: m.reason });
      return;
    case 'prepare-progress':
      s.set({
        framesDropped: m.dropped,
        progress: m.total ? m.done / m.total : s.progress,
        stage: `Finding the face: frame ${m.done}${m.total ? ` of ${m.total}` : ''}`,
      });
      if (s.phase === 'decoding' && !m.total) s.set({ phase: 'preparing' });
      return;
    case 'prepared':
      s.set({
        phase: 'training',
        progress: 0,
        framesDropped: m.dropped,
        stage: `Training on ${m.seconds.toFixed(1)} s (${m.frames} frames${m.dropped ? `, ${m.dropped} without a face dropped` : ''}; ${m.trainTargets} training targets, ${m.valPairs} held-out pairs)…`,
      });
      if (m.dropped) app().addMessage('info', 'frames-dropped', `${m.dropped} of ${m.frames} frames had no face and were left out.`);
      return;
    case 'progress':
      s.set({
        step: m.step,
        stepsPerSec: m.stepsPerSec,
        etaSec: m.etaSec,
        progress: m.step / m.steps,
        activity: undefined,
        train: [...s.train, { step: m.step, loss: m.trainLoss }],
      });
      return;
    case 'busy':
      s.set({ activity: m.what });
      return;
    case 'validation':
      s.set({ val: [...s.val, { step: m.step, loss: m.loss }], activity: undefined });
      return;
    case 'preview':
      s.preview?.target.close();
      s.preview?.reference.close();
      s.preview?.prediction.close();
      s.set({ preview: { step: m.step, target: m.target, reference: m.reference, prediction: m.prediction } });
      return;
    case 'paused':
      s.set({ phase: 'paused' });
      return;
    case 'resumed':
      s.set({ phase: 'training' });
      return;
  }
}

/** Debug (window.lipsyncDebug.loseTrainingGpu): see TrainingSession.loseGpu. */
export function loseTrainingGpu(): Promise<string> {
  return training.loseGpu();
}

export function pauseTraining(): void {
  training.pause();
}
export function resumeTraining(): void {
  training.resume();
}
export function cancelFineTune(): void {
  training.cancel();
}

export async function saveResult(name: string): Promise<void> {
  const r = store().result;
  if (!r) return;
  try {
    await training.save(r, name);
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
    const m = await training.getSaved(meta.id);
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
    const m = await training.getSaved(meta.id);
    downloadBytes(m.bytes.slice().buffer, m.name);
  } catch (e) {
    app().addMessage('error', (e as ModelStoreError).code ?? 'finetune', (e as Error).message);
  }
}

export async function deleteSavedModel(meta: StoredModelMeta): Promise<void> {
  try {
    await training.deleteSaved(meta.id);
    if (store().activeModelId === meta.id) store().set({ activeModelId: undefined });
    await refreshSavedModels();
  } catch (e) {
    app().addMessage('error', (e as ModelStoreError).code ?? 'finetune', (e as Error).message);
  }
}
