/**
 * Messages between the main thread and the inference worker. Frames never travel here:
 * the camera's ReadableStream<VideoFrame> and the output's WritableStream<VideoFrame> are
 * transferred once at start, and mel features arrive from the AudioWorklet on their own port.
 */
import type { FaceThreadChoice } from './gpuProbe.ts';
import type { LiveStatsSnapshot } from '../engine/live/stats.ts';
import type { DropReason } from '../engine/live/scheduler.ts';
import type { RenderStages } from '../engine/render/renderLoop.ts';
import type { PasteArea } from '../engine/face/blend.ts';

export type GeneratorBackend = 'webgpu' | 'wasm';
export type LandmarkBackend = 'webgpu' | 'webgl' | 'wasm' | 'cpu';
export type BackendChoice<T extends string> = 'auto' | T;

export interface WorkerConfig {
  /** URL of the generator's manifest.json (the ONNX file is resolved relative to it). */
  manifestUrl: string;
  /** Directory URL holding the Face Mesh graph models. */
  faceModelBaseUrl: string;
  /** Directory URL holding onnxruntime-web's wasm files. */
  ortWasmBaseUrl: string;
  /** Directory URL holding tfjs-backend-wasm's wasm files. */
  tfWasmBaseUrl: string;
  generatorBackend: BackendChoice<GeneratorBackend>;
  landmarkBackend: BackendChoice<LandmarkBackend>;
  /** Face tracking on its own thread or the generator's (default 'auto': by core count, see planThreads). */
  faceThread?: FaceThreadChoice;
  /** What the paste replaces (default 'mouth', see PasteArea). */
  pasteArea?: PasteArea;
}

export type ToWorker =
  | { type: 'init'; config: WorkerConfig }
  | {
      type: 'start';
      readable: ReadableStream<VideoFrame>;
      writable: WritableStream<VideoFrame>;
      melPort: MessagePort;
    }
  /** A pairing of AudioContext time (s) and epoch time (ms) so the worker can place mel frames in time. */
  | { type: 'clock'; contextTime: number; epochMs: number }
  /** Swap the generator without stopping: from a manifest URL, or raw ONNX bytes (+ optional manifest JSON). */
  | { type: 'set-model'; requestId: number; manifestUrl?: string; modelBytes?: ArrayBuffer; manifest?: unknown; label?: string }
  /**
   * Record the output (answered by 'recording' or an 'error' with the same requestId). The page taps the mel worklet
   * first, so the microphone audio reaches the worker with its AudioContext time.
   */
  | { type: 'record-start'; requestId: number }
  /** Finish the recording: answered by 'recorded' with the WebM bytes (or an 'error'). */
  | { type: 'record-stop'; requestId: number }
  | { type: 'stop' };

export interface BackendInfo {
  generator: GeneratorBackend;
  generatorReason?: string;
  /** The generator runs far below live speed (a forced backend on a software GPU). */
  generatorSlow?: boolean;
  landmarks: LandmarkBackend;
  landmarksReason?: string;
  /** Face tracking runs on its own thread (beside the generator), not the generator's. */
  landmarksOwnThread?: boolean;
  modelName: string;
  threads: number;
  /** The generator takes the person's articulation (manifest.inputs.articulation): the HUD shows what it is fed. */
  articulationInput?: boolean;
}

export interface LiveStatus extends LiveStatsSnapshot {
  /** Delay applied to the mic audio so that lips and audio line up in the output stream. */
  audioDelayMs: number;
  faceVisible: boolean;
  /**
   * The person's mouth-opening range so far (median, 90th percentile of the inner-lip gap ÷ crop size; see
   * engine/face/articulation.ts), or null until it is known. Generators with the articulation input are fed it.
   */
  articulation: [number, number] | null;
  /**
   * How far the generated mouth is moved to sit on the person's own (crop units, + = right / down; see
   * engine/face/mouthPlacement.ts), [0, 0] until the first outputs have been read; null without a model.
   */
  mouthShift: [number, number] | null;
  /**
   * How far the generated mouth opens against the network as trained (engine/face/openingGain.ts): 1 until this
   * person is seen to open less; null for a generator without the openingGain input, or without a model.
   */
  openingGain: number | null;
  audioStalled: boolean;
  /** Frames the camera produced (read + dropped by the browser's track queue). */
  framesOffered: number;
  /** Dropped frames by reason (src/engine/live/scheduler.ts DropReason). */
  droppedBy: Record<DropReason, number>;
  /** Frames read from the camera and not yet output or dropped (waiting, being prepared or generated). */
  inFlight: number;
}

