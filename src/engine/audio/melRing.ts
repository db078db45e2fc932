/**
 * Mel frames by absolute index, and the model's audio input window cut from them.
 *
 * Window layout (shared by live inference, training and eval): [nMels, T] mel-major, row = mel
 * bin, column = time, T = past + lookahead, columns are frames centerIndex − past …
 * centerIndex + lookahead − 1. Time convention: mel frame k is at k·10 ms, so a video frame at
 * t seconds has centre index round(t·100); at 25 fps video frame i has centre index 4·i.
 */
import { AudioError } from './errors.ts';
import { MEL_CONFIG, MEL_FRAME_RATE, SILENCE_VALUE } from './melConfig.ts';

/** Mel frame index of the time `seconds` after sample 0. */
export function melIndexForTime(seconds: number): number {
  return Math.round(seconds * MEL_FRAME_RATE);
}

/** Mel centre index of video frame `frameIndex` at `fps` (frame i is at i/fps seconds). */
export function melIndexForVideoFrame(frameIndex: number, fps = 25): number {
  return melIndexForTime(frameIndex / fps);
}

function checkWindow(centerIndex: number, past: number, lookahead: number): void {
  if (!Number.isInteger(centerIndex)) throw new AudioError('bad-window', `Mel window centre must be an integer frame index, got ${centerIndex}.`);
  if (!Number.isInteger(past) || past < 0 || !Number.isInteger(lookahead) || lookahead < 0 || past + lookahead === 0) {
    throw new AudioError(
      'bad-window',
      `Mel window needs integer past ≥ 0 and lookahead ≥ 0 with past + lookahead > 0, got past=${past}, lookahead=${lookahead}.`,
    );
  }
}

function outputFor(T: number, nMels: number, out?: Float32Array): Float32Array {
  if (!out) return new Float32Array(nMels * T);
  if (out.length !== nMels * T) throw new AudioError('bad-window', `Output buffer has ${out.length} values; a [${nMels}, ${T}] window needs ${nMels * T}.`);
  return out;
}

/**
 * Window [nMels, T] from an offline frame-major array (`computeLogMel` output) of `nFrames` frames.
 * Frames outside 0 … nFrames − 1 are SILENCE_VALUE (as the live ring pads them).
 */
export function melWindowFromFrames(
  frames: Float32Array,
  nFrames: number,
  centerIndex: number,
  past: number,
  lookahead: number,
  out?: Float32Array,
  nMels: number = MEL_CONFIG.nMels,
): Float32Array {
  checkWindow(centerIndex, past, lookahead);
  if (frames.length < nFrames * nMels) {
    throw new AudioError('bad-mel-block', `Mel array has ${frames.length} values, fewer than ${nFrames} frames × ${nMels} bins.`);
  }
  const T = past + lookahead;
  const w = outputFor(T, nMels, out);
  for (let t = 0; t < T; t++) {
    const k = centerIndex - past + t;
    if (k < 0 || k >= nFrames) {
      for (let m = 0; m < nMels; m++) w[m * T + t] = SILENCE_VALUE;
    } else {
      const base = k * nMels;
      for (let m = 0; m < nMels; m++) w[m * T + t] = frames[base + m];
    }
  }
  return w;
}

/** Default ring capacity: 10 s of frames. */
export const DEFAULT_MEL_RING_FRAMES = 10 * MEL_FRAME_RATE;

/**
 * Ring buffer of the most recent `capacity` mel frames, addressed by absolute frame index.
 * Frames never received (before the stream start, skipped over, or evicted) read as silence.
 * A push that starts at index 0, or before the oldest frame still held, is a new stream (e.g. the
 * worklet was reset): everything held is dropped first.
 */
export class MelRing {
  readonly capacity: number;
  readonly nMels: number;
  private readonly data: Float32Array;
  private latest = -1;
  /** Oldest index held (valid frames are oldest … latest). */
  private oldest = 0;

  constructor(capacity: number = DEFAULT_MEL_RING_FRAMES, nMels: number = MEL_CONFIG.nMels) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new AudioError('bad-window', `MelRing capacity must be a positive integer, got ${capacity}.`);
    this.capacity = capacity;
    this.nMels = nMels;
    this.data = new Float32Array(capacity * nMels);
  }

  /** Index of the newest frame received, or −1 before any. */
  get latestIndex(): number {
    return this.latest;
  }

  /** Index of the oldest frame still held (meaningful when latestIndex ≥ 0). */
  get oldestIndex(): number {
    return this.oldest;
  }

  clear(): void {
    this.latest = -1;
    this.oldest = 0;
  }

  /** Stores frames (frame-major [n·nMels]) as indices firstIndex … firstIndex + n − 1. */
  push(firstIndex: number, frames: Float32Array): void {
    const { nMels, capacity } = this;
    if (!Number.isInteger(firstIndex) || firstIndex < 0) {
      throw new AudioError('bad-mel-block', `Mel block index must be a non-negative integer, got ${firstIndex}.`);
    }
    if (frames.length % nMels !== 0) {
      throw new AudioError('bad-mel-block', `Mel block has ${frames.length} values, not a multiple of ${nMels} bins.`);
    }
    const n = frames.length / nMels;
    if (n === 0) return;
    if (this.latest >= 0 && (firstIndex === 0 || firstIndex < this.oldest)) this.clear();
    if (this.latest < 0) {
      this.oldest = firstIndex;
      this.latest = firstIndex - 1;
    }
    // A gap since the last frame reads as silence.
    for (let k = Math.max(this.latest + 1, firstIndex + n - capacity); k < firstIndex; k++) {
      this.data.fill(SILENCE_VALUE, (k % capacity) * nMels, ((k % capacity) + 1) * nMels);
    }
    // Only the last `capacity` frames of a huge block can be kept.
    const skip = Math.max(0, n - capacity);
    for (let i = skip; i < n; i++) {
      const slot = (firstIndex + i) % capacity;
      this.data.set(frames.subarray(i * nMels, (i + 1) * nMels), slot * nMels);
    }
    this.latest = Math.max(this.latest, firstIndex + n - 1);
    this.oldest = Math.max(this.oldest, this.latest - capacity + 1);
  }

  /**
   * The [nMels, past + lookahead] window around `centerIndex`, or null while its last frame
   * (centerIndex + lookahead − 1) has not arrived. Frames before the oldest held read as silence.
   */
  window(centerIndex: number, past: number, lookahead: number, out?: Float32Array): Float32Array | null {
    checkWindow(centerIndex, past, lookahead);
    if (this.latest < 0 || centerIndex + lookahead - 1 > this.latest) return null;
    return this.fill(centerIndex, past, lookahead, out);
  }

  /** Like window(), but frames not yet arrived read as silence instead of returning null. */
  windowPadded(centerIndex: number, past: number, lookahead: number, out?: Float32Array): Float32Array {
    checkWindow(centerIndex, past, lookahead);
    return this.fill(centerIndex, past, lookahead, out);
  }

  private fill(centerIndex: number, past: number, lookahead: number, out?: Float32Array): Float32Array {
    const { nMels, capacity } = this;
    const T = past + lookahead;
    const w = outputFor(T, nMels, out);
    for (let t = 0; t < T; t++) {
      const k = centerIndex - past + t;
      if (this.latest < 0 || k < this.oldest || k > this.latest) {
        for (let m = 0; m < nMels; m++) w[m * T + t] = SILENCE_VALUE;
      } else {
        const base = (k % capacity) * nMels;
        for (let m = 0; m < nMels; m++) w[m * T + t] = this.data[base + m];
      }
    }
    return w;
  }
}
