/**
 * Evaluates a generator on real clips through the live pipeline's own engine code (same landmarks,
 * crop, mask, mel window and paste-back), with two baselines in the same run: copy-reference
 * (output crop = reference crop, always cut with the plain crop template so every model meets the same baseline) and
 * ground truth (the real frame).
 *
 *   npm run eval -- --clips DIR --model FILE.onnx [--manifest FILE] [--only id1,id2]
 *                   [--max-frames 150] [--tail FRACTION] [--json OUT]
 *
 * --tail F scores only the last F of each clip, split exactly as the fine-tune splits it (sampler.ts
 * holdOutTail), so a model fine-tuned on a clip can be judged on the part it never trained on.
 *
 * Metrics per clip and overall:
 *  1. LMD: mouth landmark distance vs ground truth, reference frame |r − t| > 5 (as in training).
 *  2. Swapped-audio sync: clip A's frames, reference = current frame (live use), driven by clip B's
 *     audio (B = the next clip in DIR); correlation of mouth opening with B's loudness and the best
 *     lag (±5 frames). Ground truth on its own audio is the yardstick.
 *  3. Silence: mean mouth opening with silent audio vs with the clip's own speech (live use).
 *  4. Mouth-region PSNR / SSIM vs ground truth (lower crop, reference |r − t| > 5).
 *  5. Temporal jitter of the generated mouth landmarks (live use, own audio) vs ground truth's.
 *  6. Sharpness: variance of the luma Laplacian over the lower crop, ÷ ground truth's (1 = as much fine
 *     detail as the real mouth; a blur is well below): model with the far reference (as 1), copy-reference,
 *     and live use (reference = current frame, own audio).
 *
 * A generator with the articulation input (manifest.inputs.articulation) gets, in every series, the person's running
 * opening range up to frame t − 6 (face/articulation.ts; never t's own neighbourhood, as in training), and its prior
 * until 25 faces have been seen, as a live session starts.
 *
 * --sheets DIR writes DIR/<clip>.png per clip: a dozen frames across the clip (columns), rows top to bottom
 * ground truth | copy-reference | model (reference 10 frames away, own audio) | swapped audio (live) |
 * silent audio (live), each the 128² crop re-cut from the pasted frame (black where the other clip's audio has
 * already ended). Sheets are cut from the data: never commit them.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PNG } from 'pngjs';
import * as ort from 'onnxruntime-web';
import type { PlanarImage, RgbaImage } from '../src/engine/types.ts';
import { readWav } from '../src/engine/audio/wav.ts';
import { resampleBuffer } from '../src/engine/audio/resample.ts';
import { computeLogMel, melFrameCount } from '../src/engine/audio/mel.ts';
import { MEL_CONFIG, SILENCE_VALUE } from '../src/engine/audio/melConfig.ts';
import { melIndexForVideoFrame, melWindowFromFrames } from '../src/engine/audio/melRing.ts';
import { parseManifest, type GeneratorManifest } from '../src/engine/generator/manifest.ts';
import { GeneratorRunner } from '../src/engine/generator/runner.ts';
import { LipsyncPipeline, type LandmarkSource, type PreparedFrame } from '../src/engine/pipeline/lipsyncPipeline.ts';
import { createNodeFaceLandmarker } from '../src/node/tfNode.ts';
import { holdOutTail } from '../src/engine/training/sampler.ts';
import { mouthOpening, OUTER_LIPS } from '../src/engine/face/meshIndices.ts';
import { applyAffine, CROP_TEMPLATE } from '../src/engine/face/align.ts';
import { usesMouthAnchor } from '../src/engine/face/mouthAnchor.ts';
import { MouthPlacement, NO_SHIFT } from '../src/engine/face/mouthPlacement.ts';
import { OpeningGain } from '../src/engine/face/openingGain.ts';
import { maskStartRow, warpToCrop } from '../src/engine/face/warp.ts';
import type { PasteArea } from '../src/engine/face/blend.ts';
import {
  audioEnvelopePerFrame,
  bestLagCorrelation,
  jitter,
  landmarkBias,
  landmarkDistance,
  laplacianVariance,
  psnr,
  ssim,
  type FloatImage,
  type LagCorrelation,
  type Rect,
} from '../src/engine/eval/metrics.ts';
import { CodedError } from '../src/engine/codedError.ts';
import { speechSync, type SyncPredictor } from '../src/engine/eval/avOffset.ts';
import syncPredictor from '../src/engine/eval/syncPredictor.json' with { type: 'json' };

export class EvalToolError extends CodedError<'bad-args' | 'missing-file' | 'no-clips' | 'ffmpeg' | 'no-face'> {
  override readonly name = 'EvalToolError';
}

export interface EvalOptions {
  clips: string;
  model: string;
  manifest?: string;
  only?: string[];
  maxFrames: number;
  /** Evaluate only the clip's held-out tail (this fraction of its frames, as fine-tuning holds it out). */
  tail?: number;
  json?: string;
  /**
   * Landmarks the pipeline cuts and pastes with: 'refined' (attention mesh, as the tools prepare training data) or
   * 'plain' (the live path's cheaper mesh). Scoring always reads landmarks with the refined mesh.
   */
  pipelineLandmarks?: 'refined' | 'plain';
  /** Folder for one PNG contact sheet per clip. */
  sheets?: string;
  /** What the paste replaces (the app's default: 'mouth'); 'face' measures 0.3.x's whole-face paste. */
  pasteArea?: PasteArea;
  /**
   * Place each output series' mouth as the app does (face/mouthPlacement.ts: read back every few outputs, moved by where
   * earlier ones drew it against the real mouth). Default true; false (--no-placement) pastes where the generator drew.
   */
  placement?: boolean;
}

