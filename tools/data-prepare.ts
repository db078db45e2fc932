/**
 * Builds the prepared training dataset the PyTorch trainer reads (format: top of tools/train/data.py)
 * from the shared clips, with the engine's own landmarks, crop alignment, smoothing, mel and sampler —
 * the same code the live app runs, so training crops match inference crops.
 *
 *   npm run data:prepare -- --clips DIR --out DIR [--size 128] [--limit-frames N] [--only id1,id2]
 *                           [--min-offset 5] [--epochs 50] [--seed 1]
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, writeFileSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CROP_TEMPLATE } from '../src/engine/face/align.ts';
import { FACE_CROP_TEMPLATES } from '../src/engine/face/mouthAnchor.ts';
import { readClipMeta, streamFrames } from '../src/node/clipFrames.ts';
import { LANDMARK_COUNT } from '../src/engine/face/meshIndices.ts';
import { createNodeFaceLandmarker, initNodeTf } from '../src/node/tfNode.ts';
import { MEL_CONFIG } from '../src/engine/audio/melConfig.ts';
import { readWav } from '../src/engine/audio/wav.ts';
import { CropFrameProcessor, clipMel } from '../src/engine/training/clipPrep.ts';
import type { RgbaImage } from '../src/engine/types.ts';
import { pairsToInt32, samplePairs } from '../src/engine/training/sampler.ts';
import { applyDecisions, DEFAULT_OFFSETS_FILE } from './av-offsets.ts';
import { CodedError } from '../src/engine/codedError.ts';

export class PrepareError extends CodedError<'usage' | 'no-clips' | 'bad-clip'> {
  override readonly name = 'PrepareError';
}

export interface PrepareOptions {
  clips: string;
  out: string;
  size: number;
  limitFrames?: number;
  only?: string[];
  minOffset: number;
  epochs: number;
  seed: number;
  /** Crop template, one of mouthAnchor.ts FACE_CROP_TEMPLATES (default: the plain one, align.ts CROP_TEMPLATE). */
  cropTemplate?: string;
}

const USAGE =
  'usage: npm run data:prepare -- --clips DIR --out DIR [--size 128] [--limit-frames N] [--only id1,id2] [--min-offset 5] [--epochs 50] [--seed 1] [--crop-template facemesh-sim-v1|facemesh-sim-mouth-v1]';

export function parseArgs(argv: string[]): PrepareOptions {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    if (i < 0) return undefined;
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new PrepareError('usage', `${name} needs a value. ${USAGE}`);
    return v;
  };
  const int = (name: string, fallback: number | undefined, min: number): number | undefined => {
    const v = get(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new PrepareError('usage', `${name} needs an integer ≥ ${min}, got "${v}"`);
    return n;
  };
  const known = new Set(['--clips', '--out', '--size', '--limit-frames', '--only', '--min-offset', '--epochs', '--seed', '--crop-template']);
  for (const a of argv) if (a.startsWith('--') && !known.has(a)) throw new PrepareError('usage', `Unknown option ${a}. ${USAGE}`);
  const clips = get('--clips');
  const out = get('--out');
  if (!clips || !out) throw new PrepareError('usage', `--clips and --out are required. ${USAGE}`);
  const cropTemplate = get('--crop-template') ?? CROP_TEMPLATE;
  if (!FACE_CROP_TEMPLATES.includes(cropTemplate)) {
    throw new PrepareError('usage', `--crop-template must be one of ${FACE_CROP_TEMPLATES.join(', ')}, got "${cropTemplate}". ${USAGE}`);
  }
  return {
    clips: resolve(clips),
    out: resolve(out),
    size: int('--size', 128, 16)!,
    limitFrames: int('--limit-frames', undefined, 1),
    only: get('--only')
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    minOffset: int('--min-offset', 5, 0)!,
    epochs: int('--epochs', 50, 1)!,
    seed: int('--seed', 1, 0)!,
    cropTemplate,
  };
}

/** A clip's entry in the prepared dataset's index.json (tools/train/data.py reads the same). */
export interface IndexClip {
  id: string;
  identity: string;
  dir: string;
  frames: number;
  melFrames: number;
  fps: number;
  audioOffset?: number;
  excluded?: boolean;
}

function listClips(opts: PrepareOptions): string[] {
  if (!existsSync(opts.clips)) throw new PrepareError('no-clips', `Clips folder ${opts.clips} does not exist`);
  let ids = readdirSync(opts.clips, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(opts.clips, d.name, 'video.mp4')))
    .map((d) => d.name)
    .sort();
  if (opts.only) {
    const missing = opts.only.filter((id) => !ids.includes(id));
    if (missing.length) throw new PrepareError('no-clips', `--only names clips not in ${opts.clips}: ${missing.join(', ')}`);
    ids = ids.filter((id) => opts.only!.includes(id));
  }
  if (!ids.length) throw new PrepareError('no-clips', `No clips (folders with video.mp4) in ${opts.clips}`);
  return ids;
}

