/**
 * Decides which backends to use from what the GPU really is. A software adapter
 * (SwiftShader, llvmpipe) is correct but ~100× slower than wasm, so 'auto' avoids it.
 */
import type { BackendChoice, GeneratorBackend, LandmarkBackend, TrainingBackend } from './protocol.ts';

const SOFTWARE_GPU = /swiftshader|llvmpipe|softpipe|software|microsoft basic render/i;

export interface BackendDecision<T> {
  order: T[];
  reason?: string;
  /** The user forced a backend that will run far below live speed here (a software GPU): say so loudly. */
  slow?: boolean;
}

export interface WebGpuProbe {
  available: boolean;
  software: boolean;
  description: string;
}

export interface WebGlProbe {
  available: boolean;
  software: boolean;
  renderer: string;
}

export async function probeWebGpu(): Promise<WebGpuProbe> {
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (!gpu) return { available: false, software: false, description: 'navigator.gpu is missing (WebGPU not supported or disabled)' };
  type AdapterLike = { isFallbackAdapter?: boolean; info?: Record<string, string> };
  let adapter: AdapterLike | null;
  try {
    adapter = (await gpu.requestAdapter()) as AdapterLike | null;
  } catch (e) {
    return { available: false, software: false, description: `requestAdapter failed: ${(e as Error).message}` };
  }
  if (!adapter) return { available: false, software: false, description: 'no WebGPU adapter (GPU blocklisted or disabled)' };
  const info = adapter.info ?? {};
  const description = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') || 'unknown adapter';
  const software = Boolean(adapter.isFallbackAdapter) || SOFTWARE_GPU.test(description);
  return { available: true, software, description };
}

export function probeWebGl(): WebGlProbe {
  try {
    const gl = new OffscreenCanvas(1, 1).getContext('webgl2');
    if (!gl) return { available: false, software: false, renderer: 'WebGL2 unavailable' };
    const ext = gl.getExtension('WEBGL_debug_renderer_info');
    const renderer = String(ext ? gl.getParameter(ext.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER));
    gl.getExtension('WEBGL_lose_context')?.loseContext();
    return { available: true, software: SOFTWARE_GPU.test(renderer), renderer };
  } catch (e) {
    return { available: false, software: false, renderer: (e as Error).message };
  }
}

export async function chooseGeneratorBackends(pref: 'auto' | GeneratorBackend): Promise<BackendDecision<GeneratorBackend>> {
  if (pref === 'wasm') return { order: ['wasm'], reason: 'wasm selected in settings' };
  const gpu = await probeWebGpu();
  if (pref === 'webgpu') {
    if (!gpu.available) return { order: ['wasm'], reason: `WebGPU unavailable: ${gpu.description}; using wasm` };
    if (gpu.software) {
      return {
        order: ['webgpu', 'wasm'],
        reason: `WebGPU was chosen, but this adapter is software-rendered (${gpu.description}): expect a frame every few seconds. Choose Auto or wasm for live speed`,
        slow: true,
      };
    }
    return { order: ['webgpu', 'wasm'] };
  }
  if (!gpu.available) return { order: ['wasm'], reason: `WebGPU unavailable: ${gpu.description}; using wasm` };
  if (gpu.software) return { order: ['wasm'], reason: `WebGPU adapter is software-rendered (${gpu.description}); wasm is faster` };
  return { order: ['webgpu', 'wasm'] };
}

export function chooseLandmarkBackends(pref: 'auto' | LandmarkBackend): BackendDecision<LandmarkBackend> {
  if (pref !== 'auto') return { order: [pref, 'wasm', 'cpu'], reason: `${pref} selected in settings` };
  const gl = probeWebGl();
  if (!gl.available) return { order: ['wasm', 'cpu'], reason: `WebGL2 unavailable (${gl.renderer}); using wasm` };
  if (gl.software) return { order: ['wasm', 'cpu'], reason: `GPU is software-rendered (${gl.renderer}); wasm is faster` };
  return { order: ['webgl', 'wasm', 'cpu'] };
}

/**
 * Fine-tuning backends to try, in order. 'auto' never trains on a software WebGPU adapter (SwiftShader):
 * tfjs-webgpu there is far slower than WebGL (measured in e2e/finetune.spec.ts), and the CPU backend is
 * always there as a fallback. An explicit choice is tried first, then the others.
 */
export function chooseTrainingBackends(pref: BackendChoice<TrainingBackend>, webgpu: WebGpuProbe, webgl: WebGlProbe): BackendDecision<TrainingBackend> {
  const all: TrainingBackend[] = ['webgpu', 'webgl', 'cpu'];
  if (pref !== 'auto') return { order: [pref, ...all.filter((b) => b !== pref)], reason: `${pref} selected with ?trainBackend` };
  if (webgpu.available && !webgpu.software) return { order: all };
  const gpuWhy = webgpu.available ? `WebGPU adapter is software-rendered (${webgpu.description})` : `WebGPU unavailable (${webgpu.description})`;
  if (!webgl.available) return { order: ['cpu'], reason: `${gpuWhy}; WebGL unavailable (${webgl.renderer}); training on the CPU` };
  if (!webgl.software) return { order: ['webgl', 'cpu'], reason: `${gpuWhy}; WebGL runs on the GPU` };
  if (!webgpu.available) return { order: ['webgl', 'cpu'], reason: `${gpuWhy}; WebGL is software-rendered (${webgl.renderer})` };
  return { order: ['webgl', 'cpu'], reason: `${gpuWhy}; WebGL is software-rendered too (${webgl.renderer}) but trains faster than WebGPU there` };
}

export type FaceThreadChoice = 'auto' | 'own' | 'shared';

export interface ThreadPlan {
  /** Face tracking in its own (nested) worker, beside the generator. */
  faceOwnThread: boolean;
  /** onnxruntime-web wasm threads for the generator. */
  generatorThreads: number;
  reason: string;
}

/**
 * Who gets the cores. Tracking faces on a thread of its own overlaps it with the generator, but only pays
 * when there are cores to spare: on 2 cores the browser itself (compositing, capture, audio) already uses
 * most of one, and measured live output fell from 15 to 10 fps with a separate face thread. So 'auto' gives
 * face tracking its own thread from 4 cores, and the generator's wasm threads the cores left
 * (`wasmThreads`: what it would get alone, see runner.ts wasmThreadCount). `minCores` is where 'auto' starts
 * splitting (render mode, with nothing else running, splits sooner).
 */
export function planThreads(pref: FaceThreadChoice, cores: number, wasmThreads: number, minCores = 4): ThreadPlan {
  const own = pref === 'own' || (pref === 'auto' && cores >= minCores);
  const why = pref !== 'auto' ? `?faceThread=${pref}` : own ? `${cores} cores` : `${cores} cores: too few to split`;
  return {
    faceOwnThread: own,
    generatorThreads: own ? Math.max(1, Math.min(wasmThreads, cores - 1)) : wasmThreads,
    reason: `face tracking ${own ? 'on its own thread' : "on the generator's thread"} (${why})`,
  };
}
