/**
 * Audio–video offset of a talking-face clip, estimated from the clip itself.
 *
 * A learned audio → mouth-opening predictor (ridge regression over a log-mel window around each video
 * frame, fitted on many clips) predicts how open the mouth should be in every frame; the offset is the
 * audio shift that makes that prediction correlate best with the mouth opening actually measured by the
 * landmarks. The plain loudness envelope (the eval's sync metric) is a much weaker cue: loudness says
 * "speech", the mel pattern says which sound, and so how open.
 *
 * Convention: offset d (video frames) means the sound of video frame t is at audio time t + d, i.e. the
 * audio is late by d frames; a clip is corrected by reading its mel d frames later (`melShift = 4·d` at
 * 25 fps). Integer audio shifts move the estimate by exactly that many frames (tested on a real clip).
 */
import { MEL_FRAME_RATE, SILENCE_VALUE } from '../audio/melConfig.ts';
import { bestLagCorrelation, pearson, type LagCorrelation } from './metrics.ts';
import { CodedError } from '../codedError.ts';

export class AvOffsetError extends CodedError<'bad-av-input'> {
  override readonly name = 'AvOffsetError';
  constructor(message: string) {
    super('bad-av-input', message);
  }
}

/** Feature layout of the predictor: mel bins pooled into bands, a window of mel frames pooled in time. */
export interface SyncFeatureSpec {
  nMels: number;
  /** Mel bins per band (nMels must be a multiple). */
  binsPerBand: number;
  /** Mel frames before the video frame's centre and from it on (as the generator's audio window). */
  past: number;
  lookahead: number;
  /** Mel frames per time cell. */
  framesPerCell: number;
}

export const DEFAULT_SYNC_FEATURES: SyncFeatureSpec = { nMels: 80, binsPerBand: 4, past: 12, lookahead: 12, framesPerCell: 2 };

export function featureCount(spec: SyncFeatureSpec): number {
  return (spec.nMels / spec.binsPerBand) * ((spec.past + spec.lookahead) / spec.framesPerCell);
}

function checkSpec(spec: SyncFeatureSpec): void {
  if (spec.nMels % spec.binsPerBand || (spec.past + spec.lookahead) % spec.framesPerCell) {
    throw new AvOffsetError(`Sync feature spec does not tile: ${JSON.stringify(spec)}.`);
  }
}

/** One clip's inputs: mouth opening per video frame (NaN = no face) and its log-mel, frame-major [M, nMels]. */
export interface SyncClip {
  id: string;
  opening: ArrayLike<number>;
  mel: Float32Array;
  melFrames: number;
  fps: number;
}

/**
 * Features of video frame t with the audio read `lag` frames later: band-pooled, time-pooled log-mel
 * around mel index round((t + lag)·100/fps) (outside the clip = silence). Written into `out`.
 */
export function syncFeatures(clip: SyncClip, t: number, lag: number, spec: SyncFeatureSpec, out: Float64Array): void {
  const centre = Math.round(((t + lag) * MEL_FRAME_RATE) / clip.fps);
  const bands = spec.nMels / spec.binsPerBand;
  const cells = (spec.past + spec.lookahead) / spec.framesPerCell;
  const norm = 1 / (spec.binsPerBand * spec.framesPerCell);
  out.fill(0);
  for (let c = 0; c < cells; c++) {
    for (let f = 0; f < spec.framesPerCell; f++) {
      const k = centre - spec.past + c * spec.framesPerCell + f;
      const inside = k >= 0 && k < clip.melFrames;
      for (let b = 0; b < bands; b++) {
        let s = 0;
        for (let m = 0; m < spec.binsPerBand; m++) s += inside ? clip.mel[k * spec.nMels + b * spec.binsPerBand + m] : SILENCE_VALUE;
        out[c * bands + b] += s * norm;
      }
    }
  }
}

/** Per-clip z-scored opening (mouth shapes differ between people; the timing is what matters). */
function standardise(xs: ArrayLike<number>): Float64Array {
  let s = 0;
  let n = 0;
  for (let i = 0; i < xs.length; i++) if (Number.isFinite(xs[i])) (s += xs[i]), n++;
  const out = new Float64Array(xs.length).fill(NaN);
  if (n < 3) return out;
  const m = s / n;
  let v = 0;
  for (let i = 0; i < xs.length; i++) if (Number.isFinite(xs[i])) v += (xs[i] - m) ** 2;
  const sd = Math.sqrt(v / n) || 1;
  for (let i = 0; i < xs.length; i++) if (Number.isFinite(xs[i])) out[i] = (xs[i] - m) / sd;
  return out;
}

