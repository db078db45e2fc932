/**
 * The browser fine-tune's step time with the contract's frozen layers against training every layer, on the wasm
 * build (what a device without WebGPU fine-tunes), tfjs cpu backend in Node, batch 4, alternating so that both see
 * the same machine load. Part of `npm run bench`; alone: `npx tsx bench/fineTuneStep.ts`. A synthetic clip: the
 * cost of a step does not depend on what the frames show.
 */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { DEFAULT_FROZEN, FineTuner, type ClipData } from '../src/engine/training/fineTune.ts';
import { parseManifest } from '../src/engine/generator/manifest.ts';
import { LANDMARK_COUNT } from '../src/engine/face/meshIndices.ts';
import { mulberry32 } from '../src/engine/training/rng.ts';

export interface FineTuneStepTiming {
  layers: 'frozen (contract)' | 'every layer';
  trainable: number;
  secPerStep: number[];
}

function syntheticClip(size: number, frames: number): ClipData {
  const r = mulberry32(1);
  const melFrames = frames * 4 + 1;
  const landmarks = new Float32Array(frames * LANDMARK_COUNT * 3);
  for (let i = 0; i < landmarks.length; i++) landmarks[i] = i % 3 === 2 ? 0 : size * (0.3 + 0.4 * r());
  return {
    size,
    frames,
    fps: 25,
    crops: Uint8Array.from({ length: frames * size * size * 3 }, () => Math.floor(r() * 256)),
    valid: new Uint8Array(frames).fill(1),
    landmarks,
    mel: Float32Array.from({ length: melFrames * 80 }, () => r() * 2 - 1),
    melFrames,
  };
}

export async function benchFineTuneStep(manifestPath: string, rounds = 2, steps = 2): Promise<FineTuneStepTiming[]> {
  await tf.setBackend('cpu');
  const manifest = parseManifest(JSON.parse(readFileSync(manifestPath, 'utf8')));
  const bytes = new Uint8Array(readFileSync(join(dirname(manifestPath), manifest.model)));
  const clip = syntheticClip(manifest.cropSize, 100);
  const rows: FineTuneStepTiming[] = [
    { layers: 'frozen (contract)', trainable: 0, secPerStep: [] },
    { layers: 'every layer', trainable: 0, secPerStep: [] },
  ];
  for (let round = 0; round < rounds; round++) {
    for (const row of rows) {
      const ft = new FineTuner({ modelBytes: bytes, manifest, clip, batchSize: 4, frozen: row.layers === 'every layer' ? [] : DEFAULT_FROZEN });
      try {
        await ft.step(); // warm-up: kernels and the optimiser's slots
        const t0 = performance.now();
        for (let i = 0; i < steps; i++) await ft.step();
        row.secPerStep.push((performance.now() - t0) / steps / 1000);
        row.trainable = ft.net.trainableNames.length;
      } finally {
        ft.dispose();
      }
    }
  }
  return rows;
}

export function printFineTuneStep(rows: FineTuneStepTiming[]): void {
  const mean = (r: FineTuneStepTiming) => r.secPerStep.reduce((a, b) => a + b, 0) / r.secPerStep.length;
  console.table(
    rows.map((r) => ({
      layers: r.layers,
      'trainable tensors': r.trainable,
      's per step (each round)': r.secPerStep.map((s) => s.toFixed(2)).join(', '),
      '÷ every layer': (mean(r) / mean(rows[rows.length - 1])).toFixed(2),
    })),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const models = resolve(import.meta.dirname, '../public/models');
  const main = JSON.parse(readFileSync(join(models, 'manifest.json'), 'utf8')) as { variants?: { cpu?: string } };
  printFineTuneStep(await benchFineTuneStep(join(models, main.variants?.cpu ?? 'manifest.json')));
}
