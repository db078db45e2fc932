/**
 * Live pipeline statistics: per-stage timings (mean and p95 over a sliding window), counters and
 * the output frame rate. Snapshots are plain objects so they cross postMessage cheaply.
 */
export interface StageStats {
  mean: number;
  p95: number;
}

export interface LiveStatsSnapshot {
  /** Output frames per second over the last `fpsWindowMs`. */
  fps: number;
  framesIn: number;
  framesOut: number;
  /** Frames that never reached the output: replaced while waiting, or too late for their audio. */
  dropped: number;
  noFace: number;
  stages: Record<string, StageStats>;
}

export class PipelineStats {
  private readonly samples = new Map<string, number[]>();
  private readonly counters = new Map<string, number>();
  private outTimes: number[] = [];
  private readonly now: () => number;
  private readonly window: number;
  private readonly fpsWindowMs: number;
  /** Drops counted elsewhere (e.g. by LatestSlot), added to the `dropped` counter. */
  dropped = 0;

  constructor(opts: { now?: () => number; window?: number; fpsWindowMs?: number } = {}) {
    this.now = opts.now ?? (() => performance.now());
    this.window = opts.window ?? 120;
    this.fpsWindowMs = opts.fpsWindowMs ?? 2000;
  }

  record(stage: string, ms: number): void {
    if (!Number.isFinite(ms)) return;
    let list = this.samples.get(stage);
    if (!list) this.samples.set(stage, (list = []));
    list.push(ms);
    if (list.length > this.window) list.shift();
  }

  count(name: string, by = 1): void {
    this.counters.set(name, (this.counters.get(name) ?? 0) + by);
  }

  frameOut(t = this.now()): void {
    this.count('framesOut');
    this.outTimes.push(t);
    this.trim(t);
  }

  private trim(t: number): void {
    const cutoff = t - this.fpsWindowMs;
    let i = 0;
    while (i < this.outTimes.length && this.outTimes[i] < cutoff) i++;
    if (i) this.outTimes.splice(0, i);
  }

  snapshot(): LiveStatsSnapshot {
    const t = this.now();
    this.trim(t);
    const n = this.outTimes.length;
    // Rate over the span actually covered, so the first second after start is not under-reported.
    const span = n > 1 ? Math.max(t - this.outTimes[0], this.outTimes[n - 1] - this.outTimes[0]) : 0;
    const fps = n > 1 && span > 0 ? ((n - 1) * 1000) / span : 0;
    const stages: Record<string, StageStats> = {};
    for (const [name, list] of this.samples) {
      if (!list.length) continue;
      const sorted = [...list].sort((a, b) => a - b);
      stages[name] = {
        mean: list.reduce((s, v) => s + v, 0) / list.length,
        p95: sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.95))],
      };
    }
    const c = (k: string) => this.counters.get(k) ?? 0;
    return { fps, framesIn: c('framesIn'), framesOut: c('framesOut'), dropped: c('dropped') + this.dropped, noFace: c('noFace'), stages };
  }
}
