/**
 * createLipsync(): the library's controller around one LipsyncSession. It turns the public inputs
 * (face/audio/model in their many forms) into session sources, reports everything as DOM events and
 * never leaves a rejected promise of its own unhandled: failures fire `error`, and the promise the
 * caller holds rejects with the same message.
 */
import type {
  LipsyncBackend,
  LipsyncBackendInfo,
  LipsyncController,
  LipsyncErrorCode,
  LipsyncErrorDetail,
  LipsyncAudio,
  LipsyncFace,
  LipsyncLandmarkBackend,
  LipsyncModel,
  LipsyncOptions,
  LipsyncProgress,
  LipsyncState,
  LipsyncStats,
} from './api.ts';
import { LipsyncError, toErrorDetail } from '../client/errors.ts';
import { openAudioSource, MICROPHONE } from '../client/audioSources.ts';
import { CAMERA, openFaceSource } from '../client/faceSources.ts';
import { fetchMedia, resolveUserUrl } from '../client/fetchMedia.ts';
import { readModelFile } from '../client/modelFile.ts';
import { DEFAULT_MAX_MODEL_BYTES } from '../engine/generator/validate.ts';
import { mutedMessage, silenceMessage } from '../client/deviceWatch.ts';
import { LipsyncSession, type ModelInput, type SessionProgress } from '../client/session.ts';
import type { BackendInfo, LiveStatus } from '../workers/protocol.ts';

// The engine's types must fit the public ones (checked here, at compile time; the error codes are
// the public union itself, see src/client/errors.ts).
const publicStats = (s: LiveStatus): LipsyncStats => s;
const publicBackend = (b: BackendInfo): LipsyncBackendInfo => b;
const publicProgress = (p: SessionProgress): LipsyncProgress => p;

const isKeyword = (v: unknown, word: string) => typeof v === 'string' && v.trim().toLowerCase() === word;

/** A manifest URL is given to the worker; an .onnx URL or bytes replace the model after it starts. */
type ResolvedModel =
  | { kind: 'manifest'; url: string }
  | { kind: 'onnx-url'; url: string }
  | { kind: 'bytes'; input: Extract<ModelInput, { modelBytes: ArrayBuffer }> };

function resolveModel(model: LipsyncModel): ResolvedModel {
  if (typeof model === 'string' || model instanceof URL) {
    const url = resolveUserUrl(model, 'model');
    return /\.onnx$/i.test(new URL(url).pathname) ? { kind: 'onnx-url', url } : { kind: 'manifest', url };
  }
  const toBuffer = (b: ArrayBuffer | Uint8Array): ArrayBuffer =>
    b instanceof Uint8Array ? (b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer) : b;
  if (model instanceof ArrayBuffer || model instanceof Uint8Array) return { kind: 'bytes', input: { modelBytes: toBuffer(model), label: 'custom model' } };
  if (model && typeof model === 'object' && 'onnx' in model) {
    return { kind: 'bytes', input: { modelBytes: toBuffer(model.onnx), manifest: model.manifest, label: model.label ?? 'custom model' } };
  }
  throw new LipsyncError('bad-model', 'Unsupported model: give the URL of a manifest.json or .onnx file, or the ONNX bytes (ArrayBuffer/Uint8Array).', false);
}

const BACKENDS: readonly string[] = ['auto', 'webgpu', 'wasm'] satisfies LipsyncBackend[];
const LANDMARK_BACKENDS: readonly string[] = ['auto', 'webgpu', 'webgl', 'wasm', 'cpu'] satisfies LipsyncLandmarkBackend[];

/** URL.canParse without needing Chromium 120. */
function parses(url: string): boolean {
  try {
    return Boolean(new URL(url, globalThis.document?.baseURI ?? globalThis.location?.href));
  } catch {
    return false;
  }
}

