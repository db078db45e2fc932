import { describe, expect, it } from 'vitest';
import { RecordingTimeline } from './recordingTimeline.ts';

describe('RecordingTimeline', () => {
  it('stamps a frame with the time of the audio its mouth came from, counted from the start', () => {
    const t = new RecordingTimeline(10);
    expect(t.videoTime(9.99)).toBeUndefined(); // generated from audio before the recording started
    expect(t.videoTime(10.04)).toBeCloseTo(0.04, 9);
    expect(t.videoTime(10.08)).toBeCloseTo(0.08, 9);
  });

  it('leaves out a frame that does not move time forward (two frames on the same audio)', () => {
    const t = new RecordingTimeline(0);
    expect(t.videoTime(1)).toBe(1);
    expect(t.videoTime(1)).toBeUndefined();
    expect(t.videoTime(0.96)).toBeUndefined();
    expect(t.videoTime(1.04)).toBeCloseTo(1.04, 9);
  });

  it('puts audio and picture of the same instant at the same recording time', () => {
    const t = new RecordingTimeline(2.5);
    const sr = 48000;
    // A chunk that starts before the recording: the samples before 2.5 s are cut, the first kept one is at 0.
    const span = t.audioSpan(2.49, 2048, sr)!;
    expect(span.skip).toBe(480);
    expect(span.timeS).toBeCloseTo(0, 9);
    expect(span.count).toBe(2048 - 480);
    // A sound at AudioContext time 3.0 and the mouth made from it land on the same recording time.
    const soundAt = 3.0;
    const chunkStart = 2.99;
    const s = t.audioSpan(chunkStart, 2048, sr)!;
    const soundRecorded = s.timeS + ((soundAt - chunkStart) * sr - s.skip) / sr;
    expect(t.videoTime(soundAt)).toBeCloseTo(soundRecorded, 9);
  });

  it('keeps what is still on its way after stop up to the stop time, then is complete', () => {
    const t = new RecordingTimeline(0);
    t.audioSpan(0, 4800, 48000);
    t.videoTime(0.04);
    t.stop(0.2);
    expect(t.stopped).toBe(true);
    expect(t.complete).toBe(false);
    expect(t.videoTime(0.16)).toBeCloseTo(0.16, 9); // generated before the stop, output after it
    const last = t.audioSpan(0.15, 4800, 48000)!;
    expect(last.count).toBe(2400); // 0.15 → 0.2 s
    expect(t.complete).toBe(false);
    expect(t.videoTime(0.2)).toBeUndefined();
    expect(t.complete).toBe(true);
    expect(t.audioSpan(0.25, 4800, 48000)).toBeUndefined();
  });

  it('a stop before the start records nothing', () => {
    const t = new RecordingTimeline(5);
    t.stop(4);
    expect(t.videoTime(5)).toBeUndefined();
    expect(t.audioSpan(4.9, 9600, 48000)).toBeUndefined();
    expect(t.complete).toBe(true);
  });
});
