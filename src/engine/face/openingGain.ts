/**
 * Opens the generated mouth as far as this person opens theirs: a closed loop over the output, beside MouthPlacement.
 *
 * A generator trained on a few dozen faces opens a new person's mouth as a typical speaker's. On quiet speakers that
 * is 2–4× too wide (the eval's `open` column: 0.22 against the person's 0.07 on the restaurant clip), and no input,
 * loss or expert tried in training changed it: one reference frame does not show how far a person opens (model card).
 * The app can see it, though: while the person says what the microphone hears, the camera shows their own opening
 * and the output shows the generator's. On the frames the placement reads anyway, this compares the two and sets
 * the generator's `openingGain` input (manifest.inputs.openingGain), which moves its audio code towards silence's.
 *
 * It only ever closes the mouth (gain ≤ 1), and only learns while the camera's mouth moves *with* the output's
 * (their openings correlate): a still photo or a video saying something else never teach it, and where the two
 * barely move together the gain eases back to 1. A learnt gain is kept through stretches of weaker correlation
 * (pauses, noise). Caveat: over a few seconds, unrelated mouths can correlate by chance, and the gain then dips
 * for a while (simulated: under 5 % of the time). Like the training reference rule, frame t never uses its own
 * neighbourhood: only readings of frames at least GAIN_GAP before t count.
 */
import type { Affine } from '../types.ts';
import { cropMouthOpening } from './articulation.ts';
import { PLACEMENT_GAP } from './mouthPlacement.ts';

/** Frames between the newest reading that may count and the frame being generated (|r − t| > 5, as training). */
export const GAIN_GAP = PLACEMENT_GAP;
/** Frames the comparison covers (4 s at 25 fps): how far a person opens is steady, and a correlation needs readings. */
export const GAIN_WINDOW = 100;
/** Readings needed in the window (one every PLACEMENT_EVERY frames) before the gain moves. */
export const GAIN_MIN_READS = 10;
/**
 * Correlation of the camera's and the output's openings over the window from which the person counts as speaking the
 * audio, and the gain is learnt. With 10–25 readings, unrelated openings reach it by chance in 1–7 % of windows.
 */
export const GAIN_MIN_CORRELATION = 0.5;
/**
 * Below it the two mouths barely move together (a still or silent face, other words than the audio's), and the gain
 * eases back to 1; between the two it holds what was learnt (a pause, a noisy stretch). In simulation (openingGain.test.ts)
 * a person saying other words, or a silent one, leaves the gain at 0.9 or more 95–100 % of the time.
 */
export const GAIN_RELEASE_CORRELATION = 0.2;
/** Lowest gain: below it the generator is far outside anything it was trained on. */
export const GAIN_MIN = 0.4;
/** Largest change of the gain per frame: a gate that opens or closes eases in over a second, never pops. */
export const GAIN_STEP = 0.03;

interface Reading {
  index: number;
  /** The camera's inner-lip gap, crop units. */
  real: number;
  /** The output's, divided by the gain it was generated with: what the network opens by itself. */
  own: number;
}

/** When the gain learns and when it lets go (the defaults above; tests and tools may try others). */
export interface OpeningGainOptions {
  minCorrelation: number;
  releaseCorrelation: number;
}

export class OpeningGain {
  private readonly readings: Reading[] = [];
  private readonly opts: OpeningGainOptions;
  private readonly applied = new Map<number, number>();
  private gain = 1;
  private newest = -Infinity;

  constructor(opts: Partial<OpeningGainOptions> = {}) {
    this.opts = { minCorrelation: GAIN_MIN_CORRELATION, releaseCorrelation: GAIN_RELEASE_CORRELATION, ...opts };
  }

  /**
   * The gain to generate frame `index` with: the camera's mean opening ÷ the network's own over the readings of
   * frames index − GAP − WINDOW < i ≤ index − GAP, when they correlate; else 1. Approached by at most GAIN_STEP per call.
   */
  gainFor(index: number): number {
    const target = this.target(index);
    this.gain += Math.max(-GAIN_STEP, Math.min(GAIN_STEP, target - this.gain));
    this.applied.set(index, this.gain);
    // Gains older than any frame still in flight are not needed to undo a reading.
    if (this.applied.size > 2 * GAIN_WINDOW) this.applied.delete(this.applied.keys().next().value!);
    return this.gain;
  }

  private target(index: number): number {
    const real: number[] = [];
    const own: number[] = [];
    for (const r of this.readings) {
      if (r.index > index - GAIN_GAP || r.index <= index - GAIN_GAP - GAIN_WINDOW) continue;
      real.push(r.real);
      own.push(r.own);
    }
    if (real.length < GAIN_MIN_READS) return this.gain;
    const r = correlation(real, own);
    // Little shared motion (a still or silent face, other words than the audio's): back to the network as trained.
    if (!(r > this.opts.releaseCorrelation)) return 1;
    // Some, but too little to learn from (a noisy stretch, a pause): keep what was learnt.
    if (r < this.opts.minCorrelation) return this.gain;
    const ratio = mean(real) / mean(own);
    return Number.isFinite(ratio) ? Math.max(GAIN_MIN, Math.min(1, ratio)) : this.gain;
  }

  /**
   * Frame `index`'s output was read: `output` are the landmarks the face mesh found on the pasted frame, `real` the
   * person's on the camera frame, both in frame pixels; `frameToCrop` and `S` are that frame's crop.
   */
  observe(index: number, output: ArrayLike<number>, real: ArrayLike<number>, frameToCrop: Affine, S: number): void {
    const g = this.applied.get(index) ?? 1;
    const own = cropMouthOpening(output, frameToCrop, S) / g;
    const cam = cropMouthOpening(real, frameToCrop, S);
    if (!Number.isFinite(own) || !Number.isFinite(cam)) return;
    this.readings.push({ index, real: cam, own });
    this.newest = Math.max(this.newest, index);
    while (this.readings.length && this.readings[0].index <= this.newest - GAIN_GAP - GAIN_WINDOW) this.readings.shift();
  }

  /** The latest gain handed out, for the stats. */
  get lastGain(): number {
    return this.gain;
  }

  reset(): void {
    this.readings.length = 0;
    this.applied.clear();
    this.gain = 1;
    this.newest = -Infinity;
  }
}

function mean(v: readonly number[]): number {
  let s = 0;
  for (const x of v) s += x;
  return s / v.length;
}

/** Pearson's r; NaN when either series does not move (a still photo, a closed mouth). */
function correlation(a: readonly number[], b: readonly number[]): number {
  const ma = mean(a);
  const mb = mean(b);
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < a.length; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return saa > 1e-12 && sbb > 1e-12 ? sab / Math.sqrt(saa * sbb) : Number.NaN;
}
