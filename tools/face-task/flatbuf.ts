/**
 * Just enough FlatBuffers to read a .tflite model and write a patched copy without a schema compiler.
 *
 * Reading: `FbReader` follows vtables/offsets of an existing buffer.
 * Writing: `FbWriter` lays out *new* objects parent-first (FlatBuffers offsets are unsigned, so every
 * reference must point forward) into a prefix that is placed in front of the untouched original bytes.
 * New objects may refer to objects of the original buffer (`old(pos)`): they sit after the prefix, so
 * those references point forward too, and every original internal offset stays valid because the
 * original bytes move as one block (by a multiple of 16, keeping their alignment).
 */

export class FbReader {
  readonly dv: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  u8 = (p: number) => this.dv.getUint8(p);
  u16 = (p: number) => this.dv.getUint16(p, true);
  i32 = (p: number) => this.dv.getInt32(p, true);
  u32 = (p: number) => this.dv.getUint32(p, true);
  f32 = (p: number) => this.dv.getFloat32(p, true);
  root(): number {
    return this.u32(0);
  }
  ident(): string {
    return String.fromCharCode(...this.bytes.subarray(4, 8));
  }
  /** Absolute position of field `id` of the table at `t`, or 0 when absent. */
  field(t: number, id: number): number {
    const vt = t - this.i32(t);
    const size = this.u16(vt);
    const o = 4 + 2 * id;
    if (o + 2 > size) return 0;
    const fo = this.u16(vt + o);
    return fo ? t + fo : 0;
  }
  deref(p: number): number {
    return p + this.u32(p);
  }
  /** Position of the child table/vector/string referenced by field `id`, or 0. */
  ref(t: number, id: number): number {
    const f = this.field(t, id);
    return f ? this.deref(f) : 0;
  }
  scalarU32(t: number, id: number, dflt = 0): number {
    const f = this.field(t, id);
    return f ? this.u32(f) : dflt;
  }
  scalarI32(t: number, id: number, dflt = 0): number {
    const f = this.field(t, id);
    return f ? this.i32(f) : dflt;
  }
  scalarU8(t: number, id: number, dflt = 0): number {
    const f = this.field(t, id);
    return f ? this.u8(f) : dflt;
  }
  /** Positions of the tables of a vector-of-tables field. */
  tables(t: number, id: number): number[] {
    const v = this.ref(t, id);
    if (!v) return [];
    const n = this.u32(v);
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(this.deref(v + 4 + 4 * i));
    return out;
  }
  ints(t: number, id: number): number[] {
    const v = this.ref(t, id);
    if (!v) return [];
    const n = this.u32(v);
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(this.i32(v + 4 + 4 * i));
    return out;
  }
  string(t: number, id: number): string | null {
    const s = this.ref(t, id);
    if (!s) return null;
    const n = this.u32(s);
    return new TextDecoder().decode(this.bytes.subarray(s + 4, s + 4 + n));
  }
  vectorBytes(t: number, id: number): Uint8Array | null {
    const v = this.ref(t, id);
    if (!v) return null;
    return this.bytes.subarray(v + 4, v + 4 + this.u32(v));
  }
}

// ---- writing ----

/** A reference to an object: one written by FbWriter, or one in the original buffer. */
export type Ref = NewObj | { old: number };
export const old = (pos: number): Ref => ({ old: pos });

export type Field =
  | { id: number; u8: number }
  | { id: number; i32: number }
  | { id: number; u32: number }
  | { id: number; f32: number }
  | { id: number; ref: Ref };

export type NewObj =
  | { kind: 'table'; fields: Field[] }
  | { kind: 'refs'; items: Ref[] }
  | { kind: 'bytes'; data: Uint8Array; elemSize: number; align: number } // vector of scalars, little-endian
  | { kind: 'string'; text: string };

export const table = (fields: (Field | null | undefined | false)[]): NewObj => ({ kind: 'table', fields: fields.filter((f): f is Field => !!f) });
export const refs = (items: Ref[]): NewObj => ({ kind: 'refs', items });
export const str = (text: string): NewObj => ({ kind: 'string', text });
/** A [ubyte] vector; `align` is the alignment of its first element (tflite Buffer.data wants 16). */
export const bytesVec = (data: Uint8Array, align = 4): NewObj => ({ kind: 'bytes', data, elemSize: 1, align });
export const i32Vec = (xs: ArrayLike<number>): NewObj => ({ kind: 'bytes', data: new Uint8Array(Int32Array.from(xs).buffer), elemSize: 4, align: 4 });
export const f32Vec = (xs: ArrayLike<number>): NewObj => ({ kind: 'bytes', data: new Uint8Array(Float32Array.from(xs).buffer), elemSize: 4, align: 4 });

