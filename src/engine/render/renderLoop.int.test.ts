/**
 * The render loop with a face tracker one frame ahead (render mode's overlap of landmarks and generator):
 * real frames of a real clip, the real face landmarker, a real ONNX generator. Tracking elsewhere must not
 * change a single output pixel, must really run ahead, and a cancel must leave no tracking in flight.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-web';
import { LipsyncPipeline } from '../pipeline/lipsyncPipeline.ts';
import { GeneratorRunner } from '../generator/runner.ts';
import { buildTestGenerator } from '../generator/testGenerator.ts';
import { clipPath, readFrames } from '../../node/clipFrames.ts';
import { createNodeFaceLandmarker } from '../../node/tfNode.ts';
import type { FaceLandmarker } from '../face/landmarker.ts';
import { SILENCE_VALUE } from '../audio/melConfig.ts';
import type { RgbaImage } from '../types.ts';
import { planRender } from './renderPlan.ts';
import { RenderError, renderFrames, type RenderAudio, type RenderFrameSource, type RenderTracker } from './renderLoop.ts';

ort.env.wasm.numThreads = 1;

const SOURCE_FRAMES = 6;
const OUTPUT_FRAMES = 14; // forward 6, back 5, forward 3: both kinds of run
let lm: FaceLandmarker;
let frames: RgbaImage[];
let runner: GeneratorRunner;
let manifest: ReturnType<typeof buildTestGenerator>['manifest'];

beforeAll(async () => {
  lm = await createNodeFaceLandmarker('wasm');
  frames = readFrames(clipPath('sadtalker_WDA_BobMenendez_000'), { count: SOURCE_FRAMES }).frames;
  const built = buildTestGenerator({ size: 96, melFrames: 16, past: 8, cropTemplate: 'facemesh-sim-v1' });
  manifest = built.manifest;
  runner = await GeneratorRunner.create({ modelBytes: built.bytes, manifest, ort, preferredBackends: ['wasm'] });
}, 120_000);
afterAll(async () => {
  lm?.dispose();
  await runner?.dispose();
});

const source = (): RenderFrameSource => ({
  frameCount: SOURCE_FRAMES,
  fps: 25,
  width: frames[0].width,
  height: frames[0].height,
  async *read(from, to) {
    for (let i = from; i < to; i++) yield { ...frames[i], data: new Uint8ClampedArray(frames[i].data) };
  },
});

/** Speech-free mel of the right length: the generator's output still depends on the face crop. */
const audio = (): RenderAudio => {
  const melFrames = Math.round((OUTPUT_FRAMES / 25) * 100);
  return { mel: new Float32Array(80 * melFrames).fill(SILENCE_VALUE), melFrames, seconds: OUTPUT_FRAMES / 25 };
};

async function render(opts: { tracker?: RenderTracker; signal?: AbortSignal; onWrite?: (index: number) => void; interpolate?: boolean }) {
  lm.reset();
  const written: RgbaImage[] = [];
  const pipeline = new LipsyncPipeline(lm, runner, manifest, { smooth: true });
  const summary = await renderFrames({
    pipeline,
    source: source(),
    sink: {
      async write(image, index) {
        opts.onWrite?.(index);
        written[index] = { ...image, data: new Uint8ClampedArray(image.data) };
      },
    },
    audio: audio(),
    plan: planRender({ sourceFrames: SOURCE_FRAMES, fps: 25, audioSeconds: OUTPUT_FRAMES / 25 }),
    tracker: opts.tracker,
    interpolateLandmarks: opts.interpolate ?? false,
    signal: opts.signal,
    memoryBudgetBytes: 3 * frames[0].data.length, // backward runs in blocks of 3
  });
  // The mouth placement learnt from the outputs read: the shift the next frame would be pasted with.
  const next = pipeline.prepare(frames[0], (OUTPUT_FRAMES / 25) * 1000);
  if (next)
    pipeline.paste({ ...frames[0], data: new Uint8ClampedArray(frames[0].data) }, next, await pipeline.generate(next, audio().mel.subarray(0, 80 * 16)));
  return { summary, written, mouthShift: pipeline.mouthShift };
}

