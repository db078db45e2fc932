/**
 * Generated mouths, read by the evaluation's own face landmarker: a prepared-format dataset (tools/train/data.py) whose
 * crops are a generator's outputs and whose landmarks are what the scoring landmarker finds on them.
 *
 *   npx tsx tools/train/label-generated.ts --data data/prepared --clips ../shared/data/clips --model A.onnx[,B.onnx]
 *                                          --out DIR [--frames 100] [--seed 1] [--only id1,id2]
 *
 * Why: the lip-shape expert (opening.py) that trains the generator learnt to read *real* mouths. On generated ones it
 * and the landmarker that scores the evaluation (LMD) disagree by up to 4x on how far a mouth opens, so the trainer
 * optimised a reading the score does not share. `opening.py --generated DIR` also learns from these crops.
 *
 * Each frame is made as the evaluation's LMD series makes it: the live pipeline's crop, a reference more than 5
 * frames away (drawn at random, as training draws them), the frame's own audio (with the clip's measured audio
 * offset), the output pasted into the frame with the mouth-area paste, landmarks re-detected on the result. Landmarks
 * are stored in the target crop's pixels, like data:prepare's. `pairs.i32` lists (clip, target, reference used) where
 * both frames were labelled.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import * as ort from 'onnxruntime-web';
import { melIndexForVideoFrame, melWindowFromFrames } from '../../src/engine/audio/melRing.ts';
import { MEL_CONFIG } from '../../src/engine/audio/melConfig.ts';
import { CodedError } from '../../src/engine/codedError.ts';
import { applyAffine } from '../../src/engine/face/align.ts';
import { LANDMARK_COUNT } from '../../src/engine/face/meshIndices.ts';
import { parseManifest } from '../../src/engine/generator/manifest.ts';
import { GeneratorRunner } from '../../src/engine/generator/runner.ts';
import { mulberry32 } from '../../src/engine/training/rng.ts';
import { LipsyncPipeline, type PreparedFrame } from '../../src/engine/pipeline/lipsyncPipeline.ts';
import type { PlanarImage, RgbaImage } from '../../src/engine/types.ts';
import { streamFrames } from '../../src/node/clipFrames.ts';
import { createNodeFaceLandmarker } from '../../src/node/tfNode.ts';
import type { IndexClip } from '../data-prepare.ts';

export class LabelError extends CodedError<'usage' | 'missing'> {
  override readonly name = 'LabelError';
}

export interface LabelOptions {
  data: string;
  clips: string;
  models: string[];
  out: string;
  frames: number;
  seed: number;
  only?: string[];
}

const USAGE =
  'usage: npx tsx tools/train/label-generated.ts --data PREPARED --clips DIR --model A.onnx[,B.onnx] --out DIR [--frames 100] [--seed 1] [--only id1,id2]';
const MIN_OFFSET = 5;
/** References are drawn from 6..MAX_OFFSET frames away (either side), as far as the clip allows. */
const MAX_OFFSET = 40;

export function parseArgs(argv: string[]): LabelOptions {
  const known = new Set(['--data', '--clips', '--model', '--out', '--frames', '--seed', '--only']);
  for (const a of argv) if (a.startsWith('--') && !known.has(a)) throw new LabelError('usage', `Unknown option ${a}. ${USAGE}`);
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    if (i < 0) return undefined;
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new LabelError('usage', `${name} needs a value. ${USAGE}`);
    return v;
  };
  const int = (name: string, fallback: number, min: number): number => {
    const v = get(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new LabelError('usage', `${name} needs an integer ≥ ${min}, got "${v}"`);
    return n;
  };
  const data = get('--data');
  const clips = get('--clips');
  const model = get('--model');
  const out = get('--out');
  if (!data || !clips || !model || !out) throw new LabelError('usage', `--data, --clips, --model and --out are required. ${USAGE}`);
  const list = (s: string) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
  return {
    data: resolve(data),
    clips: resolve(clips),
    models: list(model).map((m) => resolve(m)),
    out: resolve(out),
    frames: int('--frames', 100, MIN_OFFSET * 2 + 2),
    seed: int('--seed', 1, 0),
    only: get('--only') ? list(get('--only')!) : undefined,
  };
}

