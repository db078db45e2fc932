/** State of the Fine-tune view (plain data; the worker and media live in fineTuneController.ts). */
import { create } from 'zustand';
import type { StoredModelMeta } from '../../engine/training/modelStore.ts';
import type { TrainingActivity, TrainingBackend, TrainingResult } from '../../workers/protocol.ts';

export type FineTunePhase = 'idle' | 'countdown' | 'recording' | 'decoding' | 'preparing' | 'training' | 'paused' | 'done' | 'failed';

export interface LossPoint {
  step: number;
  loss: number;
}

export interface FineTuneState {
  phase: FineTunePhase;
  recordSeconds: number;
  steps: number;
  batchSize: number;
  countdown: number;
  elapsed: number;
  level: number;
  cameraStream?: MediaStream;
  /** 0…1 for the current stage. */
  progress: number;
  stage: string;
  backend?: TrainingBackend;
  backendReason?: string;
  framesDropped: number;
  step: number;
  stepsPerSec: number;
  etaSec: number;
  /** What the worker is busy with (validation, preview, a step); undefined before training. */
  activity?: TrainingActivity;
  /** Cancel was pressed and the run has not stopped yet. */
  cancelling: boolean;
  train: LossPoint[];
  val: LossPoint[];
  preview?: { step: number; target: ImageBitmap; reference: ImageBitmap; prediction: ImageBitmap };
  result?: TrainingResult;
  saved: StoredModelMeta[];
  activeModelId?: string;
  set(patch: Partial<FineTuneState>): void;
}

export const useFineTuneStore = create<FineTuneState>((set) => ({
  phase: 'idle',
  recordSeconds: 10,
  steps: 200,
  batchSize: 4,
  countdown: 0,
  elapsed: 0,
  level: 0,
  progress: 0,
  stage: '',
  framesDropped: 0,
  step: 0,
  stepsPerSec: 0,
  etaSec: 0,
  cancelling: false,
  train: [],
  val: [],
  saved: [],
  set: (patch) => set(patch),
}));
