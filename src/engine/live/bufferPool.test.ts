import { describe, expect, it } from 'vitest';
import { BufferPool } from './bufferPool.ts';

describe('BufferPool', () => {
  it('reuses a released buffer of the same size: a steady stream allocates a fixed few', () => {
    const pool = new BufferPool();
    for (let i = 0; i < 100; i++) {
      const a = pool.acquire(16);
      const b = pool.acquire(16); // two frames in flight at once
      pool.release(a);
      pool.release(b);
    }
    expect(pool.allocations).toBe(2);
  });

  it('never hands out a buffer of another size, and forgets old sizes after a resolution change', () => {
    const pool = new BufferPool();
    const small = pool.acquire(16);
    pool.release(small);
    const big = pool.acquire(64);
    expect(big.byteLength).toBe(64);
    pool.release(big);
    expect(pool.acquire(64)).toBe(big);
    expect(pool.acquire(16)).not.toBe(small);
  });

  it('keeps at most maxFree buffers and ignores a double release', () => {
    const pool = new BufferPool(2);
    const bufs = [pool.acquire(8), pool.acquire(8), pool.acquire(8)];
    pool.release(bufs[0]);
    pool.release(bufs[0]);
    bufs.slice(1).forEach((b) => pool.release(b));
    const again = [pool.acquire(8), pool.acquire(8), pool.acquire(8)];
    expect(new Set(again).size).toBe(3);
    expect(pool.allocations).toBe(4);
  });
});
