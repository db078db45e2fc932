import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-web';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import {
  exportedGenerator,
  frameInputs as inputsOf,
  maxAbsDiff,
  pythonTorchMissing,
  type ExportedGenerator,
} from '../../src/node/exportedGenerator.testutil.ts';
import { GeneratorRunner } from '../../src/engine/generator/runner.ts';
import { parseManifest, type GeneratorManifest } from '../../src/engine/generator/manifest.ts';
import { validateGenerator } from '../../src/engine/generator/validate.ts';
import { onnxToTf } from '../../src/engine/training/onnxToTf.ts';
import { FineTuner, type ClipData } from '../../src/engine/training/fineTune.ts';
import { articulationAround, cropMouthOpeningInCrop } from '../../src/engine/face/articulation.ts';
import { mulberry32 } from '../../src/engine/training/rng.ts';

ort.env.wasm.numThreads = 1;

const noTorch = pythonTorchMissing();
if (noTorch) console.warn(`articulation-input tests skipped: ${noTorch}`);

const S = 64;
const frameInputs = (seed: number) => inputsOf(S, seed);
const WEIGHT = 'audio.articulation.weight';

/** A prepared clip of the trainer's synthetic dataset (tools/train/synth.py), as the fine-tune reads one. */
function synthClip(dataDir: string, dir: string): ClipData {
  const index = JSON.parse(readFileSync(join(dataDir, 'index.json'), 'utf8')) as { clips: { dir: string; frames: number; melFrames: number }[] };
  const c = index.clips.find((x) => x.dir === dir)!;
  const f32 = (name: string) => {
    const b = readFileSync(join(dataDir, dir, name));
    return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  };
  return {
    size: S,
    frames: c.frames,
    fps: 25,
    crops: new Uint8Array(readFileSync(join(dataDir, dir, 'crops.u8'))),
    valid: new Uint8Array(readFileSync(join(dataDir, dir, 'valid.u8'))),
    landmarks: f32('landmarks.f32'),
    mel: f32('mel.f32'),
    melFrames: c.melFrames,
  };
}

