/**
 * Input health measured on the audio thread itself (the 'lipsync-mel' AudioWorklet): level per render
 * quantum and time on the audio clock (the worklet's currentFrame), never wall-clock time. A busy main
 * thread delays the reports but cannot change what they say, so it can never cause a false warning.
 *
 * States: 'ok' — sound arrives; 'silent' — only digital silence (|sample| ≤ silencePeak) for at least
 * `silentAfterS` of audio time; 'no-input' — the same, with nothing connected to the worklet's input.
 */

export type AudioHealthState = 'ok' | 'silent' | 'no-input';

export interface AudioHealth {
  state: AudioHealthState;
  /** Seconds of continuous digital silence up to `audioTime` (0 while sound arrives). */
  silentForS: number;
  /** Peak and RMS of the input since the previous report (linear, full scale = 1). */
  peak: number;
  rms: number;
  /** Audio-clock time (s) at the end of the last measured block. */
  audioTime: number;
  /** Audio time (s) since the previous report during which no block was processed (render gaps). */
  gapS: number;
}

export interface AudioHealthOptions {
  /** Silence longer than this (audio seconds) is reported. Default 3 s. */
  silentAfterS?: number;
  /** Samples at or below this magnitude count as digital silence. Default 2 LSB of 16-bit audio: a real mic's noise floor is above it. */
  silencePeak?: number;
  /** A report is due every this many audio seconds, and at once when the state changes. Default 0.25 s. */
  reportEveryS?: number;
}

export const AUDIO_HEALTH_DEFAULTS = { silentAfterS: 3, silencePeak: 2 / 32768, reportEveryS: 0.25 } as const;

export class AudioHealthMeter {
  private readonly silentAfter: number;
  private readonly silencePeak: number;
  private readonly reportEvery: number;
  /** Frame (audio clock) at which the current silence began; undefined while sound arrives. */
  private silentSince: number | undefined;
  private state: AudioHealthState = 'ok';
  private nextReport: number | undefined;
  private expectedFrame: number | undefined;
  private gapFrames = 0;
  private sumSq = 0;
  private count = 0;
  private peak = 0;

  constructor(
    private readonly sampleRate: number,
    opts: AudioHealthOptions = {},
  ) {
    this.silentAfter = Math.round((opts.silentAfterS ?? AUDIO_HEALTH_DEFAULTS.silentAfterS) * sampleRate);
    this.silencePeak = opts.silencePeak ?? AUDIO_HEALTH_DEFAULTS.silencePeak;
    this.reportEvery = Math.max(1, Math.round((opts.reportEveryS ?? AUDIO_HEALTH_DEFAULTS.reportEveryS) * sampleRate));
  }

  /**
   * One block of mono input starting at audio frame `frame` (`length` samples; `samples` null when no
   * input is connected). Returns a report when one is due or the state changed, else null. Allocates
   * only the report.
   */
  block(samples: Float32Array | null, frame: number, length = samples?.length ?? 128): AudioHealth | null {
    if (this.expectedFrame !== undefined && frame > this.expectedFrame) this.gapFrames += frame - this.expectedFrame;
    const end = frame + length;
    this.expectedFrame = end;
    let blockPeak = 0;
    if (samples) {
      for (let i = 0; i < length; i++) {
        const v = samples[i];
        this.sumSq += v * v;
        const a = v < 0 ? -v : v;
        if (a > blockPeak) blockPeak = a;
      }
    }
    this.count += length;
    if (blockPeak > this.peak) this.peak = blockPeak;

    // Measured in frame numbers of the audio clock: how often process() ran, or when the page was busy, does not matter.
    if (blockPeak > this.silencePeak) this.silentSince = undefined;
    else this.silentSince ??= frame;
    const silentFrames = this.silentSince === undefined ? 0 : end - this.silentSince;
    const state: AudioHealthState = silentFrames < this.silentAfter ? 'ok' : samples ? 'silent' : 'no-input';

    this.nextReport ??= frame + this.reportEvery;
    const changed = state !== this.state;
    this.state = state;
    if (!changed && end < this.nextReport) return null;
    while (this.nextReport <= end) this.nextReport += this.reportEvery;
    const report: AudioHealth = {
      state,
      silentForS: silentFrames / this.sampleRate,
      peak: this.peak,
      rms: this.count > 0 ? Math.sqrt(this.sumSq / this.count) : 0,
      audioTime: end / this.sampleRate,
      gapS: this.gapFrames / this.sampleRate,
    };
    this.sumSq = this.count = this.peak = this.gapFrames = 0;
    return report;
  }

  /** Forgets everything (a new input). */
  reset(): void {
    this.silentSince = this.nextReport = this.expectedFrame = undefined;
    this.state = 'ok';
    this.sumSq = this.count = this.peak = this.gapFrames = 0;
  }
}