/**
 * Steps of a start, reported as they happen (like transformers.js progress callbacks). 'model' and
 * 'face-model' overlap; 'sources' is reported by the session itself (camera/mic or files opening);
 * 'first-frame' comes after 'ready', when the first frame reaches the output track.
 */
export type StartStep = 'sources' | 'model' | 'face-model' | 'generator' | 'warmup' | 'first-frame';

export interface StartProgress {
  step: StartStep;
  status: 'start' | 'progress' | 'done';
  /** Bytes received / expected while the generator downloads (`total` is missing when the server sends no length). */
  loaded?: number;
  total?: number;
  /** Extra words for people: the backend the generator starts on, the model's name. */
  detail?: string;
}

export type FromWorker =
  | { type: 'progress'; progress: StartProgress }
  | { type: 'ready'; backend: BackendInfo }
  | { type: 'stats'; stats: LiveStatus }
  | { type: 'model-changed'; requestId: number; backend: BackendInfo }
  | { type: 'recording'; requestId: number }
  | { type: 'recorded'; requestId: number; bytes: ArrayBuffer; frames: number; framesSkipped: number }
  | { type: 'error'; code: WorkerErrorCode; message: string; fatal: boolean; requestId?: number }
  /** Stop received: the page may now end the face source (the worker closes the frames still on their way). */
  | { type: 'stopping' }
  | { type: 'stopped' };

export type WorkerErrorCode =
  | 'bad-model'
  | 'model-fetch'
  | 'face-model'
  | 'webgpu-lost'
  | 'pipeline'
  | 'unsupported-browser'
  /** The face track ended while running (unplugged, taken by another application, or stopped). */
  | 'camera-ended'
  /** A recording could not start or be finished. */
  | 'record';

// ---- Fine-tuning (training.worker.ts) ----

export type TrainingBackend = 'webgpu' | 'webgl' | 'cpu';

export interface TrainingConfig {
  /** The generator to fine-tune: a manifest URL, or ONNX bytes + manifest JSON. */
  manifestUrl?: string;
  modelBytes?: ArrayBuffer;
  manifest?: unknown;
  /** Directory URL holding the Face Mesh graph models. */
  faceModelBaseUrl: string;
  /** Directory URL holding tfjs-backend-wasm's wasm files (the face tracker uses wasm on software GPUs). */
  tfWasmBaseUrl: string;
  backend: BackendChoice<TrainingBackend>;
  /**
   * The backend live mode will run the result on (default 'auto'): a manifest URL is fine-tuned as the build of the
   * generator that backend runs (its cpu variant on wasm), so the personal model is as fast as the one it replaces.
   */
  generatorBackend?: BackendChoice<GeneratorBackend>;
  steps: number;
  batchSize: number;
  learningRate: number;
  /** Reference rule: |r − t| > minOffset. */
  minOffset: number;
  /** Validate (and checkpoint) every this many steps. */
  valEvery: number;
  /** Send a preview every this many steps. */
  previewEvery: number;
}

export type ToTrainingWorker =
  /** Starts preprocessing; RGBA frames at `fps` follow as 'frame' messages, then 'frames-end'. */
  | { type: 'start'; config: TrainingConfig; fps: number; totalFrames?: number; audio: { samples: Float32Array; sampleRate: number } }
  | { type: 'frame'; width: number; height: number; data: ArrayBuffer }
  | { type: 'frames-end' }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'cancel' }
  /** Debug: really loses the training GPU (WEBGL_lose_context.loseContext() / GPUDevice.destroy()). */
  | { type: 'debug-lose-gpu' };

export type TrainingErrorCode =
  | 'clip-too-short'
  | 'no-face'
  | 'no-audio'
  | 'silent-audio'
  | 'no-frames'
  | 'unsupported-op'
  | 'bad-model'
  | 'face-model'
  | 'gpu-lost'
  | 'out-of-memory'
  | 'diverged'
  | 'failed';

