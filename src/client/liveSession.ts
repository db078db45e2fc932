/**
 * LiveSession: the main-thread side of live lip-sync, shaped like a track processor.
 *
 * camera track ──MediaStreamTrackProcessor──► (readable, transferred) ─┐
 * mic ─► AudioWorklet 'lipsync-mel' ─► mel blocks (MessagePort) ──────►│ inference worker
 *                                                                     │  landmarks → crop → ONNX → paste
 * output ◄──MediaStreamTrackGenerator◄── (writable, transferred) ◄─────┘
 * mic ─► DelayNode (measured pipeline latency) ─► output audio track
 *
 * The main thread only wires streams and relays small status messages; pixels never pass through it.
 */
import melWorkletUrl from '../workers/melWorklet.ts?worker&url';
import { describeMediaError, MediaAccessError, missingLiveFeatures } from './mediaErrors.ts';
import type { BackendChoice, BackendInfo, FromWorker, GeneratorBackend, LandmarkBackend, LiveStatus, ToWorker, WorkerConfig } from '../workers/protocol.ts';

export interface LiveSessionOptions {
  /** Where models and runtime files are served from (default: the page's directory). */
  baseUrl?: string;
  /** Generator manifest URL (default: `${baseUrl}models/manifest.json`). */
  manifestUrl?: string;
  generatorBackend?: BackendChoice<GeneratorBackend>;
  landmarkBackend?: BackendChoice<LandmarkBackend>;
}

export interface StartOptions {
  cameraId?: string;
  micId?: string;
}

export interface LiveSessionEvents {
  ready: BackendInfo;
  stats: LiveStatus;
  error: { code: string; message: string; fatal: boolean };
  'model-changed': BackendInfo;
  stopped: void;
}

type Listener<T> = (value: T) => void;

/** Maximum audio delay we can apply; beyond this the pipeline is too slow to be useful live. */
const MAX_AUDIO_DELAY_S = 2;

export class LiveSession {
  readonly options: Required<Omit<LiveSessionOptions, 'baseUrl'>> & { baseUrl: string };
  private listeners = new Map<keyof LiveSessionEvents, Set<Listener<never>>>();
  private worker?: Worker;
  private audioCtx?: AudioContext;
  private delay?: DelayNode;
  private camera?: MediaStream;
  private mic?: MediaStream;
  private generator?: MediaStreamTrack;
  private clockTimer?: ReturnType<typeof setInterval>;
  private nextRequestId = 1;
  private pendingModel = new Map<number, { resolve: (b: BackendInfo) => void; reject: (e: Error) => void }>();
  private readyWaiter?: { resolve: (b: BackendInfo) => void; reject: (e: Error) => void };
  outputStream?: MediaStream;
  backend?: BackendInfo;

  constructor(options: LiveSessionOptions = {}) {
    const baseUrl = new URL(options.baseUrl ?? './', globalThis.location?.href).href;
    this.options = {
      baseUrl,
      manifestUrl: new URL(options.manifestUrl ?? 'models/manifest.json', baseUrl).href,
      generatorBackend: options.generatorBackend ?? 'auto',
      landmarkBackend: options.landmarkBackend ?? 'auto',
    };
  }

  on<K extends keyof LiveSessionEvents>(type: K, fn: Listener<LiveSessionEvents[K]>): () => void {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(fn as Listener<never>);
    return () => set!.delete(fn as Listener<never>);
  }

  private emit<K extends keyof LiveSessionEvents>(type: K, value: LiveSessionEvents[K]): void {
    for (const fn of this.listeners.get(type) ?? []) (fn as Listener<LiveSessionEvents[K]>)(value);
  }

  get cameraStream(): MediaStream | undefined {
    return this.camera;
  }

