/**
 * Minimal protobuf wire-format codec: just what ONNX needs (varint, 64-bit, length-delimited, 32-bit).
 * Hand-written rather than a generated codec so that rewriting weights can splice bytes and keep every
 * other field (including ones we do not know about) byte-for-byte identical.
 */

export class ProtobufError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtobufError';
  }
}

export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

/** One field as it sits in the buffer. `start`/`end` cover tag + value, so it can be copied verbatim. */
export interface RawField {
  field: number;
  wire: number;
  start: number;
  end: number;
  /** varint value (as a number, int64-signed) for WIRE_VARINT. */
  varint?: number;
  /** Value bytes for WIRE_LEN / WIRE_I32 / WIRE_I64 (a view, not a copy). */
  bytes?: Uint8Array;
}

/** Reads a varint as a signed 64-bit integer, returned as a JS number (exact up to 2^53). */
function readVarint(buf: Uint8Array, pos: number): [value: number, next: number] {
  let lo = 0;
  let hi = 0;
  let shift = 0;
  let i = pos;
  for (; ; i++) {
    if (i >= buf.length) throw new ProtobufError(`truncated varint at byte ${pos}`);
    if (i - pos >= 10) throw new ProtobufError(`varint longer than 10 bytes at byte ${pos}`);
    const b = buf[i];
    if (shift < 28) lo |= (b & 0x7f) << shift;
    else if (shift === 28) {
      lo |= (b & 0x0f) << 28;
      hi |= (b & 0x7f) >>> 4;
    } else hi |= (b & 0x7f) << (shift - 32);
    shift += 7;
    if ((b & 0x80) === 0) break;
  }
  lo >>>= 0;
  // Byte k carries bits 7k…7k+6; those at 32 and above went into `hi`. Interpreting hi as signed gives int64.
  return [(hi | 0) * 4294967296 + lo, i + 1];
}

export function parseFields(buf: Uint8Array, what = 'message'): RawField[] {
  const out: RawField[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const start = pos;
    const [tag, p1] = readVarint(buf, pos);
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (field <= 0) throw new ProtobufError(`invalid field number ${field} in ${what} at byte ${start}`);
    pos = p1;
    const f: RawField = { field, wire, start, end: 0 };
    switch (wire) {
      case WIRE_VARINT: {
        const [v, p] = readVarint(buf, pos);
        f.varint = v;
        pos = p;
        break;
      }
      case WIRE_I64:
        if (pos + 8 > buf.length) throw new ProtobufError(`truncated 64-bit field ${field} in ${what}`);
        f.bytes = buf.subarray(pos, pos + 8);
        pos += 8;
        break;
      case WIRE_I32:
        if (pos + 4 > buf.length) throw new ProtobufError(`truncated 32-bit field ${field} in ${what}`);
        f.bytes = buf.subarray(pos, pos + 4);
        pos += 4;
        break;
      case WIRE_LEN: {
        const [len, p] = readVarint(buf, pos);
        if (len < 0 || p + len > buf.length) throw new ProtobufError(`field ${field} in ${what} runs past the end of the data (truncated file?)`);
        f.bytes = buf.subarray(p, p + len);
        pos = p + len;
        break;
      }
      default:
        throw new ProtobufError(`unsupported wire type ${wire} for field ${field} in ${what} at byte ${start}`);
    }
    f.end = pos;
    out.push(f);
  }
  return out;
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: false });
const utf8Encoder = new TextEncoder();

export function decodeString(bytes: Uint8Array | undefined): string {
  return bytes ? utf8Decoder.decode(bytes) : '';
}

export function readFloat32(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset, 4).getFloat32(0, true);
}

/** Decodes a packed (or single) repeated varint field. */
export function readPackedVarints(f: RawField): number[] {
  if (f.wire === WIRE_VARINT) return [f.varint!];
  const out: number[] = [];
  const b = f.bytes!;
  let pos = 0;
  while (pos < b.length) {
    const [v, p] = readVarint(b, pos);
    out.push(v);
    pos = p;
  }
  return out;
}

export function readPackedFloats(f: RawField): number[] {
  if (f.wire === WIRE_I32) return [readFloat32(f.bytes!)];
  const b = f.bytes!;
  if (b.length % 4 !== 0) throw new ProtobufError('packed float field length is not a multiple of 4');
  const dv = new DataView(b.buffer, b.byteOffset, b.length);
  const out = new Array<number>(b.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = dv.getFloat32(i * 4, true);
  return out;
}

/** Appends protobuf fields into growable chunks. */
export class ProtoWriter {
  private chunks: Uint8Array[] = [];
  private length = 0;

  private push(b: Uint8Array): void {
    this.chunks.push(b);
    this.length += b.length;
  }

  private varintBytes(value: number): Uint8Array {
    if (!Number.isInteger(value)) throw new ProtobufError(`cannot encode non-integer ${value} as a varint`);
    const out: number[] = [];
    if (value >= 0 && value <= 0xffffffff) {
      let v = value;
      while (v > 0x7f) {
        out.push((v & 0x7f) | 0x80);
        v >>>= 7;
      }
      out.push(v);
      return Uint8Array.from(out);
    }
    // Large or negative: two's complement 64-bit.
    let v = BigInt.asUintN(64, BigInt(value));
    while (v > 0x7fn) {
      out.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    out.push(Number(v));
    return Uint8Array.from(out);
  }

  private tag(field: number, wire: number): void {
    this.push(this.varintBytes(field * 8 + wire));
  }

  varint(field: number, value: number): this {
    this.tag(field, WIRE_VARINT);
    this.push(this.varintBytes(value));
    return this;
  }

  float(field: number, value: number): this {
    this.tag(field, WIRE_I32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.push(b);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WIRE_LEN);
    this.push(this.varintBytes(value.length));
    this.push(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, utf8Encoder.encode(value));
  }

  message(field: number, build: (w: ProtoWriter) => void): this {
    const w = new ProtoWriter();
    build(w);
    return this.bytes(field, w.finish());
  }

  packedVarints(field: number, values: readonly number[]): this {
    const w = new ProtoWriter();
    for (const v of values) w.push(w.varintBytes(v));
    return this.bytes(field, w.finish());
  }

  packedFloats(field: number, values: ArrayLike<number>): this {
    const b = new Uint8Array(values.length * 4);
    const dv = new DataView(b.buffer);
    for (let i = 0; i < values.length; i++) dv.setFloat32(i * 4, values[i], true);
    return this.bytes(field, b);
  }

  /** Copies already-encoded field bytes verbatim. */
  raw(b: Uint8Array): this {
    this.push(b);
    return this;
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let pos = 0;
    for (const c of this.chunks) {
      out.set(c, pos);
      pos += c.length;
    }
    return out;
  }
}
