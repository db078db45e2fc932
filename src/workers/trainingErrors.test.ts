/**
 * classifyTrainingError with the messages tfjs and Chromium really produce, and GpuWatch with stand-ins for
 * a WebGL context and a GPUDevice (the real events are exercised by e2e/finetune.spec.ts).
 */
import { describe, expect, it } from 'vitest';
import { ClipPrepError } from '../engine/training/clipPrep.ts';
import { FineTuneError } from '../engine/training/fineTune.ts';
import { OnnxToTfError } from '../engine/training/onnxToTf.ts';
import { SamplerError } from '../engine/training/sampler.ts';
import { GpuFailureError, GpuWatch, type WebGlLike, type WebGpuDeviceLike } from './gpuWatch.ts';
import { ModelLoadError } from './modelLoader.ts';
import { classifyTrainingError } from './trainingErrors.ts';

describe('classifyTrainingError', () => {
  it('recognises a lost GPU from the messages tfjs-webgl and Chromium WebGPU throw', () => {
    // tfjs-backend-webgl webgl_util.ts: create* returning null (a lost context) is reported like this.
    for (const m of [
      'Unable to create WebGLTexture.',
      'Unable to create WebGLFramebuffer.',
      'Unable to create fragment WebGLShader.',
      'WebGL Error: CONTEXT_LOST_WEBGL',
    ]) {
      expect(classifyTrainingError(new Error(m)).code, m).toBe('gpu-lost');
    }
    // Chromium 150: a read-back (GPUBuffer.mapAsync) pending or started after device.destroy().
    const mapAsync = new DOMException("Failed to execute 'mapAsync' on 'GPUBuffer': The Device was lost before mapping was resolved.", 'AbortError');
    const c = classifyTrainingError(mapAsync);
    expect(c.code).toBe('gpu-lost');
    expect(c.message).toMatch(/^Training stopped: the GPU was lost \(.*Device was lost before mapping was resolved\)\./);
    expect(classifyTrainingError(new Error('[Device "tfjs"] is lost.')).code).toBe('gpu-lost');
  });

  it('recognises running out of memory', () => {
    // tfjs-backend-webgl webgl_util.ts validateTextureSize.
    const tex = classifyTrainingError(new Error('Requested texture size [70000x2] greater than WebGL maximum on this browser / GPU [16384x16384].'));
    expect(tex.code).toBe('out-of-memory');
    expect(tex.message).toMatch(/ran out of memory.*smaller batch size/);
    expect(classifyTrainingError(new RangeError('Array buffer allocation failed')).code).toBe('out-of-memory');
    expect(classifyTrainingError(new Error('WebGL Error: OUT_OF_MEMORY')).code).toBe('out-of-memory');
  });

  it('does not mistake ordinary words for GPU trouble', () => {
    for (const m of [
      'not enough room in the zoom buffer',
      'the tensor exceeds the schedule',
      'Failed to create the preview',
      'the file is too large to import',
    ]) {
      expect(classifyTrainingError(new Error(m)).code, m).toBe('failed');
    }
  });

  it('lets what the GPU watcher saw win over the error that surfaced it', () => {
    // Whatever generic error surfaces once the GPU is gone, the watcher's verdict decides.
    const generic = new TypeError("Cannot read properties of null (reading 'texture')");
    expect(classifyTrainingError(generic).code).toBe('failed');
    const lost = classifyTrainingError(generic, { code: 'gpu-lost', detail: 'the WebGL context was lost' });
    expect(lost).toEqual({ code: 'gpu-lost', message: expect.stringMatching(/^Training stopped: the GPU was lost \(the WebGL context was lost\)\./) });
    // Chromium 150 after GPUDevice.destroy(): the read-back in flight can be rejected before device.lost resolves.
    const unmapped = new DOMException("Failed to execute 'mapAsync' on 'GPUBuffer': Buffer was unmapped before mapping was resolved.", 'AbortError');
    expect(classifyTrainingError(unmapped).code).toBe('failed');
    expect(classifyTrainingError(unmapped, { code: 'gpu-lost', detail: 'the WebGPU device was lost: Device was destroyed' }).code).toBe('gpu-lost');
    // A non-finite loss read from a dying GPU is the GPU's fault, not divergence.
    expect(
      classifyTrainingError(new FineTuneError('diverged', 'Training diverged at step 3 (loss NaN).'), {
        code: 'out-of-memory',
        detail: 'the GPU ran out of memory',
      }).code,
    ).toBe('out-of-memory');
    expect(classifyTrainingError(new GpuFailureError({ code: 'gpu-lost', detail: 'the WebGPU device was lost: Device was destroyed' })).message).toBe(
      'Training stopped: the GPU was lost (the WebGPU device was lost: Device was destroyed). This happens when the graphics driver resets or the system takes the GPU back.',
    );
  });

  it('keeps the codes of the engine errors', () => {
    expect(classifyTrainingError(new SamplerError('clip-too-short', 'too short')).code).toBe('clip-too-short');
    expect(classifyTrainingError(new ClipPrepError('no-face', 'no face')).code).toBe('no-face');
    expect(classifyTrainingError(new ClipPrepError('bad-input', 'bad')).code).toBe('failed');
    expect(classifyTrainingError(new OnnxToTfError('unsupported-op', 'op X')).code).toBe('unsupported-op');
    expect(classifyTrainingError(new OnnxToTfError('bad-graph', 'graph')).code).toBe('bad-model');
    expect(classifyTrainingError(new ModelLoadError('bad-model', 'bad')).code).toBe('bad-model');
    expect(classifyTrainingError(new FineTuneError('diverged', 'Training diverged')).code).toBe('diverged');
    expect(classifyTrainingError('a string').message).toBe('Training failed: a string');
  });
});

