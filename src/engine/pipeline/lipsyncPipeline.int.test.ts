import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-web';
import { LipsyncPipeline, type PreparedFrame } from './lipsyncPipeline.ts';
import { applyAffine, CROP_TEMPLATE } from '../face/align.ts';
import { CROP_TEMPLATE_MOUTH, MOUTH_ANCHOR, MOUTH_ANCHOR_WARMUP } from '../face/mouthAnchor.ts';
import { GeneratorRunner } from '../generator/runner.ts';
import { buildTestGenerator } from '../generator/testGenerator.ts';
import { clipPath, readFrames } from '../../node/clipFrames.ts';
import { createNodeFaceLandmarker } from '../../node/tfNode.ts';
import type { FaceLandmarker } from '../face/landmarker.ts';
import { SILENCE_VALUE } from '../audio/melConfig.ts';
import { ARTICULATION, articulationOf, cropMouthOpening } from '../face/articulation.ts';

ort.env.wasm.numThreads = 1;

let lm: FaceLandmarker;
beforeAll(async () => {
  lm = await createNodeFaceLandmarker('wasm');
}, 60_000);
afterAll(() => lm?.dispose());

async function runnerFor(size: number) {
  const { bytes, manifest } = buildTestGenerator({ size, melFrames: 16, past: 8, cropTemplate: 'facemesh-sim-v1' });
  return { runner: await GeneratorRunner.create({ modelBytes: bytes, manifest, ort, preferredBackends: ['wasm'] }), manifest };
}

describe('LipsyncPipeline hot swap to another crop size', () => {
  it('a frame prepared for the 96² model is cut again for the 128² one and generates (no failed frame), and back', async () => {
    const { frames } = readFrames(clipPath('sadtalker_WDA_BobMenendez_000'), { count: 1 });
    const image = frames[0];
    const small = await runnerFor(96);
    const big = await runnerFor(128);
    expect(() => new LipsyncPipeline(lm, small.runner, small.manifest, { pasteArea: 'jaw' as never })).toThrow(/Unknown paste area "jaw": use "mouth"/);
    const pipeline = new LipsyncPipeline(lm, small.runner, small.manifest, { smooth: false });
    const prepared = pipeline.prepare(image, 0)!;
    expect(prepared.crop.size).toBe(96);

    pipeline.setGenerator(big.runner, big.manifest); // the swap lands while the frame waits for its audio
    expect(pipeline.fitsContract(prepared)).toBe(false);
    await expect(pipeline.generate(prepared, new Float32Array(80 * 16).fill(SILENCE_VALUE))).rejects.toThrow();
    const recut = pipeline.recut(image, prepared);
    expect(pipeline.fitsContract(recut)).toBe(true);
    // The same crop a fresh 128² preparation of this frame gives (same landmarks, no smoothing).
    lm.reset();
    const fresh = pipeline.prepare(image, 0)!;
    let maxDiff = 0;
    for (let i = 0; i < fresh.crop.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(fresh.crop.data[i] - recut.crop.data[i]));
    expect(maxDiff).toBeLessThan(1e-3);
    const out = await pipeline.generate(recut, new Float32Array(80 * 16).fill(SILENCE_VALUE));
    expect(out.size).toBe(128);
    const copy = { ...image, data: new Uint8ClampedArray(image.data) };
    pipeline.paste(copy, recut, out);

    pipeline.setGenerator(small.runner, small.manifest);
    const back = pipeline.recut(image, recut);
    expect(back.crop.size).toBe(96);
    expect(pipeline.recut(image, back)).toBe(back); // already fits: nothing is redone
    await small.runner.dispose();
    await big.runner.dispose();
  });
});

describe('LipsyncPipeline measures the person’s articulation as it goes', () => {
  it('unknown for the first minFrames faces, then the running range of this person’s mouth, forgotten on reset', async () => {
    const { frames } = readFrames(clipPath('sadtalker_WDA_BobMenendez_000'), { count: ARTICULATION.minFrames + 6 });
    const { runner, manifest } = await runnerFor(128);
    const pipeline = new LipsyncPipeline(lm, runner, manifest);
    const openings: number[] = [];
    frames.forEach((image, t) => {
      const prepared = pipeline.prepare(image, t * 40)!;
      openings.push(cropMouthOpening(prepared.landmarks.points, prepared.transform, manifest.cropSize));
      if (t < ARTICULATION.minFrames - 1) expect(prepared.articulation, `frame ${t}`).toBeNull();
      else {
        // The pipeline keeps the openings as float32: equal to that precision.
        const want = articulationOf(openings)!;
        prepared.articulation!.forEach((v, i) => expect(v, `frame ${t}`).toBeCloseTo(want[i], 6));
      }
    });
    // A man speaking to camera: his mouth opens by a few percent of the crop, more at the 90th percentile.
    const [p50, p90] = pipeline.prepare(frames[0], frames.length * 40)!.articulation!;
    expect(p50).toBeGreaterThan(0.005);
    expect(p90).toBeGreaterThan(p50);
    expect(p90).toBeLessThan(0.2);
    pipeline.reset();
    expect(pipeline.prepare(frames[0], 0)!.articulation).toBeNull();
    await runner.dispose();
  }, 120_000);
});