export async function prepare(opts: PrepareOptions, log: (line: string) => void = console.log): Promise<IndexClip[]> {
  const ids = listClips(opts);
  const backend = await initNodeTf('wasm');
  const landmarker = await createNodeFaceLandmarker(backend as 'wasm' | 'cpu');
  mkdirSync(opts.out, { recursive: true });
  const S = opts.size;
  const cropTemplate = opts.cropTemplate ?? CROP_TEMPLATE;
  const index: IndexClip[] = [];
  const valids: Uint8Array[] = [];
  let totalKept = 0;
  let totalDropped = 0;
  let totalMs = 0;
  let totalLandmarkMs = 0;
  log(`data:prepare: ${ids.length} clips → ${opts.out} (S=${S}, template ${cropTemplate}, tfjs ${backend})`);
  for (const id of ids) {
    const clipDir = join(opts.clips, id);
    const meta = readClipMeta(clipDir);
    if (meta.fps !== 25) throw new PrepareError('bad-clip', `Clip ${id} is ${meta.fps} fps; the trainer needs 25 fps video`);
    const dir = id;
    const outDir = join(opts.out, dir);
    mkdirSync(outDir, { recursive: true });
    const cropsFd = openSync(join(outDir, 'crops.u8'), 'w');
    const lmFd = openSync(join(outDir, 'landmarks.f32'), 'w');
    const valid: number[] = [];
    // Landmark timing is measured around the shared per-frame step (crop + landmarks, src/engine/training/clipPrep.ts).
    let landmarkMs = 0;
    const timed = {
      detect: (frame: RgbaImage, tMs: number) => {
        const a = performance.now();
        const r = landmarker.detect(frame, tMs);
        landmarkMs += performance.now() - a;
        return r;
      },
      reset: () => landmarker.reset(),
    };
    const proc = new CropFrameProcessor(timed, S, cropTemplate);
    proc.reset();
    const blankCrop = new Uint8Array(S * S * 3);
    const blankLm = new Uint8Array(LANDMARK_COUNT * 3 * 4);
    const t0 = performance.now();
    let n = 0;
    try {
      for await (const frame of streamFrames(clipDir, opts.limitFrames)) {
        const r = proc.process(frame, (n * 1000) / meta.fps);
        writeSync(cropsFd, r ? r.crop : blankCrop);
        writeSync(lmFd, r ? new Uint8Array(r.landmarks.buffer) : blankLm);
        valid.push(r ? 1 : 0);
        n++;
      }
    } finally {
      closeSync(cropsFd);
      closeSync(lmFd);
    }
    if (n === 0) throw new PrepareError('bad-clip', `Clip ${id}: ffmpeg decoded no frames from ${join(clipDir, 'video.mp4')}`);
    const validU8 = Uint8Array.from(valid);
    writeFileSync(join(outDir, 'valid.u8'), validU8);

    // Audio: 16 kHz mono log-mel, cut to the decoded video length when frames were limited.
    const wav = readWav(readFileSync(join(clipDir, 'audio.wav')), join(clipDir, 'audio.wav'));
    const mel = clipMel(wav.mono, wav.sampleRate, opts.limitFrames !== undefined ? n : undefined, meta.fps);
    writeFileSync(join(outDir, 'mel.f32'), new Uint8Array(mel.buffer, mel.byteOffset, mel.byteLength));
    const melFrames = mel.length / MEL_CONFIG.nMels;

    const ms = performance.now() - t0;
    const kept = valid.filter((v) => v === 1).length;
    totalKept += kept;
    totalDropped += n - kept;
    totalMs += ms;
    totalLandmarkMs += landmarkMs;
    log(
      `${id}: ${n} frames, kept ${kept}, dropped ${n - kept} (no face); ${(ms / n).toFixed(1)} ms/frame ` +
        `(landmarks ${(landmarkMs / n).toFixed(1)} ms), ${melFrames} mel frames`,
    );
    index.push({ id, identity: meta.identity, dir, frames: n, melFrames, fps: meta.fps });
    valids.push(validU8);
  }
  landmarker.dispose();

  // The committed audio–video offset decisions (npm run data:av-offsets): corrected clips are read with their
  // audio shifted, excluded ones are not trained on. Clips without a decision (new ones) are taken as in sync.
  if (existsSync(DEFAULT_OFFSETS_FILE)) {
    applyDecisions(index, JSON.parse(readFileSync(DEFAULT_OFFSETS_FILE, 'utf8')).clips);
    const changed = index.filter((c) => c.audioOffset !== undefined || c.excluded);
    log(
      `audio–video offsets from ${DEFAULT_OFFSETS_FILE}: ${changed.map((c) => `${c.id} ${c.excluded ? 'excluded' : `${c.audioOffset! > 0 ? '+' : ''}${c.audioOffset}`}`).join(', ') || 'all in sync'}`,
    );
  }

  writeFileSync(
    join(opts.out, 'index.json'),
    `${JSON.stringify({ version: 1, cropSize: S, cropTemplate, mel: MEL_CONFIG, minOffset: opts.minOffset, clips: index }, null, 1)}\n`,
  );
  const { pairs, skippedTargets, plan } = samplePairs({
    clips: valids,
    epochs: opts.epochs,
    rng: opts.seed,
    minOffset: opts.minOffset,
    skipShortClips: true,
  });
  writeFileSync(join(opts.out, 'pairs.i32'), new Uint8Array(pairsToInt32(pairs).buffer));
  const frames = totalKept + totalDropped;
  log(
    `total: ${index.length} clips, ${frames} frames, kept ${totalKept}, dropped ${totalDropped}; ` +
      `${(totalMs / frames).toFixed(1)} ms/frame (landmarks ${(totalLandmarkMs / frames).toFixed(1)} ms); ` +
      `${pairs.length} pairs (${plan.targetCount} targets/epoch × ${opts.epochs}, ${skippedTargets.length} targets without a reference)`,
  );
  return index;
}

const isMain = process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname);
if (isMain) {
  try {
    await prepare(parseArgs(process.argv.slice(2)));
  } catch (e) {
    console.error(e instanceof PrepareError ? `data:prepare: ${e.message}` : e);
    process.exit(e instanceof PrepareError && e.code === 'usage' ? 2 : 1);
  }
}
