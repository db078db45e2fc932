/**
 * Live scheduling, free of workers and browsers so it can be tested with a fake clock.
 *
 * Owns what decides *which* frame is generated *with which audio*:
 *  - the camera slot (only the newest captured frame waits; older ones are released and counted),
 *  - the frames that are prepared (landmarks, crops) and wait for their audio,
 *  - the mel ring and the map from the frame clock (epoch ms) to the audio clock,
 *  - the rules: a frame's window is centred on its capture time on the audio clock; it is generated once
 *    its last (lookahead) mel frame has arrived; if that takes longer than `audioWaitLimitMs`, the missing
 *    part reads as silence and audio counts as stalled; of several ready frames the newest is taken and the
 *    older ones are dropped; at most `maxAwaiting` frames wait.
 *
 * The inference worker only moves messages and pixels in and out of it.
 */
import { MelRing } from '../audio/melRing.ts';
import { MEL_FRAME_RATE } from '../audio/melConfig.ts';
import type { MelBlockMessage } from '../audio/messages.ts';
import { ClockMap } from './clockMap.ts';
import { LatestSlot } from './latestSlot.ts';

/**
 * Why a frame never reached the output: `camera` — the browser's track queue dropped it before the worker could
 * read it (seen as a gap in the capture timestamps); `superseded` — a newer frame replaced it while it waited;
 * `stale` — a newer frame's audio was ready first; `queue-full` — too many frames waited for audio; `failed` —
 * processing or generating it threw (the error is reported separately).
 */
export type DropReason = 'camera' | 'superseded' | 'stale' | 'queue-full' | 'failed';

/**
 * Frames the camera produced that never reached the reader, from gaps in the capture timestamps: the frame
 * interval is the 10th percentile of recent gaps (robust even when most frames are missed), and a gap of k
 * intervals hides k − 1 frames.
 */
export class CameraGapCounter {
  private static readonly KEEP = 60;
  private last: number | undefined;
  private readonly gaps: number[] = [];
  private readonly sorted = new Float64Array(CameraGapCounter.KEEP);
  missed = 0;

  /** A frame read from the track, with its capture timestamp in microseconds. */
  add(timestampUs: number): void {
    if (!Number.isFinite(timestampUs)) return;
    const prev = this.last;
    this.last = timestampUs;
    if (prev === undefined || timestampUs <= prev) return;
    const gap = timestampUs - prev;
    this.gaps.push(gap);
    if (this.gaps.length > CameraGapCounter.KEEP) this.gaps.shift();
    if (this.gaps.length < 5) return;
    // Sorted in a reused buffer: this runs for every camera frame.
    const sorted = this.sorted.subarray(0, this.gaps.length);
    sorted.set(this.gaps);
    sorted.sort();
    const interval = sorted[Math.floor(sorted.length * 0.1)];
    this.missed += Math.max(0, Math.round(gap / interval) - 1);
  }

  reset(): void {
    this.last = undefined;
    this.gaps.length = 0;
  }
}

export interface LiveSchedulerOptions<C> {
  /** Epoch milliseconds: the clock frames are stamped with. */
  now: () => number;
  /** Called for a captured frame that is dropped before it was taken (VideoFrames must be closed). */
  release?: (captured: C) => void;
  /** How long a frame may wait for its audio before the missing part reads as silence. Default 400 ms. */
  audioWaitLimitMs?: number;
  /** Frames waiting for audio beyond this are dropped (only when audio stalls). Default 16. */
  maxAwaiting?: number;
  /** Audio counts as stalled when no mel block arrived for this long. Default 250 ms. */
  stallAfterMs?: number;
  melRing?: MelRing;
}

/** A prepared frame waiting for audio. `needsAudio` false (no face, no model) means it is ready at once. */
export interface Waiting {
  epochMs: number;
  needsAudio: boolean;
}

export interface Ready<W> {
  item: W;
  /** The [nMels, past + lookahead] window, or null for items that need no audio. */
  audio: Float32Array | null;
}

export class LiveScheduler<C, W extends Waiting> {
  readonly mel: MelRing;
  readonly clock = new ClockMap();
  private readonly slot: LatestSlot<{ captured: C; epochMs: number }>;
  private readonly waiting: W[] = [];
  private melStartContextTime: number | undefined;
  private lastMelEpoch = -Infinity;
  private stalled = false;
  private readonly drops: Record<DropReason, number> = { camera: 0, superseded: 0, stale: 0, 'queue-full': 0, failed: 0 };
  private readonly gaps = new CameraGapCounter();
  private taken = 0;
  private readonly now: () => number;
  private readonly waitLimit: number;
  private readonly maxAwaiting: number;
  private readonly stallAfter: number;
  private readonly release: (captured: C) => void;

  constructor(opts: LiveSchedulerOptions<C>) {
    this.now = opts.now;
    this.waitLimit = opts.audioWaitLimitMs ?? 400;
    this.maxAwaiting = opts.maxAwaiting ?? 16;
    this.stallAfter = opts.stallAfterMs ?? 250;
    this.mel = opts.melRing ?? new MelRing();
    this.release = opts.release ?? (() => {});
    this.slot = new LatestSlot((x) => {
      this.drops.superseded++;
      this.release(x.captured);
    });
  }

