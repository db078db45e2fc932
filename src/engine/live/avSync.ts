import { median } from './clockMap.ts';

/**
 * Measures capture → output latency of the video pipeline and turns it into the delay the mic
 * audio needs so that lips and sound leave together (TalkingHead does the same with a DelayNode).
 * The delay moves only when the measured latency drifts past `hysteresisMs`: every change of a
 * DelayNode's time is an audible glitch.
 */
export class LatencyTracker {
  private samples: number[] = [];
  private delayMs = 0;

  constructor(private readonly opts: { window?: number; hysteresisMs?: number; maxDelayMs?: number } = {}) {}

  add(captureMs: number, outputMs: number): void {
    const latency = outputMs - captureMs;
    if (!(latency >= 0)) return;
    this.samples.push(latency);
    if (this.samples.length > (this.opts.window ?? 50)) this.samples.shift();
    const m = Math.min(median(this.samples), this.opts.maxDelayMs ?? 1000);
    if (Math.abs(m - this.delayMs) > (this.opts.hysteresisMs ?? 20)) this.delayMs = m;
  }

  /** Current measured latency (median of the recent frames), ms. */
  get latencyMs(): number {
    return this.samples.length ? median(this.samples) : 0;
  }

  /** The delay to apply to the audio, seconds. */
  get audioDelaySeconds(): number {
    return this.delayMs / 1000;
  }

  reset(): void {
    this.samples = [];
    this.delayMs = 0;
  }
}
