/**
 * Evaluation metrics for generated talking faces. Pure functions, no dependencies beyond the mouth
 * geometry, so they can be tested on synthetic inputs with known answers.
 */
import { INNER_LIPS, interOcularDistance, leftEyeCentre, OUTER_LIPS, rightEyeCentre } from '../face/meshIndices.ts';
import { CodedError } from '../codedError.ts';

/** The points the landmark metrics compare: outer and inner lip contours. */
export const MOUTH_POINTS: readonly number[] = [...OUTER_LIPS, ...INNER_LIPS];

export class MetricError extends CodedError<'bad-metric-input'> {
  override readonly name = 'MetricError';
  constructor(message: string) {
    super('bad-metric-input', message);
  }
}

function checkLandmarks(points: Float32Array, what: string): void {
  if (!(points instanceof Float32Array) || points.length < 478 * 3) {
    throw new MetricError(`${what} must be a Float32Array of 478×3 face-mesh values, got ${points?.length ?? 'nothing'}.`);
  }
}

/**
 * Mouth landmark distance (LMD): mean (x, y) distance between corresponding mouth points of `pred`
 * and `truth`, divided by truth's inter-ocular distance (so it does not depend on the face's size).
 */
export function landmarkDistance(pred: Float32Array, truth: Float32Array): number {
  checkLandmarks(pred, 'Predicted landmarks');
  checkLandmarks(truth, 'Ground-truth landmarks');
  const iod = interOcularDistance(truth);
  if (!(iod > 0)) throw new MetricError('Ground-truth landmarks have zero inter-ocular distance; cannot normalise.');
  let sum = 0;
  for (const i of MOUTH_POINTS) sum += Math.hypot(pred[i * 3] - truth[i * 3], pred[i * 3 + 1] - truth[i * 3 + 1]);
  return sum / MOUTH_POINTS.length / iod;
}

/** LMD split in two (see landmarkBias). */
export interface LandmarkBias {
  /** Mean over mouth points of the length of each point's mean offset: the mouth drawn in the wrong place or shape all clip long. */
  bias: number;
  /** LMD after each point's mean offset is taken away: what changes from frame to frame (timing, opening). */
  residual: number;
  /** Length of the mean offset of all mouth points together: how much of `bias` is the whole mouth in the wrong place (the rest is its shape). */
  shift: number;
  /** That mean offset's components in the face's frame: x along the eye line towards the face's left eye, y down. */
  shiftX: number;
  shiftY: number;
  /** Frames where both series had landmarks. */
  frames: number;
}

/**
 * Splits a clip's LMD into a fixed part and a moving part. Each frame's mouth-point offsets (pred − truth) are put in
 * the truth's face frame (eye line as the x axis, inter-ocular distance as the unit) so that a head turning does not
 * turn a fixed error; `bias` is the size of each point's mean offset, `residual` the mean distance left around it.
 * A model that draws the person's mouth 2 px too low has bias 2/iod and residual 0; one that is right on average but
 * opens at the wrong time has bias ~0. Missing frames (null) are skipped.
 */
export function landmarkBias(preds: readonly (Float32Array | null)[], truths: readonly (Float32Array | null)[]): LandmarkBias {
  const k = MOUTH_POINTS.length;
  const offsets: Float64Array[] = [];
  for (let t = 0; t < Math.min(preds.length, truths.length); t++) {
    const pred = preds[t];
    const truth = truths[t];
    if (!pred || !truth) continue;
    checkLandmarks(pred, 'Predicted landmarks');
    checkLandmarks(truth, 'Ground-truth landmarks');
    const [rx, ry] = rightEyeCentre(truth);
    const [lx, ly] = leftEyeCentre(truth);
    const iod = Math.hypot(lx - rx, ly - ry);
    if (!(iod > 0)) throw new MetricError('Ground-truth landmarks have zero inter-ocular distance; cannot normalise.');
    const cos = (lx - rx) / iod;
    const sin = (ly - ry) / iod;
    const d = new Float64Array(2 * k);
    MOUTH_POINTS.forEach((i, j) => {
      const dx = (pred[i * 3] - truth[i * 3]) / iod;
      const dy = (pred[i * 3 + 1] - truth[i * 3 + 1]) / iod;
      d[2 * j] = cos * dx + sin * dy; // rotate by minus the eye line's angle
      d[2 * j + 1] = -sin * dx + cos * dy;
    });
    offsets.push(d);
  }
  const frames = offsets.length;
  if (frames === 0) return { bias: Number.NaN, residual: Number.NaN, shift: Number.NaN, shiftX: Number.NaN, shiftY: Number.NaN, frames };
  const mean = new Float64Array(2 * k);
  for (const d of offsets) for (let j = 0; j < 2 * k; j++) mean[j] += d[j] / frames;
  let bias = 0;
  let sx = 0;
  let sy = 0;
  for (let j = 0; j < k; j++) {
    bias += Math.hypot(mean[2 * j], mean[2 * j + 1]) / k;
    sx += mean[2 * j] / k;
    sy += mean[2 * j + 1] / k;
  }
  let residual = 0;
  for (const d of offsets) {
    for (let j = 0; j < k; j++) residual += Math.hypot(d[2 * j] - mean[2 * j], d[2 * j + 1] - mean[2 * j + 1]) / (k * frames);
  }
  return { bias, residual, shift: Math.hypot(sx, sy), shiftX: sx, shiftY: sy, frames };
}