/** Options the session would otherwise ignore (an unknown backend), spin on (fps 0) or throw from (an unparsable baseUrl) fail here, by name. */
function checkOptions(o: LipsyncOptions | undefined): void {
  const bad = (message: string) => new LipsyncError('bad-option', message);
  if (!o || typeof o !== 'object') throw bad('createLipsync() needs an options object: createLipsync({ face, audio }).');
  if (o.backend !== undefined && !BACKENDS.includes(o.backend)) {
    throw bad(`Unknown backend ${JSON.stringify(o.backend)}: use ${BACKENDS.map((b) => `"${b}"`).join(', ')}.`);
  }
  if (o.landmarks !== undefined && !LANDMARK_BACKENDS.includes(o.landmarks)) {
    throw bad(`Unknown landmarks backend ${JSON.stringify(o.landmarks)}: use ${LANDMARK_BACKENDS.map((b) => `"${b}"`).join(', ')}.`);
  }
  if (o.paste !== undefined && o.paste !== 'mouth' && o.paste !== 'face') {
    throw bad(`Unknown paste area ${JSON.stringify(o.paste)}: use "mouth" (the skin speech moves, the default) or "face" (the whole lower face).`);
  }
  if (o.baseUrl !== undefined && !parses(String(o.baseUrl))) {
    throw bad(`baseUrl ${JSON.stringify(String(o.baseUrl))} is not a valid URL: give the folder that holds lipsync.js and its runtime files.`);
  }
  if (o.fps !== undefined && !(typeof o.fps === 'number' && o.fps > 0 && o.fps <= 120)) {
    throw bad(`fps must be a number above 0 and at most 120 (got ${JSON.stringify(o.fps)}); the generator was trained at 25.`);
  }
}

class Lipsync extends EventTarget implements LipsyncController {
  private session?: LipsyncSession;
  private starting?: Promise<void>;
  private _state: LipsyncState = 'idle';
  private _stats: LipsyncStats | null = null;
  private _backend: LipsyncBackendInfo | null = null;
  private model: LipsyncModel | undefined;
  private recording?: { done: Promise<Blob> };
  /** Errors already dispatched for the current start, so a failure reported twice fires once. */
  private reported = new Set<string>();
  /** Face and audio in use (setSources() replaces them). */
  private readonly sources: { face: LipsyncFace; audio: LipsyncAudio };
  /** Set when a device ending stopped the avatar: new sources, or a device appearing, restart it. */
  private deviceEnded?: 'camera-ended' | 'mic-ended';

  constructor(private readonly options: LipsyncOptions) {
    super();
    this.model = options?.model;
    this.sources = { face: options?.face, audio: options?.audio };
  }

  get state(): LipsyncState {
    return this._state;
  }
  get stats(): LipsyncStats | null {
    return this._stats;
  }
  get backend(): LipsyncBackendInfo | null {
    return this._backend;
  }
  get outputStream(): MediaStream | null {
    return this._state === 'running' ? (this.session?.outputStream ?? null) : null;
  }
  get faceTrack(): MediaStreamTrack | null {
    return this._state === 'running' ? (this.session?.faceTrack ?? null) : null;
  }

  private setState(state: LipsyncState): void {
    if (this._state === state) return;
    this._state = state;
    this.dispatchEvent(new CustomEvent('statechange', { detail: state }));
  }

  private report(detail: { code: string; message: string; fatal: boolean }): LipsyncErrorDetail {
    const out: LipsyncErrorDetail = { code: detail.code as LipsyncErrorCode, message: detail.message, fatal: detail.fatal };
    const key = `${out.code}\n${out.message}`;
    if (!this.reported.has(key)) {
      this.reported.add(key);
      this.dispatchEvent(new CustomEvent('error', { detail: out }));
    }
    return out;
  }

  /** Reports and returns a rejected promise whose rejection is marked handled for callers who ignore it. */
  private fail<T>(err: unknown, fatal?: boolean): Promise<T> {
    const d = toErrorDetail(err);
    const detail = this.report({ ...d, fatal: fatal ?? d.fatal });
    return handled(Promise.reject(new LipsyncError(detail.code, detail.message, detail.fatal)));
  }

  start(): Promise<void> {
    if (this._state === 'closed') return this.fail(new LipsyncError('closed', 'This avatar was closed; create a new one.'));
    if (this._state === 'running') return Promise.resolve();
    this.starting ??= handled(this.run().finally(() => (this.starting = undefined)));
    return this.starting;
  }

