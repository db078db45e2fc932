import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { pythonTorchMissing } from '../src/node/exportedGenerator.testutil.ts';
import contract from '../src/engine/contract.json' with { type: 'json' };
import { fineTuneWeightOf, type ContractLoss } from '../src/engine/training/losses.ts';
import { readOnnxModel } from '../src/engine/generator/onnx.ts';

const root = resolve(import.meta.dirname, '..');
const clips = resolve(root, '../shared/data/clips');
const tsx = join(root, 'node_modules/.bin/tsx');
const run = promisify(execFile);

describe.skipIf(!existsSync(clips) || !!pythonTorchMissing())('npm run eval:finetune-sweep', () => {
  it("fine-tunes the shipped model on a real clip's first 75 % and scores the last 25 % before and after each step count", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ft-sweep-'));
    try {
      await run(tsx, ['tools/data-prepare.ts', '--clips', clips, '--out', join(dir, 'data'), '--only', 'grid_sbwe5n'], { cwd: root, timeout: 120_000 });
      const out = join(dir, 'sweep.json');
      await run(
        tsx,
        [
          'tools/finetune-sweep.ts',
          '--data',
          join(dir, 'data'),
          '--clips',
          clips,
          '--ids',
          'grid_sbwe5n',
          '--steps',
          '3,6',
          '--out',
          join(dir, 'ft'),
          '--json',
          out,
          // Another texture weight than the contract's: it must reach the trainer.
          '--texture-weight',
          '2',
          // Any other trainer flag, after the recipe's.
          '--trainer-args',
          '--grad-weight 0.5',
        ],
        {
          cwd: root,
          timeout: 240_000,
        },
      );
      const rows = (JSON.parse(readFileSync(out, 'utf8')) as { rows: { steps: number; lmd: number; sharp: number; psnr: number; trainSec: number }[] }).rows;
      expect(rows.map((r) => r.steps)).toEqual([0, 3, 6]);
      for (const r of rows) for (const k of ['lmd', 'sharp', 'psnr'] as const) expect(Number.isFinite(r[k]), `${k} at ${r.steps}`).toBe(true);
      // Training really changed the model: the held-out tail's pixels moved.
      expect(rows[2].psnr).not.toBe(rows[0].psnr);
      expect(rows[2].trainSec).toBeGreaterThan(rows[1].trainSec);
      // The trainer ran with the overriding texture weight, and the rest of the app's recipe as the contract has it.
      const { stdout } = await run(
        '/usr/bin/python3',
        [
          '-c',
          `import torch, json; a = torch.load(${JSON.stringify(join(dir, 'ft/grid_sbwe5n/run/last.pt'))}, map_location='cpu')['args']; print(json.dumps([a['texture_weight'], a['mouth_weight'], a['freeze'], a['grad_weight']]))`,
        ],
        { cwd: root },
      );
      expect(JSON.parse(stdout)).toEqual([2, fineTuneWeightOf(contract.losses.mouth as ContractLoss), contract.fineTune.frozen.join(','), 0.5]);
      // The app's frozen layers kept their weights exactly; the rest trained.
      const weights = (file: string) => new Map(readOnnxModel(new Uint8Array(readFileSync(file))).initializers.map((t) => [t.name, t.data]));
      const base = weights(join(root, 'public/models/generator.onnx'));
      const tuned = weights(join(dir, 'ft/grid_sbwe5n/export-6/generator.onnx'));
      expect(tuned.get('head.weight')).toEqual(base.get('head.weight'));
      expect(tuned.get('enc.0.down.weight')).toEqual(base.get('enc.0.down.weight'));
      expect(tuned.get('dec.0.conv1.weight')).not.toEqual(base.get('dec.0.conv1.weight'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);

  it('refuses a missing dataset and bad numbers, saying what to do', async () => {
    const missing = await run(tsx, ['tools/finetune-sweep.ts', '--data', '/nonexistent', '--ids', 'x'], { cwd: root }).catch((e) => e);
    expect(missing.stderr).toContain('index.json not found: pass the folder written by `npm run data:prepare`');
    const bad = await run(tsx, ['tools/finetune-sweep.ts', '--data', '/nonexistent', '--ids', 'x', '--lr', '-1'], { cwd: root }).catch((e) => e);
    expect(bad.stderr).toContain('--lr must be a positive learning rate');
    const steps = await run(tsx, ['tools/finetune-sweep.ts', '--data', '/nonexistent', '--ids', 'x', '--steps', '10,5'], { cwd: root }).catch((e) => e);
    expect(steps.stderr).toContain('--steps must be increasing');
    const texture = await run(tsx, ['tools/finetune-sweep.ts', '--data', '/nonexistent', '--ids', 'x', '--texture-weight', '-1'], { cwd: root }).catch(
      (e) => e,
    );
    expect(texture.stderr).toContain('--texture-weight must be a weight ≥ 0, got -1');
    const noValue = await run(tsx, ['tools/finetune-sweep.ts', '--data', '/nonexistent', '--ids', 'x', '--texture-weight'], { cwd: root }).catch((e) => e);
    expect(noValue.stderr).toContain('--texture-weight needs a value');
    const noLayers = await run(tsx, ['tools/finetune-sweep.ts', '--data', '/nonexistent', '--ids', 'x', '--freeze', '--lr', '1e-4'], { cwd: root }).catch(
      (e) => e,
    );
    expect(noLayers.stderr).toContain('--freeze needs layer-name prefixes');
    const noFlags = await run(tsx, ['tools/finetune-sweep.ts', '--data', '/nonexistent', '--ids', 'x', '--trainer-args'], { cwd: root }).catch((e) => e);
    expect(noFlags.stderr).toContain('--trainer-args needs train.py flags');
  });
});
