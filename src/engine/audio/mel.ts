/**
 * Log-mel feature extraction as defined in melConfig.ts: a radix-2 real FFT, the Slaney mel
 * filterbank, and a streaming extractor. The offline `computeLogMel` runs the very same extractor,
 * so streamed and offline frames are bit-identical.
 */
import { AudioError } from './errors.ts';
import { MEL_CONFIG, type MelConfig } from './melConfig.ts';

/**
 * Real-input FFT of size n (power of two ≥ 4), computed as an n/2-point complex FFT plus a split
 * step. All tables and scratch buffers are allocated once in the constructor.
 */
export class RealFft {
  readonly size: number;
  private readonly half: number;
  private readonly bitrev: Uint32Array;
  /** cos/sin of −2πk/half for the complex half-size FFT. */
  private readonly cosHalf: Float64Array;
  private readonly sinHalf: Float64Array;
  /** cos/sin of −2πk/n for the split step. */
  private readonly cosFull: Float64Array;
  private readonly sinFull: Float64Array;
  private readonly zr: Float64Array;
  private readonly zi: Float64Array;

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 4 || (size & (size - 1)) !== 0) {
      throw new AudioError('bad-mel-block', `FFT size must be a power of two ≥ 4, got ${size}.`);
    }
    this.size = size;
    const half = (this.half = size / 2);
    const bits = Math.log2(half);
    this.bitrev = new Uint32Array(half);
    for (let i = 0; i < half; i++) {
      let r = 0;
      for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
      this.bitrev[i] = r;
    }
    this.cosHalf = new Float64Array(half / 2);
    this.sinHalf = new Float64Array(half / 2);
    for (let k = 0; k < half / 2; k++) {
      this.cosHalf[k] = Math.cos((-2 * Math.PI * k) / half);
      this.sinHalf[k] = Math.sin((-2 * Math.PI * k) / half);
    }
    this.cosFull = new Float64Array(half + 1);
    this.sinFull = new Float64Array(half + 1);
    for (let k = 0; k <= half; k++) {
      this.cosFull[k] = Math.cos((-2 * Math.PI * k) / size);
      this.sinFull[k] = Math.sin((-2 * Math.PI * k) / size);
    }
    this.zr = new Float64Array(half);
    this.zi = new Float64Array(half);
  }

  /**
   * |X[b]|² for b = 0 … size/2 of the real signal `input` (length `size`), written to `out`
   * (length ≥ size/2 + 1).
   */
  powerSpectrum(input: ArrayLike<number>, out: Float64Array): void {
    const { half, zr, zi, bitrev } = this;
    // Pack even samples as real, odd samples as imaginary parts, in bit-reversed order.
    for (let i = 0; i < half; i++) {
      const j = bitrev[i];
      zr[j] = input[2 * i];
      zi[j] = input[2 * i + 1];
    }
    // Iterative radix-2 decimation-in-time butterflies.
    for (let len = 2; len <= half; len <<= 1) {
      const step = half / len;
      const h = len >> 1;
      for (let start = 0; start < half; start += len) {
        for (let k = 0; k < h; k++) {
          const wr = this.cosHalf[k * step];
          const wi = this.sinHalf[k * step];
          const a = start + k;
          const b = a + h;
          const tr = zr[b] * wr - zi[b] * wi;
          const ti = zr[b] * wi + zi[b] * wr;
          zr[b] = zr[a] - tr;
          zi[b] = zi[a] - ti;
          zr[a] += tr;
          zi[a] += ti;
        }
      }
    }
    // Split: X[k] = E[k] + W^k·O[k] with E, O the spectra of the even and odd samples.
    for (let k = 0; k <= half; k++) {
      const k1 = k === half ? 0 : k;
      const k2 = k === 0 ? 0 : half - k;
      const ar = zr[k1];
      const ai = zi[k1];
      const br = zr[k2];
      const bi = -zi[k2]; // conj(Z[half − k])
      const er = 0.5 * (ar + br);
      const ei = 0.5 * (ai + bi);
      // O = (A − B) / (2i) = (ai − bi)/2 − i·(ar − br)/2
      const or = 0.5 * (ai - bi);
      const oi = -0.5 * (ar - br);
      const wr = this.cosFull[k];
      const wi = this.sinFull[k];
      const xr = er + or * wr - oi * wi;
      const xi = ei + or * wi + oi * wr;
      out[k] = xr * xr + xi * xi;
    }
  }
}

/** Slaney mel scale (librosa `hz_to_mel(htk=False)`). */
export function hzToMel(hz: number): number {
  return hz < 1000 ? (3 * hz) / 200 : 15 + (27 * Math.log(hz / 1000)) / Math.log(6.4);
}

/** Inverse of hzToMel. */
export function melToHz(mel: number): number {
  return mel < 15 ? (200 * mel) / 3 : 1000 * Math.exp(((mel - 15) * Math.log(6.4)) / 27);
}

