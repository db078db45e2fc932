/**
 * Messages between the main thread and the inference worker. Frames never travel here:
 * the camera's ReadableStream<VideoFrame> and the output's WritableStream<VideoFrame> are
 * transferred once at start, and mel features arrive from the AudioWorklet on their own port.
 */
import type { LiveStatsSnapshot } from '../engine/live/stats.ts';
import type { DropReason } from '../engine/live/scheduler.ts';

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
  | { type: 'stop' };

export interface BackendInfo {
  generator: GeneratorBackend;
  generatorReason?: string;
  landmarks: LandmarkBackend;
  landmarksReason?: string;
  modelName: string;
  threads: number;
}

export interface LiveStatus extends LiveStatsSnapshot {
  /** Delay applied to the mic audio so that lips and audio line up in the output stream. */
  audioDelayMs: number;
  faceVisible: boolean;
  audioStalled: boolean;
  /** Frames the camera produced (read + dropped by the browser's track queue). */
  framesOffered: number;
  /** Dropped frames by reason (src/engine/live/scheduler.ts DropReason). */
  droppedBy: Record<DropReason, number>;
}

export type FromWorker =
  | { type: 'ready'; backend: BackendInfo }
  | { type: 'stats'; stats: LiveStatus }
  | { type: 'model-changed'; requestId: number; backend: BackendInfo }
  | { type: 'error'; code: WorkerErrorCode; message: string; fatal: boolean; requestId?: number }
  | { type: 'stopped' };

export type WorkerErrorCode =
  | 'bad-model'
  | 'model-fetch'
  | 'face-model'
  | 'webgpu-lost'
  | 'pipeline'
  | 'unsupported-browser';

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
  /** Sent once the step's weights are checkpointed (they are what a GPU failure hands back). */
  | { type: 'validation'; step: number; loss: number; mouth: number }
  | { type: 'preview'; step: number; target: ImageBitmap; reference: ImageBitmap; prediction: ImageBitmap }
  | { type: 'paused' }
  | { type: 'resumed' }
  | { type: 'done'; result: TrainingResult }
  | { type: 'cancelled' }
  /** `lastGood` is set when training stopped on a failure after a checkpoint: those weights are usable. */
  | { type: 'error'; code: TrainingErrorCode; message: string; lastGood?: TrainingResult }
  /** Reply to a debug request: what was done. */
  | { type: 'debug'; message: string };
