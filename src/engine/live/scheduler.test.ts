import { describe, expect, it } from 'vitest';
import { CameraGapCounter, LiveScheduler, type Waiting } from './scheduler.ts';
import { SILENCE_VALUE } from '../audio/melConfig.ts';

const BINS = 80;

/** A fake epoch clock the test moves by hand. */
function fakeClock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

/** Mel frames first … first+n−1 whose every value is the frame's own index (so windows can be read back). */
function melBlock(first: number, n: number) {
  const frames = new Float32Array(n * BINS);
  for (let k = 0; k < n; k++) frames.fill(first + k, k * BINS, (k + 1) * BINS);
  return { firstIndex: first, frames, startContextTime: 10 };
}

/** The mel frame index in each column of a [BINS, T] window built from melBlock()s (row 0 is enough). */
const columns = (w: Float32Array, T: number) => Array.from(w.subarray(0, T));

interface Item extends Waiting {
  id: number;
}

function setup(opts: { maxAwaiting?: number } = {}) {
  const clock = fakeClock();
  const released: string[] = [];
  const s = new LiveScheduler<string, Item>({ now: clock.now, release: (c) => released.push(c), ...opts });
  // Audio clock 10 s ↔ epoch 1_000_000 ms, and the mel stream starts at 10 s: frame k is at epoch 1_000_000 + 10·k.
  s.addClockPair(10, 1_000_000);
  return { clock, released, s };
}

const range = (a: number, n: number) => Array.from({ length: n }, (_, i) => a + i);