/** The same landmarker behind an asynchronous hop, as a face thread would answer; logs when each frame starts and ends. */
function slowTracker(log: string[]): RenderTracker & { inFlight: () => number } {
  let inFlight = 0;
  return {
    offThread: true,
    inFlight: () => inFlight,
    async track(image, timestampMs) {
      const i = Math.round((timestampMs * 25) / 1000);
      inFlight++;
      log.push(`track ${i}`);
      await new Promise((r) => setTimeout(r, 5));
      const t0 = performance.now();
      const landmarks = lm.detect(image, timestampMs);
      inFlight--;
      return { image, landmarks, landmarksMs: performance.now() - t0 };
    },
    async readOutput(image, near) {
      log.push('read');
      await new Promise((r) => setTimeout(r, 1));
      const t0 = performance.now();
      return { image, landmarks: lm.readNear(image, near), landmarksMs: performance.now() - t0 };
    },
  };
}

describe('renderFrames with a face tracker one frame ahead', () => {
  it('paints exactly the frames the in-line render paints, while tracking frame n+1 before frame n is written', async () => {
    const inline = await render({});
    const log: string[] = [];
    const ahead = await render({ tracker: slowTracker(log), onWrite: (i) => log.push(`write ${i}`) });

    expect(ahead.summary.frames).toBe(OUTPUT_FRAMES);
    expect(ahead.summary.facesFound).toBe(OUTPUT_FRAMES);
    for (let i = 0; i < OUTPUT_FRAMES; i++) expect(Buffer.from(ahead.written[i].data).equals(Buffer.from(inline.written[i].data)), `frame ${i}`).toBe(true);
    // The mouth was painted: the output is not the source frame (ping-pong: output 6 shows source 4).
    expect(Buffer.from(ahead.written[6].data).equals(Buffer.from(frames[4].data))).toBe(false);
    // Within each run, frame i+1 is tracked before frame i is written.
    for (const i of [0, 1, 2, 3, 4, 6, 7, 11, 12]) expect(log.indexOf(`track ${i + 1}`), `track ${i + 1}`).toBeLessThan(log.indexOf(`write ${i}`));
    expect(ahead.summary.stages.landmarks).toBeGreaterThan(0);
    // The mouth placement read every 4th output through the tracker, and learnt what the in-line render learnt.
    expect(log.filter((l) => l === 'read').length).toBe(Math.ceil(OUTPUT_FRAMES / 4));
    expect(ahead.mouthShift).toEqual(inline.mouthShift);
    expect(Math.hypot(...inline.mouthShift)).toBeGreaterThan(0);
  }, 120_000);

  it('interpolating the landmarks of a still head tracks about a third of the frames and paints nearly the same mouths', async () => {
    const every = await render({});
    const log: string[] = [];
    const half = await render({ tracker: slowTracker(log), interpolate: true });
    const trackedFrames = log.filter((l) => l.startsWith('track')).length;
    expect(half.summary.interpolated).toBeGreaterThan(3);
    expect(trackedFrames).toBe(OUTPUT_FRAMES - half.summary.interpolated);
    // Every third frame of each run and each run's last are tracked: forward 6 → 0 3 5, back 5 → 6 9 10,
    // forward 3 → 11 13; the frames between are blended unless the head moved (then tracked too).
    for (const i of [0, 3, 5, 6, 9, 10, 11, 13]) expect(log).toContain(`track ${i}`);
    expect(half.summary.facesFound).toBe(OUTPUT_FRAMES);
    let sum = 0;
    let n = 0;
    for (let i = 0; i < OUTPUT_FRAMES; i++) {
      const a = every.written[i].data;
      const b = half.written[i].data;
      for (let k = 0; k < a.length; k++) sum += Math.abs(a[k] - b[k]);
      n += a.length;
    }
    expect(sum / n).toBeLessThan(0.5); // grey levels, over whole frames: a sub-pixel shift of the crop at most
  }, 120_000);

  it('a cancel mid-render stops with render-cancelled and leaves no tracking in flight', async () => {
    const abort = new AbortController();
    const tracker = slowTracker([]);
    const run = render({ tracker, signal: abort.signal, onWrite: (i) => i === 3 && abort.abort() });
    await expect(run).rejects.toThrow(RenderError);
    await expect(run).rejects.toMatchObject({ code: 'render-cancelled' });
    expect(tracker.inFlight()).toBe(0);
  }, 120_000);
});