/** Centre frequencies (Hz) of the mel filters: h_1 … h_nMels. */
export function melCenterFrequencies(config: MelConfig = MEL_CONFIG): Float64Array {
  const edges = melEdgeFrequencies(config);
  return edges.slice(1, config.nMels + 1);
}

function melEdgeFrequencies(config: MelConfig): Float64Array {
  const lo = hzToMel(config.fMin);
  const hi = hzToMel(config.fMax);
  const edges = new Float64Array(config.nMels + 2);
  for (let i = 0; i < edges.length; i++) edges[i] = melToHz(lo + ((hi - lo) * i) / (config.nMels + 1));
  return edges;
}

/** Sparse mel filterbank: filter m has weights[m] over FFT bins start[m] … start[m] + weights[m].length − 1. */
export interface MelFilterbank {
  start: Int32Array;
  weights: Float64Array[];
}

/** librosa `filters.mel(htk=False, norm='slaney')` for the given config, stored sparsely. */
export function melFilterbank(config: MelConfig = MEL_CONFIG): MelFilterbank {
  const edges = melEdgeFrequencies(config);
  const bins = config.nFft / 2 + 1;
  const start = new Int32Array(config.nMels);
  const weights: Float64Array[] = [];
  for (let m = 0; m < config.nMels; m++) {
    const [f0, f1, f2] = [edges[m], edges[m + 1], edges[m + 2]];
    const norm = 2 / (f2 - f0);
    const row = new Float64Array(bins);
    let first = -1;
    let last = -1;
    for (let b = 0; b < bins; b++) {
      const f = (b * config.sampleRate) / config.nFft;
      const w = Math.max(0, Math.min((f - f0) / (f1 - f0), (f2 - f) / (f2 - f1)));
      if (w > 0) {
        row[b] = w * norm;
        if (first < 0) first = b;
        last = b;
      }
    }
    // A filter narrower than one FFT bin would be all zeros (cannot happen with MEL_CONFIG; kept safe).
    if (first < 0) first = last = 0;
    start[m] = first;
    weights.push(row.slice(first, last + 1));
  }
  return { start, weights };
}

/** Periodic Hann window of the configured length. */
export function hannWindow(length: number): Float64Array {
  const w = new Float64Array(length);
  for (let n = 0; n < length; n++) w[n] = 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / length);
  return w;
}

/** Maps one mel power value to the normalised log feature (see melConfig.ts). */
export function melPowerToValue(power: number, config: MelConfig = MEL_CONFIG): number {
  const db = 10 * Math.log10(Math.max(power, config.powerFloor));
  const v = (2 * (db - config.dbFloor)) / (config.dbCeil - config.dbFloor) - 1;
  return v < -1 ? -1 : Math.min(v, 1);
}

/** Completed mel frames taken from a MelExtractor. */
export interface MelFrames {
  /** Absolute index of the first frame (frame k is at k·10 ms after sample 0). */
  firstIndex: number;
  /** Frame-major values: frame i, bin m at [i·nMels + m]. */
  frames: Float32Array;
}

/** Samples the input buffer holds besides one window; large pushes are processed in chunks of this. */
const INPUT_CHUNK = 4096;

/**
 * Streaming log-mel extractor. Usage: `push(samples)` any number of 16 kHz samples (any block
 * size); it returns how many frames are now waiting; `drain(max)` takes up to `max` of them (oldest
 * first) as a new Float32Array. Internally fixed-size buffers: per-frame work allocates nothing.
 */
export class MelExtractor {
  readonly config: MelConfig;
  private readonly fft: RealFft;
  private readonly fb: MelFilterbank;
  private readonly window: Float64Array;
  private readonly frameIn: Float64Array;
  private readonly power: Float64Array;
  /** Input samples; input[i] is absolute sample bufStart + i. */
  private input: Float32Array;
  private bufStart = 0;
  private bufLen = 0;
  /** Samples received so far (excluding flush padding). */
  private received = 0;
  /** Index of the next frame to compute. */
  private nextFrame = 0;
  /** Computed frames not yet drained: out[0 … pendingCount·nMels). */
  private out: Float32Array;
  private outFirst = 0;
  private outCount = 0;

  constructor(config: MelConfig = MEL_CONFIG) {
    this.config = config;
    this.fft = new RealFft(config.nFft);
    this.fb = melFilterbank(config);
    this.window = hannWindow(config.winLength);
    this.frameIn = new Float64Array(config.nFft);
    this.power = new Float64Array(config.nFft / 2 + 1);
    this.input = new Float32Array(config.winLength + INPUT_CHUNK);
    this.out = new Float32Array(config.nMels * 64);
    this.reset();
  }

  /** Forgets all input: the next sample pushed becomes sample 0 and the next frame frame 0. */
  reset(): void {
    const half = this.config.winLength / 2;
    // Samples before 0 are zeros: the buffer starts at −winLength/2 with that many zeros.
    this.input.fill(0, 0, half);
    this.bufStart = -half;
    this.bufLen = half;
    this.received = 0;
    this.nextFrame = 0;
    this.outFirst = 0;
    this.outCount = 0;
  }