  /** Opens camera and mic, starts the worker and returns the lip-synced output stream. */
  async start(opts: StartOptions = {}): Promise<MediaStream> {
    if (this.worker) throw new Error('Live session already running; stop it first.');
    const missing = missingLiveFeatures();
    if (missing) throw missing;
    // Create the AudioContext first, inside the user gesture that called start(), so it is allowed to run.
    const audioCtx = new AudioContext({ latencyHint: 'interactive' });
    this.audioCtx = audioCtx;
    try {
      this.camera = await openDevice('camera', {
        video: {
          deviceId: opts.cameraId ? { exact: opts.cameraId } : undefined,
          width: { ideal: 640 },
          height: { ideal: 480 },
          frameRate: { ideal: 30 },
        },
      });
      // Features need the raw signal: no echo cancellation / noise suppression / AGC.
      this.mic = await openDevice('mic', {
        audio: {
          deviceId: opts.micId ? { exact: opts.micId } : undefined,
          echoCancellation: false,
          noiseSuppression: false,
          autoGainControl: false,
        },
      });
      await audioCtx.resume();
      const info = await this.startPipeline(audioCtx, this.camera, this.mic);
      this.backend = info;
      return this.outputStream!;
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  private async startPipeline(audioCtx: AudioContext, camera: MediaStream, mic: MediaStream): Promise<BackendInfo> {
    const videoTrack = camera.getVideoTracks()[0];
    const processor = new (breakoutBox().Processor)({ track: videoTrack });
    const generator = new (breakoutBox().Generator)({ kind: 'video' });
    this.generator = generator;

    // Audio: mic → mel worklet (features) and mic → delay → output audio track.
    await audioCtx.audioWorklet.addModule(melWorkletUrl);
    const source = audioCtx.createMediaStreamSource(mic);
    const mel = new AudioWorkletNode(audioCtx, 'lipsync-mel', { numberOfInputs: 1, numberOfOutputs: 1, channelCount: 1, channelCountMode: 'explicit' });
    const sink = audioCtx.createGain();
    sink.gain.value = 0; // keeps the worklet pulled by the graph without playing anything
    source.connect(mel).connect(sink).connect(audioCtx.destination);
    const delay = audioCtx.createDelay(MAX_AUDIO_DELAY_S);
    const out = audioCtx.createMediaStreamDestination();
    source.connect(delay).connect(out);
    this.delay = delay;
    this.outputStream = new MediaStream([generator, ...out.stream.getAudioTracks()]);

    const worker = new Worker(new URL('../workers/inference.worker.ts', import.meta.url), { type: 'module', name: 'lipsync-inference' });
    this.worker = worker;
    worker.onmessage = (e: MessageEvent<FromWorker>) => this.onWorkerMessage(e.data);
    worker.onerror = (e) => {
      e.preventDefault();
      const message = `Inference worker failed: ${e.message || 'it could not start'}. Reload the page; if it persists, try ?backend=wasm.`;
      if (this.readyWaiter) {
        this.readyWaiter.reject(Object.assign(new Error(message), { code: 'pipeline' }));
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
    };
    const ready = new Promise<BackendInfo>((resolve, reject) => (this.readyWaiter = { resolve, reject }));
    this.post({ type: 'init', config });
    this.postClock();
    this.clockTimer = setInterval(() => this.postClock(), 500);
    this.post({ type: 'start', readable: processor.readable, writable: generator.writable, melPort: channel.port2 }, [
      processor.readable as unknown as Transferable,
      generator.writable as unknown as Transferable,
      channel.port2,
    ]);
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

  private post(msg: ToWorker, transfer: Transferable[] = []): void {
    this.worker?.postMessage(msg, transfer);
  }

  private onWorkerMessage(msg: FromWorker): void {
    switch (msg.type) {
      case 'ready':
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
        this.emit('stats', msg.stats);
        break;
      case 'model-changed': {
        this.backend = msg.backend;
        this.pendingModel.get(msg.requestId)?.resolve(msg.backend);
        this.pendingModel.delete(msg.requestId);
        this.emit('model-changed', msg.backend);
        break;
      }
      case 'error': {
        const err = new Error(msg.message) as Error & { code: string };
        err.code = msg.code;
        if (msg.requestId !== undefined && this.pendingModel.has(msg.requestId)) {
          this.pendingModel.get(msg.requestId)!.reject(err);
          this.pendingModel.delete(msg.requestId);
        } else if (this.readyWaiter && msg.fatal) {
          this.readyWaiter.reject(err);
          this.readyWaiter = undefined;
        }
        this.emit('error', { code: msg.code, message: msg.message, fatal: msg.fatal });
        break;
      }
      case 'stopped':
        this.emit('stopped', undefined);
        break;
    }
  }

  /** Swaps the generator in the running worker; the current one keeps running if the new one is rejected. */
  setModel(model: { manifestUrl: string } | { modelBytes: ArrayBuffer; manifest?: unknown; label?: string }): Promise<BackendInfo> {
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

  async stop(): Promise<void> {
    if (this.clockTimer) clearInterval(this.clockTimer);
    this.clockTimer = undefined;
    const worker = this.worker;
    this.worker = undefined;
    if (worker) {
      worker.postMessage({ type: 'stop' } satisfies ToWorker);
      // Give the worker a moment to release GPU resources, then terminate regardless.
      await new Promise((r) => setTimeout(r, 50));
      worker.terminate();
    }
    this.readyWaiter?.reject(new Error('Stopped.'));
    this.readyWaiter = undefined;
    for (const t of [...(this.camera?.getTracks() ?? []), ...(this.mic?.getTracks() ?? [])]) t.stop();
    this.generator?.stop();
    this.camera = this.mic = this.generator = undefined;
    this.outputStream = undefined;
    if (this.audioCtx && this.audioCtx.state !== 'closed') await this.audioCtx.close();
    this.audioCtx = undefined;
    this.delay = undefined;
  }
}

async function openDevice(kind: 'camera' | 'mic', constraints: MediaStreamConstraints): Promise<MediaStream> {
  try {
    return await navigator.mediaDevices.getUserMedia(constraints);
  } catch (err) {
    throw describeMediaError(err, kind);
  }
}

export { MediaAccessError };

// Chromium's breakout box (MediaStreamTrackProcessor/Generator). TypeScript's DOM lib types differ
// between versions, so we describe exactly what we use.
interface TrackProcessor {
  readonly readable: ReadableStream<VideoFrame>;
}
interface TrackGenerator extends MediaStreamTrack {
  readonly writable: WritableStream<VideoFrame>;
}
function breakoutBox(): {
  Processor: new (init: { track: MediaStreamTrack; maxBufferSize?: number }) => TrackProcessor;
  Generator: new (init: { kind: 'video' | 'audio' }) => TrackGenerator;
} {
  const g = globalThis as unknown as Record<string, unknown>;
  return { Processor: g.MediaStreamTrackProcessor as never, Generator: g.MediaStreamTrackGenerator as never };
}