/** Normal-equation sums of one clip at a given audio lag: XᵀX (with a bias column) and Xᵀy. */
interface Sums {
  xtx: Float64Array;
  xty: Float64Array;
  n: number;
}

function clipSums(clip: SyncClip, lag: number, spec: SyncFeatureSpec): Sums {
  const d = featureCount(spec) + 1;
  const y = standardise(clip.opening);
  const xtx = new Float64Array(d * d);
  const xty = new Float64Array(d);
  const x = new Float64Array(d);
  const f = x.subarray(0, d - 1);
  let n = 0;
  for (let t = 0; t < y.length; t++) {
    if (!Number.isFinite(y[t])) continue;
    syncFeatures(clip, t, lag, spec, f);
    x[d - 1] = 1;
    for (let i = 0; i < d; i++) {
      const xi = x[i];
      if (xi === 0) continue;
      xty[i] += xi * y[t];
      for (let j = i; j < d; j++) xtx[i * d + j] += xi * x[j];
    }
    n++;
  }
  for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) xtx[i * d + j] = xtx[j * d + i];
  return { xtx, xty, n };
}

/** Solves (A + λI) w = b by Cholesky (A symmetric positive semi-definite; the bias is not penalised). */
function ridgeSolve(a: Float64Array, b: Float64Array, lambda: number): Float64Array {
  const d = b.length;
  const l = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * d + j] + (i === j && i < d - 1 ? lambda : 0) + (i === j ? 1e-9 : 0);
      for (let k = 0; k < j; k++) s -= l[i * d + k] * l[j * d + k];
      if (i === j) {
        if (!(s > 0)) throw new AvOffsetError('The sync predictor could not be fitted (too few frames with a face).');
        l[i * d + i] = Math.sqrt(s);
      } else l[i * d + j] = s / l[j * d + j];
    }
  }
  const z = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= l[i * d + k] * z[k];
    z[i] = s / l[i * d + i];
  }
  const w = new Float64Array(d);
  for (let i = d - 1; i >= 0; i--) {
    let s = z[i];
    for (let k = i + 1; k < d; k++) s -= l[k * d + i] * w[k];
    w[i] = s / l[i * d + i];
  }
  return w;
}

/** A fitted audio → opening predictor (weights over `featureCount(spec)` features, then a bias). */
export interface SyncPredictor {
  spec: SyncFeatureSpec;
  weights: number[];
}

/** Fits the predictor on clips, each read at its own audio lag (0 unless given). */
export function fitSyncPredictor(clips: SyncClip[], lags: ReadonlyMap<string, number> = new Map(), spec = DEFAULT_SYNC_FEATURES, lambda = 50): SyncPredictor {
  checkSpec(spec);
  const d = featureCount(spec) + 1;
  const xtx = new Float64Array(d * d);
  const xty = new Float64Array(d);
  for (const c of clips) {
    const s = clipSums(c, lags.get(c.id) ?? 0, spec);
    for (let i = 0; i < xtx.length; i++) xtx[i] += s.xtx[i];
    for (let i = 0; i < d; i++) xty[i] += s.xty[i];
  }
  return { spec, weights: Array.from(ridgeSolve(xtx, xty, lambda)) };
}

/** Predicted (standardised) opening of every frame with the audio read `lag` frames later. */
export function predictOpening(predictor: SyncPredictor, clip: SyncClip, lag: number): Float64Array {
  const { spec, weights } = predictor;
  const d = featureCount(spec);
  if (weights.length !== d + 1) throw new AvOffsetError(`Sync predictor has ${weights.length} weights; its spec needs ${d + 1}.`);
  const f = new Float64Array(d);
  const out = new Float64Array(clip.opening.length);
  for (let t = 0; t < out.length; t++) {
    syncFeatures(clip, t, lag, spec, f);
    let s = weights[d];
    for (let i = 0; i < d; i++) s += weights[i] * f[i];
    out[t] = s;
  }
  return out;
}

