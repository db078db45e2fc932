import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEL_CONFIG } from '../../src/engine/audio/melConfig.ts';
import { CROP_TEMPLATE } from '../../src/engine/face/align.ts';
import { LEFT_EYE, RIGHT_EYE } from '../../src/engine/face/meshIndices.ts';
import { cropMouthOpeningInCrop } from '../../src/engine/face/articulation.ts';
import { buildTestGenerator } from '../../src/engine/generator/testGenerator.ts';
import { mulberry32 } from '../../src/engine/training/rng.ts';
import { CLIPS_DIR } from '../../src/node/clipFrames.ts';
import { pythonTorchMissing } from '../../src/node/exportedGenerator.testutil.ts';
import { prepare } from '../data-prepare.ts';
import { drawReference, labelGenerated, parseArgs } from './label-generated.ts';

const CLIP = 'grid_bbaf2n';
const N = 50;
const S = 128;
const LM = 478 * 3;

const bytesOf = (path: string) => {
  const b = readFileSync(path);
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
};
const f32 = (path: string) => new Float32Array(bytesOf(path));

describe('drawReference', () => {
  it('only draws frames more than 5 away that have a face', () => {
    const valid = Array.from({ length: 60 }, (_, i) => i % 7 !== 3);
    const rand = mulberry32(1);
    for (let t = 0; t < 60; t++) {
      for (let k = 0; k < 20; k++) {
        const r = drawReference(t, valid, rand)!;
        expect(Math.abs(r - t)).toBeGreaterThan(5);
        expect(valid[r]).toBe(true);
      }
    }
    expect(drawReference(2, [true, true, true, true, true, true, true, true], rand)).toBeNull();
  });

  it('refuses unknown options and missing folders with the usage line', () => {
    expect(() => parseArgs(['--data', 'a', '--clips', 'b', '--model', 'c'])).toThrow(/--out are required/);
    expect(() => parseArgs(['--data', 'a', '--clips', 'b', '--model', 'c', '--out', 'd', '--frame', '3'])).toThrow(/Unknown option --frame/);
  });

  it('names the missing dataset or manifest before any labelling starts', async () => {
    const missing = join(tmpdir(), 'no-such-dataset');
    await expect(labelGenerated({ data: missing, clips: CLIPS_DIR, models: ['x.onnx'], out: join(missing, 'out'), frames: 20, seed: 1 })).rejects.toThrow(
      /No prepared dataset .*no-such-dataset\/index\.json not found/,
    );
    const data = mkdtempSync(join(tmpdir(), 'label-data-'));
    try {
      writeFileSync(join(data, 'index.json'), JSON.stringify({ cropSize: 128, clips: [] }));
      await expect(labelGenerated({ data, clips: CLIPS_DIR, models: [join(data, 'gen.onnx')], out: join(data, 'out'), frames: 20, seed: 1 })).rejects.toThrow(
        /No manifest beside gen\.onnx/,
      );
    } finally {
      rmSync(data, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!existsSync(join(CLIPS_DIR, CLIP)))('label-generated: generated mouths read by the scoring landmarker', () => {
  const dir = mkdtempSync(join(tmpdir(), 'label-gen-'));
  const data = join(dir, 'prepared');
  const out = join(dir, 'labelled');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  beforeAll(async () => {
    await prepare({ clips: CLIPS_DIR, out: data, size: S, limitFrames: N, only: [CLIP], minOffset: 5, epochs: 1, seed: 1 }, () => {});
    // A generator that copies the reference: its "generated" mouth is the reference frame's real one, so the labels
    // must follow the reference's mouth, not the target's.
    const { bytes, manifest } = buildTestGenerator({ mel: MEL_CONFIG, cropTemplate: CROP_TEMPLATE, amplitude: 0, melFrames: 16, past: 8 });
    mkdirSync(join(dir, 'copy'));
    writeFileSync(join(dir, 'copy', 'generator.onnx'), bytes);
    writeFileSync(join(dir, 'copy', 'manifest.json'), JSON.stringify(manifest));
    await labelGenerated({ data, clips: CLIPS_DIR, models: [join(dir, 'copy', 'generator.onnx')], out, frames: N, seed: 1 }, () => {});
  }, 120_000);

  it('labels each frame with the mouth that was pasted, in the target crop’s pixels', () => {
    const index = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8'));
    expect(index).toMatchObject({ version: 1, cropSize: S, cropTemplate: CROP_TEMPLATE });
    const [clip] = index.clips;
    expect(clip).toMatchObject({ id: `${CLIP}@copy`, dir: `copy/${CLIP}`, frames: N });
    const pairs = new Int32Array(bytesOf(join(out, 'pairs.i32')));
    const valid = readFileSync(join(out, clip.dir, 'valid.u8'));
    const labels = f32(join(out, clip.dir, 'landmarks.f32'));
    const real = f32(join(data, CLIP, 'landmarks.f32'));
    const realCrops = readFileSync(join(data, CLIP, 'crops.u8'));
    const crops = readFileSync(join(out, clip.dir, 'crops.u8'));
    expect(pairs.length / 3).toBeGreaterThan(0.9 * N);

    let closerToReference = 0;
    let counted = 0;
    for (let k = 0; k < pairs.length; k += 3) {
      const [c, t, r] = [pairs[k], pairs[k + 1], pairs[k + 2]];
      expect(c).toBe(0);
      expect(Math.abs(r - t)).toBeGreaterThan(5);
      expect(valid[t]).toBe(1);
      expect(valid[r]).toBe(1);
      const label = labels.subarray(t * LM, (t + 1) * LM);
      // The upper face was not generated: the eyes sit where the real frame's are.
      for (const i of [...RIGHT_EYE, ...LEFT_EYE]) {
        expect(Math.abs(label[3 * i] - real[t * LM + 3 * i])).toBeLessThan(2.5);
        expect(Math.abs(label[3 * i + 1] - real[t * LM + 3 * i + 1])).toBeLessThan(2.5);
      }
      // The stored crop is the generator's output: here the reference's crop.
      const at = (buf: Uint8Array, f: number, i: number) => buf[f * S * S * 3 + i];
      let diff = 0;
      for (let i = (S / 2) * S * 3; i < S * S * 3; i += 97) diff += Math.abs(at(crops, t, i) - at(realCrops, r, i));
      expect(diff / ((S * S * 3) / 2 / 97)).toBeLessThan(1.5);
      const open = cropMouthOpeningInCrop(label, S);
      const openT = cropMouthOpeningInCrop(real.subarray(t * LM, (t + 1) * LM), S);
      const openR = cropMouthOpeningInCrop(real.subarray(r * LM, (r + 1) * LM), S);
      if (Math.abs(openT - openR) > 0.01) {
        counted++;
        if (Math.abs(open - openR) < Math.abs(open - openT)) closerToReference++;
      }
    }
    // The landmarker reads the mouth it was shown (the reference's), not the target frame's real one.
    expect(counted).toBeGreaterThan(5);
    expect(closerToReference / counted).toBeGreaterThan(0.8);
  });

  it.skipIf(!!pythonTorchMissing())('is read by the trainer and lets the lip-shape expert learn from it', () => {
    const py = process.env.PYTHON ?? '/usr/bin/python3';
    const log = execFileSync(
      py,
      [
        'tools/train/opening.py',
        '--data',
        data,
        '--out',
        join(dir, 'expert.pt'),
        '--generated',
        out,
        '--generated-fraction',
        '0.5',
        '--steps',
        '2',
        '--batch',
        '4',
        '--lip-shape',
      ],
      { encoding: 'utf8', cwd: new URL('../..', import.meta.url).pathname },
    );
    expect(log).toContain('saved');
  });
});
