/**
 * A fine-tune run, as LipsyncSession is a live run: it owns the training worker and its protocol, the abort
 * signal, the clip's decoding (clipSource) and the store of saved models. The page gives it a clip and
 * listens; it never speaks the worker protocol itself.
 *
 *   const run = new TrainingSession({ onEvent: (e) => … });
 *   const outcome = await run.train(fileOrRecording, { base, steps, batchSize });   // done | cancelled | failed
 *   run.cancel();   // from a button, any time: takes effect within CANCEL_GRACE_MS
 */
import { ModelStore, type StoredModel, type StoredModelMeta } from '../engine/training/modelStore.ts';
import type { FromTrainingWorker, ToTrainingWorker, TrainingConfig, TrainingResult } from '../workers/protocol.ts';
import { type ClipSourceError, type RecordOptions, TRAIN_FPS, decodeAudio, decodeFrames, recordClip } from './clipSource.ts';

/**
 * How long a cancelled worker may take to stop on its own. It checks between steps; a step in progress
 * (tens of seconds for a first step on a slow GPU) cannot be interrupted, so the worker is then terminated.
 */
export const CANCEL_GRACE_MS = 1000;

/** What the run reports while it goes: the worker's own messages, plus the page-side decoding. */
export type TrainingEvent =
  | Exclude<FromTrainingWorker, { type: 'done' | 'cancelled' | 'error' | 'debug' }>
  | { type: 'decoding'; progress: number }
  | { type: 'decoded' }
  | { type: 'cancelling' };

/** How a run ended. `kept`/`lastGood`: trained weights that survived a cancel or a failure (save or download them). */
export type TrainingOutcome =
  | { kind: 'done'; result: TrainingResult }
  | { kind: 'cancelled'; step: number; kept?: TrainingResult }
  | { kind: 'failed'; code: string; message: string; lastGood?: TrainingResult };

export interface TrainOptions {
  /** The generator to start from: a manifest URL, or the bytes + manifest of a saved model. */
  base: Pick<TrainingConfig, 'manifestUrl' | 'modelBytes' | 'manifest'>;
  steps: number;
  batchSize: number;
  learningRate?: number;
  backend?: TrainingConfig['backend'];
  /** The backend live mode runs the result on (picks the build of a manifest's generator; default 'auto'). */
  generatorBackend?: TrainingConfig['generatorBackend'];
  /** Where the runtime files live (the app's folder by default). */
  baseUrl?: string;
}

export interface TrainingSessionOptions {
  onEvent?: (e: TrainingEvent) => void;
}

const asFailure = (e: unknown, fallback: string): TrainingOutcome => ({
  kind: 'failed',
  code: (e as ClipSourceError).code ?? fallback,
  message: (e as Error).message,
});

export class TrainingSession {
  /** The browser's saved fine-tuned models (IndexedDB). */
  readonly models = new ModelStore();
  private worker: Worker | undefined;
  private abort = { aborted: false };
  /** Ends the current run's wait when cancel() has to terminate a busy worker. */
  private endRun: ((o: TrainingOutcome) => void) | undefined;
  /** The newest checkpoint the worker sent (validation after step 0): survives a terminated worker. */
  private checkpoint: TrainingResult | undefined;
  private step = 0;
  private cancelTimer: ReturnType<typeof setTimeout> | undefined;
  private debugReply: ((message: string) => void) | undefined;

  constructor(private readonly opts: TrainingSessionOptions = {}) {}

  /** A run (recording, decoding or training) is in progress. */
  get busy(): boolean {
    return this.endRun !== undefined || this.recording;
  }
  private recording = false;

  /** Records a clip from camera + microphone; cancel() stops it (ClipSourceError 'cancelled'). */
  async record(o: Omit<RecordOptions, 'signal'>): Promise<Blob> {
    this.abort = { aborted: false };
    this.recording = true;
    try {
      return await recordClip({ ...o, signal: this.abort });
    } finally {
      this.recording = false;
    }
  }

