/**
 * Maps whatever stopped a fine-tuning run to a code the UI has a message for. GPU failures win over the
 * error that surfaced them: once the WebGL context or WebGPU device is gone, the exception that reaches
 * the training loop is often a generic one (a null sync object, "Unable to create WebGLTexture.").
 */
import { ClipPrepError } from '../engine/training/clipPrep.ts';
import { FineTuneError } from '../engine/training/fineTune.ts';
import { OnnxToTfError } from '../engine/training/onnxToTf.ts';
import { SamplerError } from '../engine/training/sampler.ts';
import type { GpuFailure } from './gpuWatch.ts';
import { GpuFailureError } from './gpuWatch.ts';
import { ModelLoadError } from './modelLoader.ts';
import type { TrainingErrorCode } from './protocol.ts';

/**
 * Messages the browser / tfjs produce when the GPU context is gone: tfjs-backend-webgl's webgl_util
 * ("Unable to create WebGLTexture." etc.: create* returns null on a lost context; "CONTEXT_LOST_WEBGL" from
 * its error-code names), Chromium's WebGPU ("Device is lost", "[Device] is lost.", mapAsync rejections).
 */
const GPU_LOST =
  /CONTEXT_LOST_WEBGL|context (?:was |is )?lost|device (?:was |is )?lost|\[Device[^\]]*\] is lost|Unable to create (?:WebGL(?:Texture|Buffer|Framebuffer|Program)|(?:vertex|fragment) WebGLShader)/i;

/**
 * Out of memory: WebGL's OUT_OF_MEMORY error name, WebGPU's GPUOutOfMemoryError, tfjs-webgl's texture-size
 * limit ("Requested texture size [AxB] greater than WebGL maximum on this browser / GPU [MxM].") and a
 * failed ArrayBuffer allocation for a read-back ("Array buffer allocation failed").
 */
const OUT_OF_MEMORY =
  /out of memory|OUT_OF_MEMORY|GPUOutOfMemoryError|Requested texture size \[\d+x\d+\] greater than WebGL maximum|Array buffer allocation failed|allocation failed/i;

export interface ClassifiedError {
  code: TrainingErrorCode;
  message: string;
}

export function gpuFailureMessage(f: GpuFailure): string {
  return f.code === 'gpu-lost'
    ? `Training stopped: the GPU was lost (${f.detail}). This happens when the graphics driver resets or the system takes the GPU back.`
    : `Training stopped: ${f.detail}. Use a smaller batch size, or close other tabs and apps that use the GPU.`;
}

/** `gpu` is what the GPU watcher saw (it takes precedence over the error's own text). */
export function classifyTrainingError(e: unknown, gpu?: GpuFailure): ClassifiedError {
  const msg = (e as Error | null)?.message ?? String(e);
  const failure = gpu ?? (e instanceof GpuFailureError ? e.failure : undefined);
  if (failure) return { code: failure.code, message: gpuFailureMessage(failure) };
  if (e instanceof SamplerError && e.code === 'clip-too-short') return { code: 'clip-too-short', message: msg };
  if (e instanceof ClipPrepError && e.code !== 'cancelled' && e.code !== 'bad-input') return { code: e.code, message: msg };
  if (e instanceof OnnxToTfError && e.code === 'unsupported-op') return { code: 'unsupported-op', message: msg };
  if (e instanceof OnnxToTfError || e instanceof ModelLoadError) return { code: 'bad-model', message: msg };
  if (e instanceof FineTuneError && e.code === 'diverged') return { code: 'diverged', message: msg };
  if (GPU_LOST.test(msg)) return { code: 'gpu-lost', message: gpuFailureMessage({ code: 'gpu-lost', detail: msg.replace(/\.$/, '') }) };
  if (OUT_OF_MEMORY.test(msg))
    return { code: 'out-of-memory', message: gpuFailureMessage({ code: 'out-of-memory', detail: `the GPU ran out of memory (${msg.replace(/\.$/, '')})` }) };
  return { code: 'failed', message: `Training failed: ${msg}` };
}
