import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { buildTestGenerator } from '../src/engine/generator/testGenerator.ts';
import { MEL_CONFIG } from '../src/engine/audio/melConfig.ts';
import { runEval, type EvalReport } from './eval.ts';
import { CROP_TEMPLATE } from '../src/engine/face/align.ts';
import { CROP_TEMPLATE_MOUTH } from '../src/engine/face/mouthAnchor.ts';
import { holdOutTail } from '../src/engine/training/sampler.ts';
import { PNG } from 'pngjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const clips = resolve(root, '../shared/data/clips');
const tsx = join(root, 'node_modules/.bin/tsx');
const run = promisify(execFile);

/** Every number reachable in `v`, with its path. */
function numbers(v: unknown, path = ''): [string, number][] {
  if (typeof v === 'number') return [[path, v]];
  if (v && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => numbers(x, path ? `${path}.${k}` : k));
  return [];
}

describe('npm run eval', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eval-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.skipIf(!existsSync(clips))(
    'evaluates a generator on a real clip end to end and writes every metric',
    async () => {
      const { bytes, manifest } = buildTestGenerator({ mel: MEL_CONFIG });
      writeFileSync(join(dir, 'gen.onnx'), bytes);
      writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
      const out = join(dir, 'report.json');

      const { stdout } = await run(
        tsx,
        [
          'tools/eval.ts',
          '--clips',
          clips,
          '--model',
          join(dir, 'gen.onnx'),
          '--only',
          'grid_bbaf2n',
          '--max-frames',
          '30',
          '--json',
          out,
          '--sheets',
          join(dir, 'sheets'),
        ],
        { cwd: root, timeout: 85_000 },
      );
      expect(stdout).toContain('OVERALL');

      const report = JSON.parse(readFileSync(out, 'utf8')) as EvalReport;
      expect(report.clips).toHaveLength(1);
      const clip = report.clips[0];
      expect(clip.id).toBe('grid_bbaf2n');
      expect(clip.frames).toBe(30);
      expect(clip.swappedAudioFrom).not.toBe('grid_bbaf2n');

      const expected = [
        'lmd.model',
        'lmd.copyReference',
        'lmd.groundTruth',
        'lmdSplit.model.bias',
        'lmdSplit.model.residual',
        'lmdSplit.model.shift',
        'lmdSplit.copyReference.bias',
        'lmdSplit.copyReference.residual',
        'sync.model.lag',
        'sync.model.r',
        'sync.model.r0',
        'sync.groundTruth.lag',
        'sync.groundTruth.r',
        'sync.groundTruth.r0',
        'syncSpeech.model.lag',
        'syncSpeech.model.r',
        'syncSpeech.model.r0',
        'syncSpeech.groundTruth.lag',
        'syncSpeech.groundTruth.r',
        'syncSpeech.groundTruth.r0',
        'silence.silentOpening',
        'silence.speechOpening',
        'silence.groundTruthOpening',
        'psnr.model',
        'psnr.copyReference',
        'ssim.model',
        'ssim.copyReference',
        'jitter.model',
        'jitter.groundTruth',
        'sharpness.model',
        'sharpness.copyReference',
        'sharpness.live',
        'sharpness.mouth',
        'sharpness.mouthCopy',
      ];
      for (const scope of [clip, report.overall]) {
        const found = new Map(numbers(scope));
        for (const key of expected) {
          expect(found.has(key), key).toBe(true);
          expect(Number.isFinite(found.get(key)), `${key} = ${found.get(key)}`).toBe(true);
        }
      }

      expect(clip.lmd.groundTruth).toBe(0);
      // The test generator rewrites the mouth area, so it cannot match the real frame exactly.
      expect(clip.lmd.model).toBeGreaterThan(0);
      // The split bounds the LMD from above: per point, |offset| <= |mean offset| + |offset - mean offset|.
      for (const [lmd, split] of [
        [clip.lmd.model, clip.lmdSplit.model],
        [clip.lmd.copyReference, clip.lmdSplit.copyReference],
      ] as const) {
        expect(split.bias + split.residual).toBeGreaterThanOrEqual(lmd - 1e-9);
        expect(split.bias).toBeGreaterThan(0);
        expect(split.shift).toBeLessThanOrEqual(split.bias + 1e-9); // the mean of the offsets is no longer than their mean length
      }
      expect(clip.psnr.model).toBeGreaterThan(5);
      expect(clip.ssim.model).toBeLessThan(1);
      expect(Math.abs(clip.sync.model.lag)).toBeLessThanOrEqual(5);
      // The real GRID speaker against the opening the audio predictor expects: a clear peak within 2 frames of 0 (the
      // clip's audio is early by ~1 frame: tools/train/av-offsets.json), where loudness, over these 30 frames, finds a
      // weak one anywhere (measured: r 0.69 at +2 vs loudness 0.09 at +5).
      expect(Math.abs(clip.syncSpeech.groundTruth.lag)).toBeLessThanOrEqual(2);
      expect(clip.syncSpeech.groundTruth.r).toBeGreaterThan(0.3);
      expect(clip.syncSpeech.groundTruth.r).toBeGreaterThan(clip.sync.groundTruth.r);
      expect(stdout).toContain('speech-sync GT');
      expect(clip.sharpness.model).toBeGreaterThan(0);
      // Copying a real crop from 10 frames away keeps about the real amount of fine detail.
      expect(clip.sharpness.copyReference).toBeGreaterThan(0.7);
      expect(clip.sharpness.copyReference).toBeLessThan(1.4);
      // ...and so does its mouth alone (another real mouth, the same person).
      expect(clip.sharpness.mouthCopy).toBeGreaterThan(0.5);
      expect(clip.sharpness.mouthCopy).toBeLessThan(2);
      expect(clip.sharpness.mouth).toBeGreaterThan(0);
      expect(stdout).toContain('sharp mouth');
      // The real person's own opening beside the model's, read off the printed table: an over-opening model shows in
      // one row. The column is found by its header's position (cells are padded to the header's columns).
      const lines = stdout.split('\n');
      const header = lines.find((l) => l.startsWith('clip '))!;
      const at = header.indexOf('open GT');
      const next = header.indexOf('PSNR model');
      expect(at).toBeGreaterThan(header.indexOf('open speech'));
      const row = lines.find((l) => l.startsWith('grid_bbaf2n'))!;
      expect(row.slice(at, next).trim()).toBe(clip.silence.groundTruthOpening.toFixed(3));
      expect(clip.silence.groundTruthOpening).toBeGreaterThan(0); // GRID speakers part their lips
      // The model's opening in the LMD series (reference 10 frames away) has its own column, between speech and GT.
      const far = header.indexOf('open far');
      expect(far).toBeGreaterThan(header.indexOf('open speech'));
      expect(row.slice(far, at).trim()).toBe(clip.silence.farSpeechOpening.toFixed(3));
      expect(clip.silence.farSpeechOpening).toBeGreaterThan(0);

      // The contact sheet: 12 frames across, 5 rows (truth, copy, model, swapped audio, silence) of 128² crops.
      const sheet = PNG.sync.read(readFileSync(join(dir, 'sheets', 'grid_bbaf2n.png')));
      expect(sheet.width).toBe(12 * 130 - 2);
      expect(sheet.height).toBe(5 * 130 - 2);
      // Row 1 (ground truth) and row 2 (copy-reference) show different frames of a real face: not blank, not equal.
      const cell = (row: number, col: number) => {
        const px: number[] = [];
        for (let y = 0; y < 128; y++) for (let x = 0; x < 128; x++) px.push(sheet.data[((row * 130 + y) * sheet.width + col * 130 + x) * 4]);
        return px;
      };
      const truth = cell(0, 3);
      const copy = cell(1, 3);
      expect(Math.max(...truth) - Math.min(...truth)).toBeGreaterThan(50);
      expect(truth.some((v, i) => v !== copy[i])).toBe(true);
    },
    90_000,
  );

  it.skipIf(!existsSync(clips))(
    '--tail scores only the held-out tail that fine-tuning splits off',
    async () => {
      const { bytes, manifest } = buildTestGenerator({ mel: MEL_CONFIG });
      writeFileSync(join(dir, 'tail.onnx'), bytes);
      writeFileSync(join(dir, 'tail.manifest.json'), JSON.stringify(manifest));
      const out = join(dir, 'tail.json');
      await run(tsx, ['tools/eval.ts', '--clips', clips, '--model', join(dir, 'tail.onnx'), '--only', 'grid_bbaf2n', '--tail', '0.2', '--json', out], {
        cwd: root,
        timeout: 85_000,
      });
      const clip = (JSON.parse(readFileSync(out, 'utf8')) as EvalReport).clips[0];
      const total = JSON.parse(readFileSync(join(clips, 'grid_bbaf2n/meta.json'), 'utf8')).frames as number;
      expect(clip.frames).toBe(holdOutTail(total, 0.2).holdout.end - holdOutTail(total, 0.2).holdout.start);
      expect(clip.frames).toBeLessThan(total);
      expect(Number.isFinite(clip.lmd.model)).toBe(true);
    },
    90_000,
  );

  it.skipIf(!existsSync(clips))(
    'copy-reference is the same baseline for a mouth-anchored model as for a plain one',
    async () => {
      const { bytes, manifest } = buildTestGenerator({ mel: MEL_CONFIG });
      const score = (cropTemplate: string) => {
        writeFileSync(join(dir, `${cropTemplate}.onnx`), bytes);
        writeFileSync(join(dir, `${cropTemplate}.json`), JSON.stringify({ ...manifest, cropTemplate }));
        const model = join(dir, `${cropTemplate}.onnx`);
        return runEval({ clips, model, manifest: join(dir, `${cropTemplate}.json`), only: ['lrs2_00024'], maxFrames: 40 }, () => {}).then((r) => r.clips[0]);
      };
      const plain = await score(CROP_TEMPLATE);
      const anchored = await score(CROP_TEMPLATE_MOUTH);
      expect(anchored.lmd.copyReference).toBeCloseTo(plain.lmd.copyReference, 6);
      expect(anchored.psnr.copyReference).toBeCloseTo(plain.psnr.copyReference, 6);
      // While the model's own series is cut the anchored way (a turned head: its crops move).
      expect(anchored.psnr.model).not.toBeCloseTo(plain.psnr.model, 2);
    },
    240_000,
  );

  it.skipIf(!existsSync(clips))(
    'the live path’s plain mesh gives the same output as the refined mesh: the shipped model scores alike with either',
    async () => {
      // A head that moves (vretalk_4): the crop follows the landmarks every frame.
      const score = (pipelineLandmarks: 'refined' | 'plain') =>
        runEval({ clips, model: join(root, 'public/models/generator.onnx'), only: ['vretalk_4'], maxFrames: 40, pipelineLandmarks }, () => {}).then(
          (r) => r.clips[0],
        );
      const refined = await score('refined');
      const plain = await score('plain');
      console.log(
        `vretalk_4, 40 frames: refined LMD ${refined.lmd.model.toFixed(4)} PSNR ${refined.psnr.model.toFixed(2)} SSIM ${refined.ssim.model.toFixed(3)} jitter ${refined.jitter.model.toFixed(2)}; plain LMD ${plain.lmd.model.toFixed(4)} PSNR ${plain.psnr.model.toFixed(2)} SSIM ${plain.ssim.model.toFixed(3)} jitter ${plain.jitter.model.toFixed(2)}`,
      );
      expect(plain.facesFound).toBe(refined.facesFound);
      // Measured (plain vs refined) on three clips × 150 frames: LMD 0.048 vs 0.048, PSNR 26.2 vs 26.3 dB, SSIM 0.820 vs
      // 0.821, sharpness 0.473 vs 0.476; here, 40 frames of the clip that differs most: PSNR 22.25 vs 22.80 dB.
      expect(Math.abs(plain.lmd.model - refined.lmd.model)).toBeLessThan(0.1 * refined.lmd.model);
      expect(Math.abs(plain.psnr.model - refined.psnr.model)).toBeLessThan(1);
      expect(Math.abs(plain.ssim.model - refined.ssim.model)).toBeLessThan(0.01);
      expect(plain.jitter.model).toBeLessThan(1.1 * refined.jitter.model);
      // And the sanity of the comparison: the truth is read with the same (refined) mesh in both runs.
      expect(plain.lmd.groundTruth).toBe(0);
    },
    240_000,
  );

  it.skipIf(!existsSync(clips))(
    'the mouth placement moves the shipped model’s mouth onto a turned head’s own, and leaves copy-reference alone',
    async () => {
      // lrs2_00024: the head is turned, and the shipped model draws its mouth to the side, where a frontal face has it.
      const score = (placement: boolean) =>
        runEval({ clips, model: join(root, 'public/models/generator.onnx'), only: ['lrs2_00024'], maxFrames: 50, placement }, () => {}).then((r) => {
          expect(r.placement).toBe(placement);
          return r.clips[0];
        });
      const placed = await score(true);
      const unplaced = await score(false);
      console.log(
        `lrs2_00024, 50 frames: LMD ${unplaced.lmd.model.toFixed(4)} -> ${placed.lmd.model.toFixed(4)} (copy ${placed.lmd.copyReference.toFixed(4)}), whole-mouth shift ${unplaced.lmdSplit.model.shift.toFixed(4)} -> ${placed.lmdSplit.model.shift.toFixed(4)}`,
      );
      // Measured over 150 frames: shift 0.087 -> 0.007, LMD 0.107 -> 0.077 (copy-reference 0.090); here, 50 frames:
      // 0.080 -> 0.018 and 0.105 -> 0.083. The first 14 frames are pasted unmoved while the first readings come in.
      expect(placed.lmdSplit.model.shift).toBeLessThan(0.6 * unplaced.lmdSplit.model.shift);
      expect(placed.lmd.model).toBeLessThan(unplaced.lmd.model);
      expect(placed.lmd.copyReference).toBe(unplaced.lmd.copyReference);
      expect(placed.psnr.copyReference).toBe(unplaced.psnr.copyReference);
    },
    240_000,
  );

  it('rejects a --tail that is not a fraction', async () => {
    const err = await run(tsx, ['tools/eval.ts', '--clips', clips, '--model', 'x.onnx', '--tail', '2'], { cwd: root }).catch((e) => e);
    expect(err.code).toBe(2);
    expect(err.stderr).toContain('--tail must be a fraction');
  });

  it('explains a missing argument', async () => {
    const err = await run(tsx, ['tools/eval.ts', '--clips', clips], { cwd: root }).catch((e) => e);
    expect(err.code).toBe(2);
    expect(err.stderr).toContain('usage: npm run eval');
  });
});
