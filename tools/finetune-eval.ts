/**
 * Measures what the in-browser fine-tune buys on one clip: the clip is prepared with the engine's own
 * face/crop/mel code (clipPrep), the generator is fine-tuned with the same FineTuner the training worker
 * runs (tfjs cpu here; same graph, losses, sampler and hold-out), and the evaluation harness scores the
 * clip's held-out tail (`--tail`, the frames fine-tuning never saw) before and after.
 *
 *   npx tsx tools/finetune-eval.ts --clip ../shared/data/clips/ID --model public/models/generator.onnx
 *       [--steps 150] [--batch 2] [--lr 3e-4] [--hold-out 0.1] [--out runs/finetune-ID] [--json OUT]
 *
 * --hold-out sets the tail fraction for both the fine-tune and the evaluation (the app uses 0.1; a larger
 * tail gives a steadier LMD on short clips).
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { readClipMeta, streamFrames } from '../src/node/clipFrames.ts';
import { createNodeFaceLandmarker } from '../src/node/tfNode.ts';
import { readWav } from '../src/engine/audio/wav.ts';
import { parseManifest } from '../src/engine/generator/manifest.ts';
import { prepareClip } from '../src/engine/training/clipPrep.ts';
import { FineTuner } from '../src/engine/training/fineTune.ts';
import { formatTable, runEval, type EvalReport } from './eval.ts';

const HOLD_OUT = 0.1; // FineTuner's (and the app's) default

interface Options {
  clip: string;
  model: string;
  steps: number;
  batch: number;
  lr: number;
  holdOut: number;
  out: string;
  json?: string;
}

function parseArgs(argv: string[]): Options {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const clip = get('--clip');
  const model = get('--model') ?? 'public/models/generator.onnx';
  if (!clip)
    throw new Error('usage: tsx tools/finetune-eval.ts --clip CLIPS/ID [--model FILE.onnx] [--steps 150] [--batch 2] [--lr 3e-4] [--out DIR] [--json OUT]');
  const num = (name: string, dflt: number) => {
    const v = Number(get(name) ?? dflt);
    if (!(v > 0)) throw new Error(`${name} must be a positive number`);
    return v;
  };
  const fraction = (v: string | number) => {
    const f = Number(v);
    if (!(f > 0 && f < 1)) throw new Error(`--hold-out must be a fraction between 0 and 1 (e.g. 0.1), got ${v}`);
    return f;
  };
  return {
    clip: resolve(clip),
    model: resolve(model),
    steps: num('--steps', 150),
    batch: num('--batch', 2),
    lr: num('--lr', 3e-4),
    holdOut: fraction(get('--hold-out') ?? HOLD_OUT),
    out: resolve(get('--out') ?? join('runs', `finetune-${basename(clip)}`)),
    json: get('--json'),
  };
}

function evalTail(clipDir: string, model: string, tail: number): Promise<EvalReport> {
  return runEval({ clips: dirname(clipDir), only: [basename(clipDir)], model, tail, maxFrames: 10_000 }, () => {});
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  mkdirSync(o.out, { recursive: true });
  const manifestPath = join(dirname(o.model), 'manifest.json');
  const manifest = parseManifest(JSON.parse(readFileSync(manifestPath, 'utf8')));
  const meta = readClipMeta(o.clip);

  console.log(`Evaluating the base model on the held-out last ${o.holdOut * 100}% of ${meta.id}…`);
  const before = await evalTail(o.clip, o.model, o.holdOut);

  console.log('Preparing the clip (engine face tracker, crop, mel)…');
  const landmarker = await createNodeFaceLandmarker('wasm');
  const wav = readWav(new Uint8Array(readFileSync(join(o.clip, 'audio.wav'))));
  const clip = await prepareClip({
    frames: streamFrames(o.clip),
    fps: meta.fps,
    audio: { samples: wav.mono, sampleRate: wav.sampleRate },
    landmarker,
    size: manifest.cropSize,
    cropTemplate: manifest.cropTemplate,
  });
  landmarker.dispose();
  console.log(`  ${clip.frames} frames, ${clip.dropped} without a face`);

  if (!(await tf.setBackend('cpu'))) throw new Error('tfjs cpu backend unavailable');
  const tuner = new FineTuner({
    modelBytes: new Uint8Array(readFileSync(o.model)),
    manifest,
    clip,
    batchSize: o.batch,
    learningRate: o.lr,
    holdOut: o.holdOut,
  });
  const valBefore = await tuner.validate();
  console.log(`Fine-tuning ${o.steps} steps, batch ${o.batch} (val loss ${valBefore.loss.toFixed(4)})…`);
  const t0 = performance.now();
  for (let i = 0; i < o.steps; i++) {
    const s = await tuner.step();
    if (s.step % 25 === 0) console.log(`  step ${s.step} loss ${s.loss.toFixed(4)} (${(s.step / ((performance.now() - t0) / 1000)).toFixed(2)} steps/s)`);
  }
  const stepsPerSec = o.steps / ((performance.now() - t0) / 1000);
  const valAfter = await tuner.validate();
  const tunedPath = join(o.out, 'generator.onnx');
  writeFileSync(tunedPath, tuner.toOnnx());
  copyFileSync(manifestPath, join(o.out, 'manifest.json'));
  tuner.dispose();

  console.log('Evaluating the fine-tuned model on the same held-out tail…');
  const after = await evalTail(o.clip, tunedPath, o.holdOut);
  const pick = (r: EvalReport) => {
    const c = r.clips[0];
    return { frames: c.frames, lmd: c.lmd.model, lmdCopyReference: c.lmd.copyReference, psnr: c.psnr.model, ssim: c.ssim.model };
  };
  const result = {
    clip: meta.id,
    identity: meta.identity,
    steps: o.steps,
    batch: o.batch,
    learningRate: o.lr,
    holdOut: o.holdOut,
    stepsPerSec,
    valLoss: { before: valBefore.loss, after: valAfter.loss },
    heldOutTail: { before: pick(before), after: pick(after) },
  };
  console.log(formatTable(after));
  console.log(JSON.stringify(result, null, 2));
  if (o.json) writeFileSync(o.json, JSON.stringify(result, null, 2));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e) => {
    console.error(`finetune-eval failed: ${(e as Error).message}`);
    process.exitCode = 1;
  });
}
