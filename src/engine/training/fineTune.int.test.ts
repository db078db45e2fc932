import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { clipPath, readClipFile, streamFrames } from '../../node/clipFrames.ts';
import { createNodeFaceLandmarker } from '../../node/tfNode.ts';
import { readWav } from '../audio/wav.ts';
import { MEL_CONFIG } from '../audio/melConfig.ts';
import { buildTestGenerator } from '../generator/testGenerator.ts';
import { readOnnxModel } from '../generator/onnx.ts';
import { prepareClip, ClipPrepError, type PreparedClip } from './clipPrep.ts';
import { DEFAULT_FROZEN, FineTuner, type ClipData, type FineTuneOptions } from './fineTune.ts';
import { SamplerError } from './sampler.ts';
import { exportedGenerator, pythonTorchMissing } from '../../node/exportedGenerator.testutil.ts';

const CLIP = 'styletalk_Obama_clip2';
const S = 64;
const FRAMES = 100; // 4 s: the held-out 10% tail (10 frames) still has pairs more than 5 frames apart
let clip: PreparedClip;
let progressCalls = 0;

/** A prefix of the prepared clip (frames and the matching mel), as if a shorter clip had been recorded. */
function head(c: ClipData, frames: number): ClipData {
  const plane = c.size * c.size * 3;
  const melFrames = frames * 4 + 1;
  return {
    ...c,
    frames,
    crops: c.crops.subarray(0, frames * plane),
    valid: c.valid.subarray(0, frames),
    landmarks: c.landmarks.subarray(0, frames * 478 * 3),
    mel: c.mel.subarray(0, melFrames * 80),
    melFrames,
  };
}

/** Validation before and after `steps` training steps, and the training speed. */
async function trainSteps(ft: FineTuner, steps: number) {
  const before = await ft.validate();
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) await ft.step();
  const stepsPerSec = steps / ((performance.now() - t0) / 1000);
  return { before, after: await ft.validate(), stepsPerSec };
}

beforeAll(async () => {
  // Preprocess with the engine's face tracker (tfjs wasm), then train on the cpu backend.
  const landmarker = await createNodeFaceLandmarker('wasm');
  const wav = readWav(readClipFile(CLIP, 'audio.wav'));
  try {
    clip = await prepareClip({
      frames: streamFrames(clipPath(CLIP), FRAMES),
      total: FRAMES,
      fps: 25,
      audio: { samples: wav.mono, sampleRate: wav.sampleRate },
      landmarker,
      size: S,
      onProgress: () => progressCalls++,
    });
  } finally {
    landmarker.dispose();
  }
  await tf.setBackend('cpu');
}, 120_000);

describe('prepareClip on a real clip', () => {
  it('gives crops, faces, crop-space landmarks and mel in the data:prepare layout', () => {
    expect(clip.frames).toBe(FRAMES);
    expect(progressCalls).toBe(FRAMES);
    expect(clip.dropped).toBe(0);
    expect(clip.valid.every((v) => v === 1)).toBe(true);
    expect(clip.crops.length).toBe(FRAMES * S * S * 3);
    expect(clip.melFrames).toBe(FRAMES * 4 + 1); // 4 s at 100 frames/s, centred frame 0
    expect(clip.mel.length).toBe(clip.melFrames * MEL_CONFIG.nMels);
    // Lips in the lower half of the crop.
    const lipY = clip.landmarks[3 * 14 + 1];
    expect(lipY).toBeGreaterThan(S / 2);
    expect(lipY).toBeLessThan(S);
  });

  it('refuses a clip without audio or without a face, saying so', async () => {
    const landmarker = { detect: () => null };
    const frames = [{ width: 8, height: 8, data: new Uint8ClampedArray(256) }];
    await expect(prepareClip({ frames, fps: 25, audio: { samples: new Float32Array(0), sampleRate: 16000 }, landmarker, size: S })).rejects.toMatchObject({
      code: 'no-audio',
    });
    const noise = Float32Array.from({ length: 1600 }, (_, i) => Math.sin(i));
    const err = await prepareClip({ frames, fps: 25, audio: { samples: noise, sampleRate: 16000 }, landmarker, size: S }).catch((e) => e);
    expect(err).toBeInstanceOf(ClipPrepError);
    expect(err.code).toBe('no-face');
    expect(err.message).toMatch(/No face/);
  });
});

