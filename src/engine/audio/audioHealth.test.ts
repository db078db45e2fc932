import { describe, expect, it } from 'vitest';
import { readClipFile } from '../../node/clipFrames.ts';
import { AudioHealthMeter, type AudioHealth } from './audioHealth.ts';
import { resampleBuffer } from './resample.ts';
import { readWav } from './wav.ts';

const RATE = 48000;
const speech = resampleBuffer(readWav(readClipFile('lrs2_00001', 'audio.wav')).mono, 16000, RATE);

/** Feeds `seconds` of input in 128-sample quanta from frame `start`; returns the reports and the next frame. */
function feed(meter: AudioHealthMeter, source: ((at: number) => Float32Array) | null, seconds: number, start: number, reports: AudioHealth[] = []) {
  let frame = start;
  const end = start + Math.round(seconds * RATE);
  for (; frame + 128 <= end; frame += 128) {
    const r = meter.block(source ? source(frame - start) : null, frame, 128);
    if (r) reports.push(r);
  }
  return { reports, frame };
}

const speechAt = (at: number) => speech.subarray(at % (speech.length - 128), (at % (speech.length - 128)) + 128);
const zeros = new Float32Array(128);
const silence = () => zeros;

describe('AudioHealthMeter', () => {
  it('reports ok with the real level while speech arrives, about 4 times per audio second', () => {
    const m = new AudioHealthMeter(RATE);
    const { reports } = feed(m, speechAt, 4, 4800);
    expect(reports.length).toBeGreaterThanOrEqual(15);
    expect(reports.length).toBeLessThanOrEqual(17);
    expect(reports.every((r) => r.state === 'ok')).toBe(true);
    expect(Math.max(...reports.map((r) => r.rms))).toBeGreaterThan(0.02);
    for (const r of reports) expect(r.peak).toBeGreaterThanOrEqual(r.rms);
    expect(reports.at(-1)!.audioTime).toBeCloseTo((4800 + Math.floor((4 * RATE) / 128) * 128) / RATE, 6);
  });

  it('warns after 3 s of digital silence, counted on the audio clock, and clears on the first sound', () => {
    const m = new AudioHealthMeter(RATE);
    let { reports, frame } = feed(m, speechAt, 1, 0);
    const silenceStart = frame / RATE;
    ({ frame } = feed(m, silence, 5, frame, reports));
    const firstSilent = reports.find((r) => r.state === 'silent')!;
    expect(firstSilent).toBeDefined();
    // reported in the quantum that crosses 3 s, not at the next periodic report
    expect(firstSilent.audioTime - silenceStart).toBeGreaterThanOrEqual(3);
    expect(firstSilent.audioTime - silenceStart).toBeLessThan(3 + 128 / RATE + 1e-9);
    expect(reports.at(-1)!.silentForS).toBeGreaterThan(4.9);
    expect(reports.at(-1)!.peak).toBe(0);
    const before = reports.length;
    feed(m, speechAt, 0.01, frame, reports);
    expect(reports.length).toBe(before + 1); // the state change is reported at once
    expect(reports.at(-1)!.state).toBe('ok');
    expect(reports.at(-1)!.silentForS).toBe(0);
  });

  it('does not warn for quiet sound or pauses shorter than the limit', () => {
    const m = new AudioHealthMeter(RATE);
    const hiss = new Float32Array(128).map((_, i) => (i % 2 ? 1 : -1) * 3e-4); // a quiet room's noise floor, ≈ −70 dBFS
    let { reports, frame } = feed(m, () => hiss, 6, 0);
    ({ frame } = feed(m, silence, 2.5, frame, reports)); // a pause
    feed(m, speechAt, 1, frame, reports);
    expect(reports.some((r) => r.state !== 'ok')).toBe(false);
  });

  it('tells "nothing connected" apart from silence', () => {
    const m = new AudioHealthMeter(RATE);
    const { reports } = feed(m, null, 3.5, 0);
    expect(reports.at(-1)!.state).toBe('no-input');
    expect(reports.filter((r) => r.state !== 'ok').every((r) => r.state === 'no-input')).toBe(true);
  });

  it('measures time from frame numbers: a gap between blocks counts as audio time and is reported', () => {
    const m = new AudioHealthMeter(RATE);
    const reports: AudioHealth[] = [];
    const r1 = m.block(zeros, 0, 128);
    if (r1) reports.push(r1);
    // the next block arrives 3.2 audio seconds later (the render thread skipped quanta)
    const r2 = m.block(zeros, Math.round(3.2 * RATE), 128);
    expect(r2?.state).toBe('silent');
    expect(r2!.gapS).toBeCloseTo(3.2 - 128 / RATE, 3);
  });

  it('starts over on reset', () => {
    const m = new AudioHealthMeter(RATE);
    const { reports, frame } = feed(m, silence, 3.5, 0);
    expect(reports.at(-1)!.state).toBe('silent');
    m.reset();
    const after = feed(m, silence, 1, frame).reports;
    expect(after.every((r) => r.state === 'ok' && r.silentForS <= 1)).toBe(true);
  });
});
