/**
 * The public surface of the Lipsync Live library (types only, self-contained: this file becomes the
 * shipped .d.ts). src/lib/lipsync.ts and src/lib/element.ts implement it; tsc checks that the
 * engine's own types fit these.
 */

/**
 * Where the face comes from.
 * - `"camera"`: the webcam; a `MediaStream` / video `MediaStreamTrack`; a `<video>` showing a stream;
 * - a video (URL, `Blob`, or a `<video>` playing a file): loops forward then backward (MuseTalk's
 *   avatar loop), the current frame being the reference;
 * - an image (URL, `Blob`, `ImageBitmap`, `<img>`, `<canvas>`): a still face.
 * URLs resolve against the page, are fetched with CORS and must be same-origin or send
 * `Access-Control-Allow-Origin`.
 */
export type LipsyncFace =
  | MediaStream
  | MediaStreamTrack
  | HTMLVideoElement
  | HTMLImageElement
  | HTMLCanvasElement
  | OffscreenCanvas
  | ImageBitmap
  | Blob
  | URL
  | string;

/** Where the audio comes from: `"microphone"`, a `MediaStream` / audio track, or an `AudioBuffer` or audio file (URL, `Blob`) that loops. */
export type LipsyncAudio = MediaStream | MediaStreamTrack | AudioBuffer | Blob | URL | string;

/**
 * A generator: the URL of its `manifest.json` (the ONNX file sits next to it), the URL of an `.onnx`
 * file or its bytes (these must fit the running model's contract, or come with their manifest).
 */
export type LipsyncModel = string | URL | ArrayBuffer | Uint8Array | { onnx: ArrayBuffer | Uint8Array; manifest?: unknown; label?: string };

export type LipsyncBackend = 'auto' | 'webgpu' | 'wasm';
export type LipsyncLandmarkBackend = 'auto' | 'webgpu' | 'webgl' | 'wasm' | 'cpu';
export type LipsyncPasteArea = 'mouth' | 'face';

export interface LipsyncOptions {
  face: LipsyncFace;
  audio: LipsyncAudio;
  /** Default: `models/manifest.json` under `baseUrl` (the shipped generator). */
  model?: LipsyncModel;
  /** Generator backend: WebGPU when the GPU is real, else wasm (`auto`, the default). */
  backend?: LipsyncBackend;
  /** Face tracker backend (default `auto`). */
  landmarks?: LipsyncLandmarkBackend;
  /**
   * What the output replaces: `'mouth'` (default) the skin speech moves — lips, philtrum, the cheeks beside the
   * corners and the chin — keeping the camera's own cheeks; `'face'` the whole face below the nose.
   */
  paste?: LipsyncPasteArea;
  /**
   * Folder holding the library's runtime files: `lipsync-worker.js`, `lipsync-mel-worklet.js`,
   * `models/`, `ort/`, `tfjs/`. Default: the folder `lipsync.js` was loaded from.
   */
  baseUrl?: string | URL;
  /** Frame rate of a video or image face (default 25, the rate the generator was trained at). */
  fps?: number;
  /** Called for every start step, like the `progress` event (e.g. to draw a download bar). */
  onProgress?: (progress: LipsyncProgress) => void;
}

/**
 * A start, step by step: `sources` (face and audio open), `model` (the generator downloads; `loaded` /
 * `total` bytes), `face-model` (face tracker loads and warms up), `generator` (session on its backend),
 * `warmup` (first run of the generator), then, after `ready`, `first-frame` (the first frame reached the output).
 */
export type LipsyncProgressStep = 'sources' | 'model' | 'face-model' | 'generator' | 'warmup' | 'first-frame';

export interface LipsyncProgress {
  step: LipsyncProgressStep;
  status: 'start' | 'progress' | 'done';
  /** Bytes received and expected while the model downloads (`total` is missing when the server sends no length). */
  loaded?: number;
  total?: number;
  /** Extra words, e.g. the backend ("on wasm"). */
  detail?: string;
  /** Milliseconds since start(). */
  elapsedMs: number;
}

