/**
 * Measures the personal fine-tune recipe: on each clip, fine-tune on the first part and score the held-out tail
 * (the frames it never trained on) before and after, at several step counts.
 *
 *   npm run eval:finetune-sweep -- --data data/prepared --clips ../shared/data/clips --ids id1,id2
 *       [--model public/models/generator.onnx] [--steps 50,100,200] [--lr 3e-4] [--batch 4] [--tail 0.25]
 *       [--out runs/ft] [--json OUT] [--texture-weight W] [--freeze PREFIXES] [--trainer-args "FLAGS"]
 *
 * `--texture-weight W` measures the recipe with another weight for the texture term than the contract's fine-tune weight;
 * `--freeze a,b` with other frozen layers than the contract's fineTune.frozen ('' trains every layer); `--trainer-args`
 * appends any other train.py flags (space-separated) after the recipe's, e.g. to try a term the browser does not have yet.
 *
 * Training runs in the PyTorch trainer with the browser FineTuner's recipe (src/engine/training/fineTune.ts:
 * the contract's fine-tune loss terms at their weights and every other term off, Adam, its batch size and
 * learning rate, the contract's augmentation with its flip; fineTuneTrainerArgs) and the shared sampler restricted to the training part (holdOutTail), so the
 * reference rule and the split are the app's own; it is ~100× faster than tfjs on this CPU. Scoring is
 * `npm run eval --tail`, the same split. The clips must be in the prepared dataset (npm run data:prepare).
 */
import type { IndexClip } from './data-prepare.ts';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { holdOutTail, pairsToInt32, restrictValid, samplePairs } from '../src/engine/training/sampler.ts';
import { runEval, type EvalReport } from './eval.ts';
import { fineTuneTrainerArgs } from './train/fineTuneRecipe.ts';

interface Options {
  data: string;
  clips: string;
  ids: string[];
  model: string;
  steps: number[];
  lr: number;
  batch: number;
  tail: number;
  out: string;
  json?: string;
  /** Overrides the contract's fine-tune weight of the texture term (to measure another recipe). */
  textureWeight?: number;
  /** Overrides the layers the recipe leaves as they are (train.py --freeze prefixes; '' trains every layer). */
  freeze?: string;
  /** More train.py flags, after the recipe's (to measure another recipe; train.py reads the last of a repeated flag). */
  trainerArgs: string[];
}

const PY = '/usr/bin/python3';
const ROOT = resolve(import.meta.dirname, '..');

function parse(argv: string[]): Options {
  const get = (k: string) => {
    const i = argv.indexOf(k);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const data = get('--data');
  const ids = get('--ids')?.split(',').filter(Boolean);
  if (!data || !ids?.length)
    throw new Error('usage: npm run eval:finetune-sweep -- --data DIR --clips DIR --ids a,b [--steps 50,100,200] [--lr 3e-4] [--batch 4] [--tail 0.25]');
  const steps = (get('--steps') ?? '50,100,200').split(',').map(Number);
  if (!steps.every((n, i) => Number.isInteger(n) && n > 0 && (i === 0 || n > steps[i - 1])))
    throw new Error('--steps must be increasing whole numbers, e.g. 50,100,200');
  const lr = Number(get('--lr') ?? 3e-4);
  const batch = Number(get('--batch') ?? 4);
  if (!(lr > 0 && lr < 1)) throw new Error(`--lr must be a positive learning rate below 1, got ${get('--lr')}`);
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`--batch must be a whole number ≥ 1, got ${get('--batch')}`);
  const tail = Number(get('--tail') ?? 0.25);
  if (!(tail > 0 && tail < 1)) throw new Error(`--tail must be a fraction between 0 and 1, got ${get('--tail')}`);
  const texture = get('--texture-weight');
  if (argv.includes('--texture-weight') && (texture === undefined || texture.startsWith('--')))
    throw new Error('--texture-weight needs a value, e.g. --texture-weight 3');
  const textureWeight = texture === undefined ? undefined : Number(texture);
  if (textureWeight !== undefined && !(textureWeight >= 0 && Number.isFinite(textureWeight)))
    throw new Error(`--texture-weight must be a weight ≥ 0, got ${texture}`);
  const freeze = get('--freeze');
  if (argv.includes('--freeze') && (freeze === undefined || freeze.startsWith('--')))
    throw new Error("--freeze needs layer-name prefixes, e.g. --freeze enc.0,head (or '' to train every layer)");
  const trainerArgs = get('--trainer-args');
  if (argv.includes('--trainer-args') && (trainerArgs === undefined || trainerArgs.trim() === ''))
    throw new Error('--trainer-args needs train.py flags in one argument, e.g. --trainer-args "--fm-weight 0.3"');
  return {
    freeze,
    trainerArgs: (trainerArgs ?? '').split(' ').filter(Boolean),
    data: resolve(data),
    clips: resolve(get('--clips') ?? '../shared/data/clips'),
    ids,
    model: resolve(get('--model') ?? 'public/models/generator.onnx'),
    steps,
    lr,
    batch,
    tail,
    out: resolve(get('--out') ?? 'runs/ft'),
    json: get('--json'),
    textureWeight,
  };
}

