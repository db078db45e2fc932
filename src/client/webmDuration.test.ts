import { describe, expect, it } from 'vitest';
import { withWebmDuration } from './webmDuration.ts';

/** EBML element: id bytes + 1-byte size (data < 127 bytes) or an explicit size field. */
const el = (id: number[], data: number[], size?: number[]) => [...id, ...(size ?? [0x80 | data.length]), ...data];
const UNKNOWN = [0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];

/** What Chromium's MediaRecorder writes: EBML header, Segment of unknown size, Info without Duration, Tracks, Cluster. */
function recorderLikeHeader(opts: { duration?: number; segmentSize?: number } = {}): Uint8Array {
  const info = el([0x15, 0x49, 0xa9, 0x66], [
    ...el([0x2a, 0xd7, 0xb1], [0x0f, 0x42, 0x40]), // TimecodeScale 1e6
    ...el([0x4d, 0x80], [...'Chrome'].map((c) => c.charCodeAt(0))),
    ...(opts.duration !== undefined ? el([0x44, 0x89], [...new Uint8Array(new Float64Array([opts.duration]).buffer)].reverse()) : []),
  ]);
  const tracks = el([0x16, 0x54, 0xae, 0x6b], [0xae, 0x83, 1, 2, 3]);
  const cluster = el([0x1f, 0x43, 0xb6, 0x75], [0xe7, 0x81, 0x00], UNKNOWN);
  const body = [...info, ...tracks, ...cluster, 9, 9, 9];
  const segSize = opts.segmentSize !== undefined ? [0x40 | (opts.segmentSize >> 8), opts.segmentSize & 0xff] : UNKNOWN;
  return new Uint8Array([...el([0x1a, 0x45, 0xdf, 0xa3], [0x42, 0x86, 0x81, 0x01]), 0x18, 0x53, 0x80, 0x67, ...segSize, ...body]);
}

/** Reads Segment/Info/Duration back with an independent byte search. */
function durationOf(b: Uint8Array): number | null {
  for (let i = 0; i + 11 <= b.length; i++) {
    if (b[i] === 0x44 && b[i + 1] === 0x89 && b[i + 2] === 0x88) return new DataView(b.buffer, b.byteOffset + i + 3, 8).getFloat64(0);
  }
  return null;
}

describe('WebM duration fix', () => {
  it('adds Duration (ms at the default TimecodeScale) to a header without one, keeping everything after Info', () => {
    const head = recorderLikeHeader();
    expect(durationOf(head)).toBeNull();
    const out = withWebmDuration(head, 2345.5)!;
    expect(out).not.toBeNull();
    expect(durationOf(out)).toBeCloseTo(2345.5, 6);
    // Tracks, Cluster and the trailing bytes are intact, just shifted.
    const tail = head.subarray(head.indexOf(0x16));
    expect([...out.subarray(out.length - tail.length)]).toEqual([...tail]);
    // Running it again overwrites rather than adding a second Duration.
    const again = withWebmDuration(out, 1000)!;
    expect(again.length).toBe(out.length);
    expect(durationOf(again)).toBeCloseTo(1000, 6);
  });

  it('grows a known Segment size by what it inserted', () => {
    const head = recorderLikeHeader({ segmentSize: 300 });
    const out = withWebmDuration(head, 500)!;
    const size = ((out[13] & 0x3f) << 8) | out[14]; // after the 9-byte EBML header and the Segment ID
    expect(out.length - head.length).toBeGreaterThan(0);
    expect(size).toBe(300 + out.length - head.length);
  });

  it('leaves files it does not understand alone', () => {
    expect(withWebmDuration(new Uint8Array([1, 2, 3, 4]), 100)).toBeNull();
    expect(withWebmDuration(recorderLikeHeader(), 0)).toBeNull();
    const withSeekHead = recorderLikeHeader();
    const seg = withSeekHead.indexOf(0x18) + 4 + 8;
    withSeekHead.set([0x11, 0x4d, 0x9b, 0x74], seg); // a SeekHead where Info was: offsets would move
    expect(withWebmDuration(withSeekHead, 100)).toBeNull();
  });
});
