/**
 * Streaming resampler to 16 kHz (MEL_CONFIG.sampleRate) with a Kaiser-windowed sinc low-pass.
 *
 * Output sample j is the band-limited input evaluated at input time t_j = j·inRate/outRate, so
 * output sample 0 coincides with input sample 0 (no time shift; the filter only adds processing
 * latency of `latencyInputSamples`). Input before sample 0 is treated as zeros.
 *
 * The cutoff sits at 7.8 kHz with a ~1 kHz transition band (passband to ~7.3 kHz, ≥ 80 dB stopband
 * from ~8.3 kHz): whatever aliases lands above 7.7 kHz, outside the mel range (fMax 7.6 kHz).
 */
import { AudioError } from './errors.ts';
import { MEL_CONFIG } from './melConfig.ts';

const STOPBAND_DB = 80;
const TRANSITION_HZ = 1000;
/** Cutoff (−6 dB point) as a fraction of the lower of the two Nyquist rates: 7.8 kHz for 16 kHz output. */
const CUTOFF_FRACTION = 0.975;
/** Phase tables when inRate/outRate is not a ratio of small integers; rows are interpolated linearly. */
const INTERPOLATED_PHASES = 512;
const MAX_EXACT_PHASES = 4096;
const INPUT_CHUNK = 4096;

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Zeroth-order modified Bessel function of the first kind (for the Kaiser window). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  for (let k = 1; k < 50; k++) {
    term *= (x / (2 * k)) ** 2;
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

export class Resampler {
  readonly inRate: number;
  readonly outRate: number;
  /** Input samples the filter looks ahead of an output sample's time: the added processing latency. */
  readonly latencyInputSamples: number;
  /** outRate/inRate reduced to integers up/down when exact; otherwise phases are interpolated. */
  private readonly up: number;
  private readonly down: number;
  private readonly passthrough: boolean;
  /** Filter half-width in input samples; each output uses 2·halfWidth taps. */
  private readonly halfWidth: number;
  private readonly phases: number;
  /** (phases + 1) rows of 2·halfWidth taps; row p is for fractional position p/phases. */
  private readonly table: Float32Array;
  /** input[i] is absolute input sample bufStart + i. */
  private readonly input: Float32Array;
  private bufStart = 0;
  private bufLen = 0;
  private received = 0;
  /** Next output's input position: integer part `pos`, fraction `frac/up`. */
  private pos = 0;
  private frac = 0;
  private produced = 0;

  constructor(inRate: number, outRate: number = MEL_CONFIG.sampleRate) {
    for (const [name, r] of [
      ['input', inRate],
      ['output', outRate],
    ] as const) {
      if (!Number.isFinite(r) || r < 1000 || r > 768000) {
        throw new AudioError('bad-sample-rate', `The ${name} sample rate must be between 1000 and 768000 Hz, got ${r}.`);
      }
    }
    this.inRate = inRate;
    this.outRate = outRate;
    const intRates = Number.isInteger(inRate) && Number.isInteger(outRate);
    const g = intRates ? gcd(inRate, outRate) : 1;
    this.passthrough = inRate === outRate;
    if (intRates && outRate / g <= MAX_EXACT_PHASES) {
      this.up = outRate / g;
      this.down = inRate / g;
      this.phases = this.up;
    } else {
      // Irrational-looking ratio: track the fraction with a large fixed denominator.
      this.up = 1 << 20;
      this.down = Math.round((inRate / outRate) * this.up);
      this.phases = INTERPOLATED_PHASES;
    }
    const nyquist = Math.min(inRate, outRate) / 2;
    const cutoff = CUTOFF_FRACTION * nyquist;
    // 1 kHz at 16 kHz, scaled with the narrower band (e.g. 500 Hz when upsampling from 8 kHz).
    const transition = (TRANSITION_HZ * 2 * nyquist) / 16000;
    // Kaiser design: taps ≈ (A − 8) / (2.285 · Δω), Δω the transition width in rad/input sample.
    const taps = (STOPBAND_DB - 8) / (2.285 * ((2 * Math.PI * transition) / inRate));
    this.halfWidth = this.passthrough ? 0 : Math.ceil(taps / 2);
    this.latencyInputSamples = this.halfWidth;
    const beta = 0.1102 * (STOPBAND_DB - 8.7);
    const width = 2 * this.halfWidth;
    this.table = new Float32Array(this.passthrough ? 0 : (this.phases + 1) * width);
    const fc = cutoff / inRate; // cycles per input sample
    const i0beta = besselI0(beta);
    for (let p = 0; p <= this.phases && !this.passthrough; p++) {
      const f = p / this.phases;
      let sum = 0;
      const row = new Float64Array(width);
      for (let k = 0; k < width; k++) {
        // Tap k multiplies input sample (pos − halfWidth + 1 + k); its distance from the output time:
        const tau = f + this.halfWidth - 1 - k;
        const x = tau / this.halfWidth;
        const win = Math.abs(x) >= 1 ? 0 : besselI0(beta * Math.sqrt(1 - x * x)) / i0beta;
        const arg = 2 * Math.PI * fc * tau;
        const sinc = tau === 0 ? 2 * fc : Math.sin(arg) / (Math.PI * tau);
        row[k] = sinc * win;
        sum += row[k];
      }
      // Unit DC gain for every phase, so constant input stays constant.
      for (let k = 0; k < width; k++) this.table[p * width + k] = row[k] / sum;
    }
    this.input = new Float32Array(width + INPUT_CHUNK);
    this.reset();
  }

  /** Forgets all input; the next sample pushed is input sample 0. */
  reset(): void {
    // Samples before 0 are zeros: the buffer starts at −(halfWidth − 1).
    const lead = Math.max(0, this.halfWidth - 1);
    this.input.fill(0, 0, lead);
    this.bufStart = -lead;
    this.bufLen = lead;
    this.received = 0;
    this.pos = 0;
    this.frac = 0;
    this.produced = 0;
  }

  /** Output samples produced since reset. */
  get outputCount(): number {
    return this.produced;
  }

  /** Largest number of output samples one `process` call with `inputLength` samples can return. */
  maxOutput(inputLength: number): number {
    return Math.ceil(((inputLength + this.halfWidth + 1) * this.outRate) / this.inRate) + 2;
  }

  /**
   * Feeds input samples (any block size); writes the output samples that became computable to
   * `output` from index 0 and returns their count. `output.length` must be ≥ maxOutput(input.length).
   */
  process(input: ArrayLike<number>, output: Float32Array): number {
    if (this.passthrough) {
      output.set(input as ArrayLike<number>);
      this.received += input.length;
      this.produced += input.length;
      return input.length;
    }
    let written = 0;
    let offset = 0;
    while (offset < input.length) {
      const n = Math.min(this.input.length - this.bufLen, input.length - offset);
      for (let i = 0; i < n; i++) this.input[this.bufLen + i] = input[offset + i];
      this.bufLen += n;
      offset += n;
      this.received += n;
      written = this.emit(this.received, output, written, Infinity);
    }
    return written;
  }

  /**
   * Ends the stream: emits the outputs whose time lies before the end of the input (as if zeros
   * followed), for ceil(N·outRate/inRate) outputs in total since reset. Call reset() to reuse.
   */
  flush(output: Float32Array): number {
    const total = Math.ceil((this.received * this.outRate) / this.inRate - 1e-9);
    if (this.passthrough) return 0;
    let written = 0;
    while (this.produced < total) {
      const n = this.input.length - this.bufLen;
      this.input.fill(0, this.bufLen, this.bufLen + n);
      this.bufLen += n;
      written = this.emit(this.bufStart + this.bufLen, output, written, total);
    }
    return written;
  }

  /** Computes outputs while their taps lie within the first `available` input samples. */
  private emit(available: number, output: Float32Array, written: number, limit: number): number {
    const width = 2 * this.halfWidth;
    const { table, up, down, phases } = this;
    const exact = phases === up;
    while (this.produced < limit && this.pos + this.halfWidth < available) {
      const base = this.pos - this.halfWidth + 1 - this.bufStart;
      let y = 0;
      if (exact) {
        const row = this.frac * width;
        for (let k = 0; k < width; k++) y += this.input[base + k] * table[row + k];
      } else {
        const f = (this.frac * phases) / up;
        const p = Math.floor(f);
        const w = f - p;
        const r0 = p * width;
        const r1 = r0 + width;
        for (let k = 0; k < width; k++) {
          y += this.input[base + k] * (table[r0 + k] + w * (table[r1 + k] - table[r0 + k]));
        }
      }
      output[written++] = y;
      this.produced++;
      this.frac += down;
      const whole = Math.floor(this.frac / up);
      this.pos += whole;
      this.frac -= whole * up;
    }
    const keepFrom = this.pos - this.halfWidth + 1 - this.bufStart;
    if (keepFrom > 0) {
      const drop = Math.min(keepFrom, this.bufLen);
      this.input.copyWithin(0, drop, this.bufLen);
      this.bufLen -= drop;
      this.bufStart += drop;
    }
    return written;
  }
}

/** Resamples a whole buffer to 16 kHz (or `outRate`): ceil(N·outRate/inRate) samples. Same code as streaming. */
export function resampleBuffer(samples: ArrayLike<number>, inRate: number, outRate: number = MEL_CONFIG.sampleRate): Float32Array {
  const r = new Resampler(inRate, outRate);
  const out = new Float32Array(r.maxOutput(samples.length) + r.maxOutput(0) + 16);
  let n = r.process(samples, out);
  n += r.flush(out.subarray(n));
  return out.slice(0, n);
}
