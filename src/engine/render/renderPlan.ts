/**
 * Which face frame each output frame of a render shows (pure rules, unit-tested).
 *
 * - The output runs at the face source's frame rate and, by default, exactly as long as the audio.
 * - Audio longer than the video: the face loops forward, backward, forward… (MuseTalk's ping-pong, as in
 *   live mode), so the loop never jumps.
 * - Video longer than the audio: stop at the end of the audio ('stop'), or keep the rest of the video
 *   unchanged ('keep'; those frames pass through without a new mouth).
 * - An image is a one-frame video.
 */

export type RenderTail = 'stop' | 'keep';

export interface RenderPlanInput {
  /** Frames in the face source (1 for an image). */
  sourceFrames: number;
  /** Frame rate of the face source (the output's). */
  fps: number;
  /** Length of the speech track. */
  audioSeconds: number;
  /** What to do with video beyond the end of the audio (default 'stop'). */
  tail?: RenderTail;
  /** Render only the first seconds (a preview). */
  maxSeconds?: number;
}

export interface RenderPlan {
  readonly outputFrames: number;
  readonly fps: number;
  /** Output frames below this index have audio and get a new mouth; the rest pass through unchanged. */
  readonly audioFrames: number;
  readonly sourceFrames: number;
  /** Face-source frame shown by output frame `i`. */
  sourceIndex(i: number): number;
}

/** A stretch of output frames whose source frames are consecutive: forward (+1), backward (−1) or one frame held (0). */
export interface SourceRun {
  /** First output frame of the run. */
  outputStart: number;
  /** Number of output frames. */
  length: number;
  /** Source frame of the run's first output frame. */
  sourceStart: number;
  step: 1 | -1 | 0;
}

export class RenderPlanError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RenderPlanError';
  }
}

/** Ping-pong over n frames: 0 1 … n−1 n−2 … 1 0 1 … */
export function pingPongFrame(i: number, n: number): number {
  if (n <= 1) return 0;
  const period = 2 * (n - 1);
  const k = i % period;
  return k < n ? k : period - k;
}

export function planRender(input: RenderPlanInput): RenderPlan {
  const { sourceFrames, fps, audioSeconds } = input;
  if (!Number.isInteger(sourceFrames) || sourceFrames < 1) throw new RenderPlanError(`The face source has no frames (${sourceFrames}).`);
  if (!(fps > 0) || !Number.isFinite(fps)) throw new RenderPlanError(`The face source's frame rate is not usable (${fps}).`);
  if (!(audioSeconds > 0) || !Number.isFinite(audioSeconds)) throw new RenderPlanError(`The audio is empty (${audioSeconds} s).`);
  const audioFrames = Math.max(1, Math.round(audioSeconds * fps));
  const tail = input.tail ?? 'stop';
  let outputFrames = sourceFrames > 1 && tail === 'keep' ? Math.max(audioFrames, sourceFrames) : audioFrames;
  if (input.maxSeconds !== undefined) outputFrames = Math.min(outputFrames, Math.max(1, Math.round(input.maxSeconds * fps)));
  return {
    outputFrames,
    fps,
    audioFrames: Math.min(audioFrames, outputFrames),
    sourceFrames,
    sourceIndex: (i) => pingPongFrame(i, sourceFrames),
  };
}

/** The plan as maximal runs of consecutive source frames, in output order (how a decoder reads them). */
export function sourceRuns(plan: RenderPlan): SourceRun[] {
  const runs: SourceRun[] = [];
  if (plan.outputFrames === 0) return runs;
  if (plan.sourceFrames === 1) return [{ outputStart: 0, length: plan.outputFrames, sourceStart: 0, step: 0 }];
  let start = 0;
  let step = 1 as 1 | -1;
  for (let i = 1; i <= plan.outputFrames; i++) {
    const end = i === plan.outputFrames;
    const d = end ? 0 : plan.sourceIndex(i) - plan.sourceIndex(i - 1);
    if (!end && d === step) continue;
    runs.push({ outputStart: start, length: i - start, sourceStart: plan.sourceIndex(start), step: i - start === 1 ? 1 : step });
    start = i;
    step = d === -1 ? -1 : 1;
  }
  return runs;
}
