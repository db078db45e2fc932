/**
 * Render mode: every output frame of a dub, not in real time. The same pipeline as live mode
 * (landmarks → crop → generator → paste; reference = the current frame), fed by a face source that
 * decodes frames on demand and a speech track known in full, writing to a sink that encodes.
 *
 * Frames are streamed: a forward run of the plan is read as it decodes, a backward run (the ping-pong's
 * way back) in blocks that fit `memoryBudgetBytes`, read forward and played in reverse. Never are all
 * frames decoded at once.
 */
import type { RgbaImage } from '../types.ts';
import type { GeneratorManifest } from '../generator/manifest.ts';
import type { LipsyncPipeline, PreparedFrame } from '../pipeline/lipsyncPipeline.ts';
import { computeLogMel, melFrameCount } from '../audio/mel.ts';
import { MEL_CONFIG } from '../audio/melConfig.ts';
import { resampleBuffer } from '../audio/resample.ts';
import { melIndexForVideoFrame, melWindowFromFrames } from '../audio/melRing.ts';
import { sourceRuns, type RenderPlan, type SourceRun } from './renderPlan.ts';

export type RenderErrorCode =
  | 'render-not-media'
  | 'render-no-video'
  | 'render-no-audio'
  | 'render-silent-audio'
  | 'render-no-face'
  | 'render-codec'
  | 'render-too-large'
  | 'render-cancelled'
  | 'render-failed';

export class RenderError extends Error {
  constructor(
    readonly code: RenderErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'RenderError';
  }
}

/** A face video (or image) that decodes frames on request. */
export interface RenderFrameSource {
  readonly frameCount: number;
  readonly fps: number;
  readonly width: number;
  readonly height: number;
  /** Frames `from` … `to − 1` in order. The consumer may stop early; each image is the consumer's to change. */
  read(from: number, to: number): AsyncIterable<RgbaImage>;
}

export interface RenderFrameSink {
  /** Encodes output frame `index` (at index / fps s). The image may be reused once the promise resolves. */
  write(image: RgbaImage, index: number): Promise<void>;
}

/** The speech track as the generator hears it: log-mel frames at 100 per second. */
export interface RenderAudio {
  mel: Float32Array;
  melFrames: number;
  seconds: number;
}

export interface RenderProgress {
  done: number;
  total: number;
  /** Output frames where a face was found (and a mouth painted). */
  facesFound: number;
  elapsedMs: number;
  /** Estimated time left, from the pace so far (NaN before the first frame). */
  etaMs: number;
}

export interface RenderSummary {
  frames: number;
  facesFound: number;
  elapsedMs: number;
  /** Output frames per second of wall time. */
  fps: number;
  /** Mean ms per output frame in each stage (read = waiting for the decoder; write = handing to the encoder). */
  stages: { read: number; prepare: number; generate: number; paste: number; write: number };
}

export interface RenderLoopOptions {
  pipeline: LipsyncPipeline;
  source: RenderFrameSource;
  sink: RenderFrameSink;
  audio: RenderAudio;
  plan: RenderPlan;
  onProgress?: (p: RenderProgress) => void;
  signal?: AbortSignal;
  /** Decoded frames held at once for a backward run (default 192 MB). */
  memoryBudgetBytes?: number;
  now?: () => number;
}

/** Peak below this (about −80 dBFS) is digital silence, not speech. */
const SILENCE_PEAK = 1e-4;

/** Mono samples at any rate → the mel the generator hears. Throws for an empty or silent track. */
export function renderAudioFrom(samples: Float32Array, sampleRate: number): RenderAudio {
  if (samples.length === 0) throw new RenderError('render-no-audio', 'The audio file holds no samples: choose a recording with speech.');
  let peak = 0;
  for (let i = 0; i < samples.length; i++) peak = Math.max(peak, Math.abs(samples[i]));
  if (peak < SILENCE_PEAK) {
    throw new RenderError('render-silent-audio', 'The audio track is silent (no sound anywhere in it): the mouth would stay closed. Choose a recording with speech.');
  }
  const s16 = sampleRate === MEL_CONFIG.sampleRate ? samples : resampleBuffer(samples, sampleRate);
  return { mel: computeLogMel(s16), melFrames: melFrameCount(s16.length), seconds: samples.length / sampleRate };
}

/** `items`, with the next one already asked for while the caller works on this one (the decoder runs meanwhile). */
async function* prefetched<T>(items: AsyncIterable<T>): AsyncGenerator<T> {
  const it = items[Symbol.asyncIterator]();
  let next = it.next();
  try {
    for (;;) {
      const r = await next;
      if (r.done) return;
      next = it.next();
      yield r.value;
    }
  } finally {
    // Stopped early (cancel, error): let the pending read settle, then close the source.
    await next.catch(() => undefined);
    await it.return?.();
  }
}

export function throwIfCancelled(signal?: AbortSignal): void {
  if (signal?.aborted) throw new RenderError('render-cancelled', 'The render was cancelled.');
}