  /** Number of computed frames waiting to be drained. */
  get pending(): number {
    return this.outCount;
  }

  /** Index the next computed frame will have (= number of frames computed since reset). */
  get framesComputed(): number {
    return this.nextFrame;
  }

  /**
   * Adds the first `length` (default: all) 16 kHz samples of `samples`; returns the number of
   * frames now waiting in `drain`.
   */
  push(samples: ArrayLike<number>, length: number = samples.length): number {
    const total = Math.min(length, samples.length);
    let offset = 0;
    while (offset < total) {
      const room = this.input.length - this.bufLen;
      const n = Math.min(room, total - offset);
      for (let i = 0; i < n; i++) this.input[this.bufLen + i] = samples[offset + i];
      this.bufLen += n;
      offset += n;
      this.received += n;
      this.computeReadyFrames(this.received);
    }
    return this.outCount;
  }

  /**
   * Ends the stream: computes the remaining frames up to floor(received/hop) as if zeros followed,
   * matching the offline frame count. Returns the number of frames waiting. Call reset() to reuse.
   */
  flush(): number {
    const { hopLength, winLength } = this.config;
    const lastFrame = Math.floor(this.received / hopLength);
    const needed = lastFrame * hopLength + winLength / 2; // samples (incl. zero padding) for the last frame
    let padding = needed - (this.bufStart + this.bufLen);
    while (padding > 0) {
      const n = Math.min(padding, this.input.length - this.bufLen);
      this.input.fill(0, this.bufLen, this.bufLen + n);
      this.bufLen += n;
      padding -= n;
      this.computeReadyFrames(this.bufStart + this.bufLen, lastFrame);
    }
    this.computeReadyFrames(this.bufStart + this.bufLen, lastFrame);
    return this.outCount;
  }

  /** Takes up to `max` waiting frames (oldest first). Returns an empty block when none wait. */
  drain(max = Infinity): MelFrames {
    const n = Math.min(max, this.outCount);
    const nMels = this.config.nMels;
    const frames = this.out.slice(0, n * nMels);
    const firstIndex = this.outFirst;
    this.out.copyWithin(0, n * nMels, this.outCount * nMels);
    this.outFirst += n;
    this.outCount -= n;
    return { firstIndex, frames };
  }

  /** Computes every frame whose window lies within the first `available` samples (absolute count). */
  private computeReadyFrames(available: number, lastFrame = Infinity): void {
    const { hopLength, winLength } = this.config;
    const half = winLength / 2;
    while (this.nextFrame <= lastFrame && this.nextFrame * hopLength + half <= available) {
      this.computeFrame(this.nextFrame * hopLength - half - this.bufStart);
      this.nextFrame++;
    }
    // Drop samples no later frame needs.
    const keepFrom = this.nextFrame * hopLength - half - this.bufStart;
    if (keepFrom > 0) {
      const drop = Math.min(keepFrom, this.bufLen);
      this.input.copyWithin(0, drop, this.bufLen);
      this.bufLen -= drop;
      this.bufStart += drop;
    }
  }

  private computeFrame(offset: number): void {
    const { nMels, winLength, nFft } = this.config;
    const x = this.frameIn;
    for (let n = 0; n < winLength; n++) x[n] = this.input[offset + n] * this.window[n];
    for (let n = winLength; n < nFft; n++) x[n] = 0;
    this.fft.powerSpectrum(x, this.power);
    if ((this.outCount + 1) * nMels > this.out.length) {
      // Grows only when the caller drains less often than frames arrive.
      const bigger = new Float32Array(this.out.length * 2);
      bigger.set(this.out);
      this.out = bigger;
    }
    const base = this.outCount * nMels;
    const { start, weights } = this.fb;
    for (let m = 0; m < nMels; m++) {
      const w = weights[m];
      const s = start[m];
      let p = 0;
      for (let j = 0; j < w.length; j++) p += w[j] * this.power[s + j];
      this.out[base + m] = melPowerToValue(p, this.config);
    }
    this.outCount++;
  }
}

/**
 * Offline log-mel of a whole 16 kHz clip: frames 0 … floor(N/hop), frame-major
 * ([nFrames·nMels], frame i bin m at i·nMels + m). Same code as the streaming extractor.
 */
export function computeLogMel(samples16k: ArrayLike<number>, config: MelConfig = MEL_CONFIG): Float32Array {
  const ex = new MelExtractor(config);
  ex.push(samples16k);
  ex.flush();
  return ex.drain().frames;
}

/** Number of frames computeLogMel returns for a clip of `sampleCount` samples. */
export function melFrameCount(sampleCount: number, config: MelConfig = MEL_CONFIG): number {
  return Math.floor(sampleCount / config.hopLength) + 1;
}