/** Reference offset for metrics 1 and 4 (training's rule: |r − t| > MIN_REF_OFFSET). */
const REF_OFFSET = 10;
const SYNC_PREDICTOR = syncPredictor as SyncPredictor;
const MIN_REF_OFFSET = 5;
const MAX_LAG = 5;

/** metrics.ts LandmarkBias without its frame count. */
export type LmdSplit = { bias: number; residual: number; shift: number; shiftX: number; shiftY: number };

export interface ClipResult {
  id: string;
  frames: number;
  /** Frames where the face was found in the original video. */
  facesFound: number;
  /** Clip whose audio drove the swapped-audio run. */
  swappedAudioFrom: string;
  lmd: { model: number; copyReference: number; groundTruth: number };
  /**
   * Each LMD series split into a fixed part (the mouth in the wrong place or shape all clip long, in the face's own
   * frame) and a moving part (what changes from frame to frame); metrics.ts landmarkBias.
   */
  lmdSplit: { model: LmdSplit; copyReference: LmdSplit };
  sync: { model: LagCorrelation; groundTruth: LagCorrelation };
  /**
   * The same two series against the opening the committed audio → opening predictor (src/engine/eval/avOffset.ts, the
   * audio–video offset estimator's) expects from the audio, instead of its loudness: loudness says "speech", the mel
   * pattern says which sound. The predictor was fitted on every usable clip, these included.
   */
  syncSpeech: { model: LagCorrelation; groundTruth: LagCorrelation };
  /** Mean mouth opening (inner-lip gap ÷ inter-ocular distance): live use with silence / own speech, own speech with the reference 10 frames away (the LMD series), the real frames. */
  silence: { silentOpening: number; speechOpening: number; farSpeechOpening: number; groundTruthOpening: number };
  psnr: { model: number; copyReference: number };
  ssim: { model: number; copyReference: number };
  jitter: { model: number; groundTruth: number };
  /**
   * Lower-crop Laplacian variance ÷ ground truth's (mean over frames of each, then the ratio). `mouth`: the same over the
   * lips' bounding box only (the painted mouth itself, whatever the paste keeps of the camera's cheeks).
   */
  sharpness: { model: number; copyReference: number; live: number; mouth: number; mouthCopy: number };
}

export interface EvalReport {
  model: string;
  manifest: string;
  backend: string;
  referenceOffset: number;
  /** Whether output series placed the mouth as the app does (EvalOptions.placement). */
  placement: boolean;
  clips: ClipResult[];
  /** Mean over clips of every number in ClipResult (non-finite values skipped). */
  overall: Record<string, unknown>;
}

export function parseArgs(argv: string[]): EvalOptions {
  const opts: Partial<EvalOptions> & { maxFrames: number } = { maxFrames: 150 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new EvalToolError('bad-args', `${a} needs a value.`);
      return v;
    };
    if (a === '--clips') opts.clips = value();
    else if (a === '--model') opts.model = value();
    else if (a === '--manifest') opts.manifest = value();
    else if (a === '--json') opts.json = value();
    else if (a === '--sheets') opts.sheets = value();
    else if (a === '--pipeline-landmarks') {
      const v = value();
      if (v !== 'refined' && v !== 'plain') throw new EvalToolError('bad-args', `--pipeline-landmarks is refined or plain, got ${v}.`);
      opts.pipelineLandmarks = v;
    } else if (a === '--paste-area') {
      const v = value();
      if (v !== 'mouth' && v !== 'face') throw new EvalToolError('bad-args', `--paste-area is mouth or face, got ${v}.`);
      opts.pasteArea = v;
    } else if (a === '--no-placement') opts.placement = false;
    else if (a === '--tail') {
      const v = value();
      const f = Number(v);
      if (!(f > 0 && f < 1)) throw new EvalToolError('bad-args', `--tail must be a fraction between 0 and 1 (e.g. 0.1), got ${v}.`);
      opts.tail = f;
    } else if (a === '--only')
      opts.only = value()
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    else if (a === '--max-frames') {
      const v = value();
      const n = Number(v);
      if (!Number.isInteger(n) || n < 12)
        throw new EvalToolError('bad-args', `--max-frames must be a whole number ≥ 12 (references sit > 5 frames away), got ${v}.`);
      opts.maxFrames = n;
    } else throw new EvalToolError('bad-args', `Unknown argument ${a}.`);
  }
  if (!opts.clips || !opts.model) {
    throw new EvalToolError(
      'bad-args',
      'usage: npm run eval -- --clips DIR --model FILE.onnx [--manifest FILE] [--only id1,id2] [--max-frames 150] [--tail FRACTION] [--json OUT] [--sheets DIR] [--pipeline-landmarks refined|plain] [--paste-area mouth|face] [--no-placement]',
    );
  }
  return opts as EvalOptions;
}

