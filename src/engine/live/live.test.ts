import { describe, expect, it } from 'vitest';
import { LatestSlot } from './latestSlot.ts';
import { ClockMap } from './clockMap.ts';
import { LatencyTracker } from './avSync.ts';
import { PipelineStats } from './stats.ts';

describe('LatestSlot', () => {
  it('keeps only the newest item and releases the ones it replaces', () => {
    const released: number[] = [];
    const slot = new LatestSlot<number>((n) => released.push(n));
    slot.offer(1);
    slot.offer(2);
    slot.offer(3);
    expect(slot.take()).toBe(3);
    expect(slot.take()).toBeUndefined();
    expect(released).toEqual([1, 2]);
    expect(slot.dropped).toBe(2);
    slot.offer(4);
    slot.clear();
    expect(released).toEqual([1, 2, 4]);
  });
});

describe('ClockMap', () => {
  it('maps epoch ms onto the audio clock and ignores one outlier pair', () => {
    const map = new ClockMap();
    expect(map.ready).toBe(false);
    // Audio clock started 1000 s of epoch earlier: audio = (epoch - 1_000_000) / 1000.
    for (let i = 0; i < 9; i++) map.add(i * 0.5, 1_000_000 + i * 500);
    map.add(100, 1_004_600); // a message that arrived very late
    expect(map.toA(1_002_000)).toBeCloseTo(2, 6);
  });
});

describe('LatencyTracker', () => {
  it('delays audio by the median video latency and does not chase small wobble', () => {
    const t = new LatencyTracker({ hysteresisMs: 20 });
    for (let i = 0; i < 30; i++) t.add(i * 40, i * 40 + 120 + (i % 2 ? 5 : -5));
    expect(t.audioDelaySeconds * 1000).toBeGreaterThan(110);
    expect(t.audioDelaySeconds * 1000).toBeLessThan(130);
    const before = t.audioDelaySeconds;
    t.add(2000, 2000 + 128);
    expect(t.audioDelaySeconds).toBe(before);
  });
});

describe('PipelineStats', () => {
  it('reports output fps, stage means/p95 and drops', () => {
    let now = 0;
    const s = new PipelineStats({ now: () => now, fpsWindowMs: 2000 });
    for (let i = 0; i < 50; i++) {
      now = i * 40; // 25 fps
      s.frameOut(now);
      s.record('inference', i < 45 ? 10 : 100);
      s.count('framesIn');
    }
    s.dropped = 3;
    s.count('dropped', 2);
    const snap = s.snapshot();
    expect(snap.fps).toBeGreaterThan(24);
    expect(snap.fps).toBeLessThan(26);
    expect(snap.stages.inference.mean).toBeCloseTo((45 * 10 + 5 * 100) / 50, 6);
    expect(snap.stages.inference.p95).toBe(100);
    expect(snap.dropped).toBe(5);
    expect(snap.framesIn).toBe(50);
    now += 5000; // output stalled: fps must fall to 0, not freeze at the last value
    expect(s.snapshot().fps).toBe(0);
  });
});