  /**
   * A camera frame arrived (stamped now). A frame still waiting in the slot is released and counted. With its capture
   * timestamp (µs), frames the browser dropped before this one are counted too.
   */
  offerFrame(captured: C, epochMs = this.now(), timestampUs?: number): void {
    this.taken++;
    if (timestampUs !== undefined) {
      const before = this.gaps.missed;
      this.gaps.add(timestampUs);
      this.drops.camera += this.gaps.missed - before;
    }
    this.slot.offer({ captured, epochMs });
  }

  /** Frames the camera produced: read from the track plus those the browser dropped before we could read them. */
  get framesOffered(): number {
    return this.taken + this.drops.camera;
  }

  /** The newest captured frame, if one waits. */
  takeFrame(): { captured: C; epochMs: number } | undefined {
    return this.slot.take();
  }

  /** A prepared frame now waits for its audio. The oldest are dropped beyond `maxAwaiting`. */
  enqueue(item: W): void {
    this.waiting.push(item);
    while (this.waiting.length > this.maxAwaiting) {
      this.waiting.shift();
      this.drops['queue-full']++;
    }
  }

  get waitingCount(): number {
    return this.waiting.length;
  }

  /** Frames held here right now: the one in the slot and those waiting for audio. */
  get heldCount(): number {
    return (this.slot.pending ? 1 : 0) + this.waiting.length;
  }

  /** A frame taken from here was lost to an error while it was processed or generated. */
  countFailed(): void {
    this.drops.failed++;
  }

  /** A mel block from the worklet. A block starting at 0 is a new stream (its start time is taken anew). */
  pushMel(msg: Pick<MelBlockMessage, 'firstIndex' | 'frames' | 'startContextTime'>): void {
    if (this.melStartContextTime === undefined || msg.firstIndex === 0) this.melStartContextTime = msg.startContextTime;
    this.mel.push(msg.firstIndex, msg.frames);
    this.lastMelEpoch = this.now();
    this.stalled = false;
  }

  /** The audio clock (seconds) read `contextTime` at epoch `epochMs`. */
  addClockPair(contextTime: number, epochMs: number): void {
    this.clock.add(contextTime, epochMs);
  }

  /** True after a frame had to be generated without its full audio (cleared by the next mel block). */
  get audioStalled(): boolean {
    return this.stalled;
  }

  /**
   * AudioContext time (s) of the audio window centre a frame that arrived at `epochMs` is generated with (the mel
   * frame melCentreFor picks), undefined before the first mel block and clock pair.
   */
  audioTimeFor(epochMs: number): number | undefined {
    const centre = this.melCentreFor(epochMs);
    return centre === undefined ? undefined : this.melStartContextTime! + centre / MEL_FRAME_RATE;
  }

  /** AudioContext time (s) now, on the same clock (undefined before the first mel block and clock pair). */
  audioTimeNow(): number | undefined {
    return this.audioTimeFor(this.now());
  }

  /** Mel index of the window centre for a frame captured at `epochMs`, or undefined before audio/clock exist. */
  melCentreFor(epochMs: number): number | undefined {
    if (this.melStartContextTime === undefined || !this.clock.ready) return undefined;
    return Math.round((this.clock.toA(epochMs) - this.melStartContextTime) * MEL_FRAME_RATE);
  }

  private windowFor(epochMs: number, past: number, lookahead: number): Float32Array | null {
    const overdue = this.now() - epochMs > this.waitLimit + lookahead * (1000 / MEL_FRAME_RATE);
    const centre = this.melCentreFor(epochMs);
    if (centre === undefined) {
      if (!overdue) return null;
      this.stalled = true;
      return this.mel.windowPadded(0, past, lookahead); // all silence: no audio yet
    }
    const w = this.mel.window(centre, past, lookahead);
    if (w) return w;
    if (!overdue) return null;
    this.stalled = this.now() - this.lastMelEpoch > this.stallAfter;
    return this.mel.windowPadded(centre, past, lookahead);
  }

  /**
   * The newest waiting frame whose audio window is complete (or overdue), with that window; the older
   * waiting frames before it are dropped as stale. Undefined when nothing is ready yet.
   */
  takeReady(past: number, lookahead: number): Ready<W> | undefined {
    let chosen = -1;
    let audio: Float32Array | null = null;
    for (let i = 0; i < this.waiting.length; i++) {
      const item = this.waiting[i];
      if (!item.needsAudio) {
        chosen = i;
        audio = null;
        continue;
      }
      const window = this.windowFor(item.epochMs, past, lookahead);
      if (!window) break; // later frames need even later audio
      chosen = i;
      audio = window;
    }
    if (chosen < 0) return undefined;
    const taken = this.waiting.splice(0, chosen + 1);
    this.drops.stale += taken.length - 1;
    return { item: taken[taken.length - 1], audio };
  }

  /** Frames that never reached the output, by reason. */
  get dropped(): Readonly<Record<DropReason, number>> {
    return this.drops;
  }

  get droppedTotal(): number {
    return this.drops.camera + this.drops.superseded + this.drops.stale + this.drops['queue-full'] + this.drops.failed;
  }

  /** Releases the waiting camera frame and forgets the queued ones (stop). */
  clear(): void {
    const pending = this.slot.take();
    if (pending) this.release(pending.captured);
    this.waiting.length = 0;
    this.gaps.reset(); // a restarted camera starts a new timestamp series
  }
}