/** A one-clip dataset that reads the prepared clip in place, with pairs only from its training part. */
function oneClipDataset(opts: Options, id: string, dir: string): void {
  const indexPath = join(opts.data, 'index.json');
  if (!existsSync(indexPath)) throw new Error(`${indexPath} not found: pass the folder written by \`npm run data:prepare\`.`);
  const index = JSON.parse(readFileSync(indexPath, 'utf8'));
  const clip = (index.clips as IndexClip[]).find((c) => c.id === id);
  if (!clip) throw new Error(`Clip ${id} is not in ${opts.data} (run npm run data:prepare with it).`);
  mkdirSync(dir, { recursive: true });
  // The clip as a user's own recording would be: its audio as recorded (the browser fine-tune knows no offsets), and
  // usable even if the offline trainer excludes it.
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({ ...index, clips: [{ ...clip, dir: join(opts.data, clip.dir), audioOffset: undefined, excluded: undefined }] }),
  );
  const valid = new Uint8Array(readFileSync(join(opts.data, clip.dir, 'valid.u8')));
  const { train } = holdOutTail(clip.frames, opts.tail);
  const { pairs } = samplePairs({ clips: [restrictValid(valid, train)], epochs: 200, rng: 1, minOffset: index.minOffset ?? 5 });
  writeFileSync(join(dir, 'pairs.i32'), pairsToInt32(pairs));
}

async function score(opts: Options, id: string, model: string): Promise<EvalReport['clips'][number]> {
  const report = await runEval({ clips: opts.clips, model, only: [id], maxFrames: 10_000, tail: opts.tail }, () => {});
  return report.clips[0];
}

/** One scored tail: the model's figures beside copy-reference's (the mouth's own detail is what a sharper base adds). */
function scoreRow(r: Awaited<ReturnType<typeof score>>): Record<string, number> {
  return {
    lmd: r.lmd.model,
    copyLmd: r.lmd.copyReference,
    sharp: r.sharpness.model,
    sharpMouth: r.sharpness.mouth,
    copySharpMouth: r.sharpness.mouthCopy,
    psnr: r.psnr.model,
    copyPsnr: r.psnr.copyReference,
  };
}

async function main(): Promise<void> {
  const opts = parse(process.argv.slice(2));
  const rows: Record<string, unknown>[] = [];
  for (const id of opts.ids) {
    const work = join(opts.out, id);
    oneClipDataset(opts, id, join(work, 'data'));
    const before = await score(opts, id, opts.model);
    rows.push({ clip: id, steps: 0, trainSec: 0, ...scoreRow(before) });
    console.log(
      `${id}: before LMD ${before.lmd.model.toFixed(4)} sharp ${before.sharpness.model.toFixed(3)} (mouth ${before.sharpness.mouth.toFixed(2)}) PSNR ${before.psnr.model.toFixed(2)}`,
    );
    let trainSec = 0;
    // The exported manifests carry the base model's mel config (the engine's own).
    const melJson = join(work, 'mel.json');
    writeFileSync(melJson, JSON.stringify(JSON.parse(readFileSync(join(dirname(opts.model), 'manifest.json'), 'utf8')).mel));
    for (const [i, steps] of opts.steps.entries()) {
      const t0 = performance.now();
      execFileSync(
        PY,
        [
          join(ROOT, 'tools/train/train.py'),
          '--data',
          join(work, 'data'),
          '--out',
          join(work, 'run'),
          '--steps',
          String(steps),
          '--batch',
          String(opts.batch),
          '--lr',
          String(opts.lr),
          '--warmup',
          '1',
          ...fineTuneTrainerArgs(),
          // train.py reads the last of a repeated flag.
          ...(opts.textureWeight === undefined ? [] : ['--texture-weight', String(opts.textureWeight)]),
          ...(opts.freeze === undefined ? [] : ['--freeze', opts.freeze]),
          ...opts.trainerArgs,
          '--silence-prob',
          '0',
          '--log-every',
          '50',
          '--save-every',
          '100000',
          '--val-every',
          '100000',
          ...(i === 0 ? ['--init-onnx', opts.model] : ['--resume']),
        ],
        { stdio: 'pipe' },
      );
      trainSec += (performance.now() - t0) / 1000;
      const exported = join(work, `export-${steps}`);
      execFileSync(PY, [join(ROOT, 'tools/train/export.py'), '--checkpoint', join(work, 'run/last.pt'), '--out', exported, '--mel-json', melJson], {
        stdio: 'pipe',
      });
      const r = await score(opts, id, join(exported, 'generator.onnx'));
      rows.push({ clip: id, steps, trainSec: +trainSec.toFixed(1), ...scoreRow(r) });
      console.log(
        `${id}: ${steps} steps (${trainSec.toFixed(0)} s) LMD ${r.lmd.model.toFixed(4)} sharp ${r.sharpness.model.toFixed(3)} (mouth ${r.sharpness.mouth.toFixed(2)}) PSNR ${r.psnr.model.toFixed(2)}`,
      );
    }
  }
  console.table(rows);
  if (opts.json) {
    mkdirSync(dirname(resolve(opts.json)), { recursive: true });
    writeFileSync(opts.json, JSON.stringify({ options: opts, rows }, null, 1));
  }
}

try {
  await main();
} catch (e) {
  console.error(`eval:finetune-sweep: ${(e as Error).message}`);
  process.exitCode = 1;
}
