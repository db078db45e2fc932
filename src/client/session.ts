/**
 * LipsyncSession: the main-thread side of lip-sync, independent of where face and audio come from.
 *
 * face source ─► video track ─MediaStreamTrackProcessor─► (readable, transferred) ─┐
 * audio source (any AudioNode) ─► AudioWorklet 'lipsync-mel' ─► mel blocks ───────►│ inference worker
 *                                                                                 │ landmarks → crop → ONNX → paste
 * output ◄──MediaStreamTrackGenerator◄── (writable, transferred) ◄────────────────┘
 * audio source ─► DelayNode (measured pipeline latency) ─► output audio track
 *
 * A face source is anything that yields a video MediaStreamTrack (a camera, a looping video or a
 * still image drawn at 25 fps); an audio source is any AudioNode (a microphone, a stream, a looping
 * AudioBuffer). Each session owns one worker and one AudioContext: sessions share no state, so
 * several can run on one page. The main thread only wires streams; pixels never pass through it.
 */
import { missingLiveFeatures } from './mediaErrors.ts';
import { LipsyncError } from './errors.ts';
import type { Recording } from './recorder.ts';
import { acquireStartSlot } from './initQueue.ts';
import { endedMessage, watchTrack, type InputKind } from './deviceWatch.ts';
import type { AudioHealth } from '../engine/audio/audioHealth.ts';
import type { MelWorkletMessage, ToMelWorklet } from '../engine/audio/messages.ts';
import { createInferenceWorker, defaultBaseUrl, melWorkletModuleUrl } from './runtimeFiles.ts';
import type { FaceThreadChoice } from '../workers/gpuProbe.ts';
import type { PasteArea } from '../engine/face/blend.ts';
import type {
  BackendChoice,
  BackendInfo,
  FromWorker,
  GeneratorBackend,
  LandmarkBackend,
  LiveStatus,
  StartProgress,
  ToWorker,
  WorkerConfig,
} from '../workers/protocol.ts';

export interface SessionOptions {
  /** Where models, wasm, worker and worklet files are served from (default: see runtimeFiles.ts). */
  baseUrl?: string;
  /** Generator manifest URL, resolved against baseUrl (default: `${baseUrl}models/manifest.json`). */
  manifestUrl?: string;
  generatorBackend?: BackendChoice<GeneratorBackend>;
  landmarkBackend?: BackendChoice<LandmarkBackend>;
  /** Face tracking on its own thread or the generator's (default: by the number of cores). */
  faceThread?: FaceThreadChoice;
  /** What the output replaces (default 'mouth', see PasteArea). */
  pasteArea?: PasteArea;
}

/** A video track of the face, and how to release what the source opened. */
export interface FaceFeed {
  readonly track: MediaStreamTrack;
  /** What to call it in messages when it ends or pauses (default "camera"). */
  readonly label?: string;
  close(): void;
}

/** An audio node in the session's AudioContext, and how to release it. */
export interface AudioFeed {
  readonly node: AudioNode;
  /** The live track behind the node (microphone, stream), watched for ending; none for a looping file. */
  readonly track?: MediaStreamTrack;
  /** What to call it in messages (default "microphone"). */
  readonly label?: string;
  close(): void;
}

/** Opened in this order when the session starts; a failure in either stops the session. */
export interface SessionSources {
  /** True when a source opens a camera or microphone (needs getUserMedia). */
  readonly usesDevices: boolean;
  face(): Promise<FaceFeed>;
  audio(ctx: AudioContext): Promise<AudioFeed>;
}

export interface SessionEvents {
  ready: BackendInfo;
  stats: LiveStatus;
  error: { code: string; message: string; fatal: boolean };
  'model-changed': BackendInfo;
  /** The AudioContext is still suspended by the browser's autoplay policy. */
  'audio-blocked': undefined;
  stopped: undefined;
  /** A start step began, advanced or finished (see StartProgress); `elapsedMs` counts from run(). */
  progress: SessionProgress;
  /**
   * The live audio's health changed state (measured on the audio thread: 'silent' after a few seconds of digital
   * silence, back to 'ok' on the first sound). Only for audio with a track (microphone, stream), not looping files.
   */
  'audio-health': AudioHealth & { label: string };
  /** The camera or microphone was paused (muted) or resumed by the system; it was not ended. */
  'device-muted': { kind: InputKind; label: string; muted: boolean };
}

