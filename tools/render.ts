/**
 * Render mode from the command line: the same engine as the browser's Render view (render plan, landmarks →
 * crop → generator → paste, reference = the current frame), with ffmpeg for decoding and encoding.
 *
 *   npm run render -- --face in.mp4|face.png --audio speech.wav --out out.mp4
 *                     [--model FILE.onnx|manifest.json] [--tail stop|keep] [--max-seconds S]
 *
 * Output: H.264 + AAC MP4 at the face's frame rate, exactly as long as the audio (the face loops forward and
 * backward if it is shorter; `--tail keep` keeps the rest of a longer video unchanged). Frames are streamed
 * through ffmpeg, never all held; the file appears only when complete.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as ort from 'onnxruntime-web';
import type { RgbaImage } from '../src/engine/types.ts';
import { MEL_CONFIG } from '../src/engine/audio/melConfig.ts';
import { fmtTime } from '../src/engine/formatTime.ts';
import { contractDifference, parseManifest } from '../src/engine/generator/manifest.ts';
import { GeneratorRunner } from '../src/engine/generator/runner.ts';
import { LipsyncPipeline } from '../src/engine/pipeline/lipsyncPipeline.ts';
import { createNodeFaceLandmarker } from '../src/node/tfNode.ts';
import { planRender, type RenderTail } from '../src/engine/render/renderPlan.ts';
import type { PasteArea } from '../src/engine/face/blend.ts';
import {
  RenderError,
  renderAudioFrom,
  renderFrames,
  type RenderFrameSink,
  type RenderFrameSource,
  type RenderSummary,
} from '../src/engine/render/renderLoop.ts';

export interface RenderCliOptions {
  face: string;
  audio: string;
  out: string;
  model: string;
  tail: RenderTail;
  maxSeconds?: number;
  /** What the paste replaces (default 'mouth', as the app). */
  pasteArea?: PasteArea;
}

const DEFAULT_MODEL = resolve(import.meta.dirname, '../public/models/manifest.json');
const IMAGE_FPS = 25;

export function parseArgs(argv: string[]): RenderCliOptions {
  const o: Partial<RenderCliOptions> = { model: DEFAULT_MODEL, tail: 'stop' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new RenderError('render-failed', `${a} needs a value.`);
      return v;
    };
    if (a === '--face') o.face = value();
    else if (a === '--audio') o.audio = value();
    else if (a === '--out') o.out = value();
    else if (a === '--model') o.model = value();
    else if (a === '--tail') {
      const t = value();
      if (t !== 'stop' && t !== 'keep') throw new RenderError('render-failed', `--tail must be "stop" or "keep", got ${t}.`);
      o.tail = t;
    } else if (a === '--paste-area') {
      const t = value();
      if (t !== 'mouth' && t !== 'face') throw new RenderError('render-failed', `--paste-area must be "mouth" or "face", got ${t}.`);
      o.pasteArea = t;
    } else if (a === '--max-seconds') {
      o.maxSeconds = Number(value());
      if (!(o.maxSeconds > 0)) throw new RenderError('render-failed', '--max-seconds must be a number above 0.');
    } else
      throw new RenderError('render-failed', `Unknown argument ${a}. Usage: npm run render -- --face in.mp4 --audio speech.wav --out out.mp4 [--model FILE]`);
  }
  for (const k of ['face', 'audio', 'out'] as const)
    if (!o[k]) throw new RenderError('render-failed', `--${k} is required. Usage: npm run render -- --face in.mp4 --audio speech.wav --out out.mp4`);
  for (const k of ['face', 'audio'] as const) if (!existsSync(o[k]!)) throw new RenderError('render-not-media', `The ${k} file ${o[k]} does not exist.`);
  return o as RenderCliOptions;
}

interface Stream {
  codec_type: string;
  width?: number;
  height?: number;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  nb_read_packets?: string;
}

function probeStreams(file: string, what: string): Stream[] {
  const r = spawnSync(
    'ffprobe',
    ['-v', 'error', '-count_packets', '-show_entries', 'stream=codec_type,width,height,avg_frame_rate,r_frame_rate,nb_read_packets', '-of', 'json', file],
    { encoding: 'utf8' },
  );
  if (r.error) throw new RenderError('render-failed', `ffprobe is needed (apt-get install ffmpeg): ${r.error.message}`);
  if (r.status !== 0)
    throw new RenderError('render-not-media', `The ${what} ${file} is not a media file ffmpeg can read: ${r.stderr.trim().split('\n').pop()}`);
  return (JSON.parse(r.stdout).streams ?? []) as Stream[];
}