describe.skipIf(!!noTorch)('a generator with the person-articulation input (train.py --articulation)', () => {
  let gen: ExportedGenerator;
  let manifest: GeneratorManifest;
  /**
   * The export with its articulation Gemm and the FiLM layers it drives given weights (after two training steps they
   * are still near their zero start: the input would not be heard yet).
   */
  let bytes: Uint8Array;
  /** A 90-frame synthetic clip (the model's own are 30 frames: too few to know anyone's range away from a target). */
  let longData: string;
  beforeAll(async () => {
    await tf.setBackend('cpu');
    gen = exportedGenerator({ size: S, widths: '8,16,16,16', articulation: true });
    manifest = parseManifest(gen.manifest);
    const net = onnxToTf(gen.bytes);
    const w = net.exportWeights();
    const r = mulberry32(3);
    for (const [name, v] of w)
      if (name === WEIGHT || /(gamma|beta)\.weight$/.test(name))
        w.set(
          name,
          Float32Array.from(v, () => (r() - 0.5) * 0.5),
        );
    net.importWeights(w);
    bytes = net.toOnnx();
    net.dispose();
    longData = join(gen.dir, '..', 'data-long');
    execFileSync('/usr/bin/python3', ['tools/train/synth.py', '--out', longData, '--clips', '1', '--frames', '90', '--identities', '1', '--size', String(S)], {
      stdio: 'pipe',
    });
  }, 300_000);

  it('declares the input with the training people’s prior, and validation refuses a manifest that leaves it out', () => {
    const spec = manifest.inputs.articulation!;
    expect(spec.shape).toEqual([1, 2]);
    expect(spec.prior[0]).toBeGreaterThan(0);
    expect(spec.prior[1]).toBeGreaterThan(spec.prior[0]);
    const { articulation: _, ...withoutIt } = manifest.inputs;
    expect(() => validateGenerator(bytes, { ...manifest, inputs: withoutIt })).toThrow(/needs input "articulation", which the manifest does not describe/);
  });

  it('on onnxruntime-web, no articulation means the prior, and a wider-opening person changes only the lower half', async () => {
    const runner = await GeneratorRunner.create({ modelBytes: bytes, manifest, ort, preferredBackends: ['wasm'] });
    try {
      const x = frameInputs(1);
      const unknown = await runner.run(x);
      const prior = await runner.run({ ...x, articulation: Float32Array.from(manifest.inputs.articulation!.prior) });
      expect(maxAbsDiff(unknown, prior)).toBe(0);
      const wide = await runner.run({ ...x, articulation: Float32Array.of(0.09, 0.14) });
      const narrow = await runner.run({ ...x, articulation: Float32Array.of(0.004, 0.015) });
      const lower = (a: Float32Array) => a.filter((_, i) => i % (S * S) >= (S / 2) * S);
      const upper = (a: Float32Array) => a.filter((_, i) => i % (S * S) < (S / 2) * S);
      expect(maxAbsDiff(lower(wide), lower(narrow))).toBeGreaterThan(1e-3);
      expect(maxAbsDiff(upper(wide), upper(narrow))).toBe(0);
      await expect(runner.run({ ...x, articulation: Float32Array.of(0.05) })).rejects.toThrow(/articulation input needs 2 float32 values/);
    } finally {
      await runner.dispose();
    }
  });

  it('the fine-tune reads it (tfjs = onnxruntime within 1e-4), feeds each target its range and trains its weights', async () => {
    const x = frameInputs(2);
    const art = Float32Array.of(0.07, 0.1);
    const net = onnxToTf(bytes);
    try {
      const out = tf.tidy(
        () =>
          net
            .forward({
              masked: tf.tensor4d(x.masked, [1, 3, S, S]),
              reference: tf.tensor4d(x.reference, [1, 3, S, S]),
              audio: tf.tensor3d(x.audio, [1, 80, 16]),
              articulation: tf.tensor2d(art, [1, 2]),
            })
            .dataSync() as Float32Array,
      );
      const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
      const want = await session.run({
        masked: new ort.Tensor('float32', x.masked, [1, 3, S, S]),
        reference: new ort.Tensor('float32', x.reference, [1, 3, S, S]),
        audio: new ort.Tensor('float32', x.audio, [1, 80, 16]),
        articulation: new ort.Tensor('float32', art, [1, 2]),
      });
      expect(maxAbsDiff(out, want.face.data as Float32Array)).toBeLessThan(1e-4);
      await session.release();
    } finally {
      net.dispose();
    }

    const clip = synthClip(longData, 'clip000');
    const ft = new FineTuner({ modelBytes: bytes, manifest, clip, batchSize: 2, holdOut: 0.25, learningRate: 1e-2, seed: 4 });
    try {
      const before = ft.net.exportWeights().get(WEIGHT)!;
      for (let i = 0; i < 3; i++) await ft.step();
      const after = ft.net.exportWeights().get(WEIGHT)!;
      expect(maxAbsDiff(before, after)).toBeGreaterThan(1e-4);
      const written = onnxToTf(ft.net.toOnnx());
      expect(maxAbsDiff(written.exportWeights().get(WEIGHT)!, after)).toBe(0);
      written.dispose();
    } finally {
      ft.dispose();
    }
  });

  it('the trainer (data.py) and the engine (articulation.ts) measure the same range for every target', () => {
    const script = `
import json, os, sys
sys.path.insert(0, "tools/train")
import numpy as np
from data import PreparedData
root = sys.argv[1]
np.array([0, 0, 6], dtype=np.int32).tofile(os.path.join(root, "pairs.i32"))
d = PreparedData(root)
c = d.clips[0]
print(json.dumps([[float(v) for v in d.articulation(c, t, (-1.0, -1.0))] for t in range(c.frames)]))
`;
    const py = JSON.parse(execFileSync('/usr/bin/python3', ['-c', script, longData], { encoding: 'utf8' }).trim().split('\n').at(-1)!) as number[][];
    const clip = synthClip(longData, 'clip000');
    const n = 478 * 3;
    const openings = Float32Array.from({ length: clip.frames }, (_, t) =>
      clip.valid[t] ? cropMouthOpeningInCrop(clip.landmarks.subarray(t * n, (t + 1) * n), S) : NaN,
    );
    let known = 0;
    for (let t = 0; t < clip.frames; t++) {
      const ts = articulationAround(openings, t, 5);
      if (py[t][0] === -1) {
        expect(ts, `frame ${t}`).toBeNull();
        continue;
      }
      known++;
      expect(ts, `frame ${t}`).not.toBeNull();
      expect(Math.abs(ts![0] - py[t][0]) + Math.abs(ts![1] - py[t][1]), `frame ${t}`).toBeLessThan(1e-6);
    }
    expect(known).toBeGreaterThan(60);
  });
});