export interface LipsyncBackendInfo {
  generator: 'webgpu' | 'wasm';
  /** Why the generator runs where it does (e.g. "software WebGPU adapter: wasm is faster"). */
  generatorReason?: string;
  landmarks: 'webgpu' | 'webgl' | 'wasm' | 'cpu';
  landmarksReason?: string;
  /** Face tracking runs on its own thread, beside the generator (false: the browser allowed no nested worker). */
  landmarksOwnThread?: boolean;
  modelName: string;
  threads: number;
}

export interface LipsyncStageTiming {
  /** Milliseconds, mean over the recent frames. */
  mean: number;
  p95: number;
}

export interface LipsyncStats {
  /** Output frames per second. */
  fps: number;
  framesIn: number;
  framesOut: number;
  /** Frames that never reached the output (replaced while waiting, or too late for their audio). */
  dropped: number;
  /** Frames the camera produced (read + dropped by the browser before they could be read); live camera only. */
  framesOffered?: number;
  /** `dropped` by reason: camera (browser queue), superseded (a newer frame came), stale (its audio came too late), queue-full, failed (an error). */
  droppedBy?: { camera: number; superseded: number; stale: number; 'queue-full': number; failed: number };
  /** Frames taken from the camera and not yet output or dropped: framesOffered ≈ framesOut + dropped + inFlight. */
  inFlight?: number;
  /** Frames without a face (passed through unchanged). */
  noFace: number;
  /** Delay applied to the output's audio so lips and sound stay in sync (= measured latency). */
  audioDelayMs: number;
  faceVisible: boolean;
  /**
   * How far this person's mouth opens (median and 90th percentile of the inner-lip gap as a fraction of the face
   * crop) over the last 10 s of camera frames; null until 25 faces with an opening mouth have been seen. Generators
   * with the articulation input speak with this range instead of a typical person's.
   */
  articulation?: [number, number] | null;
  /**
   * How far the generated mouth is moved so that it sits where this person's own mouth is (fraction of the face crop,
   * + = right / down): learnt from the output itself, read back every few frames. [0, 0] until it is known.
   */
  mouthShift?: [number, number] | null;
  /**
   * How far the generated mouth opens, against the generator as trained: 1 until this person has been seen to open
   * less than it (learnt from the output and the camera, while both mouths move together); null when the generator
   * has no such control.
   */
  openingGain?: number | null;
  /**
   * Lips are driven by silence: the live audio (microphone or stream) delivered only digital silence for a few
   * seconds, or none reached the pipeline in time. Measured on the audio thread, so a busy page does not set it.
   */
  audioStalled: boolean;
  /** Per-stage timings: capture, landmarks, crop, inference, blend, total. */
  stages: Record<string, LipsyncStageTiming>;
}

/**
 * Every code an error can carry. The library's engine takes its codes from this union
 * (src/client/errors.ts), so this is the one list of them.
 */
export type LipsyncErrorCode =
  /** No face source was given. */
  | 'face-missing'
  /** The face source is of a kind the library cannot read (or a MediaStream without video). */
  | 'face-unsupported'
  /** The face URL could not be downloaded (HTTP error, network, CORS). */
  | 'face-fetch'
  /** The face file is neither an image nor a video this browser can decode. */
  | 'face-decode'
  /** The face video/image is cross-origin without CORS: its pixels cannot be read. */
  | 'face-tainted'
  | 'audio-missing'
  | 'audio-unsupported'
  | 'audio-fetch'
  | 'audio-decode'
  /** The browser keeps audio suspended until the user interacts with the page. */
  | 'audio-blocked'
  /** The worker or worklet script could not be loaded from the base URL. */
  | 'runtime-files'
  /** An option of createLipsync() (or an attribute of the element) has a value it does not take. */
  | 'bad-option'
  | 'record'
  | 'closed'
  | 'camera-denied'
  | 'mic-denied'
  | 'no-camera'
  | 'no-mic'
  | 'camera-busy'
  | 'mic-busy'
  | 'insecure-context'
  | 'unsupported-browser'
  | 'device-error'
  | 'bad-model'
  | 'model-fetch'
  | 'face-model'
  | 'webgpu-lost'
  | 'pipeline'
  /** The face track ended while running (camera unplugged or taken by another application, or the track stopped): fatal, the avatar stopped. Give a new face, or start() again to reopen the camera. */
  | 'camera-ended'
  /** The audio track ended while running (microphone unplugged, or the track stopped): fatal. Give new audio, or start() again to reopen the microphone. */
  | 'mic-ended'
  /** The camera / microphone is paused by the system or another application (track muted); not fatal, it resumes by itself. */
  | 'camera-muted'
  | 'mic-muted'
  /** The live audio (microphone or stream) delivered only digital silence for a few seconds, measured on the audio thread; not fatal. */
  | 'audio-silent'
  /** renderLipsync(): a file that is not a video, image or audio file this browser can read. */
  | 'render-not-media'
  /** renderLipsync(): the face file has no picture (e.g. an audio file). */
  | 'render-no-video'
  /** renderLipsync(): the audio file has no sound track. */
  | 'render-no-audio'
  /** renderLipsync(): the audio track is digital silence. */
  | 'render-silent-audio'
  /** renderLipsync(): no face in any frame of the face video or image. */
  | 'render-no-face'
  /** renderLipsync(): a codec this browser cannot decode or encode. */
  | 'render-codec'
  | 'render-too-large'
  | 'render-cancelled'
  | 'render-failed';

