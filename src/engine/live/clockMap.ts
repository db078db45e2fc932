/**
 * Maps epoch time (ms, the clock video frames are stamped with in the worker) to another clock in
 * seconds (the AudioContext clock the mel frames are stamped with). Pairs arrive a few times a
 * second; the offset is the median of the recent ones, so one late message does not move it.
 */
export class ClockMap {
  private offsets: number[] = [];

  constructor(private readonly keep = 15) {}

  /** Records that clock A read `aSeconds` when epoch time was `epochMs`. */
  add(aSeconds: number, epochMs: number): void {
    if (!Number.isFinite(aSeconds) || !Number.isFinite(epochMs)) return;
    this.offsets.push(aSeconds * 1000 - epochMs);
    if (this.offsets.length > this.keep) this.offsets.shift();
  }

  get ready(): boolean {
    return this.offsets.length > 0;
  }

  /** Clock A (seconds) at epoch time `epochMs`. Throws before the first pair: check `ready`. */
  toA(epochMs: number): number {
    if (!this.ready) throw new Error('ClockMap has no clock pairs yet');
    return (epochMs + median(this.offsets)) / 1000;
  }

  reset(): void {
    this.offsets = [];
  }
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
