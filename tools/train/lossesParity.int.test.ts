import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { mulberry32 } from '../../src/engine/training/rng.ts';
import { DEFAULT_LOSS_WEIGHTS, LIP_POINTS, lipsyncLoss, mouthWeightMap } from '../../src/engine/training/losses.ts';
import { pythonTorchMissing } from '../../src/node/exportedGenerator.testutil.ts';

const S = 32;
const B = 2;
const y0 = 16;

/** Lips on an ellipse around (cx, cy) in crop pixels; the other landmarks far away (they must not matter). */
function landmarks(cx: number, cy: number, rx: number, ry: number): Float32Array {
  const p = new Float32Array(478 * 3).fill(-1000);
  LIP_POINTS.forEach((i, k) => {
    const a = (2 * Math.PI * k) / LIP_POINTS.length;
    p[3 * i] = cx + rx * Math.cos(a);
    p[3 * i + 1] = cy + ry * Math.sin(a);
    p[3 * i + 2] = 0;
  });
  return p;
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const noTorch = pythonTorchMissing();
if (noTorch) console.warn(`losses parity with tools/train skipped: ${noTorch}`);

describe.skipIf(!!noTorch)('lipsyncLoss equals tools/train/train.py losses', () => {
  it('same terms and total (within 1e-5) for the same batch', () => {
    const r = mulberry32(4);
    const out = Float32Array.from({ length: B * 3 * S * S }, r);
    const target = Float32Array.from({ length: B * 3 * S * S }, r);
    const lms = [landmarks(16, 24, 5, 2), landmarks(14, 22, 6, 3)];
    const lips = new Float32Array(B * LIP_POINTS.length * 2);
    lms.forEach((p, b) => LIP_POINTS.forEach((i, k) => lips.set([p[3 * i], p[3 * i + 1]], (b * LIP_POINTS.length + k) * 2)));
    const weight = new Float32Array(B * S * S);
    lms.forEach((p, b) => mouthWeightMap(p, S, weight.subarray(b * S * S, (b + 1) * S * S)));

    const ours = tf.tidy(() => {
      const t = lipsyncLoss(tf.tensor4d(out, [B, 3, S, S]), tf.tensor4d(target, [B, 3, S, S]), tf.tensor4d(weight, [B, 1, S, S]), y0);
      return [t.loss, t.l1, t.mouth, t.grad, t.texture].map((x) => x.dataSync()[0]);
    });

    const dir = mkdtempSync(join(tmpdir(), 'loss-'));
    try {
      writeFileSync(join(dir, 'out.f32'), new Uint8Array(out.buffer));
      writeFileSync(join(dir, 'target.f32'), new Uint8Array(target.buffer));
      writeFileSync(join(dir, 'lips.f32'), new Uint8Array(lips.buffer));
      const script = `
import sys, json, numpy as np, torch
sys.path.insert(0, ${JSON.stringify(import.meta.dirname)})
from train import losses
from data import mouth_weight
d = sys.argv[1]
B, S, K = ${B}, ${S}, ${LIP_POINTS.length}
rd = lambda n, shape: torch.from_numpy(np.fromfile(d + '/' + n, dtype='<f4').reshape(shape))
out = rd('out.f32', (B, 3, S, S)); target = rd('target.f32', (B, 3, S, S)); lips = rd('lips.f32', (B, K, 2))
w = mouth_weight(lips, S)
t = losses(out, {'target': target, 'weight': w}, ${y0}, {'mouth': ${DEFAULT_LOSS_WEIGHTS.mouth}, 'grad': ${DEFAULT_LOSS_WEIGHTS.grad}, 'texture': ${DEFAULT_LOSS_WEIGHTS.texture}, 'ssim': 0})
w.numpy().astype('<f4').tofile(d + '/weight_py.f32')
print(json.dumps([float(t[k]) for k in ('loss', 'l1', 'mouth', 'grad', 'texture')]))
`;
      const py = JSON.parse(execFileSync('/usr/bin/python3', ['-c', script, dir], { encoding: 'utf8' }).trim().split('\n').at(-1)!) as number[];
      const wpy = new Float32Array(new Uint8Array(readFileSync(join(dir, 'weight_py.f32'))).buffer);
      let maxW = 0;
      for (let i = 0; i < weight.length; i++) maxW = Math.max(maxW, Math.abs(weight[i] - wpy[i]));
      expect(maxW).toBeLessThan(1e-5);
      ours.forEach((v, i) => expect(Math.abs(v - py[i])).toBeLessThan(1e-5));
      expect(ours[2]).toBeGreaterThan(0); // the mouth term is really computed
      expect(DEFAULT_LOSS_WEIGHTS.texture).toBeGreaterThan(0); // and the texture term counts in the total compared
      expect(ours[4]).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