export type SessionProgress = StartProgress & { elapsedMs: number };

export type ModelInput = { manifestUrl: string } | { modelBytes: ArrayBuffer; manifest?: unknown; label?: string };

type Listener<T> = (value: T) => void;

/** Maximum audio delay we can apply; beyond this the pipeline is too slow to be useful live. */
const MAX_AUDIO_DELAY_S = 2;
/** How long a stopping worker may take to release its frames and GPU before it is terminated. */
const STOP_WAIT_MS = 500;
/** How long to wait for AudioContext.resume() before reporting that autoplay holds it. */
const RESUME_WAIT_MS = 500;

export class LipsyncSession {
  readonly options: Required<Omit<SessionOptions, 'baseUrl'>> & { baseUrl: string };
  private listeners = new Map<keyof SessionEvents, Set<Listener<never>>>();
  private worker?: Worker;
  private audioCtx?: AudioContext;
  private delay?: DelayNode;
  private face?: FaceFeed;
  private audio?: AudioFeed;
  private generator?: MediaStreamTrack;
  private clockTimer?: ReturnType<typeof setInterval>;
  private nextRequestId = 1;
  private pendingModel = new Map<number, { resolve: (b: BackendInfo) => void; reject: (e: Error) => void }>();
  private pendingRecord = new Map<number, { resolve: (m: FromWorker) => void; reject: (e: Error) => void }>();
  /** The mel worklet: also taps the microphone audio for a recording. */
  private melNode?: AudioWorkletNode;
  private readyWaiter?: { resolve: (b: BackendInfo) => void; reject: (e: Error) => void };
  private startedAt = 0;
  /** Hands the camera, output and mel port to the worker once it is ready. */
  private startWorker?: () => void;
  /** Listeners on the input tracks, removed on stop. */
  private unwatch: (() => void)[] = [];
  /** Set once an input ended in this run: it is reported once. */
  private endedError?: LipsyncError;
  private healthState: AudioHealth['state'] = 'ok';
  private lastStats?: LiveStatus;
  outputStream?: MediaStream;
  backend?: BackendInfo;

  constructor(options: SessionOptions = {}) {
    const baseUrl = new URL(options.baseUrl ?? defaultBaseUrl(), globalThis.location?.href).href;
    this.options = {
      baseUrl,
      manifestUrl: new URL(options.manifestUrl ?? 'models/manifest.json', baseUrl).href,
      generatorBackend: options.generatorBackend ?? 'auto',
      landmarkBackend: options.landmarkBackend ?? 'auto',
      faceThread: options.faceThread ?? 'auto',
      pasteArea: options.pasteArea ?? 'mouth',
    };
  }

  on<K extends keyof SessionEvents>(type: K, fn: Listener<SessionEvents[K]>): () => void {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(fn as Listener<never>);
    return () => set!.delete(fn as Listener<never>);
  }

  protected emit<K extends keyof SessionEvents>(type: K, value: SessionEvents[K]): void {
    for (const fn of this.listeners.get(type) ?? []) (fn as Listener<SessionEvents[K]>)(value);
  }

  get running(): boolean {
    return this.worker !== undefined;
  }

  get audioContext(): AudioContext | undefined {
    return this.audioCtx;
  }

  /** The face source's own track (the camera, or the looping video), before lip-sync. */
  get faceTrack(): MediaStreamTrack | undefined {
    return this.face?.track;
  }

