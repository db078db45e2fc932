/**
 * Render mode: every output frame of a dub, not in real time. The same pipeline as live mode
 * (landmarks → crop → generator → paste; reference = the current frame), fed by a face source that
 * decodes frames on demand and a speech track known in full, writing to a sink that encodes.
 *
 * Frames are streamed: a forward run of the plan is read as it decodes, a backward run (the ping-pong's
 * way back) in blocks that fit `memoryBudgetBytes`, read forward and played in reverse. Never are all
 * frames decoded at once.
 */
import type { FaceLandmarks, RgbaImage } from '../types.ts';
import type { GeneratorManifest } from '../generator/manifest.ts';
import type { LipsyncPipeline, PreparedFrame } from '../pipeline/lipsyncPipeline.ts';
import { computeLogMel, melFrameCount } from '../audio/mel.ts';
import { MEL_CONFIG } from '../audio/melConfig.ts';
import { resampleBuffer } from '../audio/resample.ts';
import { melIndexForVideoFrame, melWindowFromFrames } from '../audio/melRing.ts';
import { LANDMARK_STRIDE, landmarksBetween } from '../face/landmarkInterp.ts';
import { sourceRuns, type RenderPlan, type SourceRun } from './renderPlan.ts';
import { CodedError } from '../codedError.ts';

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

export class RenderError extends CodedError<RenderErrorCode> {
  override readonly name = 'RenderError';
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
  /** Frames whose landmarks were blended from their tracked neighbours' (see interpolateLandmarks) rather than tracked. */
  interpolated: number;
  elapsedMs: number;
  /** Output frames per second of wall time. */
  fps: number;
  /**
   * Mean ms per output frame the loop spent in each stage: read = waiting for the next decoded (and, with a
   * tracker, tracked) frame; landmarks = finding the face, on the tracker's thread when there is one (then
   * it overlaps the generator and is not part of the frame's wall time); write = handing to the encoder.
   */
  stages: RenderStages;
}

/** A frame with its landmarks (null: no face, or not looked for). `heldAt`: a frame waiting to be interpolated. */
interface Tracked {
  image: RgbaImage;
  landmarks: FaceLandmarks | null;
  landmarksMs: number;
  heldAt?: number;
}

export type RenderStages = Record<'read' | 'landmarks' | 'crop' | 'generate' | 'paste' | 'write', number>;

/** Finds the face in a frame elsewhere (e.g. on another thread), so frame n+1 is tracked while frame n is painted. */
export interface RenderTracker {
  /** True when tracking runs on another thread (its time then overlaps the generator's). */
  readonly offThread: boolean;
  /** Landmarks of `image`, found for time `timestampMs`. The image may travel (transfer) and come back as `image`. */
  track(image: RgbaImage, timestampMs: number): Promise<{ image: RgbaImage; landmarks: FaceLandmarks | null; landmarksMs: number }>;
  /**
   * Landmarks of a painted output frame, read near `near` (its face's landmarks) without touching the track, for the
   * mouth placement (face/mouthPlacement.ts). The image may travel and come back as `image`.
   */
  readOutput(image: RgbaImage, near: Float32Array): Promise<{ image: RgbaImage; landmarks: FaceLandmarks | null; landmarksMs: number }>;
}

