/**
 * Start progress as people read it: the ordered list of steps with their state, and one line of text per
 * report ("Downloading the generator: 3.1 / 7.0 MB (44 %)"). Pure, shared by the app and the library.
 */
import type { StartProgress, StartStep } from '../workers/protocol.ts';

export const START_STEPS: readonly { step: StartStep; label: string }[] = [
  { step: 'sources', label: 'Opening camera and microphone' },
  { step: 'model', label: 'Downloading the generator' },
  { step: 'face-model', label: 'Loading the face tracker' },
  { step: 'generator', label: 'Starting the generator' },
  { step: 'warmup', label: 'Warming up the generator' },
  { step: 'first-frame', label: 'First output frame' },
];

export type StepStatus = 'pending' | 'active' | 'done';

export interface StepState {
  step: StartStep;
  label: string;
  status: StepStatus;
  /** Details of the latest report (bytes, backend), empty when there are none. */
  detail: string;
}

export function initialSteps(): StepState[] {
  return START_STEPS.map(({ step, label }) => ({ step, label, status: 'pending', detail: '' }));
}

const mb = (n: number) => (n / (1024 * 1024)).toFixed(1);

/** "3.1 / 7.0 MB (44 %)", "3.1 MB" without a total, or the report's own detail. */
export function progressDetail(p: StartProgress): string {
  if (p.loaded !== undefined) {
    if (p.total) return `${mb(p.loaded)} / ${mb(p.total)} MB (${Math.min(100, Math.round((100 * p.loaded) / p.total))} %)`;
    return `${mb(p.loaded)} MB`;
  }
  return p.detail ?? '';
}

/** One report folded into the list; a step never goes back (a late 'progress' after 'done' is ignored). */
export function applyProgress(steps: readonly StepState[], p: StartProgress): StepState[] {
  return steps.map((s) => {
    if (s.step !== p.step) return s;
    if (s.status === 'done') return s;
    const detail = progressDetail(p) || s.detail;
    return { ...s, status: p.status === 'done' ? 'done' : 'active', detail };
  });
}

/** The line a status bar shows for a report. */
export function describeProgress(p: StartProgress): string {
  const label = START_STEPS.find((s) => s.step === p.step)?.label ?? p.step;
  const detail = progressDetail(p);
  if (p.status === 'done') return `${label}: done${detail ? ` (${detail})` : ''}`;
  return `${label}…${detail ? ` ${detail}` : ''}`;
}
