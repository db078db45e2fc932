/**
 * Messages between the main thread and the inference worker. Frames never travel here:
 * the camera's ReadableStream<VideoFrame> and the output's WritableStream<VideoFrame> are
 * transferred once at start, and mel features arrive from the AudioWorklet on their own port.
 */
import type { LiveStatsSnapshot } from '../engine/live/stats.ts';

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
