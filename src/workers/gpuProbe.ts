/**
 * Decides which backends to use from what the GPU really is. A software adapter
 * (SwiftShader, llvmpipe) is correct but ~100× slower than wasm, so 'auto' avoids it.
 */
import type { GeneratorBackend, LandmarkBackend } from './protocol.ts';

const SOFTWARE_GPU = /swiftshader|llvmpipe|softpipe|software|microsoft basic render/i;

export interface BackendDecision<T> {
  order: T[];
  reason?: string;
}

export async function probeWebGpu(): Promise<{ available: boolean; software: boolean; description: string }> {
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

export function probeWebGl(): { available: boolean; software: boolean; renderer: string } {
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
    return gpu.available ? { order: ['webgpu', 'wasm'] } : { order: ['wasm'], reason: `WebGPU unavailable: ${gpu.description}; using wasm` };
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