/**
 * Pearson correlation over the pairs where both values are finite (NaN marks a missing frame).
 * A constant series carries no sync signal: the result is then 0. Fewer than 3 pairs gives NaN.
 */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = Math.min(a.length, b.length);
  let count = 0;
  let sa = 0;
  let sb = 0;
  for (let i = 0; i < n; i++) {
    if (Number.isFinite(a[i]) && Number.isFinite(b[i])) {
      sa += a[i];
      sb += b[i];
      count++;
    }
  }
  if (count < 3) return NaN;
  const ma = sa / count;
  const mb = sb / count;
  let cov = 0;
  let va = 0;
  let vb = 0;
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(a[i]) || !Number.isFinite(b[i])) continue;
    const da = a[i] - ma;
    const db = b[i] - mb;
    cov += da * db;
    va += da * da;
    vb += db * db;
  }
  // Relative threshold: float noise on a constant series must not read as a correlation.
  if (va <= 1e-20 * (ma * ma + 1) * count || vb <= 1e-20 * (mb * mb + 1) * count) return 0;
  return cov / Math.sqrt(va * vb);
}

export interface LagCorrelation {
  /** Lag (frames) with the highest correlation; > 0 means x lags y (the mouth moves after the audio). */
  lag: number;
  /** Correlation at that lag. */
  r: number;
  /** Correlation at lag 0. */
  r0: number;
}

/**
 * Correlation of x[t] with y[t − lag] for lag in [−maxLag, maxLag]; the best lag wins (ties go to
 * the smaller |lag|). Use x = mouth opening, y = audio envelope.
 */
export function bestLagCorrelation(x: ArrayLike<number>, y: ArrayLike<number>, maxLag: number): LagCorrelation {
  if (!Number.isInteger(maxLag) || maxLag < 0) throw new MetricError(`maxLag must be a whole number ≥ 0, got ${maxLag}.`);
  const n = Math.min(x.length, y.length);
  const at = (lag: number): number => {
    const xs: number[] = [];
    const ys: number[] = [];
    for (let t = Math.max(0, lag); t < Math.min(n, n + lag); t++) {
      xs.push(x[t]);
      ys.push(y[t - lag]);
    }
    return pearson(xs, ys);
  };
  const r0 = at(0);
  let best: LagCorrelation = { lag: 0, r: r0, r0 };
  for (let d = 1; d <= maxLag; d++) {
    for (const lag of [d, -d]) {
      const r = at(lag);
      if (Number.isFinite(r) && (!Number.isFinite(best.r) || r > best.r)) best = { lag, r, r0 };
    }
  }
  return best;
}

/**
 * Loudness per video frame: RMS in dB (floor −100 dB) of the samples in a one-frame-long window
 * centred on each frame's time (frame i at i/fps s). Samples outside the clip count as silence.
 */