/** A step of renderLipsync(): `rendering` counts output frames (`done` of `total`) with an estimate of the time left. */
export interface LipsyncRenderProgress {
  stage: 'loading' | 'decoding-audio' | 'rendering' | 'encoding-audio';
  done: number;
  total: number;
  /** Milliseconds left at the pace so far (NaN until the first frame). */
  etaMs: number;
  /** Output frames where a face was found and a new mouth painted. */
  facesFound: number;
}

/**
 * renderLipsync(): dub a video file (not in real time). Every frame of `face` at its own frame rate, driven by
 * `audio`; the result is as long as the audio (a shorter video loops forward and backward; a longer one stops
 * with the audio unless `tail` is `"keep"`). An image face gives a video of the still face talking.
 */
export interface LipsyncRenderOptions {
  /** A video (MP4, WebM, MOV) or image file, or its URL. */
  face: Blob | URL | string;
  /** The speech: an audio file (WAV, MP3, M4A, Opus, FLAC) or a video with sound, or its URL. */
  audio: Blob | URL | string;
  model?: LipsyncModel;
  backend?: LipsyncBackend;
  landmarks?: LipsyncLandmarkBackend;
  paste?: LipsyncPasteArea;
  baseUrl?: string | URL;
  tail?: 'stop' | 'keep';
  /** Render only the first seconds (a preview). */
  maxSeconds?: number;
  onProgress?: (progress: LipsyncRenderProgress) => void;
  /** Abort to cancel: the promise rejects with code `render-cancelled` and nothing is kept. */
  signal?: AbortSignal;
}

export interface LipsyncErrorDetail {
  code: LipsyncErrorCode;
  /** What went wrong and what to do about it, for people. */
  message: string;
  /** True when the avatar stopped; false when it keeps running (e.g. a rejected model swap). */
  fatal: boolean;
}

/** idle → starting → running → (stop) idle; close() → closed for good. */
export type LipsyncState = 'idle' | 'starting' | 'running' | 'closed';

export interface LipsyncEventMap {
  /** The generator is loaded and frames flow; detail: which backends run. */
  ready: CustomEvent<LipsyncBackendInfo>;
  /** About 4 times a second while running. */
  stats: CustomEvent<LipsyncStats>;
  error: CustomEvent<LipsyncErrorDetail>;
  statechange: CustomEvent<LipsyncState>;
  /** Each start step as it begins, advances and ends (see LipsyncProgress). */
  progress: CustomEvent<LipsyncProgress>;
}

type Listener<This, E> = ((this: This, ev: E) => unknown) | { handleEvent(ev: E): unknown };

