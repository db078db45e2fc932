/**
 * Reusable pixel buffers for the live hot path: a frame's RGBA copy is taken from the pool and given
 * back once the frame has been written out, so steady-state live mode allocates no per-frame
 * megabytes for the garbage collector. Buffers of another size (the camera changed resolution) are
 * dropped instead of kept. A buffer that is never given back (a dropped frame) is simply collected.
 */
export class BufferPool {
  private free: Uint8ClampedArray<ArrayBuffer>[] = [];
  private allocated = 0;

  constructor(private readonly maxFree = 4) {}

  /** A buffer of exactly `bytes` bytes; its contents are whatever it last held. */
  acquire(bytes: number): Uint8ClampedArray<ArrayBuffer> {
    while (this.free.length) {
      const b = this.free.pop()!;
      if (b.byteLength === bytes) return b;
    }
    this.allocated++;
    return new Uint8ClampedArray(bytes);
  }

  release(buffer: Uint8ClampedArray<ArrayBuffer>): void {
    if (this.free.length >= this.maxFree || this.free.includes(buffer)) return;
    if (this.free.length && this.free[0].byteLength !== buffer.byteLength) this.free = [];
    this.free.push(buffer);
  }

  /** How many buffers were ever created (a steady stream of frames should stop growing this). */
  get allocations(): number {
    return this.allocated;
  }
}
