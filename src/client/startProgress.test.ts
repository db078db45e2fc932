import { describe, expect, it } from 'vitest';
import { applyProgress, describeProgress, initialSteps, progressDetail } from './startProgress.ts';

describe('start progress', () => {
  it('lists every step as pending before anything is reported', () => {
    expect(initialSteps().map((s) => `${s.step}:${s.status}`)).toEqual([
      'sources:pending',
      'model:pending',
      'face-model:pending',
      'generator:pending',
      'warmup:pending',
      'first-frame:pending',
    ]);
  });

  it('shows bytes received of the total while the model downloads', () => {
    let steps = applyProgress(initialSteps(), { step: 'model', status: 'start' });
    steps = applyProgress(steps, { step: 'model', status: 'progress', loaded: 3 * 1024 * 1024, total: 7 * 1024 * 1024 });
    const model = steps.find((s) => s.step === 'model')!;
    expect(model.status).toBe('active');
    expect(model.detail).toBe('3.0 / 7.0 MB (43 %)');
    expect(steps.find((s) => s.step === 'sources')!.status).toBe('pending');
  });

  it('says how much arrived when the server sends no length', () => {
    expect(progressDetail({ step: 'model', status: 'progress', loaded: 1.5 * 1024 * 1024 })).toBe('1.5 MB');
  });

  it('keeps a finished step finished, with its last detail, when a late report arrives', () => {
    let steps = applyProgress(initialSteps(), { step: 'generator', status: 'start', detail: 'on wasm' });
    steps = applyProgress(steps, { step: 'generator', status: 'done' });
    steps = applyProgress(steps, { step: 'generator', status: 'progress', detail: 'late' });
    expect(steps.find((s) => s.step === 'generator')).toMatchObject({ status: 'done', detail: 'on wasm' });
  });

  it('describes a report in one line', () => {
    expect(describeProgress({ step: 'model', status: 'progress', loaded: 1024 * 1024, total: 4 * 1024 * 1024 })).toBe(
      'Downloading the generator… 1.0 / 4.0 MB (25 %)',
    );
    expect(describeProgress({ step: 'warmup', status: 'start' })).toBe('Warming up the generator…');
    expect(describeProgress({ step: 'generator', status: 'done', detail: 'wasm' })).toBe('Starting the generator: done (wasm)');
  });
});