function readBytes(path: string, what: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new EvalToolError('missing-file', `Cannot read the ${what} ${path}: ${(e as Error).message}`);
  }
}

/** The manifest: --manifest, else FILE.manifest.json or manifest.json next to the model. */
function findManifest(model: string, given?: string): string {
  if (given) return given;
  const candidates = [`${model.replace(/\.onnx$/i, '')}.manifest.json`, join(dirname(model), 'manifest.json')];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new EvalToolError('missing-file', `No manifest found for ${model} (looked for ${candidates.join(', ')}); pass --manifest FILE.`);
  return found;
}

/** Clip ids (sub-directories with video.mp4 and audio.wav), sorted. */
function listClips(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    throw new EvalToolError('missing-file', `Cannot read the clips directory ${dir}: ${(e as Error).message}`);
  }
  return names
    .filter((n) => {
      const d = join(dir, n);
      return statSync(d).isDirectory() && existsSync(join(d, 'video.mp4')) && existsSync(join(d, 'audio.wav'));
    })
    .sort();
}

interface Video {
  fps: number;
  frames: RgbaImage[];
}

/** Decodes up to maxFrames RGBA frames with ffmpeg, streaming. */
async function decodeVideo(file: string, maxFrames: number): Promise<Video> {
  const probe = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height,r_frame_rate', '-of', 'json', file], {
    encoding: 'utf8',
  });
  if (probe.status !== 0) throw new EvalToolError('ffmpeg', `ffprobe could not read ${file}: ${probe.stderr || probe.error?.message}`);
  const stream = JSON.parse(probe.stdout).streams?.[0];
  if (!stream?.width || !stream?.height) throw new EvalToolError('ffmpeg', `${file} has no video stream.`);
  const [num, den] = String(stream.r_frame_rate ?? '25/1')
    .split('/')
    .map(Number);
  const fps = num / (den || 1) || 25;
  const { width, height } = stream as { width: number; height: number };
  const frameBytes = width * height * 4;
  const ff = spawn('ffmpeg', ['-v', 'error', '-i', file, '-frames:v', String(maxFrames), '-f', 'rawvideo', '-pix_fmt', 'rgba', '-'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  ff.stderr.on('data', (d) => (stderr += d));
  const frames: RgbaImage[] = [];
  let cur = new Uint8ClampedArray(frameBytes);
  let filled = 0;
  for await (const chunk of ff.stdout as AsyncIterable<Buffer>) {
    let off = 0;
    while (off < chunk.length) {
      const n = Math.min(frameBytes - filled, chunk.length - off);
      cur.set(chunk.subarray(off, off + n), filled);
      filled += n;
      off += n;
      if (filled === frameBytes) {
        frames.push({ width, height, data: cur });
        cur = new Uint8ClampedArray(frameBytes);
        filled = 0;
      }
    }
  }
  const code: number = await new Promise((res) => (ff.exitCode !== null ? res(ff.exitCode) : ff.on('close', (c) => res(c ?? 1))));
  if (code !== 0 || frames.length === 0) throw new EvalToolError('ffmpeg', `ffmpeg could not decode ${file}: ${stderr.trim() || `exit ${code}`}`);
  return { fps, frames };
}

interface Audio {
  samples: Float32Array;
  mel: Float32Array;
  melFrames: number;
}

function loadAudio(file: string): Audio {
  const wav = readWav(readBytes(file, 'audio file'), file);
  return audioFrom(wav.sampleRate === MEL_CONFIG.sampleRate ? wav.mono : resampleBuffer(wav.mono, wav.sampleRate, MEL_CONFIG.sampleRate));
}

function audioFrom(samples: Float32Array): Audio {
  return { samples, mel: computeLogMel(samples), melFrames: melFrameCount(samples.length) };
}

const mean = (xs: number[]): number => {
  const f = xs.filter(Number.isFinite);
  return f.length ? f.reduce((a, b) => a + b, 0) / f.length : NaN;
};

function toFloatImage(p: PlanarImage): FloatImage {
  return { width: p.size, height: p.size, channels: 3, data: p.data };
}

/** Deterministic reference for frame t with |r − t| > 5 and a face: t + 10, t − 10, then further out. */
function referenceFor(t: number, prepared: (PreparedFrame | null)[]): number | null {
  const n = prepared.length;
  const order = [REF_OFFSET, -REF_OFFSET];
  for (let d = MIN_REF_OFFSET + 1; d < n; d++) if (d !== REF_OFFSET) order.push(d, -d);
  for (const d of order) {
    const r = t + d;
    if (r >= 0 && r < n && prepared[r]) return r;
  }
  return null;
}

interface Series {
  /** Landmarks found on each output frame (null: no face or frame not generated). */
  landmarks: (Float32Array | null)[];
  psnr: number[];
  ssim: number[];
  /** Lower-crop Laplacian variance of each output frame (scored or `sharp` series). */
  sharpness: number[];
  /** The same over the lips' bounding box (scored series). */
  mouthSharpness: number[];
  /** Re-cut output crops of the frames asked for (contact sheets). */
  cells: Map<number, FloatImage>;
}

/** The outer lips' bounding box in the crop, 3 px of margin, inside the crop (the painted mouth, for its sharpness). */
export function lipsRect(frame: PreparedFrame, S: number): Rect {
  const p = frame.landmarks.points;
  let x0 = Infinity,
    y0 = Infinity,
    x1 = -Infinity,
    y1 = -Infinity;
  for (const i of OUTER_LIPS) {
    const [u, v] = applyAffine(frame.transform, p[3 * i], p[3 * i + 1]);
    x0 = Math.min(x0, u);
    y0 = Math.min(y0, v);
    x1 = Math.max(x1, u);
    y1 = Math.max(y1, v);
  }
  const left = Math.max(0, Math.floor(x0) - 3);
  const top = Math.max(0, Math.floor(y0) - 3);
  const right = Math.min(S, Math.ceil(x1) + 4);
  const bottom = Math.min(S, Math.ceil(y1) + 4);
  return { x: left, y: top, width: Math.max(3, right - left), height: Math.max(3, bottom - top) };
}

/** Frames shown on a contact sheet: `count` evenly spaced over the clip. */
export function sheetFrames(n: number, count = 12): number[] {
  if (n <= count) return Array.from({ length: n }, (_, i) => i);
  return Array.from({ length: count }, (_, i) => Math.round(((i + 0.5) * n) / count - 0.5));
}

/** Writes rows of equally sized crops (CHW floats in `range`; null = black) as one PNG. */
export function writeSheet(path: string, rows: (FloatImage | null)[][], range: readonly [number, number], gap = 2): void {
  const cell = rows.flat().find((c) => c) ?? { width: 1, height: 1, channels: 3, data: new Float32Array(3) };
  const cols = Math.max(...rows.map((r) => r.length));
  const png = new PNG({ width: cols * (cell.width + gap) - gap, height: rows.length * (cell.height + gap) - gap });
  png.data.fill(0);
  for (let i = 3; i < png.data.length; i += 4) png.data[i] = 255;
  const span = range[1] - range[0];
  rows.forEach((row, ry) =>
    row.forEach((img, cx) => {
      if (!img) return;
      const plane = img.width * img.height;
      for (let y = 0; y < img.height; y++)
        for (let x = 0; x < img.width; x++) {
          const o = ((ry * (cell.height + gap) + y) * png.width + cx * (cell.width + gap) + x) * 4;
          for (let c = 0; c < 3; c++) {
            const v = img.data[(img.channels === 3 ? c * plane : 0) + y * img.width + x];
            png.data[o + c] = Math.max(0, Math.min(255, Math.round(((v - range[0]) / span) * 255)));
          }
        }
    }),
  );
  writeFileSync(path, PNG.sync.write(png));
}

/** Landmark source of a pipeline that is only given landmarks found elsewhere (prepareWithLandmarks). */
const NO_LANDMARKS: LandmarkSource = { detect: () => null };

class ClipEvaluator {
  constructor(
    private readonly pipeline: LipsyncPipeline,
    private readonly runner: GeneratorRunner,
    private readonly landmarker: LandmarkSource,
    private readonly manifest: GeneratorManifest,
    /** The pipeline finds faces with its own landmarker, not the scoring one. */
    private readonly ownPipelineLandmarks = false,
    /** Output series place the mouth as the app does (EvalOptions.placement). */
    private readonly placement = true,
  ) {}

  private get T(): number {
    return this.manifest.audioWindow.past + this.manifest.audioWindow.lookahead;
  }
  private get nMels(): number {
    return this.manifest.inputs.audio.shape[1];
  }

  melWindow(audio: Audio, t: number, fps: number): Float32Array {
    const { past, lookahead } = this.manifest.audioWindow;
    return melWindowFromFrames(audio.mel, audio.melFrames, melIndexForVideoFrame(t, fps), past, lookahead, undefined, this.nMels);
  }

  silence(): Float32Array {
    return new Float32Array(this.nMels * this.T).fill(SILENCE_VALUE);
  }

  /**
   * Runs one output series: for each frame, `output(t)` gives the generated crop (or null to skip),
   * which is pasted into a copy of the frame; landmarks are re-detected on the result, and the
   * mouth region of its re-cut crop is compared with the ground-truth crop when `score` is set. With `place` the series
   * places the mouth as the live app does: its own MouthPlacement, fed the outputs' landmarks at the app's cadence.
   */
  async series(
    frames: RgbaImage[],
    prepared: (PreparedFrame | null)[],
    fps: number,
    count: number,
    output: (t: number, frame: PreparedFrame, openingGain: number | undefined) => Promise<PlanarImage | null>,
    score = false,
    opts: { sharp?: boolean; keep?: ReadonlySet<number>; place?: boolean } = {},
  ): Promise<Series> {
    const { cropSize: S, imageRange, maskRatio } = this.manifest;
    const y0 = maskStartRow(S, maskRatio);
    const region: Rect = { x: 0, y: y0, width: S, height: S - y0 };
    const range = imageRange[1] - imageRange[0];
    const out: Series = { landmarks: [], psnr: [], ssim: [], sharpness: [], mouthSharpness: [], cells: new Map() };
    const placement = opts.place && this.placement ? new MouthPlacement() : null;
    // A generator with the openingGain input learns it from the same reads, as the app does.
    const opening = placement && this.manifest.inputs.openingGain ? new OpeningGain() : null;
    this.landmarker.reset?.();
    for (let t = 0; t < count; t++) {
      const frame = prepared[t];
      const generated = frame ? await output(t, frame, opening?.gainFor(t) ?? (this.manifest.inputs.openingGain ? 1 : undefined)) : null;
      if (!frame || !generated) {
        out.landmarks.push(null);
        continue;
      }
      const image: RgbaImage = { width: frames[t].width, height: frames[t].height, data: new Uint8ClampedArray(frames[t].data) };
      this.pipeline.paste(image, frame, generated, placement?.shiftFor(t) ?? NO_SHIFT);
      const seen = this.landmarker.detect(image, (t * 1000) / fps)?.points ?? null;
      out.landmarks.push(seen);
      if (placement?.wants(t)) {
        // Read as the app reads it: with the landmarker that found the real face.
        const read = this.ownPipelineLandmarks ? (this.pipeline.readNear(image, frame.landmarks.points)?.points ?? null) : seen;
        if (read) placement.observe(t, read, frame.landmarks.points, frame.transform, S);
        if (read) opening?.observe(t, read, frame.landmarks.points, frame.transform, S);
      }
      const keep = opts.keep?.has(t) ?? false;
      if ((score || opts.sharp || keep) && region.height > 0) {
        const shown = toFloatImage(warpToCrop(image, frame.transform, S, imageRange));
        if (score) {
          const truth = toFloatImage(frame.crop);
          out.psnr.push(psnr(shown, truth, range, region));
          out.ssim.push(ssim(shown, truth, range, region));
        }
        if (score || opts.sharp) out.sharpness.push(laplacianVariance(shown, region));
        if (score) out.mouthSharpness.push(laplacianVariance(shown, lipsRect(frame, S)));
        if (keep) out.cells.set(t, shown);
      }
    }
    return out;
  }

  /** The frames cut again with the plain crop template, from the same landmarks (no second face search). */
  plainCuts(frames: RgbaImage[], prepared: (PreparedFrame | null)[], fps: number): (PreparedFrame | null)[] {
    const plain = new LipsyncPipeline(NO_LANDMARKS, this.runner, { ...this.manifest, cropTemplate: CROP_TEMPLATE }, { smooth: true });
    return prepared.map((p, t) => plain.prepareWithLandmarks(frames[t], p?.landmarks ?? null, (t * 1000) / fps, 0));
  }

  async evaluate(id: string, dir: string, swapId: string, maxFrames: number, log: (s: string) => void, tail?: number, sheets?: string): Promise<ClipResult> {
    const video = await decodeVideo(join(dir, id, 'video.mp4'), tail ? Number.MAX_SAFE_INTEGER : maxFrames);
    const { fps } = video;
    let frames = video.frames;
    let own = loadAudio(join(dir, id, 'audio.wav'));
    if (tail) {
      // The same split as the fine-tune's hold-out; audio is cut at the same instant so mel windows stay aligned.
      const start = holdOutTail(frames.length, tail).holdout.start;
      frames = frames.slice(start, start + maxFrames);
      own = audioFrom(own.samples.subarray(Math.round((start / fps) * MEL_CONFIG.sampleRate)));
    }
    const swap = loadAudio(join(dir, swapId, 'audio.wav'));
    const n = frames.length;

    // Ground truth: the live pipeline's landmarks and crops on the real frames.
    this.pipeline.reset();
    const prepared = frames.map((f, t) => this.pipeline.prepare(f, (t * 1000) / fps));
    // Ground truth is read by the scoring landmarker, like every output series: when the pipeline cuts with another
    // mesh (--pipeline-landmarks plain), the real frames are read again.
    let truth = prepared.map((p) => p?.landmarks.points ?? null);
    if (this.ownPipelineLandmarks) {
      this.landmarker.reset?.();
      truth = frames.map((f, t) => (prepared[t] ? (this.landmarker.detect(f, (t * 1000) / fps)?.points ?? null) : null));
    }
    const facesFound = truth.filter(Boolean).length;
    if (facesFound < 3) throw new EvalToolError('no-face', `Clip ${id}: a face was found in only ${facesFound} of ${n} frames.`);
    log(`  ${id}: ${n} frames, face in ${facesFound}`);

    const refs = prepared.map((_, t) => referenceFor(t, prepared));
    // The person's articulation (generators with that input) as training sees it: the running range up to a frame more
    // than 5 before t, never t's neighbourhood; unknown (the prior) for the first ~30 frames, as a live session starts.
    const articulations: (Float32Array | null)[] = [];
    for (let t = 0, last: Float32Array | null = null; t < n; t++) {
      const k = t - MIN_REF_OFFSET - 1;
      if (k >= 0 && prepared[k]) last = prepared[k]!.articulation;
      articulations.push(last);
    }
    const articulationAt = (t: number) => articulations[t];
    const withRef =
      (make: (t: number, frame: PreparedFrame, ref: PreparedFrame, openingGain: number | undefined) => Promise<PlanarImage>) =>
      async (t: number, frame: PreparedFrame, openingGain: number | undefined) => {
        const r = refs[t];
        return r === null ? null : make(t, frame, prepared[r]!, openingGain);
      };
    const S = this.manifest.cropSize;
    const y0 = maskStartRow(S, this.manifest.maskRatio);
    const lower: Rect = { x: 0, y: y0, width: S, height: S - y0 };
    const shownFrames = sheets ? sheetFrames(n).filter((t) => prepared[t] && refs[t] !== null) : [];
    const keep = new Set(shownFrames);

    // 1 + 4: reference |r − t| > 5, own audio.
    const model = await this.series(
      frames,
      prepared,
      fps,
      n,
      withRef(async (t, frame, ref, openingGain) => ({
        size: S,
        data: await this.runner.run({
          masked: frame.masked.data,
          reference: ref.crop.data,
          audio: this.melWindow(own, t, fps),
          ...(articulations[t] ? { articulation: articulations[t]! } : {}),
          ...(openingGain === undefined ? {} : { openingGain }),
        }),
      })),
      true,
      { keep, place: true },
    );
    // Copy-reference is one baseline for every model: cut with the plain crop template even for a mouth-anchored
    // model (whose anchor moves between t and t ± 10, which would move a pasted real mouth and flatter the model).
    const plainCuts = usesMouthAnchor(this.manifest.cropTemplate) ? this.plainCuts(frames, prepared, fps) : prepared;
    const copy = await this.series(frames, plainCuts, fps, n, async (t) => (refs[t] === null ? null : plainCuts[refs[t]!]!.crop), true, { keep });

    // 2, 3, 5: live use (reference = current frame) with swapped, silent and own audio.
    const swapFrames = Math.min(n, Math.floor((swap.samples.length / MEL_CONFIG.sampleRate) * fps));
    const swapped = await this.series(
      frames,
      prepared,
      fps,
      swapFrames,
      (t, f, gain) => this.pipeline.generate(f, this.melWindow(swap, t, fps), articulationAt(t), gain),
      false,
      { keep, place: true },
    );
    const silentMel = this.silence();
    const silent = await this.series(frames, prepared, fps, n, (t, f, gain) => this.pipeline.generate(f, silentMel, articulationAt(t), gain), false, {
      keep,
      place: true,
    });
    const live = await this.series(
      frames,
      prepared,
      fps,
      n,
      (t, f, gain) => this.pipeline.generate(f, this.melWindow(own, t, fps), articulationAt(t), gain),
      false,
      {
        sharp: true,
        place: true,
      },
    );
    // Ground truth's sharpness over the same frames the model series scored (those with a reference).
    const truthSharp = prepared.flatMap((p, t) => (p && refs[t] !== null ? [laplacianVariance(toFloatImage(p.crop), lower)] : []));
    const liveTruthSharp = prepared.flatMap((p) => (p ? [laplacianVariance(toFloatImage(p.crop), lower)] : []));
    const truthMouthSharp = prepared.flatMap((p, t) => (p && refs[t] !== null ? [laplacianVariance(toFloatImage(p.crop), lipsRect(p, S))] : []));
    if (sheets) {
      mkdirSync(sheets, { recursive: true });
      const truthCells = shownFrames.map((t) => toFloatImage(prepared[t]!.crop));
      const row = (s: Series) => shownFrames.map((t) => s.cells.get(t) ?? null);
      writeSheet(join(sheets, `${id}.png`), [truthCells, row(copy), row(model), row(swapped), row(silent)], this.manifest.imageRange);
    }

    const lmdOf = (s: (Float32Array | null)[]) => mean(s.map((p, t) => (p && truth[t] ? landmarkDistance(p, truth[t]!) : NaN)));
    const opening = (s: (Float32Array | null)[]) => s.map((p) => (p ? mouthOpening(p) : NaN));
    const splitOf = (s: (Float32Array | null)[]) => {
      const { bias, residual, shift, shiftX, shiftY } = landmarkBias(s, truth);
      return { bias, residual, shift, shiftX, shiftY };
    };

    return {
      id,
      frames: n,
      facesFound,
      swappedAudioFrom: swapId,
      lmd: { model: lmdOf(model.landmarks), copyReference: lmdOf(copy.landmarks), groundTruth: lmdOf(truth) },
      lmdSplit: { model: splitOf(model.landmarks), copyReference: splitOf(copy.landmarks) },
      sync: {
        model: bestLagCorrelation(opening(swapped.landmarks), audioEnvelopePerFrame(swap.samples, fps, swapFrames), MAX_LAG),
        groundTruth: bestLagCorrelation(opening(truth), audioEnvelopePerFrame(own.samples, fps, n), MAX_LAG),
      },
      syncSpeech: {
        model: speechSync(SYNC_PREDICTOR, opening(swapped.landmarks), swap, fps, MAX_LAG),
        groundTruth: speechSync(SYNC_PREDICTOR, opening(truth), own, fps, MAX_LAG),
      },
      silence: {
        silentOpening: mean(opening(silent.landmarks)),
        speechOpening: mean(opening(live.landmarks)),
        farSpeechOpening: mean(opening(model.landmarks)),
        groundTruthOpening: mean(opening(truth)),
      },
      psnr: { model: mean(model.psnr), copyReference: mean(copy.psnr) },
      ssim: { model: mean(model.ssim), copyReference: mean(copy.ssim) },
      jitter: { model: jitter(live.landmarks), groundTruth: jitter(truth) },
      sharpness: {
        model: mean(model.sharpness) / mean(truthSharp),
        copyReference: mean(copy.sharpness) / mean(truthSharp),
        live: mean(live.sharpness) / mean(liveTruthSharp),
        mouth: mean(model.mouthSharpness) / mean(truthMouthSharp),
        mouthCopy: mean(copy.mouthSharpness) / mean(truthMouthSharp),
      },
    };
  }
}

/** Mean over clips of every numeric leaf (same shape as a ClipResult's numbers). */
function averageResults(results: ClipResult[]): Record<string, unknown> {
  const avg = (values: unknown[]): unknown => {
    const first = values[0];
    if (typeof first === 'number') return mean(values as number[]);
    if (first && typeof first === 'object') {
      const o: Record<string, unknown> = {};
      for (const k of Object.keys(first)) {
        const v = avg(values.map((x) => (x as Record<string, unknown>)[k]));
        if (v !== undefined) o[k] = v;
      }
      return o;
    }
    return undefined;
  };
  const o = avg(results) as Record<string, unknown>;
  o.clips = results.length;
  return o;
}

const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '—');
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '—');
const lag = (l: LagCorrelation) => `${f3(l.r)}@${l.lag >= 0 ? '+' : ''}${Number.isInteger(l.lag) ? l.lag : f1(l.lag)} (r0 ${f3(l.r0)})`;