  /**
   * Opens the sources, starts the worker and resolves with the lip-synced output stream once the
   * generator is loaded. On any failure everything opened so far is released and the error thrown.
   */
  async run(sources: SessionSources): Promise<MediaStream> {
    if (this.worker || this.audioCtx) throw new Error('Session already running; stop it first.');
    const missing = missingLiveFeatures(globalThis, { devices: sources.usesDevices });
    if (missing) throw missing;
    // Create the AudioContext first, inside the user gesture that called start(), so it may run.
    const audioCtx = new AudioContext({ latencyHint: 'interactive' });
    this.audioCtx = audioCtx;
    this.startedAt = performance.now();
    this.endedError = undefined;
    this.healthState = 'ok';
    this.lastStats = undefined;
    try {
      this.progress({ step: 'sources', status: 'start' });
      this.face = await sources.face();
      if (this.audioCtx !== audioCtx) throw new LipsyncError('closed', 'Stopped while opening the face source.');
      this.audio = await sources.audio(audioCtx);
      if (this.audioCtx !== audioCtx) throw new LipsyncError('closed', 'Stopped while opening the audio source.');
      this.progress({ step: 'sources', status: 'done' });
      this.watchInputs(this.face, this.audio);
      await this.resume(audioCtx);
      const info = await this.startPipeline(audioCtx, this.face.track, this.audio.node);
      // An input that ended while starting fails the start (a live session on a dead camera would just freeze).
      if (this.endedError) throw this.endedError;
      this.backend = info;
      return this.outputStream!;
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  private watchInputs(face: FaceFeed, audio: AudioFeed): void {
    const handlers = {
      ended: (kind: InputKind) => this.inputEndedNow(kind),
      muted: (kind: InputKind, muted: boolean) => this.emit('device-muted', { kind, label: this.labelOf(kind), muted }),
    };
    this.unwatch.push(watchTrack(face.track, 'camera', handlers));
    if (audio.track) this.unwatch.push(watchTrack(audio.track, 'mic', handlers));
  }

  private labelOf(kind: InputKind): string {
    return kind === 'camera' ? (this.face?.label ?? 'camera') : (this.audio?.label ?? 'microphone');
  }

  /**
   * A live input ended (its 'ended' event, the worker seeing the frames end, or a dead track found on a health
   * report): reported once, as a fatal error once running (the owner stops the session), else it fails the start.
   */
  private inputEndedNow(kind: InputKind): void {
    if (this.endedError || !this.audioCtx) return;
    const err = new LipsyncError(kind === 'camera' ? 'camera-ended' : 'mic-ended', endedMessage(kind, this.labelOf(kind)), true);
    this.endedError = err;
    if (this.readyWaiter) {
      this.readyWaiter.reject(err);
      this.readyWaiter = undefined;
    } else if (this.backend) this.emit('error', { code: err.code, message: err.message, fatal: true });
  }

  /** Health reports of the audio thread (see audioHealth.ts); only changes of state are passed on. */
  private onWorkletMessage(msg: MelWorkletMessage): void {
    if (msg.type !== 'health' || !this.audio || !this.face) return;
    // A track stopped by page code fires no 'ended': its readyState is checked on every report instead.
    if (this.audio.track?.readyState === 'ended') {
      this.inputEndedNow('mic');
      return;
    }
    if (this.face.track.readyState === 'ended') {
      this.inputEndedNow('camera');
      return;
    }
    if (msg.state === this.healthState) return;
    this.healthState = msg.state;
    this.emitStats(); // the flag changes now, not at the worker's next report
    const { type: _type, ...health } = msg;
    if (this.audio.track) this.emit('audio-health', { ...health, label: this.labelOf('mic') });
  }

  private emitStats(): void {
    // "Lips driven by silence" comes from the audio thread's own measurement, never from main-thread timing.
    if (this.lastStats) this.emit('stats', { ...this.lastStats, audioStalled: this.healthState !== 'ok' });
  }

  /** Resumes audio; under an autoplay policy that holds it, carries on and says so (call resumeAudio() on a click). */
  private async resume(ctx: AudioContext): Promise<void> {
    const resumed = ctx.resume().then(
      () => true,
      () => false,
    );
    const ok = await Promise.race([resumed, new Promise<boolean>((r) => setTimeout(() => r(false), RESUME_WAIT_MS))]);
    if (!ok && ctx.state !== 'running') this.emit('audio-blocked', undefined);
  }

  /** Call from a user gesture when 'audio-blocked' was reported. */
  async resumeAudio(): Promise<boolean> {
    if (!this.audioCtx || this.audioCtx.state === 'closed') return false;
    await this.audioCtx.resume();
    return this.audioCtx.state === 'running';
  }

  private async startPipeline(audioCtx: AudioContext, videoTrack: MediaStreamTrack, source: AudioNode): Promise<BackendInfo> {
    const generator = new (breakoutBox().Generator)({ kind: 'video' });
    this.generator = generator;

    // Audio: source → mel worklet (features) and source → delay → output audio track.
    const workletUrl = melWorkletModuleUrl(this.options.baseUrl);
    try {
      await audioCtx.audioWorklet.addModule(workletUrl);
    } catch (e) {
      throw new LipsyncError('runtime-files', `The audio worklet could not be loaded from ${workletUrl} (${(e as Error).message}). Check the base URL.`);
    }
    const mel = new AudioWorkletNode(audioCtx, 'lipsync-mel', { numberOfInputs: 1, numberOfOutputs: 1, channelCount: 1, channelCountMode: 'explicit' });
    const sink = audioCtx.createGain();
    sink.gain.value = 0; // keeps the worklet pulled by the graph without playing anything
    mel.port.onmessage = (e: MessageEvent<MelWorkletMessage>) => this.onWorkletMessage(e.data);
    source.connect(mel).connect(sink).connect(audioCtx.destination);
    const delay = audioCtx.createDelay(MAX_AUDIO_DELAY_S);
    const out = audioCtx.createMediaStreamDestination();
    source.connect(delay).connect(out);
    this.delay = delay;
    this.melNode = mel;
    this.outputStream = new MediaStream([generator, ...out.stream.getAudioTracks()]);

    // One worker starts at a time on a page (see initQueue.ts); the slot is held until ready or failure.
    const release = await acquireStartSlot();
    let worker: Worker;
    try {
      if (this.audioCtx !== audioCtx) throw new LipsyncError('closed', 'Stopped while waiting to start.');
      worker = createInferenceWorker(this.options.baseUrl);
    } catch (e) {
      release();
      throw e instanceof LipsyncError
        ? e
        : new LipsyncError('runtime-files', `The inference worker could not be created from ${this.options.baseUrl}: ${(e as Error).message}`);
    }
    this.worker = worker;
    worker.onmessage = (e: MessageEvent<FromWorker>) => this.onWorkerMessage(e.data);
    worker.onerror = (e) => {
      e.preventDefault();
      const message = `Inference worker failed: ${e.message || `it could not start (is the worker file reachable under ${this.options.baseUrl}?)`}. Reload the page; if it persists, try the wasm backend.`;
      if (this.readyWaiter) {
        this.readyWaiter.reject(new LipsyncError('pipeline', message));
        this.readyWaiter = undefined;
      } else this.emit('error', { code: 'pipeline', message, fatal: true });
    };

    const channel = new MessageChannel();
    mel.port.postMessage({ type: 'connect', port: channel.port1 }, [channel.port1]);

    const config: WorkerConfig = {
      manifestUrl: this.options.manifestUrl,
      faceModelBaseUrl: new URL('models/face/', this.options.baseUrl).href,
      ortWasmBaseUrl: new URL('ort/', this.options.baseUrl).href,
      tfWasmBaseUrl: new URL('tfjs/', this.options.baseUrl).href,
      generatorBackend: this.options.generatorBackend,
      landmarkBackend: this.options.landmarkBackend,
      faceThread: this.options.faceThread,
      pasteArea: this.options.pasteArea,
    };
    const ready = new Promise<BackendInfo>((resolve, reject) => (this.readyWaiter = { resolve, reject }));
    ready.then(release, release);
    this.post({ type: 'init', config });
    this.postClock();
    this.clockTimer = setInterval(() => this.postClock(), 500);
    // Camera frames flow only once the worker can read them: frames queued while it loads the model would
    // be left unclosed if it is terminated (Cancel) in the middle of a long, blocking compile.
    // Mel blocks wait meanwhile in the port's queue, so the first frames have their past audio.
    this.startWorker = () => {
      const processor = new (breakoutBox().Processor)({ track: videoTrack });
      this.post({ type: 'start', readable: processor.readable, writable: generator.writable, melPort: channel.port2 }, [
        processor.readable as unknown as Transferable,
        generator.writable as unknown as Transferable,
        channel.port2,
      ]);
    };
    return ready;
  }

  /** Pairs AudioContext time with epoch time so the worker can find the audio for each video frame. */
  private postClock(): void {
    const ctx = this.audioCtx;
    if (!ctx || !this.worker) return;
    const ts = ctx.getOutputTimestamp?.();
    if (ts && ts.contextTime !== undefined && ts.performanceTime !== undefined && ts.performanceTime > 0) {
      this.post({ type: 'clock', contextTime: ts.contextTime, epochMs: performance.timeOrigin + ts.performanceTime });
    } else {
      this.post({ type: 'clock', contextTime: ctx.currentTime, epochMs: performance.timeOrigin + performance.now() });
    }
  }

  private progress(p: StartProgress): void {
    this.emit('progress', { ...p, elapsedMs: Math.round(performance.now() - this.startedAt) });
  }

  private post(msg: ToWorker, transfer: Transferable[] = []): void {
    this.worker?.postMessage(msg, transfer);
  }

  private onWorkerMessage(msg: FromWorker): void {
    switch (msg.type) {
      case 'ready':
        this.startWorker?.();
        this.startWorker = undefined;
        this.backend = msg.backend;
        this.readyWaiter?.resolve(msg.backend);
        this.readyWaiter = undefined;
        this.emit('ready', msg.backend);
        break;
      case 'stats':
        if (this.delay && this.audioCtx) {
          const target = Math.min(MAX_AUDIO_DELAY_S, msg.stats.audioDelayMs / 1000);
          // Short time constant: the tracker already slews; this only avoids clicks.
          this.delay.delayTime.setTargetAtTime(target, this.audioCtx.currentTime, 0.1);
        }
        this.lastStats = msg.stats;
        this.emitStats();
        break;
      case 'recording':
      case 'recorded':
        this.pendingRecord.get(msg.requestId)?.resolve(msg);
        this.pendingRecord.delete(msg.requestId);
        break;
      case 'model-changed': {
        this.backend = msg.backend;
        this.pendingModel.get(msg.requestId)?.resolve(msg.backend);
        this.pendingModel.delete(msg.requestId);
        this.emit('model-changed', msg.backend);
        break;
      }
      case 'error': {
        // The worker saw the camera's frames end: reported with the input's own wording, once.
        if (msg.code === 'camera-ended') {
          this.inputEndedNow('camera');
          break;
        }
        // An error answering a request rejects that request's promise; only the others become events.
        const err = new LipsyncError(msg.code, msg.message, msg.fatal);
        if (msg.requestId !== undefined && this.pendingRecord.has(msg.requestId)) {
          this.pendingRecord.get(msg.requestId)!.reject(err);
          this.pendingRecord.delete(msg.requestId);
        } else if (msg.requestId !== undefined && this.pendingModel.has(msg.requestId)) {
          this.pendingModel.get(msg.requestId)!.reject(err);
          this.pendingModel.delete(msg.requestId);
        } else if (this.readyWaiter && msg.fatal) {
          this.readyWaiter.reject(err);
          this.readyWaiter = undefined;
        } else {
          this.emit('error', { code: msg.code, message: msg.message, fatal: msg.fatal });
        }
        break;
      }
      case 'stopped':
        this.emit('stopped', undefined);
        break;
      case 'progress':
        this.progress(msg.progress);
        break;
    }
  }

  /** Swaps the generator in the running worker; the current one keeps running if the new one is rejected. */
  setModel(model: ModelInput): Promise<BackendInfo> {
    if (!this.worker) return Promise.reject(new Error('Start live mode before switching models.'));
    const requestId = this.nextRequestId++;
    const done = new Promise<BackendInfo>((resolve, reject) => this.pendingModel.set(requestId, { resolve, reject }));
    if ('manifestUrl' in model) {
      this.post({ type: 'set-model', requestId, manifestUrl: new URL(model.manifestUrl, this.options.baseUrl).href });
    } else {
      const copy = model.modelBytes.slice(0);
      this.post({ type: 'set-model', requestId, modelBytes: copy, manifest: model.manifest, label: model.label }, [copy]);
    }
    return done;
  }

  /**
   * Records the output until stop(): the generated frames and the microphone audio, encoded in the inference worker
   * with each frame stamped at the time of the audio its mouth came from, so the file is in sync by construction
   * (liveRecorder.ts). Resolves once recording has begun.
   */
  async record(): Promise<Recording> {
    const mel = this.melNode;
    if (!this.worker || !mel || !this.backend) throw new LipsyncError('record', 'Start live mode before recording.', false);
    const tap = (on: boolean) => mel.port.postMessage({ type: 'tap', on } satisfies ToMelWorklet);
    tap(true);
    try {
      await this.recordRequest('record-start');
    } catch (e) {
      tap(false);
      throw e;
    }
    let stopped: Promise<Blob> | undefined;
    return {
      mimeType: 'video/webm',
      stop: () =>
        (stopped ??= this.recordRequest('record-stop')
          .then((m) => {
            const r = m as Extract<FromWorker, { type: 'recorded' }>;
            // The live output never waits for the encoder; the file leaves frames out instead. Say so when it shows.
            const total = r.frames + r.framesSkipped;
            if (r.framesSkipped > 0.1 * total)
              this.emit('error', {
                code: 'record',
                message: `The recording left out ${r.framesSkipped} of ${total} frames: the video encoder could not keep up on this machine (the live output was not affected). Close other heavy tabs or apps and record again.`,
                fatal: false,
              });
            return new Blob([r.bytes], { type: 'video/webm' });
          })
          .finally(() => tap(false))),
    };
  }

  private recordRequest(type: 'record-start' | 'record-stop'): Promise<FromWorker> {
    if (!this.worker) return Promise.reject(new LipsyncError('record', 'The session has stopped; the recording is lost.', false));
    const requestId = this.nextRequestId++;
    const reply = new Promise<FromWorker>((resolve, reject) => this.pendingRecord.set(requestId, { resolve, reject }));
    this.post({ type, requestId });
    return reply;
  }

  async stop(): Promise<void> {
    for (const off of this.unwatch.splice(0)) off();
    if (this.clockTimer) clearInterval(this.clockTimer);
    this.clockTimer = undefined;
    const worker = this.worker;
    this.worker = undefined;
    // A stop during start (Cancel) ends the start now: a 'ready' arriving in the grace period below is ignored.
    if (worker && this.readyWaiter) worker.onmessage = null;
    this.readyWaiter?.reject(new LipsyncError('closed', 'Stopped.'));
    this.readyWaiter = undefined;
    if (worker) {
      // The worker says 'stopping' (it will no longer treat the face stream's end as a lost camera), the face
      // source ends, the worker closes the frames still on their way and its GPU resources and says 'stopped'.
      // One stuck in a long computation (a model still loading) is terminated regardless after STOP_WAIT_MS.
      const reply = (type: FromWorker['type']) =>
        new Promise<void>((r) =>
          worker.addEventListener('message', (e: MessageEvent<FromWorker>) => (e.data?.type === type || e.data?.type === 'stopped') && r()),
        );
      const stopping = reply('stopping');
      const stopped = reply('stopped');
      const deadline = new Promise((r) => setTimeout(r, STOP_WAIT_MS));
      worker.postMessage({ type: 'stop' } satisfies ToWorker);
      await Promise.race([stopping, deadline]);
      this.face?.close();
      await Promise.race([stopped, deadline]);
      worker.terminate();
    }
    for (const [, p] of this.pendingModel) p.reject(new LipsyncError('closed', 'Stopped before the model was swapped.'));
    this.pendingModel.clear();
    for (const [, p] of this.pendingRecord) p.reject(new LipsyncError('record', 'Stopped before the recording was finished.', false));
    this.pendingRecord.clear();
    this.melNode = undefined;
    this.face?.close();
    this.audio?.close();
    // The output's audio track outlives its AudioContext unless stopped: end the whole stream.
    for (const t of this.outputStream?.getTracks() ?? []) t.stop();
    this.generator?.stop();
    this.startWorker = undefined;
    this.face = this.audio = this.generator = undefined;
    this.outputStream = undefined;
    const ctx = this.audioCtx;
    this.audioCtx = undefined;
    this.delay = undefined;
    if (ctx && ctx.state !== 'closed') await ctx.close();
  }
}

// Chromium's breakout box (MediaStreamTrackProcessor/Generator). TypeScript's DOM lib types differ
// between versions, so we describe exactly what we use.
export interface TrackProcessor {
  readonly readable: ReadableStream<VideoFrame>;
}
export interface TrackGenerator extends MediaStreamTrack {
  readonly writable: WritableStream<VideoFrame>;
}
export function breakoutBox(): {
  Processor: new (init: { track: MediaStreamTrack; maxBufferSize?: number }) => TrackProcessor;
  Generator: new (init: { kind: 'video' | 'audio' }) => TrackGenerator;
} {
  const g = globalThis as unknown as Record<string, unknown>;
  return { Processor: g.MediaStreamTrackProcessor as never, Generator: g.MediaStreamTrackGenerator as never };
}