export interface LipsyncController extends EventTarget {
  readonly state: LipsyncState;
  /** The latest statistics (null before the first report). */
  readonly stats: LipsyncStats | null;
  readonly backend: LipsyncBackendInfo | null;
  /** The lip-synced video + the source audio delayed to match (null unless running). */
  readonly outputStream: MediaStream | null;
  /** The face before lip-sync (the looping video, the still or the camera), null unless running. */
  readonly faceTrack: MediaStreamTrack | null;
  /** Opens the sources, loads the model and starts; rejects (and fires `error`) on failure. */
  start(): Promise<void>;
  /** Stops and releases camera, microphone, worker and audio; start() may be called again. */
  stop(): Promise<void>;
  /** Swaps the generator while running (the current one keeps going if the new one is rejected); before start, sets the one to load. */
  setModel(model: LipsyncModel): Promise<void>;
  /** Records the output as WebM: for `durationMs`, or until stopRecording() or stop(). */
  record(durationMs?: number): Promise<Blob>;
  stopRecording(): void;
  /** Resumes audio held by the browser's autoplay policy; call from a click. */
  resumeAudio(): Promise<boolean>;
  /**
   * Replaces the face and/or the audio. While running, or after a device ended (`camera-ended`, `mic-ended`),
   * the avatar (re)starts with them; otherwise the next start() uses them. Resolves once running (or stored).
   */
  setSources(sources: { face?: LipsyncFace; audio?: LipsyncAudio }): Promise<void>;
  /** Stops for good. */
  close(): Promise<void>;
  addEventListener<K extends keyof LipsyncEventMap>(
    type: K,
    listener: Listener<LipsyncController, LipsyncEventMap[K]> | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof LipsyncEventMap>(
    type: K,
    listener: Listener<LipsyncController, LipsyncEventMap[K]> | null,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
}

export type LipsyncAvatarEventMap = Omit<HTMLElementEventMap, 'error'> & LipsyncEventMap;

/**
 * `<lipsync-avatar face="…" audio="…" model="…" backend="…" base-url="…" autoplay muted>`.
 * Attributes and properties reflect each other; `face` and `audio` also take objects (a MediaStream,
 * an AudioBuffer, …) as properties. Fires the controller's events (`ready`, `stats`, `error`,
 * `statechange`); shows errors in itself. Size it with CSS (default 320×320; the video covers it,
 * `--lipsync-object-fit: contain` letterboxes instead).
 */
export interface LipsyncAvatarElement extends HTMLElement {
  face: LipsyncFace | null;
  audio: LipsyncAudio | null;
  model: string | null;
  backend: LipsyncBackend;
  landmarks: LipsyncLandmarkBackend;
  /** The `paste` attribute: 'mouth' (default) or 'face'. */
  paste: LipsyncPasteArea;
  baseUrl: string | null;
  autoplay: boolean;
  muted: boolean;
  readonly controller: LipsyncController | null;
  readonly state: LipsyncState;
  readonly stats: LipsyncStats | null;
  readonly outputStream: MediaStream | null;
  /** The last error shown (null after a successful start). */
  readonly lastError: LipsyncErrorDetail | null;
  start(): Promise<void>;
  stop(): Promise<void>;
  setModel(model: LipsyncModel): Promise<void>;
  record(durationMs?: number): Promise<Blob>;
  stopRecording(): void;
  addEventListener<K extends keyof LipsyncAvatarEventMap>(
    type: K,
    listener: Listener<LipsyncAvatarElement, LipsyncAvatarEventMap[K]> | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof LipsyncAvatarEventMap>(
    type: K,
    listener: Listener<LipsyncAvatarElement, LipsyncAvatarEventMap[K]> | null,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
}

export interface LipsyncAvatarElementConstructor {
  new (): LipsyncAvatarElement;
  readonly prototype: LipsyncAvatarElement;
  readonly observedAttributes: readonly string[];
}

declare global {
  interface HTMLElementTagNameMap {
    'lipsync-avatar': LipsyncAvatarElement;
  }
}

/** What start(), setModel() and record() reject with (the same detail the `error` event carries). */
export interface LipsyncError extends Error {
  readonly code: LipsyncErrorCode;
  readonly fatal: boolean;
}

export interface LipsyncErrorConstructor {
  new (code: LipsyncErrorCode, message: string, fatal?: boolean): LipsyncError;
  readonly prototype: LipsyncError;
}
