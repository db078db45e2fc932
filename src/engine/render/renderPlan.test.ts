import { describe, expect, it } from 'vitest';
import { pingPongFrame, planRender, RenderPlanError, sourceRuns } from './renderPlan.ts';

const indices = (plan: ReturnType<typeof planRender>) => Array.from({ length: plan.outputFrames }, (_, i) => plan.sourceIndex(i));

describe('render plan: which face frame each output frame shows', () => {
  it('audio longer than the video: the face plays forward, backward, forward (no jump at either end)', () => {
    const plan = planRender({ sourceFrames: 4, fps: 25, audioSeconds: 0.4 });
    expect(plan.outputFrames).toBe(10);
    expect(indices(plan)).toEqual([0, 1, 2, 3, 2, 1, 0, 1, 2, 3]);
    expect(plan.audioFrames).toBe(10);
  });

  it('output length is the audio length × the face’s frame rate, at any frame rate', () => {
    expect(planRender({ sourceFrames: 100, fps: 25, audioSeconds: 4.8 }).outputFrames).toBe(120);
    expect(planRender({ sourceFrames: 100, fps: 30, audioSeconds: 2 }).outputFrames).toBe(60);
    expect(planRender({ sourceFrames: 100, fps: 29.97, audioSeconds: 10 }).outputFrames).toBe(300);
  });

  it('video longer than the audio stops with the audio, or keeps the rest unchanged', () => {
    const stop = planRender({ sourceFrames: 50, fps: 25, audioSeconds: 1 });
    expect(stop.outputFrames).toBe(25);
    expect(indices(stop)).toEqual([...Array(25).keys()]);
    const keep = planRender({ sourceFrames: 50, fps: 25, audioSeconds: 1, tail: 'keep' });
    expect(keep.outputFrames).toBe(50);
    expect(keep.audioFrames).toBe(25); // frames 25…49 pass through without a new mouth
    expect(indices(keep)).toEqual([...Array(50).keys()]);
  });

  it('an image is a one-frame video held for the whole audio', () => {
    const plan = planRender({ sourceFrames: 1, fps: 25, audioSeconds: 2, tail: 'keep' });
    expect(plan.outputFrames).toBe(50);
    expect(new Set(indices(plan))).toEqual(new Set([0]));
    expect(sourceRuns(plan)).toEqual([{ outputStart: 0, length: 50, sourceStart: 0, step: 0 }]);
  });

  it('a preview renders only the first seconds', () => {
    const plan = planRender({ sourceFrames: 100, fps: 25, audioSeconds: 10, maxSeconds: 2 });
    expect(plan.outputFrames).toBe(50);
    expect(plan.audioFrames).toBe(50);
  });

  it('splits the plan into the runs a decoder reads: forward, then backward, then forward', () => {
    const plan = planRender({ sourceFrames: 4, fps: 25, audioSeconds: 0.4 });
    expect(sourceRuns(plan)).toEqual([
      { outputStart: 0, length: 4, sourceStart: 0, step: 1 },
      { outputStart: 4, length: 3, sourceStart: 2, step: -1 },
      { outputStart: 7, length: 3, sourceStart: 1, step: 1 },
    ]);
    // Every output frame is covered once, in order, by the runs.
    const long = planRender({ sourceFrames: 7, fps: 25, audioSeconds: 3.3 });
    const fromRuns = sourceRuns(long).flatMap((r) => Array.from({ length: r.length }, (_, k) => r.sourceStart + k * r.step));
    expect(fromRuns).toEqual(indices(long));
  });

  it('refuses what cannot be rendered, with a reason', () => {
    expect(() => planRender({ sourceFrames: 0, fps: 25, audioSeconds: 1 })).toThrow(RenderPlanError);
    expect(() => planRender({ sourceFrames: 10, fps: 0, audioSeconds: 1 })).toThrow(/frame rate/);
    expect(() => planRender({ sourceFrames: 10, fps: 25, audioSeconds: 0 })).toThrow(/audio is empty/);
  });

  it('pingPongFrame: period 2(n − 1), one frame always 0', () => {
    expect([...Array(9).keys()].map((i) => pingPongFrame(i, 3))).toEqual([0, 1, 2, 1, 0, 1, 2, 1, 0]);
    expect(pingPongFrame(17, 1)).toBe(0);
  });
});