describe('FineTuner on a real clip', () => {
  const { bytes, manifest } = buildTestGenerator({ size: S, melFrames: 16, past: 8, cropTemplate: 'facemesh-sim-v1' });

  it('keeps the reference rule and the held-out tail', () => {
    const ft = new FineTuner({ modelBytes: bytes, manifest, clip, batchSize: 2 });
    try {
      const split = FRAMES - 10;
      for (const p of ft.valPairs) {
        expect(p.target).toBeGreaterThanOrEqual(split);
        expect(p.reference).toBeGreaterThanOrEqual(split);
        expect(Math.abs(p.reference - p.target)).toBeGreaterThan(5);
      }
      for (const c of ft.trainPlan.clips) for (const t of c.targets) expect(t).toBeLessThan(split);
    } finally {
      ft.dispose();
    }
  });

  it('memory stays flat over 50 steps (with validation and preview)', async () => {
    const ft = new FineTuner({ modelBytes: bytes, manifest, clip, batchSize: 2, valPairs: 4 });
    try {
      await ft.step();
      await ft.validate();
      await ft.preview();
      await ft.checkpoint();
      const n = tf.memory().numTensors;
      for (let i = 0; i < 50; i++) {
        await ft.step();
        if (i % 10 === 0) {
          await ft.validate();
          await ft.preview(i);
          await ft.checkpoint();
        }
        expect(tf.memory().numTensors).toBe(n);
      }
      expect(ft.steps).toBe(51);
    } finally {
      ft.dispose();
    }
  });

  it('a clip too short for the rule is refused with clip-too-short', () => {
    const err = (() => {
      try {
        new FineTuner({ modelBytes: bytes, manifest, clip: head(clip, 40) });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(SamplerError);
    expect((err as SamplerError).code).toBe('clip-too-short');
    expect((err as Error).message).toMatch(/too short.*held-out tail.*Record at least 2\.8 s/);
  });

  it('validation loss goes down over 30 steps (test generator)', async () => {
    const ft = new FineTuner({ modelBytes: bytes, manifest, clip, batchSize: 4, learningRate: 3e-4, valPairs: 8 });
    try {
      const { before, after, stepsPerSec } = await trainSteps(ft, 30);
      console.log(`test generator S=${S}, batch 4, tfjs cpu: ${stepsPerSec.toFixed(2)} steps/s; val loss ${before.loss.toFixed(4)} → ${after.loss.toFixed(4)}`);
      expect(after.loss).toBeLessThan(before.loss * 0.98);
      const p = await ft.preview();
      expect(p.prediction.width).toBe(S);
      expect(p.target.data.length).toBe(S * S * 4);
    } finally {
      ft.dispose();
    }
  });
});

describe('FineTuner augmentation', () => {
  const { bytes, manifest } = buildTestGenerator({ size: S, melFrames: 16, past: 8, cropTemplate: 'facemesh-sim-v1' });
  const tuner = (opts: Partial<FineTuneOptions> = {}) => new FineTuner({ modelBytes: bytes, manifest, clip, batchSize: 2, valPairs: 4, ...opts });
  const ZERO = { shift: 0, scale: 0, refShift: 0, refScale: 0, brightness: 0, contrast: 0, gain: 0, flip: 0 };

  it('training batches: masked cut from the augmented target, weight follows it, audio untouched; seeded', () => {
    const a = tuner({ seed: 3 }),
      b = tuner({ seed: 3 }),
      c = tuner({ seed: 4 });
    try {
      const pairs = a.valPairs.slice(0, 2);
      const plain = a['batch'](pairs);
      const aug = a['batch'](pairs, true);
      const y0 = Math.round(S * (1 - manifest.maskRatio));
      for (let bc = 0; bc < 2 * 3; bc++) {
        const plane = aug.masked.subarray(bc * S * S, (bc + 1) * S * S);
        expect(plane.subarray(0, y0 * S)).toEqual(aug.target.subarray(bc * S * S, bc * S * S + y0 * S));
        expect(plane.subarray(y0 * S).every((v) => v === manifest.maskFill)).toBe(true);
      }
      expect(aug.target).not.toEqual(plain.target);
      expect(aug.masked.subarray(0, y0 * S)).not.toEqual(plain.masked.subarray(0, y0 * S));
      expect(aug.reference).not.toEqual(plain.reference);
      expect(aug.weight).not.toEqual(plain.weight);
      expect(aug.audio).toEqual(plain.audio);
      // The un-augmented batch is what it was before augmentation existed; seeded draws repeat and vary.
      expect(b['batch'](pairs)).toEqual(plain);
      expect(b['batch'](pairs, true)).toEqual(aug);
      expect(c['batch'](pairs, true).target).not.toEqual(aug.target);
    } finally {
      for (const t of [a, b, c]) t.dispose();
    }
  });

  it('validation and preview are not augmented; zero-strength augmentation trains exactly like none', async () => {
    const on = tuner({ seed: 5 }),
      off = tuner({ seed: 5, augment: false }),
      zero = tuner({ seed: 5, augment: ZERO });
    try {
      expect(await on.validate()).toEqual(await off.validate());
      expect((await on.preview(1)).prediction).toEqual((await off.preview(1)).prediction);
      const s0 = await off.step(),
        s1 = await off.step();
      // Same pairs (augmentation draws from its own stream) and identity batches ⇒ the same losses.
      expect(await zero.step()).toEqual(s0);
      expect(await zero.step()).toEqual(s1);
      expect((await on.step()).loss).not.toBe(s0.loss);
      // Same weights ⇒ same validation whatever the augmentation setting.
      on.net.importWeights(await off.net.exportWeightsAsync());
      expect(await on.validate()).toEqual(await off.validate());
    } finally {
      for (const t of [on, off, zero]) t.dispose();
    }
  });
});

const noTorch = pythonTorchMissing();
if (noTorch) console.warn(`FineTuner exported-generator test skipped: ${noTorch}`);

describe.skipIf(!!noTorch)('FineTuner with a generator exported by tools/train', () => {
  it('validation loss goes down over 30 steps; the result is the same graph with new weights', async () => {
    const gen = exportedGenerator({ size: S, widths: '8,16,16,16' });
    // An untrained network: every layer trains, at 1e-3 (the app's frozen layers, 3e-4 and its texture weight of 10 suit
    // a trained base: here the texture error dominates the loss and 30 steps at 3e-4 do not move it; the next test covers
    // the frozen layers).
    const ft = new FineTuner({ modelBytes: gen.bytes, manifest: gen.manifest, clip, batchSize: 4, learningRate: 1e-3, valPairs: 8, frozen: [] });
    try {
      const { before, after, stepsPerSec } = await trainSteps(ft, 30);
      console.log(
        `exported generator S=${S} widths 8,16,16,16, batch 4, tfjs cpu: ${stepsPerSec.toFixed(2)} steps/s; val loss ${before.loss.toFixed(4)} → ${after.loss.toFixed(4)} (mouth ${before.mouth.toFixed(4)} → ${after.mouth.toFixed(4)})`,
      );
      expect(after.loss).toBeLessThan(before.loss * 0.98);
      const bytes = ft.toOnnx();
      expect(readOnnxModel(bytes).nodes).toEqual(readOnnxModel(gen.bytes).nodes);
      const w0 = readOnnxModel(gen.bytes).initializers.find((t) => t.name === 'head.weight')!.data!;
      const w1 = readOnnxModel(bytes).initializers.find((t) => t.name === 'head.weight')!.data!;
      expect(w1).not.toEqual(w0);
    } finally {
      ft.dispose();
    }
  }, 300_000);

  it("which layers train: the contract's frozen layers by default, every layer with frozen [], a clear error if nothing is left", async () => {
    const gen = exportedGenerator({ size: S, widths: '8,16,16,16' });
    const make = (frozen?: string[]) => new FineTuner({ modelBytes: gen.bytes, manifest: gen.manifest, clip, batchSize: 2, valPairs: 4, frozen });
    const byDefault = make(),
      all = make([]);
    try {
      const names = all.net.trainableNames;
      expect(names).toContain('head.weight');
      const frozen = names.filter((n) => !byDefault.net.trainableNames.includes(n));
      // Every frozen weight is one of the contract's prefixes (or under one), and the audio path is never among them.
      expect(frozen.length).toBeGreaterThan(0);
      for (const n of frozen)
        expect(
          DEFAULT_FROZEN.some((p) => n === p || n.startsWith(`${p}.`)),
          n,
        ).toBe(true);
      expect(frozen.some((n) => n.startsWith('audio.') || n.includes('.film.'))).toBe(false);
      // A step on the frozen recipe leaves the frozen weights as they were.
      const before = all.net.exportWeights();
      await byDefault.step();
      const after = byDefault.net.exportWeights();
      expect([...after.keys()].some((n) => frozen.includes(n))).toBe(false);
      expect([...after.entries()].some(([n, w]) => !before.get(n)!.every((v, i) => v === w[i]))).toBe(true);
      // The written model keeps the frozen layers' weights exactly.
      const weight = (b: Uint8Array, name: string) => readOnnxModel(b).initializers.find((t) => t.name === name)!.data!;
      const written = byDefault.toOnnx();
      for (const n of frozen) expect(weight(written, n), n).toEqual(weight(gen.bytes, n));
    } finally {
      byDefault.dispose();
      all.dispose();
    }
    const prefixes = [...new Set(readOnnxModel(gen.bytes).initializers.map((t) => t.name.split('.')[0]))];
    expect(() => make(prefixes)).toThrow(/Every layer of this generator is frozen/);
  }, 300_000);

  it('trains the texture term: on the same batches, a run that weights it ends with less detail error', async () => {
    // The term's value equals the trainer's (lossesParity.int.test.ts); this checks that its gradient reaches the
    // weights through the fine-tune. Same seed, so both runs see the same pairs and augmentation, step by step.
    // Its effect on real models is measured by npm run eval:finetune-sweep (model card).
    const gen = exportedGenerator({ size: S, widths: '8,16,16,16' });
    const run = async (texture: number) => {
      const ft = new FineTuner({
        modelBytes: gen.bytes,
        manifest: gen.manifest,
        clip,
        batchSize: 4,
        learningRate: 1e-3,
        valPairs: 4,
        seed: 7,
        frozen: [],
        lossWeights: { mouth: 0, grad: 0, texture },
      });
      try {
        const detail: number[] = [];
        for (let i = 0; i < 20; i++) detail.push((await ft.step()).texture);
        return detail;
      } finally {
        ft.dispose();
      }
    };
    const off = await run(0);
    const on = await run(20);
    const last = (d: number[]) => d.slice(-10).reduce((a, b) => a + b, 0);
    console.log(`training detail error, last 10 steps: ${last(off).toFixed(4)} without the term, ${last(on).toFixed(4)} with it`);
    expect(on[0]).toBeCloseTo(off[0], 6); // the same first batch through the same weights
    for (let i = 5; i < 20; i++) expect(on[i], `step ${i + 1}`).toBeLessThan(off[i]);
    expect(last(on)).toBeLessThan(last(off) * 0.97);
  }, 300_000);
});