export interface RenderLoopOptions {
  pipeline: LipsyncPipeline;
  source: RenderFrameSource;
  sink: RenderFrameSink;
  audio: RenderAudio;
  plan: RenderPlan;
  onProgress?: (p: RenderProgress) => void;
  signal?: AbortSignal;
  /** Tracks faces one frame ahead (off this thread); without one the pipeline's own landmarker runs in line. */
  tracker?: RenderTracker;
  /**
   * Track every LANDMARK_STRIDE-th frame and give the frames between a blend of their tracked neighbours'
   * landmarks where the head did not move (landmarksBetween); frames where it moved are tracked too. Default true.
   */
  interpolateLandmarks?: boolean;
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
    throw new RenderError(
      'render-silent-audio',
      'The audio track is silent (no sound anywhere in it): the mouth would stay closed. Choose a recording with speech.',
    );
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

/** `step` applied to each item one item ahead: step(n + 1) is under way while the caller works on result n. */
async function* oneAhead<T, U>(items: AsyncIterable<T>, step: (item: T, k: number) => Promise<U>): AsyncGenerator<U> {
  let pending: Promise<U> | undefined;
  let k = 0;
  try {
    for await (const item of items) {
      const previous = pending;
      pending = step(item, k++); // in flight while `previous` is with the caller, and awaited by `finally` if it stops
      pending.catch(() => undefined); // awaited in turn; not an unhandled rejection meanwhile
      if (previous) yield await previous;
    }
    const last = pending;
    pending = undefined;
    if (last) yield await last;
  } finally {
    await pending?.catch(() => undefined); // stopped early: let the step in flight finish before the source closes
  }
}

async function* fromArray<T>(items: T[]): AsyncGenerator<T> {
  yield* items;
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
  const spent: RenderStages = { read: 0, landmarks: 0, crop: 0, generate: 0, paste: 0, write: 0 };
  let mark = now();
  /** Adds the time since the last lap to `stage`. */
  const lap = (stage: keyof RenderStages) => {
    const t = now();
    spent[stage] += t - mark;
    mark = t;
  };
  pipeline.reset();

  /** Paints and writes output frame i; returns the image, which may have travelled to the tracker and back. */
  const paint = async (image: RgbaImage, i: number, prepared: PreparedFrame | null): Promise<RgbaImage> => {
    if (i < plan.audioFrames && prepared) {
      melWindowFromFrames(o.audio.mel, o.audio.melFrames, melIndexForVideoFrame(i, plan.fps), past, lookahead, window);
      const generated = await pipeline.generate(prepared, window);
      lap('generate');
      pipeline.paste(image, prepared, generated);
      lap('paste');
      // Where the generator drew this mouth against the person's own places the next frames' mouths.
      if (pipeline.wantsOutputLandmarks(prepared)) {
        if (o.tracker) {
          const read = await o.tracker.readOutput(image, prepared.landmarks.points);
          image = read.image;
          if (read.landmarks) pipeline.observeOutput(prepared, read.landmarks.points);
          spent.landmarks += read.landmarksMs;
        } else pipeline.readOutput(image, prepared);
        lap('paste');
      }
      facesFound++;
    }
    await o.sink.write(image, i);
    lap('write');
    done++;
    const elapsedMs = now() - t0;
    o.onProgress?.({ done, total: plan.outputFrames, facesFound, elapsedMs, etaMs: (elapsedMs / done) * (plan.outputFrames - done) });
    return image;
  };
  /** Output frame i's landmarks (on the tracker when there is one; only where there is audio to paint). */
  const tracked = async (image: RgbaImage, i: number): Promise<Tracked> => {
    const timestampMs = (i / plan.fps) * 1000;
    if (i >= plan.audioFrames) return { image, landmarks: null, landmarksMs: 0 };
    if (o.tracker) return o.tracker.track(image, timestampMs);
    const t = now();
    const landmarks = pipeline.findFace(image, timestampMs);
    return { image, landmarks, landmarksMs: now() - t };
  };
  const stride = (o.interpolateLandmarks ?? true) ? LANDMARK_STRIDE : 1;
  let interpolated = 0;
  /**
   * `images` (output frames from `first` on) with their landmarks, in order. The tracker runs one frame ahead; with
   * interpolation only every `stride`-th frame (and the run's last, of `count`) is tracked, the frames between
   * waiting for the next tracked one.
   */
  async function* trackedFrames(images: AsyncIterable<RgbaImage>, first: number, count: number): AsyncGenerator<Tracked> {
    let before: Tracked | undefined;
    const held: { image: RgbaImage; i: number }[] = [];
    /** The held frames, blended between `before` and `after` where the head stayed put, else tracked. */
    async function* between(after: Tracked | undefined): AsyncGenerator<Tracked> {
      const n = held.length;
      for (const [j, { image, i }] of held.splice(0).entries()) {
        const mid =
          before?.landmarks && after?.landmarks && i < plan.audioFrames ? landmarksBetween(before.landmarks, after.landmarks, (j + 1) / (n + 1)) : null;
        if (!mid)
          yield await tracked(image, i); // the head moved, a neighbour has no face, or this is the run's end
        else {
          interpolated++;
          yield { image, landmarks: mid, landmarksMs: 0 };
        }
      }
    }
    const steps = oneAhead(images, async (image, k) =>
      k % stride === 0 || k === count - 1 ? tracked(image, first + k) : { image, landmarks: null, landmarksMs: 0, heldAt: first + k },
    );
    for await (const t of steps) {
      if (t.heldAt !== undefined) {
        held.push({ image: t.image, i: t.heldAt });
        continue;
      }
      yield* between(t);
      yield t;
      before = t;
    }
    yield* between(undefined);
  }

  /** Paints each of `images` (output frames from `first` on), tracking ahead while a frame is painted. */
  const paintAll = async (images: AsyncIterable<RgbaImage>, first: number, count: number): Promise<number> => {
    let i = first;
    lap('read');
    for await (const t of trackedFrames(images, first, count)) {
      throwIfCancelled(o.signal);
      lap('read');
      spent.landmarks += t.landmarksMs;
      if (!o.tracker?.offThread) spent.read -= t.landmarksMs; // found in line, inside the wait just measured
      // Null landmarks (no face) also restart the crop smoother, as in live mode.
      const prepared = i < plan.audioFrames ? pipeline.prepareWithLandmarks(t.image, t.landmarks, (i / plan.fps) * 1000, t.landmarksMs) : null;
      lap('crop');
      await paint(t.image, i, prepared);
      i++;
    }
    return i - first;
  };

  for (const run of sourceRuns(plan)) {
    throwIfCancelled(o.signal);
    if (run.step === 0) await holdFrame(run);
    else if (run.step === 1) {
      const painted = await paintAll(prefetched(source.read(run.sourceStart, run.sourceStart + run.length)), run.outputStart, run.length);
      if (painted !== run.length)
        throw new RenderError('render-failed', `The face video ended early: frame ${run.sourceStart + painted} of ${source.frameCount} could not be decoded.`);
    } else await backward(run);
  }
  if (facesFound === 0 && plan.audioFrames > 0) {
    throw new RenderError(
      'render-no-face',
      'No face was found in any frame of the face video or image: use one where a face looks at the camera, large enough and well lit.',
    );
  }
  const elapsedMs = now() - t0;
  const stages = Object.fromEntries(Object.entries(spent).map(([k, ms]) => [k, ms / Math.max(1, done)])) as RenderStages;
  return { frames: done, facesFound, elapsedMs, fps: done / (elapsedMs / 1000), stages, interpolated };

  /** One source frame for the whole run (an image): found once, painted afresh on a copy for every output frame. */
  async function holdFrame(run: SourceRun): Promise<void> {
    let still: RgbaImage | undefined;
    for await (const image of source.read(run.sourceStart, run.sourceStart + 1)) still = image;
    if (!still) throw new RenderError('render-failed', 'The face image could not be decoded.');
    const t = await tracked(still, run.outputStart);
    still = t.image;
    lap('read');
    spent.landmarks += t.landmarksMs;
    if (!o.tracker?.offThread) spent.read -= t.landmarksMs;
    const prepared = run.outputStart < plan.audioFrames ? pipeline.prepareWithLandmarks(still, t.landmarks, 0, t.landmarksMs) : null;
    lap('crop');
    let work: RgbaImage = { width: still.width, height: still.height, data: new Uint8ClampedArray(still.data.length) };
    for (let i = run.outputStart; i < run.outputStart + run.length; i++) {
      throwIfCancelled(o.signal);
      work.data.set(still.data);
      lap('read');
      work = await paint(work, i, i < plan.audioFrames ? prepared : null);
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
      i += await paintAll(fromArray(block.reverse()), i, block.length);
      hi = lo - 1;
    }
  }
}