/**
 * How a mouth follows speech, for the eval: the best lag (> 0: mouth after audio) and r of a mouth-opening series
 * against the opening this predictor expects from the audio, frame by frame. The same question as the loudness
 * correlation of `bestLagCorrelation(opening, audioEnvelopePerFrame(...))`, asked with a cue that knows which sound
 * is spoken, so that a real, in-sync mouth peaks near lag 0 instead of anywhere the loudness happens to line up.
 */
export function speechSync(
  predictor: SyncPredictor,
  opening: ArrayLike<number>,
  audio: { mel: Float32Array; melFrames: number },
  fps: number,
  maxLag: number,
): LagCorrelation {
  const expected = predictOpening(predictor, { id: '', opening, mel: audio.mel, melFrames: audio.melFrames, fps }, 0);
  return bestLagCorrelation(opening, expected, maxLag);
}

export interface OffsetEstimate {
  /** Best whole-frame offset (audio late by this many frames; see the module comment). */
  offset: number;
  /** Parabolic refinement around the best whole frame. */
  offsetFine: number;
  /** Correlation of predicted and measured opening at the best offset, and at offset 0. */
  r: number;
  r0: number;
  /** Best correlation minus the best correlation more than two frames from the peak: how clear the peak is. */
  margin: number;
  /** Correlation at every offset from −maxLag to +maxLag. */
  curve: number[];
}

/** Scans audio shifts −maxLag … +maxLag for the one where predicted and measured opening agree best. */
export function estimateOffset(predictor: SyncPredictor, clip: SyncClip, maxLag = 8): OffsetEstimate {
  if (!Number.isInteger(maxLag) || maxLag < 1) throw new AvOffsetError(`maxLag must be a whole number ≥ 1, got ${maxLag}.`);
  const measured = standardise(clip.opening);
  const curve: number[] = [];
  for (let lag = -maxLag; lag <= maxLag; lag++) curve.push(pearson(predictOpening(predictor, clip, lag), measured));
  let best = maxLag;
  for (let i = 0; i < curve.length; i++) if (curve[i] > curve[best] || !Number.isFinite(curve[best])) best = i;
  let fine = best - maxLag;
  if (best > 0 && best < curve.length - 1) {
    const [a, b, c] = [curve[best - 1], curve[best], curve[best + 1]];
    const den = a - 2 * b + c;
    if (den < 0) fine += (0.5 * (a - c)) / den;
  }
  const far = curve.filter((_, i) => Math.abs(i - best) > 2 && Number.isFinite(curve[i]));
  return {
    offset: best - maxLag,
    offsetFine: fine,
    r: curve[best],
    r0: curve[maxLag],
    margin: far.length ? curve[best] - Math.max(...far) : NaN,
    curve,
  };
}

/**
 * Offsets of many clips, leave-one-out (a clip's own frames never fit the predictor that judges it), refined
 * `rounds` times: each round refits with the other clips read at their current offsets.
 */
export function estimateOffsets(
  clips: SyncClip[],
  opts: { rounds?: number; maxLag?: number; spec?: SyncFeatureSpec; lambda?: number } = {},
): Map<string, OffsetEstimate> {
  const spec = opts.spec ?? DEFAULT_SYNC_FEATURES;
  checkSpec(spec);
  const maxLag = opts.maxLag ?? 8;
  const lambda = opts.lambda ?? 50;
  const d = featureCount(spec) + 1;
  let lags = new Map<string, number>();
  let result = new Map<string, OffsetEstimate>();
  for (let round = 0; round < (opts.rounds ?? 2); round++) {
    const sums = clips.map((c) => clipSums(c, lags.get(c.id) ?? 0, spec));
    const totalXtx = new Float64Array(d * d);
    const totalXty = new Float64Array(d);
    for (const s of sums) {
      for (let i = 0; i < totalXtx.length; i++) totalXtx[i] += s.xtx[i];
      for (let i = 0; i < d; i++) totalXty[i] += s.xty[i];
    }
    result = new Map();
    clips.forEach((clip, k) => {
      const xtx = totalXtx.map((v, i) => v - sums[k].xtx[i]);
      const xty = totalXty.map((v, i) => v - sums[k].xty[i]);
      const predictor: SyncPredictor = { spec, weights: Array.from(ridgeSolve(xtx, xty, lambda)) };
      result.set(clip.id, estimateOffset(predictor, clip, maxLag));
    });
    // Only clear peaks move a clip for the next round's fit.
    lags = new Map([...result].filter(([, e]) => e.margin > 0.05).map(([id, e]) => [id, e.offset]));
  }
  return result;
}
