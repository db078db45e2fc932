import { useAppStore } from './store.ts';

const MARK = { pending: '○', active: '…', done: '✓' } as const;

/** What a start is doing, step by step, until the first output frame. */
export function StartSteps() {
  const phase = useAppStore((s) => s.phase);
  const steps = useAppStore((s) => s.startSteps);
  const firstFrame = steps.find((s) => s.step === 'first-frame')?.status === 'done';
  if (phase !== 'starting' && !(phase === 'live' && !firstFrame)) return null;
  return (
    <ol className="start-steps" data-testid="start-steps" aria-label="Start progress" aria-live="polite">
      {steps.map((s) => (
        <li key={s.step} data-testid={`start-step-${s.step}`} data-status={s.status} className={s.status}>
          <span aria-hidden="true">{MARK[s.status]}</span> {s.label}
          {s.detail && <span className="detail"> — {s.detail}</span>}
        </li>
      ))}
    </ol>
  );
}