  /** Decodes `clip` (a recording or a user's video file) and fine-tunes on it in the training worker. */
  async train(clip: Blob, o: TrainOptions): Promise<TrainingOutcome> {
    if (this.endRun) return { kind: 'failed', code: 'finetune', message: 'A fine-tune is already running.' };
    this.abort = { aborted: false };
    this.checkpoint = undefined;
    this.step = 0;
    let audio: Awaited<ReturnType<typeof decodeAudio>>;
    try {
      audio = await decodeAudio(clip);
    } catch (e) {
      // A file that is not media at all fails here too; let the video decoder say which it is.
      try {
        await decodeFrames(clip, { onFrame: () => undefined, maxSeconds: 0.05 });
      } catch (v) {
        return asFailure(v, 'not-a-video');
      }
      return asFailure(e, 'no-audio');
    }
    // An audio-only file decodes as audio: check for a picture before a training worker starts and claims a backend.
    try {
      await decodeFrames(clip, { onFrame: () => undefined, maxSeconds: 0.05 });
    } catch (v) {
      return asFailure(v, 'not-a-video');
    }
    if (this.abort.aborted) return { kind: 'cancelled', step: 0 };
    const seconds = audio.samples.length / audio.sampleRate;
    const base = o.baseUrl ?? document.baseURI;
    const w = new Worker(new URL('../workers/training.worker.ts', import.meta.url), { type: 'module', name: 'lipsync-training' });
    this.worker = w;
    const post = (m: ToTrainingWorker, t: Transferable[] = []) => w.postMessage(m, t);
    const finished = new Promise<TrainingOutcome>((resolve) => {
      this.endRun = resolve;
      w.onmessage = (ev: MessageEvent<FromTrainingWorker>) => {
        const outcome = this.onWorkerMessage(ev.data);
        if (outcome) resolve(outcome);
      };
      w.onerror = (ev) => resolve({ kind: 'failed', code: 'finetune', message: `The training worker failed: ${ev.message || 'it could not start'}.` });
    });
    const steps = o.steps;
    const config: TrainingConfig = {
      ...o.base,
      faceModelBaseUrl: new URL('models/face/', base).href,
      tfWasmBaseUrl: new URL('tfjs/', base).href,
      backend: o.backend ?? 'auto',
      generatorBackend: o.generatorBackend ?? 'auto',
      steps,
      batchSize: o.batchSize,
      learningRate: o.learningRate ?? 3e-4,
      minOffset: 5,
      valEvery: Math.max(5, Math.round(steps / 10)),
      previewEvery: Math.max(5, Math.round(steps / 10)),
    };
    post({ type: 'start', config, fps: TRAIN_FPS, totalFrames: Math.floor(seconds * TRAIN_FPS), audio }, [audio.samples.buffer]);
    let decodeFailure: TrainingOutcome | undefined;
    try {
      await decodeFrames(clip, {
        signal: this.abort,
        maxSeconds: seconds,
        onFrame: (f) => post({ type: 'frame', ...f }, [f.data]),
        onProgress: (t) => this.emit({ type: 'decoding', progress: Math.min(1, t / seconds) }),
      });
      post({ type: 'frames-end' });
      this.emit({ type: 'decoded' });
    } catch (e) {
      post({ type: 'cancel' });
      if ((e as ClipSourceError).code !== 'cancelled') decodeFailure = asFailure(e, 'not-a-video');
    }
    const outcome = await finished;
    clearTimeout(this.cancelTimer);
    w.terminate();
    if (this.worker === w) this.worker = undefined;
    this.endRun = undefined;
    return decodeFailure ?? outcome;
  }

  pause(): void {
    this.worker?.postMessage({ type: 'pause' } satisfies ToTrainingWorker);
  }

  resume(): void {
    this.worker?.postMessage({ type: 'resume' } satisfies ToTrainingWorker);
  }

  /** Stops a recording, decoding or training; a busy worker is terminated after CANCEL_GRACE_MS. */
  cancel(): void {
    this.abort.aborted = true;
    const w = this.worker;
    if (!w) return;
    w.postMessage({ type: 'cancel' } satisfies ToTrainingWorker);
    this.emit({ type: 'cancelling' });
    clearTimeout(this.cancelTimer);
    this.cancelTimer = setTimeout(() => {
      if (this.worker !== w) return;
      // Still busy (inside a step): stop it the hard way. Saved models live in IndexedDB, the last checkpoint here.
      w.onmessage = null;
      w.terminate();
      this.worker = undefined;
      this.endRun?.(this.cancelled());
    }, CANCEL_GRACE_MS);
  }

  /**
   * Debug (window.lipsyncDebug.loseTrainingGpu): makes the browser really lose the training GPU — the worker
   * calls WEBGL_lose_context.loseContext() or GPUDevice.destroy() — to exercise the recovery path.
   */
  loseGpu(): Promise<string> {
    const w = this.worker;
    if (!w) return Promise.resolve('no training is running');
    return new Promise((resolve) => {
      this.debugReply = resolve;
      w.postMessage({ type: 'debug-lose-gpu' } satisfies ToTrainingWorker);
    });
  }

  /** Saves a trained result under `name` in the browser's model store. */
  async save(result: TrainingResult, name: string): Promise<void> {
    const manifest = {
      ...(result.manifest as object),
      name,
      description: `Fine-tuned in the browser (${result.steps} steps on ${result.clipSeconds.toFixed(1)} s).`,
    };
    await this.models.save({
      name,
      date: new Date().toISOString(),
      steps: result.steps,
      valLoss: result.valLoss,
      clipSeconds: result.clipSeconds,
      bytes: new Uint8Array(result.onnx),
      manifest,
    });
  }

  listSaved(): Promise<StoredModelMeta[]> {
    return this.models.list();
  }

  getSaved(id: StoredModelMeta['id']): Promise<StoredModel> {
    return this.models.get(id);
  }

  deleteSaved(id: StoredModelMeta['id']): Promise<void> {
    return this.models.delete(id);
  }

  private emit(e: TrainingEvent): void {
    this.opts.onEvent?.(e);
  }

  private cancelled(): TrainingOutcome {
    clearTimeout(this.cancelTimer);
    return { kind: 'cancelled', step: this.step, kept: this.checkpoint };
  }

  /** Forwards progress; returns the outcome when the run is over. */
  private onWorkerMessage(m: FromTrainingWorker): TrainingOutcome | undefined {
    switch (m.type) {
      case 'done':
        return { kind: 'done', result: m.result };
      case 'cancelled':
        return this.cancelled();
      case 'error':
        return { kind: 'failed', code: m.code, message: m.message, lastGood: m.lastGood };
      case 'debug':
        this.debugReply?.(m.message);
        this.debugReply = undefined;
        return undefined;
      case 'progress':
        this.step = m.step;
        break;
      case 'validation':
        if (m.checkpoint) this.checkpoint = m.checkpoint;
        break;
    }
    this.emit(m);
    return undefined;
  }
}
