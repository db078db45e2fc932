import { describe, expect, it } from 'vitest';
import { fmtTime, trainRateText } from './trainRate.ts';

describe('trainRateText', () => {
  it('never shows a made-up rate or ETA before the first step is done', () => {
    for (const activity of [undefined, 'validation', 'preview', 'step'] as const) {
      const text = trainRateText({ step: 0, steps: 10, stepsPerSec: 0, etaSec: 0, activity });
      expect(text).not.toMatch(/steps\/s|ETA 0:00/);
      expect(text).toMatch(/^step 0\/10 · .* · ETA unknown/);
    }
    expect(trainRateText({ step: 0, steps: 10, stepsPerSec: 0, etaSec: 0, activity: 'step' })).toContain('first step');
    expect(trainRateText({ step: 0, steps: 10, stepsPerSec: 0, etaSec: 0, activity: 'validation' })).toContain('validating the starting model');
  });

  it('shows the measured rate and ETA once steps are done, and what runs between steps', () => {
    expect(trainRateText({ step: 4, steps: 200, stepsPerSec: 0.5, etaSec: 392, activity: 'step' })).toBe('step 4/200 · 0.50 steps/s · ETA 6:32');
    expect(trainRateText({ step: 20, steps: 200, stepsPerSec: 0.5, etaSec: 360, activity: 'validation' })).toBe(
      'step 20/200 · 0.50 steps/s · ETA 6:00 · validating…',
    );
  });

  it('says it is cancelling', () => {
    expect(trainRateText({ step: 3, steps: 10, stepsPerSec: 1, etaSec: 7, cancelling: true })).toBe('step 3/10 · cancelling…');
  });
});

describe('fmtTime', () => {
  it('formats minutes and seconds, never 0:60', () => {
    expect(fmtTime(59.6)).toBe('1:00');
    expect(fmtTime(61)).toBe('1:01');
    expect(fmtTime(Infinity)).toBe('–');
  });
});