describe('LipsyncPipeline with the mouth-anchored crop template', () => {
  it('cuts a turned head so its usual mouth sits where the generator expects one, and pastes back in place', async () => {
    // lrs2_00024: a turned head whose mouth lies ~6 px right of and ~5 px above the plain crop's usual place.
    const { frames } = readFrames(clipPath('lrs2_00024'), { count: 40 });
    const S = 128;
    const built = buildTestGenerator({ size: S, melFrames: 16, past: 8, cropTemplate: CROP_TEMPLATE_MOUTH });
    const runner = await GeneratorRunner.create({ modelBytes: built.bytes, manifest: built.manifest, ort, preferredBackends: ['wasm'] });
    const mouthAt = (f: PreparedFrame) => {
      const [x, y] = [61, 291].map((i) => applyAffine(f.transform, f.landmarks.points[3 * i], f.landmarks.points[3 * i + 1]));
      return [(x[0] + y[0]) / 2 / S, (x[1] + y[1]) / 2 / S];
    };
    const plain = new LipsyncPipeline(lm, runner, { ...built.manifest, cropTemplate: CROP_TEMPLATE });
    lm.reset();
    const plainMouths = frames.map((f, t) => mouthAt(plain.prepare(f, t * 40)!));
    const anchored = new LipsyncPipeline(lm, runner, built.manifest);
    lm.reset();
    const prepared = frames.map((f, t) => anchored.prepare(f, t * 40)!);
    const mouths = prepared.map(mouthAt);
    const far = (m: number[]) => Math.hypot(m[0] - MOUTH_ANCHOR[0], m[1] - MOUTH_ANCHOR[1]) * S;
    // Once warmed up, mean distance (crop px) of each frame's mouth from the anchor. The head turns and talks, so no
    // frame is exactly on it; the anchor takes the mean offset of the second before.
    const meanFar = (ms: number[][]) => ms.slice(MOUTH_ANCHOR_WARMUP).reduce((s, m) => s + far(m), 0) / (ms.length - MOUTH_ANCHOR_WARMUP);
    expect(meanFar(plainMouths)).toBeGreaterThan(5);
    expect(meanFar(mouths)).toBeLessThan(0.6 * meanFar(plainMouths));
    // The first frame is cut as the plain template cuts it (nothing is known of the person yet).
    expect(far(mouths[0])).toBeCloseTo(far(plainMouths[0]), 3);

    // Paste-back goes through the same transform: a black generated crop blackens the real mouth, not beside it.
    const last = prepared.at(-1)!;
    const image = frames.at(-1)!;
    const copy = { ...image, data: new Uint8ClampedArray(image.data) };
    anchored.paste(copy, last, { size: S, data: new Float32Array(3 * S * S) });
    const P = last.landmarks.points;
    const at = (x: number, y: number) => copy.data[4 * (Math.round(y) * image.width + Math.round(x))];
    expect(at((P[3 * 61] + P[3 * 291]) / 2, (P[3 * 61 + 1] + P[3 * 291 + 1]) / 2)).toBeLessThan(10);
    expect(at(P[3 * 168], P[3 * 168 + 1])).toBe(image.data[4 * (Math.round(P[3 * 168 + 1]) * image.width + Math.round(P[3 * 168]))]);
    await runner.dispose();
  });
});

