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
import { CROP_TEMPLATE, TransformSmoother, estimateCropTransform } from '../src/engine/face/align.ts';
import { readClipMeta, streamFrames } from '../src/engine/face/clipFrames.ts';
import { LANDMARK_COUNT } from '../src/engine/face/meshIndices.ts';
import { createNodeFaceLandmarker, initNodeTf } from '../src/engine/face/tfNode.ts';
import { warpToCropU8 } from '../src/engine/face/warp.ts';
import { computeLogMel } from '../src/engine/audio/mel.ts';
import { MEL_CONFIG } from '../src/engine/audio/melConfig.ts';
import { resampleBuffer } from '../src/engine/audio/resample.ts';
import { readWav } from '../src/engine/audio/wav.ts';
import { pairsToInt32, samplePairs } from '../src/engine/training/sampler.ts';

export class PrepareError extends Error {
  constructor(message: string, readonly code: 'usage' | 'no-clips' | 'bad-clip') {
    super(message);
    this.name = 'PrepareError';
  }
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
}

const USAGE =
  'usage: npm run data:prepare -- --clips DIR --out DIR [--size 128] [--limit-frames N] [--only id1,id2] [--min-offset 5] [--epochs 50] [--seed 1]';

export function parseArgs(argv: string[]): PrepareOptions {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    if (i < 0) return undefined;
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new PrepareError(`${name} needs a value. ${USAGE}`, 'usage');
    return v;
  };
  const int = (name: string, fallback: number | undefined, min: number): number | undefined => {
    const v = get(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new PrepareError(`${name} needs an integer ≥ ${min}, got "${v}"`, 'usage');
    return n;
  };
  const known = new Set(['--clips', '--out', '--size', '--limit-frames', '--only', '--min-offset', '--epochs', '--seed']);
  for (const a of argv) if (a.startsWith('--') && !known.has(a)) throw new PrepareError(`Unknown option ${a}. ${USAGE}`, 'usage');
  const clips = get('--clips');
  const out = get('--out');
  if (!clips || !out) throw new PrepareError(`--clips and --out are required. ${USAGE}`, 'usage');
  return {
    clips: resolve(clips),
    out: resolve(out),
    size: int('--size', 128, 16)!,
    limitFrames: int('--limit-frames', undefined, 1),
    only: get('--only')?.split(',').map((s) => s.trim()).filter(Boolean),
    minOffset: int('--min-offset', 5, 0)!,
    epochs: int('--epochs', 50, 1)!,
    seed: int('--seed', 1, 0)!,
  };
}

interface IndexClip {
  id: string;
  identity: string;
  dir: string;
  frames: number;
  melFrames: number;
  fps: number;
}

function listClips(opts: PrepareOptions): string[] {
  if (!existsSync(opts.clips)) throw new PrepareError(`Clips folder ${opts.clips} does not exist`, 'no-clips');
  let ids = readdirSync(opts.clips, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(opts.clips, d.name, 'video.mp4')))
    .map((d) => d.name)
    .sort();
  if (opts.only) {
    const missing = opts.only.filter((id) => !ids.includes(id));
    if (missing.length) throw new PrepareError(`--only names clips not in ${opts.clips}: ${missing.join(', ')}`, 'no-clips');
    ids = ids.filter((id) => opts.only!.includes(id));
  }
  if (!ids.length) throw new PrepareError(`No clips (folders with video.mp4) in ${opts.clips}`, 'no-clips');
  return ids;
}

export async function prepare(opts: PrepareOptions, log: (line: string) => void = console.log): Promise<IndexClip[]> {
  const ids = listClips(opts);
  const backend = await initNodeTf('wasm');
  const landmarker = await createNodeFaceLandmarker(backend as 'wasm' | 'cpu');
  mkdirSync(opts.out, { recursive: true });
  const S = opts.size;
  const index: IndexClip[] = [];
  const valids: Uint8Array[] = [];
  let totalKept = 0;
  let totalDropped = 0;
  let totalMs = 0;
  let totalLandmarkMs = 0;
  log(`data:prepare: ${ids.length} clips → ${opts.out} (S=${S}, template ${CROP_TEMPLATE}, tfjs ${backend})`);
  for (const id of ids) {
    const clipDir = join(opts.clips, id);
    const meta = readClipMeta(clipDir);
    if (meta.fps !== 25) throw new PrepareError(`Clip ${id} is ${meta.fps} fps; the trainer needs 25 fps video`, 'bad-clip');
    const dir = id;
    const outDir = join(opts.out, dir);
    mkdirSync(outDir, { recursive: true });
    const cropsFd = openSync(join(outDir, 'crops.u8'), 'w');
    const lmFd = openSync(join(outDir, 'landmarks.f32'), 'w');
    const valid: number[] = [];
    const smoother = new TransformSmoother();
    landmarker.reset();
    const blankCrop = new Uint8Array(S * S * 3);
    const cropLm = new Float32Array(LANDMARK_COUNT * 3);
    const t0 = performance.now();
    let landmarkMs = 0;
    let n = 0;
    try {
      for await (const frame of streamFrames(clipDir, opts.limitFrames)) {
        const tMs = (n * 1000) / meta.fps;
        const a = performance.now();
        const lmk = landmarker.detect(frame, tMs);
        landmarkMs += performance.now() - a;
        if (!lmk) {
          // Same as live: no face → the smoother starts over on the next face.
          smoother.reset();
          writeSync(cropsFd, blankCrop);
          writeSync(lmFd, new Uint8Array(cropLm.fill(0).buffer));
          valid.push(0);
        } else {
          const t = smoother.filter(estimateCropTransform(lmk, S), tMs);
          writeSync(cropsFd, warpToCropU8(frame, t, S));
          const scale = Math.hypot(t[0], t[3]);
          const p = lmk.points;
          for (let i = 0; i < LANDMARK_COUNT; i++) {
            const x = p[3 * i];
            const y = p[3 * i + 1];
            cropLm[3 * i] = t[0] * x + t[1] * y + t[2];
            cropLm[3 * i + 1] = t[3] * x + t[4] * y + t[5];
            cropLm[3 * i + 2] = p[3 * i + 2] * scale;
          }
          writeSync(lmFd, new Uint8Array(cropLm.buffer));
          valid.push(1);
        }
        n++;
      }
    } finally {
      closeSync(cropsFd);
      closeSync(lmFd);
    }
    if (n === 0) throw new PrepareError(`Clip ${id}: ffmpeg decoded no frames from ${join(clipDir, 'video.mp4')}`, 'bad-clip');
    const validU8 = Uint8Array.from(valid);
    writeFileSync(join(outDir, 'valid.u8'), validU8);

    // Audio: 16 kHz mono log-mel, cut to the decoded video length when frames were limited.
    const wav = readWav(readFileSync(join(clipDir, 'audio.wav')), join(clipDir, 'audio.wav'));
    let samples = wav.sampleRate === MEL_CONFIG.sampleRate ? wav.mono : resampleBuffer(wav.mono, wav.sampleRate, MEL_CONFIG.sampleRate);
    if (opts.limitFrames !== undefined) samples = samples.subarray(0, Math.round((n / meta.fps) * MEL_CONFIG.sampleRate));
    const mel = computeLogMel(samples);
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

  writeFileSync(
    join(opts.out, 'index.json'),
    JSON.stringify({ version: 1, cropSize: S, cropTemplate: CROP_TEMPLATE, mel: MEL_CONFIG, minOffset: opts.minOffset, clips: index }, null, 1) + '\n',
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
