import { beforeAll, describe, expect, it } from 'vitest';
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
import { mulberry32 } from '../../src/engine/training/rng.ts';
import { checkParity } from './parity.ts';

ort.env.wasm.numThreads = 1;

const noTorch = pythonTorchMissing();
if (noTorch) console.warn(`opening-gain tests skipped: ${noTorch}`);

const S = 64;
const frameInputs = (seed: number) => inputsOf(S, seed);

describe.skipIf(!!noTorch)('a generator with the openingGain input (export.py --opening-gain)', () => {
  let gen: ExportedGenerator;
  let manifest: GeneratorManifest;
  /** The export with its FiLM layers given weights, so that the audio code is heard (two training steps barely move them). */
  let bytes: Uint8Array;
  beforeAll(async () => {
    await tf.setBackend('cpu');
    gen = exportedGenerator({ size: S, widths: '8,16,16,16', openingGain: true });
    manifest = parseManifest(gen.manifest);
    const net = onnxToTf(gen.bytes);
    const w = net.exportWeights();
    const r = mulberry32(5);
    for (const [name, v] of w)
      if (/(gamma|beta)\.weight$/.test(name))
        w.set(
          name,
          Float32Array.from(v, () => (r() - 0.5) * 0.5),
        );
    net.importWeights(w);
    bytes = net.toOnnx();
    net.dispose();
  }, 300_000);

  it('is declared [1, 1], and onnxruntime-web reproduces PyTorch at a gain of 0.7', async () => {
    expect(manifest.inputs.openingGain).toEqual({ name: 'openingGain', shape: [1, 1] });
    const { openingGain: _, ...withoutIt } = manifest.inputs;
    expect(() => validateGenerator(gen.bytes, { ...manifest, inputs: withoutIt })).toThrow(/needs input "openingGain", which the manifest does not describe/);
    const parity = await checkParity(gen.dir, { checkMel: false });
    expect(parity.ok).toBe(true);
  });

  it('a gain of 1 is the network as trained, 0 is the audio of silence, and between them only the lower half changes', async () => {
    const runner = await GeneratorRunner.create({ modelBytes: bytes, manifest, ort, preferredBackends: ['wasm'] });
    try {
      const x = frameInputs(1);
      const trained = await runner.run(x);
      expect(maxAbsDiff(trained, await runner.run({ ...x, openingGain: 1 }))).toBe(0);
      const silentAudio = await runner.run({ ...x, audio: new Float32Array(80 * 16).fill(-1) });
      expect(maxAbsDiff(await runner.run({ ...x, openingGain: 0 }), silentAudio)).toBeLessThan(1e-5);
      const half = await runner.run({ ...x, openingGain: 0.5 });
      const lower = (a: Float32Array) => a.filter((_, i) => i % (S * S) >= (S / 2) * S);
      const upper = (a: Float32Array) => a.filter((_, i) => i % (S * S) < (S / 2) * S);
      expect(maxAbsDiff(lower(half), lower(trained))).toBeGreaterThan(1e-3);
      expect(maxAbsDiff(lower(half), lower(silentAudio))).toBeGreaterThan(1e-3);
      expect(maxAbsDiff(upper(half), upper(trained))).toBe(0);
    } finally {
      await runner.dispose();
    }
  });

  it('the fine-tune reads the graph as trained (gain 1; tfjs = onnxruntime within 1e-4) and writes it back with the input', async () => {
    const x = frameInputs(2);
    const net = onnxToTf(bytes);
    try {
      const out = tf.tidy(
        () =>
          net
            .forward({
              masked: tf.tensor4d(x.masked, [1, 3, S, S]),
              reference: tf.tensor4d(x.reference, [1, 3, S, S]),
              audio: tf.tensor3d(x.audio, [1, 80, 16]),
              openingGain: tf.ones([1, 1]),
            })
            .dataSync() as Float32Array,
      );
      const runner = await GeneratorRunner.create({ modelBytes: bytes, manifest, ort, preferredBackends: ['wasm'] });
      expect(maxAbsDiff(out, await runner.run(x))).toBeLessThan(1e-4);
      // The weights written back (what a fine-tune saves) keep the input and its effect.
      const written = await GeneratorRunner.create({ modelBytes: net.toOnnx(), manifest, ort, preferredBackends: ['wasm'] });
      expect(maxAbsDiff(await written.run({ ...x, openingGain: 0.5 }), await runner.run({ ...x, openingGain: 0.5 }))).toBeLessThan(1e-5);
      await written.dispose();
      await runner.dispose();
    } finally {
      net.dispose();
    }
  });
});