/** 'validation' and 'preview' are run at validation points; 'step' is one optimiser step (the first compiles the GPU kernels). */
export type TrainingActivity = 'validation' | 'preview' | 'step';

export interface TrainingResult {
  onnx: ArrayBuffer;
  manifest: unknown;
  steps: number;
  valLoss: number;
  clipSeconds: number;
}

export type FromTrainingWorker =
  | { type: 'backend'; backend: TrainingBackend; reason?: string }
  | { type: 'prepare-progress'; done: number; total?: number; dropped: number }
  | { type: 'prepared'; frames: number; dropped: number; seconds: number; trainTargets: number; valPairs: number }
  | { type: 'progress'; step: number; steps: number; stepsPerSec: number; etaSec: number; trainLoss: number }
  /** What the worker is doing now (so the page can say "first step…" instead of a made-up rate). */
  | { type: 'busy'; what: TrainingActivity; step: number }
  /**
   * Sent once the step's weights are checkpointed (they are what a GPU failure hands back). After step 0 the
   * checkpoint itself comes along, so the page keeps it even when it has to terminate a busy worker on cancel.
   */
  | { type: 'validation'; step: number; loss: number; mouth: number; checkpoint?: TrainingResult }
  | { type: 'preview'; step: number; target: ImageBitmap; reference: ImageBitmap; prediction: ImageBitmap }
  | { type: 'paused' }
  | { type: 'resumed' }
  | { type: 'done'; result: TrainingResult }
  | { type: 'cancelled' }
  /** `lastGood` is set when training stopped on a failure after a checkpoint: those weights are usable. */
  | { type: 'error'; code: TrainingErrorCode; message: string; lastGood?: TrainingResult }
  /** Reply to a debug request: what was done. */
  | { type: 'debug'; message: string };

// ---- Render mode (render.ts, in the inference worker's script started as RENDER_WORKER_NAME) ----

export interface RenderConfig {
  /** The generator: a manifest URL, or ONNX bytes + manifest JSON. */
  manifestUrl?: string;
  modelBytes?: ArrayBuffer;
  manifest?: unknown;
  modelLabel?: string;
  faceModelBaseUrl: string;
  ortWasmBaseUrl: string;
  tfWasmBaseUrl: string;
  generatorBackend: BackendChoice<GeneratorBackend>;
  landmarkBackend: BackendChoice<LandmarkBackend>;
  /** Face tracking on a thread of its own, one frame ahead of the generator (see planRenderThreads). */
  faceThread: FaceThreadChoice;
  /** What the paste replaces (default 'mouth', see PasteArea). */
  pasteArea?: PasteArea;
}

export interface RenderJob {
  face: Blob;
  audio: Blob;
  /** Video longer than the audio: stop at the audio's end (default) or keep the rest unchanged. */
  tail?: 'stop' | 'keep';
  /** Render only the first seconds (a preview). */
  maxSeconds?: number;
}

export type RenderStage = 'loading' | 'decoding-audio' | 'rendering' | 'encoding-audio';

export interface RenderProgressMessage {
  stage: RenderStage;
  /** Output frames done / total (rendering), and the estimated time left. */
  done: number;
  total: number;
  etaMs: number;
  facesFound: number;
}

export interface RenderResult {
  blob: Blob;
  mimeType: string;
  extension: string;
  frames: number;
  fps: number;
  seconds: number;
  facesFound: number;
  /** Output frames per second of wall time (render speed). */
  renderFps: number;
  /** Mean ms per output frame in each stage (see RenderSummary.stages). */
  stages: RenderStages;
  backend: { generator: GeneratorBackend; landmarks: LandmarkBackend; modelName: string };
  /** Faces were tracked on a thread of their own, one frame ahead of the generator. */
  faceThread: boolean;
}

export type ToRenderWorker = { type: 'render'; config: RenderConfig; job: RenderJob } | { type: 'cancel' };

export type FromRenderWorker =
  | { type: 'render-progress'; progress: RenderProgressMessage }
  | { type: 'render-done'; result: RenderResult }
  | { type: 'render-error'; code: string; message: string };