const rate = (s?: string) => {
  const [n, d] = String(s ?? '')
    .split('/')
    .map(Number);
  return n > 0 && d > 0 ? n / d : NaN;
};

/** Frames of a video (or the one frame of an image) decoded by ffmpeg as they are asked for. */
export function openFace(file: string): RenderFrameSource & { kind: 'video' | 'image' } {
  const video = probeStreams(file, 'face file').find((s) => s.codec_type === 'video');
  if (!video?.width || !video.height) throw new RenderError('render-no-video', `The face file ${file} has no picture: give a video or an image of a face.`);
  const count = Number(video.nb_read_packets ?? 0);
  const image = count <= 1;
  const fps = image ? IMAGE_FPS : rate(video.avg_frame_rate) || rate(video.r_frame_rate) || 25;
  const width = video.width & ~1;
  const height = video.height & ~1;
  const bytes = width * height * 4;
  return {
    kind: image ? 'image' : 'video',
    frameCount: Math.max(1, count),
    fps,
    width,
    height,
    async *read(from: number, to: number) {
      const seek = from > 0 ? ['-ss', (from / fps).toFixed(6)] : [];
      const ff = spawn(
        'ffmpeg',
        ['-v', 'error', ...seek, '-i', file, '-frames:v', String(to - from), '-vf', `crop=${width}:${height}:0:0`, '-f', 'rawvideo', '-pix_fmt', 'rgba', '-'],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let stderr = '';
      ff.stderr.on('data', (d) => (stderr += d));
      let cur = new Uint8ClampedArray(bytes);
      let filled = 0;
      try {
        for await (const chunk of ff.stdout as AsyncIterable<Buffer>) {
          for (let off = 0; off < chunk.length; ) {
            const n = Math.min(bytes - filled, chunk.length - off);
            cur.set(chunk.subarray(off, off + n), filled);
            filled += n;
            off += n;
            if (filled === bytes) {
              yield { width, height, data: cur } satisfies RgbaImage;
              cur = new Uint8ClampedArray(bytes);
              filled = 0;
            }
          }
        }
      } finally {
        ff.kill();
      }
      if (stderr.trim()) throw new RenderError('render-failed', `ffmpeg could not decode ${file}: ${stderr.trim()}`);
    },
  };
}

/** The audio track, mono 16 kHz, via ffmpeg. */
export function readSpeech(file: string): Float32Array {
  const streams = probeStreams(file, 'audio file');
  if (!streams.some((s) => s.codec_type === 'audio'))
    throw new RenderError('render-no-audio', `The audio file ${file} has no sound track: give a recording with speech.`);
  const r = spawnSync('ffmpeg', ['-v', 'error', '-i', file, '-vn', '-ac', '1', '-ar', String(MEL_CONFIG.sampleRate), '-f', 'f32le', '-'], {
    maxBuffer: 2 ** 31,
  });
  if (r.status !== 0) throw new RenderError('render-codec', `ffmpeg could not decode the audio of ${file}: ${String(r.stderr).trim()}`);
  const b = r.stdout as Buffer;
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + (b.length - (b.length % 4))));
}

/** H.264/AAC MP4 through ffmpeg; written to a temporary name and renamed only when complete. */
function openOutput(
  out: string,
  width: number,
  height: number,
  fps: number,
  audio: string,
  seconds: number,
): RenderFrameSink & { finish(): Promise<void>; cancel(): void } {
  const partial = join(dirname(out), `.${Date.now()}-partial.mp4`);
  const ff: ChildProcessWithoutNullStreams = spawn('ffmpeg', [
    '-v',
    'error',
    '-y',
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgba',
    '-s',
    `${width}x${height}`,
    '-r',
    String(fps),
    '-i',
    '-',
    '-i',
    audio,
    '-map',
    '0:v',
    '-map',
    '1:a',
    '-t',
    seconds.toFixed(6),
    '-c:v',
    'libx264',
    '-pix_fmt',
    'yuv420p',
    '-crf',
    '18',
    '-preset',
    'veryfast',
    '-c:a',
    'aac',
    '-b:a',
    '160k',
    '-ac',
    '1',
    '-movflags',
    '+faststart',
    partial,
  ]);
  let stderr = '';
  ff.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => ff.on('close', r));
  return {
    write: (image) =>
      new Promise<void>((res, rej) => {
        const ok = ff.stdin.write(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength), (e) =>
          e ? rej(new RenderError('render-failed', `ffmpeg stopped: ${stderr.trim() || e.message}`)) : undefined,
        );
        if (ok) res();
        else ff.stdin.once('drain', res);
      }),
    async finish() {
      ff.stdin.end();
      const code = await exited;
      if (code !== 0) {
        rmSync(partial, { force: true });
        throw new RenderError('render-failed', `ffmpeg could not encode ${out}: ${stderr.trim() || `exit ${code}`}`);
      }
      renameSync(partial, out);
    },
    cancel() {
      ff.kill('SIGKILL');
      rmSync(partial, { force: true });
    },
  };
}