export function formatTable(report: EvalReport): string {
  const head = [
    'clip',
    'LMD model',
    'LMD copy',
    'fixed model',
    'of it shift',
    'moving model',
    'fixed copy',
    'moving copy',
    'sync model',
    'sync GT',
    'speech-sync model',
    'speech-sync GT',
    'open silent',
    'open speech',
    'open far',
    'open GT',
    'PSNR model',
    'PSNR copy',
    'SSIM model',
    'SSIM copy',
    'jitter model',
    'jitter GT',
    'sharp model',
    'sharp copy',
    'sharp live',
    'sharp mouth',
    'mouth copy',
  ];
  const row = (id: string, c: Pick<ClipResult, 'lmd' | 'lmdSplit' | 'sync' | 'syncSpeech' | 'silence' | 'psnr' | 'ssim' | 'jitter' | 'sharpness'>) => [
    id,
    f3(c.lmd.model),
    f3(c.lmd.copyReference),
    f3(c.lmdSplit.model.bias),
    f3(c.lmdSplit.model.shift),
    f3(c.lmdSplit.model.residual),
    f3(c.lmdSplit.copyReference.bias),
    f3(c.lmdSplit.copyReference.residual),
    lag(c.sync.model),
    lag(c.sync.groundTruth),
    lag(c.syncSpeech.model),
    lag(c.syncSpeech.groundTruth),
    f3(c.silence.silentOpening),
    f3(c.silence.speechOpening),
    f3(c.silence.farSpeechOpening),
    f3(c.silence.groundTruthOpening),
    f1(c.psnr.model),
    f1(c.psnr.copyReference),
    f3(c.ssim.model),
    f3(c.ssim.copyReference),
    f3(c.jitter.model * 100),
    f3(c.jitter.groundTruth * 100),
    f3(c.sharpness.model),
    f3(c.sharpness.copyReference),
    f3(c.sharpness.live),
    f3(c.sharpness.mouth),
    f3(c.sharpness.mouthCopy),
  ];
  const rows = [head, ...report.clips.map((c) => row(c.id, c)), row('OVERALL', report.overall as unknown as ClipResult)];
  const widths = head.map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const lines = rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i])).join('  '));
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  return [
    ...lines,
    '',
    `LMD: mouth landmark distance / inter-ocular distance (reference |r − t| = ${REF_OFFSET}); fixed / moving: LMD split into each mouth point's mean offset in the face's frame and what varies around it (shift: the part of the fixed one that moves the whole mouth); sync: best r@lag frames (>0: mouth after audio) of mouth opening vs`,
    `loudness, model on swapped audio; speech-sync: the same vs the opening the audio → opening predictor expects (src/engine/eval/avOffset.ts); open: mean inner-lip gap / inter-ocular distance (silent, speech: live; far: reference 10 frames away; GT: the real frames); PSNR dB / SSIM over the lower crop; jitter ×100;`,
    `sharp: lower-crop Laplacian variance ÷ ground truth's (reference 10 frames away; live: reference = current frame); sharp mouth /`,
    `mouth copy: the same over the lips' bounding box only.`,
  ].join('\n');
}

