/**
 * MediaRecorder writes WebM without a Duration (it does not know it when it writes the header), so
 * players show the length as unknown and cannot seek. This writes the Duration into the Segment's
 * Info element once the recording is complete. Files it does not understand are left unchanged.
 */

const ID = {
  EBML: 0x1a45dfa3,
  Segment: 0x18538067,
  SeekHead: 0x114d9b74,
  Info: 0x1549a966,
  TimecodeScale: 0x2ad7b1,
  Duration: 0x4489,
  Cluster: 0x1f43b675,
} as const;

interface Vint {
  value: number;
  length: number;
  unknown: boolean;
}

function readId(b: Uint8Array, pos: number): Vint | null {
  const first = b[pos];
  if (first === undefined || first === 0) return null;
  const length = Math.clz32(first) - 23; // leading zeros within the byte, + 1
  if (length > 4 || pos + length > b.length) return null;
  let value = 0;
  for (let i = 0; i < length; i++) value = value * 256 + b[pos + i];
  return { value, length, unknown: false };
}

function readSize(b: Uint8Array, pos: number): Vint | null {
  const first = b[pos];
  if (first === undefined || first === 0) return null;
  const length = Math.clz32(first) - 23;
  if (length > 8 || pos + length > b.length) return null;
  let value = first & (0xff >> length);
  let allOnes = value === 0xff >> length;
  for (let i = 1; i < length; i++) {
    value = value * 256 + b[pos + i];
    if (b[pos + i] !== 0xff) allOnes = false;
  }
  return { value, length, unknown: allOnes };
}

/** An 8-byte size field (always valid, whatever the value). */
function size8(value: number): Uint8Array {
  const out = new Uint8Array(8);
  out[0] = 0x01;
  let v = value;
  for (let i = 7; i >= 1; i--) {
    out[i] = v % 256;
    v = Math.floor(v / 256);
  }
  return out;
}

function writeSizeInPlace(b: Uint8Array, pos: number, length: number, value: number): boolean {
  if (value >= 2 ** (7 * length) - 1) return false;
  let v = value;
  for (let i = length - 1; i >= 0; i--) {
    b[pos + i] = v % 256;
    v = Math.floor(v / 256);
  }
  b[pos] |= 0x80 >> (length - 1);
  return true;
}

function float64(value: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setFloat64(0, value);
  return out;
}

/**
 * Returns the header bytes with Duration = durationMs set in Segment/Info, or null when the file
 * has a layout this does not handle (a SeekHead whose offsets would move, no Info in `head`, …).
 */
export function withWebmDuration(head: Uint8Array, durationMs: number): Uint8Array | null {
  if (!(durationMs > 0)) return null;
  const ebml = readId(head, 0);
  if (!ebml || ebml.value !== ID.EBML) return null;
  const ebmlSize = readSize(head, ebml.length);
  if (!ebmlSize || ebmlSize.unknown) return null;
  let pos = ebml.length + ebmlSize.length + ebmlSize.value;
  const seg = readId(head, pos);
  if (!seg || seg.value !== ID.Segment) return null;
  const segSizePos = pos + seg.length;
  const segSize = readSize(head, segSizePos);
  if (!segSize) return null;
  pos = segSizePos + segSize.length;
  while (pos < head.length) {
    const id = readId(head, pos);
    const size = id && readSize(head, pos + id.length);
    if (!id || !size || size.unknown) return null;
    if (id.value === ID.SeekHead || id.value === ID.Cluster) return null;
    const dataStart = pos + id.length + size.length;
    const end = dataStart + size.value;
    if (id.value !== ID.Info) {
      pos = end;
      continue;
    }
    if (end > head.length) return null;
    let timecodeScale = 1_000_000;
    let durationAt = -1;
    let durationLength = 0;
    for (let p = dataStart; p < end; ) {
      const cid = readId(head, p);
      const csize = cid && readSize(head, p + cid.length);
      if (!cid || !csize || csize.unknown) return null;
      const cdata = p + cid.length + csize.length;
      if (cid.value === ID.TimecodeScale) {
        timecodeScale = 0;
        for (let i = 0; i < csize.value; i++) timecodeScale = timecodeScale * 256 + head[cdata + i];
      } else if (cid.value === ID.Duration) {
        durationAt = cdata;
        durationLength = csize.value;
      }
      p = cdata + csize.value;
    }
    const ticks = (durationMs * 1e6) / (timecodeScale || 1_000_000);
    if (durationAt >= 0) {
      const out = head.slice();
      if (durationLength === 8) new DataView(out.buffer).setFloat64(durationAt, ticks);
      else if (durationLength === 4) new DataView(out.buffer).setFloat32(durationAt, ticks);
      else return null;
      return out;
    }
    const durationElement = new Uint8Array([0x44, 0x89, 0x88, ...float64(ticks)]);
    const children = head.subarray(dataStart, end);
    const infoHeader = new Uint8Array([...head.subarray(pos, pos + id.length), ...size8(children.length + durationElement.length)]);
    const grown = infoHeader.length + children.length + durationElement.length - (end - pos);
    const out = new Uint8Array(head.length + grown);
    out.set(head.subarray(0, pos), 0);
    out.set(infoHeader, pos);
    out.set(children, pos + infoHeader.length);
    out.set(durationElement, pos + infoHeader.length + children.length);
    out.set(head.subarray(end), pos + infoHeader.length + children.length + durationElement.length);
    if (!segSize.unknown && !writeSizeInPlace(out, segSizePos, segSize.length, segSize.value + grown)) return null;
    return out;
  }
  return null;
}

/** The recording with its Duration set (or unchanged if the layout is not understood). */
export async function fixWebmDuration(blob: Blob, durationMs: number): Promise<Blob> {
  const headLength = Math.min(blob.size, 64 * 1024);
  const head = new Uint8Array(await blob.slice(0, headLength).arrayBuffer());
  const patched = withWebmDuration(head, durationMs);
  return patched ? new Blob([patched as Uint8Array<ArrayBuffer>, blob.slice(headLength)], { type: blob.type }) : blob;
}
