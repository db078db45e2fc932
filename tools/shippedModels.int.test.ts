/**
 * Every generator the app ships (public/models/: the default and the opt-in candidates) honours the contract the
 * app checks at load time, matches its manifest's checksum, runs only WebGPU-native ops, and is read by the
 * fine-tune's ONNX→tfjs reader with the same output as onnxruntime.
 */
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import * as ort from 'onnxruntime-web';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { contractDifference, parseManifest } from '../src/engine/generator/manifest.ts';
import { validateGenerator, WEBGPU_NATIVE_OPS } from '../src/engine/generator/validate.ts';
import { MEL_CONFIG } from '../src/engine/audio/melConfig.ts';
import { onnxToTf } from '../src/engine/training/onnxToTf.ts';
import { mulberry32 } from '../src/engine/training/rng.ts';
import { maxAbsDiff } from '../src/node/exportedGenerator.testutil.ts';

ort.env.wasm.numThreads = 1;
const MODELS = resolve(import.meta.dirname, '../public/models');

function manifests(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? manifests(join(dir, e.name)) : e.name === 'manifest.json' ? [join(dir, e.name)] : [],
  );
}

const found = existsSync(MODELS) ? manifests(MODELS) : [];

describe('shipped generators', () => {
  it('the default, its cpu build and at least one candidate are there', () => {
    expect(found.map((p) => relative(MODELS, p))).toEqual(
      expect.arrayContaining(['manifest.json', 'cpu/manifest.json', 'candidates/lipsync-0.3.2/manifest.json']),
    );
  });

  for (const path of found) {
    it(`${relative(MODELS, path)}: contract, checksum, WebGPU ops, and the fine-tune reader agrees with onnxruntime`, async () => {
      const raw = JSON.parse(readFileSync(path, 'utf8')) as { sha256?: string };
      const manifest = parseManifest(raw);
      const bytes = new Uint8Array(readFileSync(join(dirname(path), manifest.model)));
      const info = validateGenerator(bytes, manifest, { expectedMel: MEL_CONFIG });
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(raw.sha256);
      expect(info.nodes.filter((n) => !WEBGPU_NATIVE_OPS.has(n.opType)).map((n) => n.opType)).toEqual([]);
      // A variant (the cpu build) takes this one's place frame for frame: same contract.
      for (const variant of Object.values(manifest.variants ?? {})) {
        const other = parseManifest(JSON.parse(readFileSync(join(dirname(path), variant), 'utf8')));
        expect(contractDifference(manifest, other), variant).toBeNull();
        expect(found).toContain(join(dirname(path), variant));
      }

      const S = manifest.cropSize;
      const [, M, T] = manifest.inputs.audio.shape;
      const r = mulberry32(3);
      const masked = Float32Array.from({ length: 3 * S * S }, r);
      const reference = Float32Array.from({ length: 3 * S * S }, r);
      const audio = Float32Array.from({ length: M * T }, () => r() * 2 - 1);
      // A shipped generator with the opening control is checked with it in use (below 1), where both runtimes must agree.
      const gain = manifest.inputs.openingGain ? Float32Array.of(0.6) : null;
      const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
      const viaOrt = (
        await session.run({
          [manifest.inputs.masked.name]: new ort.Tensor('float32', masked, [1, 3, S, S]),
          [manifest.inputs.reference.name]: new ort.Tensor('float32', reference, [1, 3, S, S]),
          [manifest.inputs.audio.name]: new ort.Tensor('float32', audio, [1, M, T]),
          ...(gain && manifest.inputs.openingGain ? { [manifest.inputs.openingGain.name]: new ort.Tensor('float32', gain, [1, 1]) } : {}),
        })
      )[manifest.output.name].data as Float32Array;
      await session.release();
      const net = onnxToTf(bytes);
      try {
        const viaTf = tf.tidy(
          () =>
            net
              .forward({
                masked: tf.tensor(masked, [1, 3, S, S]),
                reference: tf.tensor(reference, [1, 3, S, S]),
                audio: tf.tensor(audio, [1, M, T]),
                ...(gain && manifest.inputs.openingGain ? { [manifest.inputs.openingGain.name]: tf.tensor(gain, [1, 1]) } : {}),
              })
              .dataSync() as Float32Array,
        );
        expect(maxAbsDiff(viaOrt, viaTf)).toBeLessThan(1e-4);
      } finally {
        net.dispose();
      }
    }, 120_000);
  }
});