export async function runEval(opts: EvalOptions, log: (s: string) => void = console.log): Promise<EvalReport> {
  const all = listClips(opts.clips);
  if (all.length === 0) throw new EvalToolError('no-clips', `No clips (sub-directories with video.mp4 and audio.wav) in ${opts.clips}.`);
  const unknown = (opts.only ?? []).filter((id) => !all.includes(id));
  if (unknown.length) throw new EvalToolError('no-clips', `Unknown clip id(s) ${unknown.join(', ')} in ${opts.clips}.`);
  const ids = opts.only?.length ? opts.only : all;

  const manifestPath = findManifest(opts.model, opts.manifest);
  let manifestJson: unknown;
  try {
    manifestJson = JSON.parse(new TextDecoder().decode(readBytes(manifestPath, 'manifest')));
  } catch (e) {
    if (e instanceof EvalToolError) throw e;
    throw new EvalToolError('missing-file', `The manifest ${manifestPath} is not valid JSON: ${(e as Error).message}`);
  }
  const manifest = parseManifest(manifestJson);
  const modelBytes = readBytes(opts.model, 'model');
  const runner = await GeneratorRunner.create({ modelBytes, manifest, ort, preferredBackends: ['wasm'], wasmThreads: 1, expectedMel: MEL_CONFIG });
  const landmarker = await createNodeFaceLandmarker();
  const plain = opts.pipelineLandmarks === 'plain' ? await createNodeFaceLandmarker('wasm', { refineLandmarks: false }) : null;
  const pipeline = new LipsyncPipeline(plain ?? landmarker, runner, manifest, { smooth: true, pasteArea: opts.pasteArea });
  const evaluator = new ClipEvaluator(pipeline, runner, landmarker, manifest, plain !== null, opts.placement ?? true);

  const clips: ClipResult[] = [];
  try {
    for (const id of ids) {
      // B = the next clip in the directory (wrapping), so a single --only clip still gets other audio.
      const swapId = all.length > 1 ? all[(all.indexOf(id) + 1) % all.length] : id;
      try {
        clips.push(await evaluator.evaluate(id, opts.clips, swapId, opts.maxFrames, log, opts.tail, opts.sheets));
      } catch (e) {
        if (e instanceof EvalToolError && e.code === 'no-face') log(`  skipped: ${e.message}`);
        else throw e;
      }
    }
  } finally {
    await runner.dispose();
    plain?.dispose();
  }
  if (clips.length === 0) throw new EvalToolError('no-face', 'No clip could be evaluated (no faces found).');
  const report: EvalReport = {
    model: opts.model,
    manifest: manifestPath,
    backend: runner.backend,
    referenceOffset: REF_OFFSET,
    placement: opts.placement ?? true,
    clips,
    overall: averageResults(clips),
  };
  if (opts.json) writeFileSync(opts.json, JSON.stringify(report, null, 2));
  return report;
}

async function main(argv: string[]): Promise<number> {
  try {
    const opts = parseArgs(argv);
    console.log(`Evaluating ${basename(opts.model)} on ${opts.clips} (≤ ${opts.maxFrames} frames per clip)…`);
    const report = await runEval(opts);
    console.log(formatTable(report));
    if (opts.json) console.log(`JSON written to ${opts.json}`);
    return 0;
  } catch (e) {
    const err = e as Error & { code?: string };
    console.error(`eval failed${err.code ? ` (${err.code})` : ''}: ${err.message}`);
    return err instanceof EvalToolError && err.code === 'bad-args' ? 2 : 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