export function audioEnvelopePerFrame(samples16k: Float32Array, fps = 25, count?: number, sampleRate = 16000): number[] {
  if (!(fps > 0)) throw new MetricError(`fps must be positive, got ${fps}.`);
  const n = count ?? Math.ceil((samples16k.length / sampleRate) * fps);
  const win = Math.max(1, Math.round(sampleRate / fps));
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = Math.round((i * sampleRate) / fps) - Math.floor(win / 2);
    let sum = 0;
    for (let k = Math.max(0, start); k < Math.min(samples16k.length, start + win); k++) sum += samples16k[k] * samples16k[k];
    const rms = Math.sqrt(sum / win);
    out.push(20 * Math.log10(Math.max(rms, 1e-5)));
  }
  return out;
}

/** A float image, channel-planar (CHW): channels = 1 (grey) or 3 (RGB). */
export interface FloatImage {
  width: number;
  height: number;
  channels: number;
  data: Float32Array;
}

/** A pixel rectangle; the metrics only look inside it. */
export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

function checkPair(a: FloatImage, b: FloatImage, region?: Rect): Rect {
  if (a.width !== b.width || a.height !== b.height || a.channels !== b.channels) {
    throw new MetricError(`Images differ in size: ${a.width}×${a.height}×${a.channels} vs ${b.width}×${b.height}×${b.channels}.`);
  }
  for (const img of [a, b]) {
    if (img.data.length !== img.width * img.height * img.channels) {
      throw new MetricError(
        `Image data has ${img.data.length} values; ${img.width}×${img.height}×${img.channels} needs ${img.width * img.height * img.channels}.`,
      );
    }
  }
  const r = region ?? { x: 0, y: 0, width: a.width, height: a.height };
  if (r.x < 0 || r.y < 0 || r.width < 1 || r.height < 1 || r.x + r.width > a.width || r.y + r.height > a.height) {
    throw new MetricError(`Region ${JSON.stringify(r)} is not inside the ${a.width}×${a.height} image.`);
  }
  return r;
}

/** The lower part of an S×S crop: rows from (1 − maskRatio)·S to the bottom (the generated mouth area). */
export function lowerRegion(size: number, maskRatio = 0.5): Rect {
  const y = size - Math.round(size * maskRatio);
  return { x: 0, y, width: size, height: size - y };
}

/** Peak signal-to-noise ratio in dB over `region`; `range` is the value span (1 for [0,1], 255 for bytes). Identical → Infinity. */
export function psnr(a: FloatImage, b: FloatImage, range: number, region?: Rect): number {
  const r = checkPair(a, b, region);
  let se = 0;
  for (let c = 0; c < a.channels; c++) {
    const plane = c * a.width * a.height;
    for (let y = r.y; y < r.y + r.height; y++) {
      for (let x = r.x; x < r.x + r.width; x++) {
        const d = a.data[plane + y * a.width + x] - b.data[plane + y * a.width + x];
        se += d * d;
      }
    }
  }
  const mse = se / (r.width * r.height * a.channels);
  return mse === 0 ? Infinity : 10 * Math.log10((range * range) / mse);
}

function gaussianKernel(size: number, sigma: number): Float64Array {
  const k = new Float64Array(size);
  const c = (size - 1) / 2;
  let s = 0;
  for (let i = 0; i < size; i++) s += k[i] = Math.exp(-((i - c) ** 2) / (2 * sigma * sigma));
  for (let i = 0; i < size; i++) k[i] /= s;
  return k;
}

/** "Valid" separable filtering of a w×h plane: output (w − n + 1)×(h − n + 1). */
function filterValid(src: Float64Array, w: number, h: number, k: Float64Array): Float64Array {
  const n = k.length;
  const ow = w - n + 1;
  const oh = h - n + 1;
  const tmp = new Float64Array(ow * h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += k[i] * src[y * w + x + i];
      tmp[y * ow + x] = s;
    }
  const out = new Float64Array(ow * oh);
  for (let y = 0; y < oh; y++)
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += k[i] * tmp[(y + i) * ow + x];
      out[y * ow + x] = s;
    }
  return out;
}

/**
 * Structural similarity (Wang et al. 2004) over `region`: Gaussian 11×11 window (σ = 1.5, smaller
 * when the region is smaller), K1 = 0.01, K2 = 0.03 of `range`, windows fully inside the region,
 * averaged over positions and channels. Identical → 1.
 */