/**
 * Serialises `root` (and everything it references) parent-first, with an optional 4-byte file identifier.
 * `oldBase` is where the original buffer will start in the output (references `old(p)` become oldBase + p).
 * Returns the bytes of the new part; its length is padded to a multiple of `padTo`.
 */
export function writeForward(root: NewObj, ident: string | null, oldBase: number, padTo = 16): Uint8Array {
  let buf = new Uint8Array(1 << 16);
  let dv = new DataView(buf.buffer);
  let cur = 0;
  const ensure = (n: number) => {
    if (cur + n <= buf.length) return;
    let size = buf.length;
    while (cur + n > size) size *= 2;
    const nb = new Uint8Array(size);
    nb.set(buf);
    buf = nb;
    dv = new DataView(buf.buffer);
  };
  const align = (a: number, shift = 0) => {
    while ((cur + shift) % a !== 0) {
      ensure(1);
      buf[cur++] = 0;
    }
  };
  const placed = new Map<NewObj, number>();
  const patches: { at: number; target: NewObj }[] = [];
  const queue: NewObj[] = [];
  const enqueue = (o: NewObj) => {
    if (!placed.has(o) && !queue.includes(o)) queue.push(o);
  };
  const putRef = (at: number, r: Ref) => {
    if ('old' in r) {
      dv.setUint32(at, oldBase + r.old - at, true);
    } else {
      patches.push({ at, target: r });
      enqueue(r);
    }
  };

  ensure(8);
  cur = ident ? 8 : 4;
  if (ident) for (let i = 0; i < 4; i++) buf[4 + i] = ident.charCodeAt(i);
  patches.push({ at: 0, target: root });
  queue.push(root);

  while (queue.length) {
    const o = queue.shift()!;
    if (placed.has(o)) continue;
    switch (o.kind) {
      case 'table': {
        const maxId = o.fields.reduce((m, f) => Math.max(m, f.id), -1);
        const vtSize = 4 + 2 * (maxId + 1);
        const tblSize = 4 + 4 * o.fields.length;
        align(4);
        const vt = cur;
        ensure(vtSize + 4);
        dv.setUint16(vt, vtSize, true);
        dv.setUint16(vt + 2, tblSize, true);
        for (let i = 0; i <= maxId; i++) dv.setUint16(vt + 4 + 2 * i, 0, true);
        cur += vtSize;
        align(4);
        const t = cur;
        ensure(tblSize);
        dv.setInt32(t, t - vt, true);
        cur += tblSize;
        placed.set(o, t);
        o.fields.forEach((f, k) => {
          const at = t + 4 + 4 * k;
          dv.setUint32(at, 0, true);
          dv.setUint16(vt + 4 + 2 * f.id, 4 + 4 * k, true);
          if ('u8' in f) dv.setUint8(at, f.u8);
          else if ('i32' in f) dv.setInt32(at, f.i32, true);
          else if ('u32' in f) dv.setUint32(at, f.u32, true);
          else if ('f32' in f) dv.setFloat32(at, f.f32, true);
          else putRef(at, f.ref);
        });
        break;
      }
      case 'refs': {
        align(4);
        ensure(4 + 4 * o.items.length);
        const v = cur;
        dv.setUint32(v, o.items.length, true);
        cur += 4 + 4 * o.items.length;
        placed.set(o, v);
        o.items.forEach((r, i) => putRef(v + 4 + 4 * i, r));
        break;
      }
      case 'bytes': {
        // The length prefix sits right before the (aligned) elements.
        align(Math.max(4, o.align), 4);
        ensure(4 + o.data.length);
        const v = cur;
        dv.setUint32(v, o.data.length / o.elemSize, true);
        buf.set(o.data, v + 4);
        cur += 4 + o.data.length;
        placed.set(o, v);
        break;
      }
      case 'string': {
        const b = new TextEncoder().encode(o.text);
        align(4);
        ensure(5 + b.length);
        const s = cur;
        dv.setUint32(s, b.length, true);
        buf.set(b, s + 4);
        buf[s + 4 + b.length] = 0;
        cur += 5 + b.length;
        placed.set(o, s);
        break;
      }
    }
  }
  for (const p of patches) {
    const to = placed.get(p.target)!;
    if (!(to > p.at)) throw new Error(`flatbuffer writer: backward reference ${p.at} → ${to}`);
    dv.setUint32(p.at, to - p.at, true);
  }
  align(padTo);
  return buf.slice(0, cur);
}