  private async run(): Promise<void> {
    this.reported.clear();
    this.setState('starting');
    let model: ResolvedModel | undefined;
    try {
      checkOptions(this.options);
      model = this.model === undefined ? undefined : resolveModel(this.model);
    } catch (e) {
      this.setState('idle');
      return this.fail(e, true);
    }
    const { face, audio } = this.sources;
    const session = new LipsyncSession({
      baseUrl: this.options.baseUrl === undefined ? undefined : String(this.options.baseUrl),
      manifestUrl: model?.kind === 'manifest' ? model.url : undefined,
      generatorBackend: this.options.backend,
      landmarkBackend: this.options.landmarks,
      pasteArea: this.options.paste,
    });
    this.session = session;
    session.on('stats', (s) => {
      this._stats = publicStats(s);
      this.dispatchEvent(new CustomEvent('stats', { detail: this._stats }));
    });
    session.on('model-changed', (b) => (this._backend = publicBackend(b)));
    session.on('progress', (p) => {
      if (this.session !== session) return;
      const detail = publicProgress(p);
      this.options.onProgress?.(detail);
      this.dispatchEvent(new CustomEvent('progress', { detail }));
    });
    session.on('audio-blocked', () =>
      this.report({
        code: 'audio-blocked',
        message: 'The browser holds audio until you interact with the page: click the avatar (or call resumeAudio() from a click) to start it.',
        fatal: false,
      }),
    );
    session.on('error', (e) => {
      if (this.session !== session) return;
      const ended = e.code === 'camera-ended' || e.code === 'mic-ended' ? e.code : undefined;
      this.report(ended ? { ...e, message: `${e.message} ${this.recoveryHint(ended)}` } : e);
      // A fatal error after start (the face track ended, the worker died) stops the avatar (a recording is finished).
      if (e.fatal && this._state === 'running') void this.halt(ended);
    });
    // Live-input warnings repeat per episode (not deduplicated like start errors): each is news to the page.
    session.on('audio-health', (h) => {
      if (this.session === session && h.state !== 'ok') this.warn('audio-silent', silenceMessage(h.label, h));
    });
    session.on('device-muted', (m) => {
      if (this.session === session && m.muted) this.warn(m.kind === 'camera' ? 'camera-muted' : 'mic-muted', mutedMessage(m.kind, m.label));
    });
    try {
      await session.run({
        usesDevices: isKeyword(face, CAMERA) || isKeyword(audio, MICROPHONE),
        face: () => openFaceSource(face, { fps: this.options.fps }),
        audio: (ctx) => openAudioSource(audio, ctx),
      });
      if (model?.kind === 'onnx-url' || model?.kind === 'bytes') await session.setModel(await this.modelInput(model));
      if (this.session !== session) throw new LipsyncError('closed', 'Stopped while starting.');
      this._backend = session.backend ? publicBackend(session.backend) : null;
      this.setDeviceEnded(undefined);
      this.setState('running');
      this.dispatchEvent(new CustomEvent('ready', { detail: this._backend }));
    } catch (e) {
      const stoppedByCaller = this.session !== session;
      if (!stoppedByCaller) {
        this.session = undefined;
        await session.stop();
        this.setState('idle');
      }
      // stop() during start: whatever it interrupted (a closed AudioContext, a terminated worker) is no error.
      if (stoppedByCaller) throw new LipsyncError('closed', 'Stopped while starting.');
      return this.fail(e, true);
    }
  }

  private async modelInput(model: Exclude<ResolvedModel, { kind: 'manifest' }>): Promise<ModelInput> {
    if (model.kind === 'bytes') return model.input;
    const blob = await fetchMedia(model.url, 'model', undefined, DEFAULT_MAX_MODEL_BYTES);
    return { modelBytes: await readModelFile(blob, model.url), label: decodeURIComponent(new URL(model.url).pathname.split('/').pop() ?? 'model.onnx') };
  }

  setModel(model: LipsyncModel): Promise<void> {
    return handled(this.applyModel(model));
  }

  private async applyModel(model: LipsyncModel): Promise<void> {
    if (this._state === 'closed') return this.fail(new LipsyncError('closed', 'This avatar was closed; create a new one.'));
    let resolved: ResolvedModel;
    try {
      resolved = resolveModel(model);
    } catch (e) {
      return this.fail(e, false);
    }
    if (this.starting) await this.starting.catch(() => undefined);
    const session = this.session;
    if (this._state !== 'running' || !session) {
      this.model = model; // loaded by the next start()
      return;
    }
    try {
      const input = resolved.kind === 'manifest' ? { manifestUrl: resolved.url } : await this.modelInput(resolved);
      const backend = await session.setModel(input);
      this._backend = publicBackend(backend);
      this.model = model;
    } catch (e) {
      const d = toErrorDetail(e, 'bad-model');
      return this.fail(new LipsyncError(d.code as LipsyncErrorCode, `${d.message} The previous model keeps running.`, false), false);
    }
  }