class FakeGl implements WebGlLike {
  readonly canvas = new EventTarget();
  lost = false;
  loseCalls = 0;
  isContextLost(): boolean {
    return this.lost;
  }
  getExtension(): { loseContext(): void } {
    return { loseContext: () => (this.loseCalls++, (this.lost = true)) };
  }
}

class FakeDevice extends EventTarget implements WebGpuDeviceLike {
  private resolveLost!: (i: { reason: string; message: string }) => void;
  readonly lost = new Promise<{ reason: string; message: string }>((r) => (this.resolveLost = r));
  destroy(): void {
    this.resolveLost({ reason: 'destroyed', message: 'Device was destroyed.' });
  }
}

class GPUOutOfMemoryError {
  constructor(readonly message: string) {}
}
class GPUValidationError {
  constructor(readonly message: string) {}
}
function uncaptured(error: object): Event {
  return Object.assign(new Event('uncapturederror'), { error });
}

describe('GpuWatch', () => {
  it('webgl: sees a lost context before its event, and stops waiting for work that will never finish', async () => {
    const gl = new FakeGl();
    const watch = GpuWatch.webgl(gl);
    expect(watch.check()).toBeUndefined();
    const stuck = watch.guard(new Promise<number>(() => undefined));
    expect(watch.loseForDebug()).toMatch(/loseContext\(\) called/);
    expect(gl.loseCalls).toBe(1);
    // The event has not been dispatched yet, but the context says it is lost.
    expect(watch.check()).toEqual({ code: 'gpu-lost', detail: 'the WebGL context was lost' });
    await expect(stuck).rejects.toBeInstanceOf(GpuFailureError);
    await expect(watch.guard(Promise.resolve(1))).rejects.toThrow('the WebGL context was lost');
  });

  it('webgl: the webglcontextlost event alone is enough', async () => {
    const gl = new FakeGl();
    const watch = GpuWatch.webgl(gl);
    expect(await watch.guard(Promise.resolve(7))).toBe(7);
    const stuck = watch.guard(new Promise(() => undefined));
    gl.canvas.dispatchEvent(new Event('webglcontextlost'));
    await expect(stuck).rejects.toMatchObject({ code: 'gpu-lost' });
    expect(await watch.settled(10)).toMatchObject({ code: 'gpu-lost' });
  });

  it('webgpu: device.lost and GPUOutOfMemoryError from uncapturederror', async () => {
    const device = new FakeDevice();
    const watch = GpuWatch.webgpu(device);
    device.dispatchEvent(uncaptured(new GPUValidationError('Buffer is invalid')));
    expect(await watch.settled(10)).toBeUndefined();
    const stuck = watch.guard(new Promise(() => undefined));
    device.dispatchEvent(uncaptured(new GPUOutOfMemoryError('Out of memory allocating 4294967296 bytes')));
    await expect(stuck).rejects.toMatchObject({ code: 'out-of-memory', message: 'the GPU ran out of memory (Out of memory allocating 4294967296 bytes)' });

    const device2 = new FakeDevice();
    const watch2 = GpuWatch.webgpu(device2);
    expect(watch2.loseForDebug()).toBe('webgpu: device.destroy() called');
    expect(await watch2.settled(1000)).toEqual({ code: 'gpu-lost', detail: 'the WebGPU device was lost: Device was destroyed' });
  });

  it('none: nothing to lose, never fails', async () => {
    const watch = GpuWatch.none();
    expect(watch.loseForDebug()).toMatch(/no GPU/);
    expect(await watch.settled(5)).toBeUndefined();
    expect(await watch.guard(Promise.resolve('ok'))).toBe('ok');
  });
});
