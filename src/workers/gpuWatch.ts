/**
 * Watches the training backend's GPU for the failures that are not reported as exceptions:
 * a lost WebGL context (`webglcontextlost` on the context's canvas, `gl.isContextLost()`), a lost WebGPU
 * device (`device.lost`) and WebGPU out-of-memory (a GPUOutOfMemoryError delivered later through the
 * device's `uncapturederror` event). The training loop races its GPU work against `failed`, because a
 * read-back in flight when the GPU goes away may never settle (tfjs-webgl polls a fence that can no
 * longer pass; a WebGPU mapAsync on a destroyed device is rejected, but only eventually).
 */
import { CodedError } from '../engine/codedError.ts';

export type GpuFailureCode = 'gpu-lost' | 'out-of-memory';

export interface GpuFailure {
  code: GpuFailureCode;
  /** What happened, in words, e.g. "the WebGL context was lost". */
  detail: string;
}

/** The parts of a WebGL context this needs (tfjs-backend-webgl's `backend.gpgpu.gl`). */
export interface WebGlLike {
  readonly canvas: EventTarget | object;
  isContextLost(): boolean;
  getExtension(name: 'WEBGL_lose_context'): { loseContext(): void } | null;
}

/** The parts of a GPUDevice this needs (tfjs-backend-webgpu's `backend.device`). */
export interface WebGpuDeviceLike extends EventTarget {
  readonly lost: Promise<{ reason?: string; message?: string }>;
  destroy(): void;
}

export class GpuWatch {
  private first?: GpuFailure;
  private settle!: (f: GpuFailure) => void;
  /** Resolves with the first failure; never rejects. */
  readonly failed: Promise<GpuFailure> = new Promise((r) => (this.settle = r));
  /** Extra check for a loss whose event has not been delivered yet. */
  private poll: () => GpuFailure | undefined = () => undefined;
  private lose: () => string = () => 'this backend has no GPU to lose';

  /** Watches nothing (CPU backend). */
  static none(): GpuWatch {
    return new GpuWatch();
  }

  static webgl(gl: WebGlLike): GpuWatch {
    const w = new GpuWatch();
    const canvas = gl.canvas as Partial<EventTarget>;
    canvas.addEventListener?.('webglcontextlost', () => w.report({ code: 'gpu-lost', detail: 'the WebGL context was lost' }));
    // The event is queued as a task; GL calls fail (return null / do nothing) as soon as the context is lost.
    w.poll = () => (gl.isContextLost() ? { code: 'gpu-lost', detail: 'the WebGL context was lost' } : undefined);
    w.lose = () => {
      const ext = gl.getExtension('WEBGL_lose_context');
      if (!ext) return 'WEBGL_lose_context is not available';
      ext.loseContext();
      return 'webgl: WEBGL_lose_context.loseContext() called';
    };
    return w;
  }

  static webgpu(device: WebGpuDeviceLike): GpuWatch {
    const w = new GpuWatch();
    void device.lost.then((info) => {
      const why = info?.message?.replace(/\.$/, '') || (info?.reason && info.reason !== 'unknown' ? info.reason : '');
      w.report({ code: 'gpu-lost', detail: `the WebGPU device was lost${why ? `: ${why}` : ''}` });
    });
    device.addEventListener('uncapturederror', (ev) => {
      const error = (ev as Event & { error?: { message?: string; constructor?: { name?: string } } }).error;
      if (isOutOfMemory(error)) w.report({ code: 'out-of-memory', detail: `the GPU ran out of memory${error?.message ? ` (${error.message})` : ''}` });
    });
    w.lose = () => {
      device.destroy();
      return 'webgpu: device.destroy() called';
    };
    return w;
  }

  /** The failure seen so far, if any (checks the context directly too). */
  check(): GpuFailure | undefined {
    if (!this.first) {
      const f = this.poll();
      if (f) this.report(f);
    }
    return this.first;
  }

  /** Runs `work`, but stops waiting for it (rejecting with GpuFailureError) as soon as the GPU fails. */
  async guard<T>(work: Promise<T>): Promise<T> {
    const f = this.check();
    if (f) {
      work.catch(() => undefined);
      throw new GpuFailureError(f);
    }
    return Promise.race([
      work,
      this.failed.then((failure) => {
        work.catch(() => undefined);
        throw new GpuFailureError(failure);
      }),
    ]);
  }

  /** Waits up to `ms` for a failure to be reported (an error thrown by a GL/GPU call may precede its event). */
  async settled(ms: number): Promise<GpuFailure | undefined> {
    const f = this.check();
    if (f) return f;
    await Promise.race([this.failed, new Promise((r) => setTimeout(r, ms))]);
    return this.check();
  }

  /** Debug: really loses the GPU through the browser API (WEBGL_lose_context / GPUDevice.destroy()). */
  loseForDebug(): string {
    return this.lose();
  }

  private report(f: GpuFailure): void {
    if (this.first) return;
    this.first = f;
    this.settle(f);
  }
}

export class GpuFailureError extends CodedError<GpuFailureCode> {
  override readonly name = 'GpuFailureError';
  constructor(readonly failure: GpuFailure) {
    super(failure.code, failure.detail);
  }
}

function isOutOfMemory(error: { constructor?: { name?: string } } | undefined): boolean {
  if (!error) return false;
  const ctor = (globalThis as { GPUOutOfMemoryError?: new (...a: never[]) => unknown }).GPUOutOfMemoryError;
  return (ctor !== undefined && error instanceof ctor) || error.constructor?.name === 'GPUOutOfMemoryError';
}
