/**
 * The training line under the progress bar. Before the first step has finished there is no rate to show:
 * it says what the worker is doing (validating, the first step compiling kernels) and that the ETA is
 * unknown, instead of "0.00 steps/s · ETA 0:00".
 */
import type { TrainingActivity } from '../../workers/protocol.ts';

export interface TrainRateInput {
  step: number;
  steps: number;
  stepsPerSec: number;
  etaSec: number;
  activity?: TrainingActivity;
  cancelling?: boolean;
}

import { fmtTime } from '../../engine/formatTime.ts';

export { fmtTime };

const DOING: Record<TrainingActivity, string> = {
  validation: 'validating',
  preview: 'drawing a preview',
  step: 'running a step',
};

export function trainRateText(s: TrainRateInput): string {
  if (s.cancelling) return `step ${s.step}/${s.steps} · cancelling…`;
  if (s.step === 0 || !(s.stepsPerSec > 0)) {
    const doing =
      s.activity === 'step'
        ? 'first step (it compiles the GPU kernels, so it is the slowest)…'
        : s.activity === 'validation'
          ? 'validating the starting model…'
          : s.activity === 'preview'
            ? 'drawing the first preview…'
            : 'preparing…';
    return `step 0/${s.steps} · ${doing} · ETA unknown until the first step is done`;
  }
  const now = s.activity && s.activity !== 'step' ? ` · ${DOING[s.activity]}…` : '';
  return `step ${s.step}/${s.steps} · ${s.stepsPerSec.toFixed(2)} steps/s · ETA ${fmtTime(s.etaSec)}${now}`;
}