export function findManifest(model: string): { modelPath: string; manifestJson: unknown } {
  const isManifest = model.endsWith('.json');
  const manifestPath = isManifest ? model : [model.replace(/\.onnx$/i, '.manifest.json'), join(dirname(model), 'manifest.json')].find(existsSync);
  if (!manifestPath || !existsSync(manifestPath))
    throw new RenderError('render-failed', `No manifest.json next to ${model}: pass the manifest (--model DIR/manifest.json).`);
  const manifestJson = JSON.parse(readFileSync(manifestPath, 'utf8'));
  if (!isManifest) return { modelPath: model, manifestJson };
  // This CLI runs on wasm, so a manifest's cpu build runs, as in the app (src/workers/generatorStart.ts).
  const main = parseManifest(manifestJson);
  const cpu = main.variants?.cpu;
  if (cpu) {
    const variantPath = join(dirname(manifestPath), cpu);
    const variantJson = JSON.parse(readFileSync(variantPath, 'utf8'));
    const diff = contractDifference(main, parseManifest(variantJson));
    if (diff) throw new RenderError('render-failed', `The cpu variant ${variantPath} does not fit ${manifestPath}: ${diff}.`);
    return { modelPath: join(dirname(variantPath), (variantJson as { model: string }).model), manifestJson: variantJson };
  }
  return { modelPath: join(dirname(manifestPath), (manifestJson as { model: string }).model), manifestJson };
}

export async function runRenderCli(o: RenderCliOptions, log: (s: string) => void = console.log): Promise<RenderSummary & { seconds: number }> {
  const face = openFace(o.face);
  const audio = renderAudioFrom(readSpeech(o.audio), MEL_CONFIG.sampleRate);
  const plan = planRender({ sourceFrames: face.frameCount, fps: face.fps, audioSeconds: audio.seconds, tail: o.tail, maxSeconds: o.maxSeconds });
  const { modelPath, manifestJson } = findManifest(o.model);
  const manifest = parseManifest(manifestJson);
  const runner = await GeneratorRunner.create({
    modelBytes: new Uint8Array(readFileSync(modelPath)),
    manifest,
    ort,
    preferredBackends: ['wasm'],
    expectedMel: MEL_CONFIG,
  });
  const landmarker = await createNodeFaceLandmarker('wasm', { refineLandmarks: false }); // as the app's render (faceTracking.ts)
  const pipeline = new LipsyncPipeline(landmarker, runner, manifest, { smooth: face.kind === 'video', pasteArea: o.pasteArea });
  const seconds = plan.outputFrames / plan.fps;
  log(
    `render: ${o.face} (${face.kind}, ${face.width}×${face.height}, ${face.frameCount} frames at ${face.fps} fps) + ${o.audio} (${audio.seconds.toFixed(2)} s) → ${o.out}: ${plan.outputFrames} frames, generator ${manifest.name} ${manifest.version}`,
  );
  const sink = openOutput(resolve(o.out), face.width, face.height, plan.fps, o.audio, Math.min(seconds, audio.seconds));
  let lastLog = 0;
  try {
    const summary = await renderFrames({
      pipeline,
      source: face,
      sink,
      audio,
      plan,
      onProgress: (p) => {
        if (p.done === p.total || performance.now() - lastLog > 1000) {
          lastLog = performance.now();
          log(`frame ${p.done}/${p.total} · ${((p.done / p.elapsedMs) * 1000).toFixed(1)} frames/s · ${fmtTime(p.etaMs / 1000)} left`);
        }
      },
    });
    await sink.finish();
    log(
      `wrote ${o.out} (${(statSync(o.out).size / 1e6).toFixed(1)} MB): ${summary.frames} frames, a face in ${summary.facesFound} (${summary.interpolated} with landmarks interpolated), ${summary.fps.toFixed(1)} frames/s`,
    );
    return { ...summary, seconds };
  } catch (e) {
    sink.cancel();
    throw e;
  } finally {
    landmarker.close();
    await runner.dispose();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    await runRenderCli(parseArgs(process.argv.slice(2)));
  } catch (e) {
    console.error(`render: ${(e as Error).message}`);
    process.exit(1);
  }
}