describe('LiveScheduler', () => {
  it("centres a frame's window on its capture time on the audio clock and waits for the lookahead", () => {
    const { clock, s } = setup();
    s.enqueue({ id: 1, epochMs: 1_000_400, needsAudio: true }); // centre = mel frame 40
    s.pushMel(melBlock(0, 44)); // frames 0…43; lookahead 8 needs up to 47
    clock.advance(450);
    expect(s.takeReady(8, 8)).toBeUndefined();
    s.pushMel(melBlock(44, 4));
    const r = s.takeReady(8, 8)!;
    expect(r.item.id).toBe(1);
    expect(columns(r.audio!, 16)).toEqual(range(32, 16)); // frames 40 − 8 … 40 + 7
    expect(s.audioStalled).toBe(false);
    expect(s.droppedTotal).toBe(0);
  });

  it('takes the newest ready frame and drops the older ready ones as stale; later frames keep waiting', () => {
    const { s } = setup();
    for (let i = 0; i < 4; i++) s.enqueue({ id: i, epochMs: 1_000_400 + 40 * i, needsAudio: true }); // centres 40, 44, 48, 52
    s.pushMel(melBlock(0, 56)); // frames 0…55: centres up to 48 are complete (48 + 7 = 55), 52 is not
    const r = s.takeReady(8, 8)!;
    expect(r.item.id).toBe(2);
    expect(columns(r.audio!, 16)).toEqual(range(40, 16));
    expect(s.dropped.stale).toBe(2);
    expect(s.waitingCount).toBe(1);
  });

  it('gives a frame whose audio is overdue the part that arrived, silence for the rest, and reports a stall', () => {
    const { clock, s } = setup();
    s.pushMel(melBlock(0, 44));
    clock.advance(400); // the frame is captured now
    s.enqueue({ id: 1, epochMs: clock.now(), needsAudio: true });
    clock.advance(400 + 80); // wait limit + lookahead (8 × 10 ms): not yet overdue
    expect(s.takeReady(8, 8)).toBeUndefined();
    clock.advance(1);
    const r = s.takeReady(8, 8)!;
    expect(columns(r.audio!, 16)).toEqual([...range(32, 12), SILENCE_VALUE, SILENCE_VALUE, SILENCE_VALUE, SILENCE_VALUE]);
    expect(s.audioStalled).toBe(true);
    s.pushMel(melBlock(44, 4));
    expect(s.audioStalled).toBe(false);
  });

  it('uses silence when no audio or clock exists at all, after the wait limit', () => {
    const clock = fakeClock();
    const s = new LiveScheduler<string, Item>({ now: clock.now });
    s.enqueue({ id: 1, epochMs: clock.now(), needsAudio: true });
    expect(s.takeReady(8, 8)).toBeUndefined();
    clock.advance(500);
    const r = s.takeReady(8, 8)!;
    expect(r.audio!.every((v) => v === SILENCE_VALUE)).toBe(true);
    expect(s.audioStalled).toBe(true);
  });

  it('passes frames that need no audio (no face) straight through, in order', () => {
    const { s } = setup();
    s.enqueue({ id: 1, epochMs: 1_000_000, needsAudio: false });
    expect(s.takeReady(8, 8)).toEqual({ item: { id: 1, epochMs: 1_000_000, needsAudio: false }, audio: null });
  });

  it('keeps only the newest camera frame, releasing and counting the ones it replaces', () => {
    const { s, released } = setup();
    s.offerFrame('a');
    s.offerFrame('b');
    s.offerFrame('c');
    expect(s.takeFrame()?.captured).toBe('c');
    expect(released).toEqual(['a', 'b']);
    expect(s.dropped.superseded).toBe(2);
    s.offerFrame('d');
    s.clear(); // stopping releases the waiting frame but does not count it as dropped
    expect(released).toEqual(['a', 'b', 'd']);
    expect(s.dropped.superseded).toBe(2);
  });

  it('drops the oldest waiting frames beyond maxAwaiting', () => {
    const { s } = setup({ maxAwaiting: 3 });
    for (let i = 0; i < 5; i++) s.enqueue({ id: i, epochMs: 1_000_000 + 40 * i, needsAudio: true });
    expect(s.waitingCount).toBe(3);
    expect(s.dropped['queue-full']).toBe(2);
  });

  it('every frame offered is held, dropped with a reason, or taken out: the counts add up', () => {
    const { s } = setup({ maxAwaiting: 2 });
    for (let i = 0; i < 3; i++) s.offerFrame(`f${i}`); // two superseded, one in the slot
    expect(s.heldCount).toBe(1);
    const taken = s.takeFrame()!;
    expect(s.heldCount).toBe(0); // now with the caller (preparing)
    s.enqueue({ id: 0, epochMs: taken.epochMs, needsAudio: false });
    s.enqueue({ id: 1, epochMs: taken.epochMs, needsAudio: false });
    s.enqueue({ id: 2, epochMs: taken.epochMs, needsAudio: false }); // one too many: queue-full
    expect(s.heldCount).toBe(2);
    s.countFailed();
    expect(s.dropped.failed).toBe(1);
    expect(s.droppedTotal).toBe(2 + 1 + 1);
  });

  it('a mel stream that restarts at 0 takes its new start time', () => {
    const { s } = setup();
    s.pushMel(melBlock(0, 100));
    expect(s.melCentreFor(1_000_400)).toBe(40);
    s.pushMel({ ...melBlock(0, 4), startContextTime: 12 }); // worklet reset 2 s later on the audio clock
    expect(s.melCentreFor(1_002_400)).toBe(40);
  });

  it("gives the AudioContext time of the window centre a frame is generated with (a recording's video clock)", () => {
    const { clock, s } = setup();
    expect(s.audioTimeFor(1_000_400)).toBeUndefined(); // no mel yet
    s.pushMel(melBlock(0, 100));
    expect(s.audioTimeFor(1_000_400)).toBeCloseTo(10.4, 9);
    expect(s.audioTimeFor(1_000_404)).toBeCloseTo(10.4, 9); // on the 10 ms mel grid, as the window is
    clock.advance(730);
    expect(s.audioTimeNow()).toBeCloseTo(10.73, 9);
  });
});

describe('camera frames the browser dropped before they were read', () => {
  it('counts the frames hidden in timestamp gaps, even when most frames are missed', () => {
    const c = new CameraGapCounter();
    // 25 fps (40 ms) with jitter; frames 10–12 and 20 missing, then a stretch where only every third frame is read.
    const read: number[] = [];
    for (let i = 0; i < 40; i++) if (![10, 11, 12, 20].includes(i)) read.push(i);
    for (let i = 40; i < 100; i += 3) read.push(i);
    for (const i of read) c.add(i * 40_000 + (i % 2 ? 1500 : -1500));
    expect(c.missed).toBe(100 - 2 - read.length);
  });

  it('the scheduler adds them to the offered and dropped counts: dropped + taken-through = offered', () => {
    const { s } = setup();
    const stamps = [0, 1, 2, 3, 4, 5, 8, 9, 10, 14].map((i) => i * 40_000);
    for (const ts of stamps) {
      s.offerFrame(`f${ts}`, undefined, ts);
      s.takeFrame();
    }
    expect(s.dropped.camera).toBe(2 + 3);
    expect(s.framesOffered).toBe(15);
    expect(s.droppedTotal).toBe(5);
  });
});