/** A reference more than MIN_OFFSET frames from t with a face, or null when the clip has none. */
export function drawReference(t: number, valid: readonly boolean[], rand: () => number): number | null {
  const options: number[] = [];
  for (let d = MIN_OFFSET + 1; d <= MAX_OFFSET; d++) for (const r of [t - d, t + d]) if (r >= 0 && r < valid.length && valid[r]) options.push(r);
  return options.length ? options[Math.floor(rand() * options.length)] : null;
}

/** A generated planar crop (CHW in imageRange) as the prepared format's uint8 HWC RGB. */
export function planarToHwc(p: PlanarImage, range: readonly [number, number]): Uint8Array {
  const S = p.size;
  const out = new Uint8Array(S * S * 3);
  const scale = 255 / (range[1] - range[0]);
  for (let c = 0; c < 3; c++)
    for (let i = 0; i < S * S; i++) out[i * 3 + c] = Math.max(0, Math.min(255, Math.round((p.data[c * S * S + i] - range[0]) * scale)));
  return out;
}

interface PreparedIndex {
  cropSize: number;
  cropTemplate: string;
  mel: unknown;
  clips: IndexClip[];
}

export async function labelGenerated(opts: LabelOptions, log: (s: string) => void = console.log): Promise<IndexClip[]> {
  const need = (path: string, what: string) => {
    if (!existsSync(path)) throw new LabelError('missing', `${what} ${path} not found`);
    return path;
  };
  const index = JSON.parse(readFileSync(need(join(opts.data, 'index.json'), 'No prepared dataset (npm run data:prepare):'), 'utf8')) as PreparedIndex;
  // Every file is checked before the minutes of labelling start, not when the run reaches it.
  for (const m of opts.models) need(join(dirname(m), 'manifest.json'), `No manifest beside ${basename(m)}:`), need(m, 'No model');
  const chosen = index.clips.filter((c) => !c.excluded && (!opts.only || opts.only.includes(c.id)));
  if (opts.only) {
    const missing = opts.only.filter((id) => !index.clips.some((c) => c.id === id && !c.excluded));
    if (missing.length) throw new LabelError('missing', `--only names clips not in ${opts.data} (or excluded there): ${missing.join(', ')}`);
  }
  for (const c of chosen) need(join(opts.clips, c.id, 'video.mp4'), `Clip ${c.id} of ${opts.data} has no video in --clips:`);
  const landmarker = await createNodeFaceLandmarker();
  const outClips: IndexClip[] = [];
  const pairs: number[] = [];
  mkdirSync(opts.out, { recursive: true });
  try {
    for (const modelPath of opts.models) {
      const manifest = parseManifest(JSON.parse(readFileSync(join(dirname(modelPath), 'manifest.json'), 'utf8')));
      if (manifest.cropSize !== index.cropSize) {
        throw new LabelError('usage', `${modelPath} cuts ${manifest.cropSize} px crops; ${opts.data} holds ${index.cropSize} px ones`);
      }
      const runner = await GeneratorRunner.create({
        modelBytes: new Uint8Array(readFileSync(modelPath)),
        manifest,
        ort,
        preferredBackends: ['wasm'],
        wasmThreads: 1,
        expectedMel: MEL_CONFIG,
      });
      // Exactly the evaluation's pipeline: one landmarker cuts the crops and reads the pasted frames.
      const pipeline = new LipsyncPipeline(landmarker, runner, manifest, { smooth: true, pasteArea: 'mouth' });
      const tag = basename(dirname(modelPath));
      const { past, lookahead } = manifest.audioWindow;
      const nMels = manifest.inputs.audio.shape[1];
      const S = manifest.cropSize;
      try {
        for (const clip of chosen) {
          const a = performance.now();
          // Seeded per clip, so a labelling run can be repeated exactly.
          const rand = mulberry32(opts.seed * 7919 + outClips.length + 1);
          const melBytes = readFileSync(join(opts.data, clip.dir, 'mel.f32'));
          const mel = new Float32Array(melBytes.buffer, melBytes.byteOffset, melBytes.byteLength / 4);
          const frames: RgbaImage[] = [];
          for await (const f of streamFrames(join(opts.clips, clip.id), opts.frames)) frames.push(f);
          pipeline.reset();
          const prepared: (PreparedFrame | null)[] = frames.map((f, t) => pipeline.prepare(f, (t * 1000) / clip.fps));
          const valid = prepared.map((p) => p !== null);
          const n = frames.length;
          const crops = new Uint8Array(n * S * S * 3);
          const landmarks = new Float32Array(n * LANDMARK_COUNT * 3);
          const found = new Uint8Array(n);
          const clipPairs: [number, number][] = [];
          landmarker.reset();
          for (let t = 0; t < n; t++) {
            const frame = prepared[t];
            const r = frame ? drawReference(t, valid, rand) : null;
            if (!frame || r === null) continue;
            const audio = melWindowFromFrames(
              mel,
              clip.melFrames,
              melIndexForVideoFrame(t + (clip.audioOffset ?? 0), clip.fps),
              past,
              lookahead,
              undefined,
              nMels,
            );
            const generated: PlanarImage = {
              size: S,
              data: await runner.run({ masked: frame.masked.data, reference: prepared[r]!.crop.data, audio }),
            };
            const image: RgbaImage = { width: frames[t].width, height: frames[t].height, data: new Uint8ClampedArray(frames[t].data) };
            pipeline.paste(image, frame, generated);
            const points = landmarker.detect(image, (t * 1000) / clip.fps)?.points;
            if (!points) continue;
            for (let i = 0; i < LANDMARK_COUNT; i++) {
              const [u, v] = applyAffine(frame.transform, points[3 * i], points[3 * i + 1]);
              landmarks.set([u, v, points[3 * i + 2]], (t * LANDMARK_COUNT + i) * 3);
            }
            crops.set(planarToHwc(generated, manifest.imageRange), t * S * S * 3);
            found[t] = 1;
            clipPairs.push([t, r]);
          }
          // The trainer's reader checks both frames of a pair; a reference whose own output lost the face stays out.
          for (const [t, r] of clipPairs) if (found[r]) pairs.push(outClips.length, t, r);
          const dir = join(tag, clip.dir);
          mkdirSync(join(opts.out, dir), { recursive: true });
          writeFileSync(join(opts.out, dir, 'crops.u8'), crops);
          writeFileSync(join(opts.out, dir, 'landmarks.f32'), new Uint8Array(landmarks.buffer));
          writeFileSync(join(opts.out, dir, 'valid.u8'), found);
          writeFileSync(join(opts.out, dir, 'mel.f32'), melBytes);
          outClips.push({ ...clip, id: `${clip.id}@${tag}`, dir, frames: n });
          const kept = found.reduce((s, v) => s + v, 0);
          log(`${tag} ${clip.id}: ${kept} of ${n} frames labelled (${((performance.now() - a) / n).toFixed(0)} ms/frame)`);
        }
      } finally {
        await runner.dispose();
      }
    }
  } finally {
    landmarker.dispose();
  }
  writeFileSync(
    join(opts.out, 'index.json'),
    `${JSON.stringify({ version: 1, cropSize: index.cropSize, cropTemplate: index.cropTemplate, mel: index.mel, minOffset: MIN_OFFSET, generated: opts.models, clips: outClips }, null, 1)}\n`,
  );
  writeFileSync(join(opts.out, 'pairs.i32'), new Uint8Array(Int32Array.from(pairs).buffer));
  return outClips;
}

async function main(argv: string[]): Promise<number> {
  try {
    const clips = await labelGenerated(parseArgs(argv));
    console.log(`wrote ${clips.length} clips`);
    return 0;
  } catch (e) {
    if (e instanceof LabelError) {
      console.error(e.message);
      return 2;
    }
    throw e;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) main(process.argv.slice(2)).then((c) => process.exit(c));