describe('LipsyncPipeline places the generated mouth on the person’s own', () => {
  it('reads its outputs back and moves a mouth drawn 6 px to the side onto the real one; a new generator starts afresh', async () => {
    const { frames } = readFrames(clipPath('sadtalker_WDA_BobMenendez_000'), { count: 40 });
    const { runner, manifest } = await runnerFor(128);
    // A generator that draws this face's own crop, moved 6 px right: the whole mouth displaced, as on a turned head.
    const drawn = 6;
    const displaced = {
      async run(inputs: { reference: Float32Array }): Promise<Float32Array> {
        const S = 128;
        const out = new Float32Array(inputs.reference.length);
        for (let c = 0; c < 3; c++)
          for (let v = 0; v < S; v++) for (let u = 0; u < S; u++) out[c * S * S + v * S + u] = inputs.reference[c * S * S + v * S + Math.max(0, u - drawn)];
        return out;
      },
    };
    const pipeline = new LipsyncPipeline(lm, displaced, manifest, { smooth: false });
    const mouthX = (points: Float32Array, p: PreparedFrame) => applyAffine(p.transform, (points[3 * 61] + points[3 * 291]) / 2, 0)[0];
    const offsets: number[] = [];
    const preparedFrames: PreparedFrame[] = [];
    for (const [t, image] of frames.entries()) {
      const prepared = pipeline.prepare(image, t * 40)!;
      const out = await pipeline.generate(prepared, new Float32Array(80 * 16).fill(SILENCE_VALUE));
      const shown = { ...image, data: new Uint8ClampedArray(image.data) };
      pipeline.paste(shown, prepared, out);
      // What a viewer sees: the mouth corners on the output against the real ones, crop px.
      const seen = lm.readNear(shown, prepared.landmarks.points)!;
      offsets.push(mouthX(seen.points, prepared) - mouthX(prepared.landmarks.points, prepared));
      pipeline.readOutput(shown, prepared);
      preparedFrames.push(prepared);
    }
    // Unplaced at first (about the 6 px drawn), on the person's mouth once read back (within a pixel).
    expect(offsets[0]).toBeGreaterThan(4);
    const settled = offsets.slice(-10).reduce((a, b) => a + b, 0) / 10;
    expect(Math.abs(settled)).toBeLessThan(1);
    expect(pipeline.mouthShift[0] * 128).toBeLessThan(-4);
    // Another generator draws elsewhere: its placement is learnt afresh, and a late reading of the old one is ignored.
    pipeline.setGenerator(runner, manifest);
    for (const p of preparedFrames.slice(20, 34))
      pipeline.observeOutput(
        p,
        p.landmarks.points.map((v, i) => (i % 3 === 0 ? v + 20 : v)),
      );
    const next = pipeline.prepare(frames[0], 2000)!;
    pipeline.paste(
      { ...frames[0], data: new Uint8ClampedArray(frames[0].data) },
      next,
      await pipeline.generate(next, new Float32Array(80 * 16).fill(SILENCE_VALUE)),
    );
    expect(pipeline.mouthShift).toEqual([0, 0]);
    // So is a late reading from before a reset (a restarted session: another person, perhaps).
    pipeline.reset();
    for (const p of preparedFrames.slice(20, 34))
      pipeline.observeOutput(
        p,
        p.landmarks.points.map((v, i) => (i % 3 === 0 ? v + 20 : v)),
      );
    const fresh = pipeline.prepare(frames[0], 0)!;
    expect(fresh.index).toBeGreaterThan(preparedFrames.at(-1)!.index);
    pipeline.paste(
      { ...frames[0], data: new Uint8ClampedArray(frames[0].data) },
      fresh,
      await pipeline.generate(fresh, new Float32Array(80 * 16).fill(SILENCE_VALUE)),
    );
    expect(pipeline.mouthShift).toEqual([0, 0]);
    await runner.dispose();
  }, 120_000);
});

describe('LipsyncPipeline opens the mouth as far as the person does (a generator with the openingGain input)', () => {
  it('feeds the gain learnt from its reads: an output that opens 3× wider than the person, in step, is closed to match', async () => {
    const { frames } = readFrames(clipPath('sadtalker_WDA_BobMenendez_000'), { count: 120 });
    const { manifest } = await runnerFor(128);
    const fed: (number | undefined)[] = [];
    const recording = {
      async run(inputs: { reference: Float32Array; openingGain?: number }): Promise<Float32Array> {
        fed.push(inputs.openingGain);
        return inputs.reference.slice();
      },
    };
    const withGain = { ...manifest, inputs: { ...manifest.inputs, openingGain: { name: 'openingGain', shape: [1, 1] } } };
    const pipeline = new LipsyncPipeline(lm, recording, withGain, { smooth: false });
    const lowerInner = [14, 87, 317];
    const upperInner = [13, 82, 312];
    for (const [t, image] of frames.entries()) {
      const prepared = pipeline.prepare(image, t * 40)!;
      await pipeline.generate(prepared, new Float32Array(80 * 16).fill(SILENCE_VALUE));
      if (!pipeline.wantsOutputLandmarks(prepared)) continue;
      // What the face mesh would read on an output generated at that gain: the person's mouth, opened 3 × gain as wide.
      const out = prepared.landmarks.points.slice();
      lowerInner.forEach((d, k) => {
        const u = upperInner[k];
        out[3 * d + 1] = out[3 * u + 1] + 3 * fed[t]! * (out[3 * d + 1] - out[3 * u + 1]);
      });
      pipeline.observeOutput(prepared, out);
    }
    expect(fed[0]).toBe(1);
    // The person speaks on this clip, so the two openings move together and the gain is learnt: 1/3, within the floor.
    expect(fed.at(-1)!).toBeLessThan(0.5);
    expect(pipeline.openingGain).toBe(fed.at(-1));
    // A generator without the input is never fed one.
    const plain: (number | undefined)[] = [];
    const without = new LipsyncPipeline(
      lm,
      { run: async (i: { reference: Float32Array; openingGain?: number }) => (plain.push(i.openingGain), i.reference.slice()) },
      manifest,
      { smooth: false },
    );
    await without.generate(without.prepare(frames[0], 0)!, new Float32Array(80 * 16).fill(SILENCE_VALUE));
    expect(plain).toEqual([undefined]);
  }, 120_000);
});