export function ssim(a: FloatImage, b: FloatImage, range = 1, region?: Rect): number {
  const r = checkPair(a, b, region);
  const n = Math.min(11, r.width, r.height);
  const k = gaussianKernel(n, (1.5 * n) / 11);
  const c1 = (0.01 * range) ** 2;
  const c2 = (0.03 * range) ** 2;
  const m = r.width * r.height;
  let total = 0;
  let count = 0;
  for (let c = 0; c < a.channels; c++) {
    const plane = c * a.width * a.height;
    const pa = new Float64Array(m);
    const pb = new Float64Array(m);
    for (let y = 0; y < r.height; y++)
      for (let x = 0; x < r.width; x++) {
        pa[y * r.width + x] = a.data[plane + (r.y + y) * a.width + r.x + x];
        pb[y * r.width + x] = b.data[plane + (r.y + y) * a.width + r.x + x];
      }
    const aa = pa.map((v) => v * v);
    const bb = pb.map((v) => v * v);
    const ab = pa.map((v, i) => v * pb[i]);
    const [mua, mub, saa, sbb, sab] = [pa, pb, aa, bb, ab].map((p) => filterValid(p, r.width, r.height, k));
    for (let i = 0; i < mua.length; i++) {
      const va = saa[i] - mua[i] * mua[i];
      const vb = sbb[i] - mub[i] * mub[i];
      const cov = sab[i] - mua[i] * mub[i];
      total += ((2 * mua[i] * mub[i] + c1) * (2 * cov + c2)) / ((mua[i] * mua[i] + mub[i] * mub[i] + c1) * (va + vb + c2));
      count++;
    }
  }
  return total / count;
}

/**
 * Temporal jitter: mean over frames of the mouth points' mean second difference (acceleration,
 * |p[t+1] − 2p[t] + p[t−1]| in x, y), divided by the inter-ocular distance at t. Frames without a
 * face are null; triples touching one are skipped. NaN when no triple is complete.
 */
export function jitter(series: readonly (Float32Array | null)[]): number {
  let sum = 0;
  let count = 0;
  for (let t = 1; t + 1 < series.length; t++) {
    const [p0, p1, p2] = [series[t - 1], series[t], series[t + 1]];
    if (!p0 || !p1 || !p2) continue;
    const iod = interOcularDistance(p1);
    if (!(iod > 0)) continue;
    let acc = 0;
    for (const i of MOUTH_POINTS) {
      const ax = p2[i * 3] - 2 * p1[i * 3] + p0[i * 3];
      const ay = p2[i * 3 + 1] - 2 * p1[i * 3 + 1] + p0[i * 3 + 1];
      acc += Math.hypot(ax, ay);
    }
    sum += acc / MOUTH_POINTS.length / iod;
    count++;
  }
  return count ? sum / count : NaN;
}

/** Rec. 601 luma weights (R, G, B): the sharpness metric's, and the fine-tune texture term's (training/losses.ts). */
export const LUMA_601: readonly [number, number, number] = [0.299, 0.587, 0.114];

/**
 * Sharpness: variance of the luma Laplacian (4-neighbour) over `region` (pixels whose neighbours are all
 * inside it). A blurred mouth has little fine detail and a low value; eval reports model ÷ ground truth.
 * Images with 3 channels are turned to luma with Rec. 601 weights; 1 channel is used as it is.
 */
export function laplacianVariance(img: FloatImage, region?: Rect): number {
  const r = checkPair(img, img, region);
  if (r.width < 3 || r.height < 3) throw new MetricError(`Region ${JSON.stringify(r)} is too small for a Laplacian (needs 3×3).`);
  const { width: w, height: h } = img;
  const plane = w * h;
  const luma = (x: number, y: number): number => {
    const i = y * w + x;
    return img.channels === 3 ? LUMA_601[0] * img.data[i] + LUMA_601[1] * img.data[plane + i] + LUMA_601[2] * img.data[2 * plane + i] : img.data[i];
  };
  let s = 0;
  let s2 = 0;
  let n = 0;
  for (let y = r.y + 1; y < r.y + r.height - 1; y++) {
    for (let x = r.x + 1; x < r.x + r.width - 1; x++) {
      const v = luma(x - 1, y) + luma(x + 1, y) + luma(x, y - 1) + luma(x, y + 1) - 4 * luma(x, y);
      s += v;
      s2 += v * v;
      n++;
    }
  }
  const m = s / n;
  return s2 / n - m * m;
}
