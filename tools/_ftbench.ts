// Ad hoc: FineTuner step time, every layer vs the contract's frozen layers, alternating (tfjs cpu backend).
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { FineTuner, type ClipData } from '../src/engine/training/fineTune.ts';
import { parseManifest } from '../src/engine/generator/manifest.ts';

const [model, clipDir, rounds = '2', steps = '3'] = process.argv.slice(2);
const manifest = parseManifest(JSON.parse(readFileSync(join(dirname(model), 'manifest.json'), 'utf8')));
const f32 = (f: string) => {
  const b = readFileSync(join(clipDir, f));
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
};
const valid = new Uint8Array(readFileSync(join(clipDir, 'valid.u8')));
const mel = f32('mel.f32');
const clip: ClipData = {
  size: 128,
  frames: valid.length,
  fps: 25,
  crops: new Uint8Array(readFileSync(join(clipDir, 'crops.u8'))),
  valid,
  landmarks: f32('landmarks.f32'),
  mel,
  melFrames: mel.length / 80,
};
await tf.setBackend('cpu');
const bytes = new Uint8Array(readFileSync(model));
for (let r = 0; r < Number(rounds); r++) {
  for (const frozen of [[], undefined] as (string[] | undefined)[]) {
    const ft = new FineTuner({ modelBytes: bytes, manifest, clip, batchSize: 4, frozen });
    await ft.step();
    const t0 = performance.now();
    for (let i = 0; i < Number(steps); i++) await ft.step();
    console.log(
      `${frozen ? 'all layers' : 'frozen (contract)'}: ${((performance.now() - t0) / Number(steps) / 1000).toFixed(2)} s/step, ${ft.net.trainableNames.length} trainable`,
    );
    ft.dispose();
  }
}