/** Runs the plan; resolves when the sink has every frame. Throws RenderError('render-no-face') if no frame had a face. */
export async function renderFrames(o: RenderLoopOptions): Promise<RenderSummary> {
  const now = o.now ?? (() => performance.now());
  const t0 = now();
  const { plan, source, pipeline } = o;
  const manifest: GeneratorManifest = pipeline.contract;
  const { past, lookahead } = manifest.audioWindow;
  const window = new Float32Array(MEL_CONFIG.nMels * (past + lookahead));
  const frameBytes = source.width * source.height * 4;
  const blockFrames = Math.max(1, Math.floor((o.memoryBudgetBytes ?? 192 * 2 ** 20) / frameBytes));
  let done = 0;
  let facesFound = 0;
  const spent = { read: 0, prepare: 0, generate: 0, paste: 0, write: 0 };
  let mark = now();
  /** Adds the time since the last lap to `stage`. */
  const lap = (stage: keyof typeof spent) => {
    const t = now();
    spent[stage] += t - mark;
    mark = t;
  };
  pipeline.reset();

  const paint = async (image: RgbaImage, i: number, prepared: PreparedFrame | null): Promise<void> => {
    lap('prepare');
    if (i < plan.audioFrames && prepared) {
      melWindowFromFrames(o.audio.mel, o.audio.melFrames, melIndexForVideoFrame(i, plan.fps), past, lookahead, window);
      const generated = await pipeline.generate(prepared, window);
      lap('generate');
      pipeline.paste(image, prepared, generated);
      lap('paste');
      facesFound++;
    }
    await o.sink.write(image, i);
    lap('write');
    done++;
    const elapsedMs = now() - t0;
    o.onProgress?.({ done, total: plan.outputFrames, facesFound, elapsedMs, etaMs: (elapsedMs / done) * (plan.outputFrames - done) });
  };
  const prepare = (image: RgbaImage, i: number) => {
    lap('read');
    return i < plan.audioFrames ? pipeline.prepare(image, (i / plan.fps) * 1000) : null;
  };

  for (const run of sourceRuns(plan)) {
    throwIfCancelled(o.signal);
    if (run.step === 0) await holdFrame(run);
    else if (run.step === 1) {
      let i = run.outputStart;
      for await (const image of prefetched(source.read(run.sourceStart, run.sourceStart + run.length))) {
        throwIfCancelled(o.signal);
        await paint(image, i, prepare(image, i));
        i++;
      }
      if (i !== run.outputStart + run.length) throw new RenderError('render-failed', `The face video ended early: frame ${run.sourceStart + i - run.outputStart} of ${source.frameCount} could not be decoded.`);
    } else await backward(run);
  }
  if (facesFound === 0 && plan.audioFrames > 0) {
    throw new RenderError('render-no-face', 'No face was found in any frame of the face video or image: use one where a face looks at the camera, large enough and well lit.');
  }
  const elapsedMs = now() - t0;
  const per = (ms: number) => ms / Math.max(1, done);
  const stages = { read: per(spent.read), prepare: per(spent.prepare), generate: per(spent.generate), paste: per(spent.paste), write: per(spent.write) };
  return { frames: done, facesFound, elapsedMs, fps: done / (elapsedMs / 1000), stages };

  /** One source frame for the whole run (an image): found once, painted afresh on a copy for every output frame. */
  async function holdFrame(run: SourceRun): Promise<void> {
    let still: RgbaImage | undefined;
    for await (const image of source.read(run.sourceStart, run.sourceStart + 1)) still = image;
    if (!still) throw new RenderError('render-failed', 'The face image could not be decoded.');
    lap('read');
    const prepared = pipeline.prepare(still, 0);
    const work: RgbaImage = { width: still.width, height: still.height, data: new Uint8ClampedArray(still.data.length) };
    for (let i = run.outputStart; i < run.outputStart + run.length; i++) {
      throwIfCancelled(o.signal);
      work.data.set(still.data);
      lap('read');
      await paint(work, i, i < plan.audioFrames ? prepared : null);
    }
  }

  /** The way back of the ping-pong, in blocks read forward and painted in reverse. */
  async function backward(run: SourceRun): Promise<void> {
    const lowest = run.sourceStart - run.length + 1;
    let hi = run.sourceStart;
    let i = run.outputStart;
    while (hi >= lowest) {
      const lo = Math.max(lowest, hi - blockFrames + 1);
      const block: RgbaImage[] = [];
      for await (const image of source.read(lo, hi + 1)) {
        throwIfCancelled(o.signal);
        block.push(image);
      }
      if (block.length !== hi + 1 - lo) throw new RenderError('render-failed', `The face video could not be decoded back from frame ${hi}.`);
      for (let k = block.length - 1; k >= 0; k--) {
        throwIfCancelled(o.signal);
        await paint(block[k], i, prepare(block[k], i));
        i++;
      }
      hi = lo - 1;
    }
  }
}