  record(durationMs?: number): Promise<Blob> {
    const session = this.session;
    if (!session || !this.outputStream) return this.fail(new LipsyncError('record', 'Start the avatar before recording.', false));
    if (this.recording) return this.fail(new LipsyncError('record', 'Already recording; call stopRecording() first.', false));
    let finish!: () => void;
    const stopped = new Promise<void>((r) => (finish = r));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const recorded = session.record().then(async (recording) => {
      // The duration counts from when recording has begun (the worker first readies its encoders).
      if (durationMs !== undefined && durationMs > 0) timer = setTimeout(finish, durationMs);
      await stopped;
      return recording.stop();
    });
    const done = handled(
      recorded.catch((e: unknown) => this.fail<Blob>(new LipsyncError('record', (e as Error).message, false))).finally(() => (this.recording = undefined)),
    );
    this.recording = { done };
    this.stopRecordingNow = () => {
      clearTimeout(timer);
      finish();
    };
    return done;
  }

  private stopRecordingNow?: () => void;

  stopRecording(): void {
    this.stopRecordingNow?.();
    this.stopRecordingNow = undefined;
  }

  resumeAudio(): Promise<boolean> {
    return this.session?.resumeAudio().catch(() => false) ?? Promise.resolve(false);
  }

  private warn(code: LipsyncErrorCode, message: string): void {
    this.dispatchEvent(new CustomEvent('error', { detail: { code, message, fatal: false } satisfies LipsyncErrorDetail }));
  }

  /** What to do after a device ended, for the source this avatar has. */
  private recoveryHint(code: 'camera-ended' | 'mic-ended'): string {
    if (code === 'camera-ended') {
      return isKeyword(this.sources.face, CAMERA)
        ? 'Plug a camera in (the avatar restarts when one appears), or call start() to reopen the camera.'
        : 'Give the avatar a new face with setSources({ face }) (the element: its face property) to continue.';
    }
    return isKeyword(this.sources.audio, MICROPHONE)
      ? 'Plug a microphone in (the avatar restarts when one appears), or call start() to reopen the microphone.'
      : 'Give the avatar new audio with setSources({ audio }) (the element: its audio property) to continue.';
  }

  /** While stopped by a device ending, a device appearing restarts an avatar that opens its devices itself. */
  private setDeviceEnded(code: 'camera-ended' | 'mic-ended' | undefined): void {
    const devices = globalThis.navigator?.mediaDevices;
    if (code && !this.deviceEnded) devices?.addEventListener?.('devicechange', this.onDeviceChange);
    if (!code && this.deviceEnded) devices?.removeEventListener?.('devicechange', this.onDeviceChange);
    this.deviceEnded = code;
  }

  private readonly onDeviceChange = (): void => {
    const ended = this.deviceEnded;
    if (this._state !== 'idle' || !ended) return;
    const reopens = ended === 'camera-ended' ? isKeyword(this.sources.face, CAMERA) : isKeyword(this.sources.audio, MICROPHONE);
    if (reopens) void this.start().catch(() => undefined); // a failure fires 'error'; the next devicechange tries again
  };

  setSources(sources: { face?: LipsyncFace; audio?: LipsyncAudio }): Promise<void> {
    return handled(this.replaceSources(sources));
  }

  private async replaceSources(sources: { face?: LipsyncFace; audio?: LipsyncAudio }): Promise<void> {
    if (this._state === 'closed') return this.fail(new LipsyncError('closed', 'This avatar was closed; create a new one.'));
    if (!sources || typeof sources !== 'object') {
      return this.fail(new LipsyncError('bad-option', 'setSources() takes an object: setSources({ face, audio }) (either may be left out).', false), false);
    }
    if (sources.face !== undefined) this.sources.face = sources.face;
    if (sources.audio !== undefined) this.sources.audio = sources.audio;
    if (this.starting) await this.starting.catch(() => undefined);
    const restart = this._state === 'running' || this.deviceEnded !== undefined;
    if (!restart) return;
    if (this._state === 'running') await this.stop();
    return this.start();
  }

  stop(): Promise<void> {
    return this.halt(undefined);
  }

  /** Stops; `ended` keeps the avatar ready to recover (new sources or a device appearing restart it). */
  private async halt(ended: 'camera-ended' | 'mic-ended' | undefined): Promise<void> {
    this.setDeviceEnded(ended);
    const session = this.session;
    this.session = undefined;
    if (this.recording) {
      const done = this.recording.done;
      this.stopRecording();
      await done.catch(() => undefined);
    }
    if (session) await session.stop();
    if (this._state !== 'closed') this.setState('idle');
  }

  async close(): Promise<void> {
    await this.stop();
    this.setState('closed');
  }
}

/** Marks a promise's rejection as handled (callers who ignore it see no unhandledrejection; awaiting it still throws). */
function handled<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

export function createLipsync(options: LipsyncOptions): LipsyncController {
  // A missing options object is reported on start() (checkOptions), like every other bad input: no throw from the factory.
  return new Lipsync(options);
}
