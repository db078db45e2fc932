import { describe, expect, it } from 'vitest';
import { chooseTrainingBackends, planThreads, type WebGlProbe, type WebGpuProbe } from './gpuProbe.ts';

const swiftshaderGpu: WebGpuProbe = { available: true, software: true, description: 'google swiftshader' };
const realGpu: WebGpuProbe = { available: true, software: false, description: 'nvidia ampere' };
const noGpu: WebGpuProbe = { available: false, software: false, description: 'navigator.gpu is missing' };
const swiftshaderGl: WebGlProbe = { available: true, software: true, renderer: 'ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device))' };
const realGl: WebGlProbe = { available: true, software: false, renderer: 'ANGLE (NVIDIA)' };
const noGl: WebGlProbe = { available: false, software: false, renderer: 'WebGL2 unavailable' };

describe('chooseTrainingBackends', () => {
  it('auto trains on WebGPU when the adapter is a real GPU', () => {
    expect(chooseTrainingBackends('auto', realGpu, realGl)).toEqual({ order: ['webgpu', 'webgl', 'cpu'] });
  });

  it('auto never picks a software WebGPU adapter, and says why', () => {
    for (const gl of [swiftshaderGl, realGl, noGl]) {
      const d = chooseTrainingBackends('auto', swiftshaderGpu, gl);
      expect(d.order).not.toContain('webgpu');
      expect(d.reason).toMatch(/WebGPU adapter is software-rendered \(google swiftshader\)/);
    }
  });

  it('auto prefers WebGL, even software-rendered, over a software WebGPU adapter', () => {
    const d = chooseTrainingBackends('auto', swiftshaderGpu, swiftshaderGl);
    expect(d.order[0]).toBe('webgl');
    expect(d.reason).toMatch(/WebGL is software-rendered too.*trains faster than WebGPU/);
  });

  it('auto without WebGPU says only that, not a comparison with it', () => {
    const d = chooseTrainingBackends('auto', noGpu, swiftshaderGl);
    expect(d.order[0]).toBe('webgl');
    expect(d.reason).toMatch(/^WebGPU unavailable \(navigator.gpu is missing\); WebGL is software-rendered \(ANGLE/);
    expect(d.reason).not.toMatch(/too|faster than WebGPU/);
  });

  it('auto falls back to the CPU when neither GPU API is there', () => {
    const d = chooseTrainingBackends('auto', noGpu, noGl);
    expect(d.order).toEqual(['cpu']);
    expect(d.reason).toMatch(/WebGPU unavailable.*WebGL unavailable.*CPU/);
  });

  it('an explicit choice is tried first, even a software adapter', () => {
    expect(chooseTrainingBackends('webgpu', swiftshaderGpu, realGl).order).toEqual(['webgpu', 'webgl', 'cpu']);
    expect(chooseTrainingBackends('cpu', realGpu, realGl).order).toEqual(['cpu', 'webgpu', 'webgl']);
  });
});

describe('planThreads', () => {
  it('keeps face tracking on the generator thread on 2 cores, where a separate thread measured slower', () => {
    const p = planThreads('auto', 2, 2);
    expect(p.faceOwnThread).toBe(false);
    expect(p.generatorThreads).toBe(2);
    expect(p.reason).toMatch(/2 cores/);
  });

  it('gives face tracking its own thread from 4 cores, and the generator the cores left', () => {
    expect(planThreads('auto', 4, 4)).toMatchObject({ faceOwnThread: true, generatorThreads: 3 });
    expect(planThreads('auto', 8, 4)).toMatchObject({ faceOwnThread: true, generatorThreads: 4 });
    // Without cross-origin isolation wasm has one thread whatever the cores.
    expect(planThreads('auto', 8, 1)).toMatchObject({ faceOwnThread: true, generatorThreads: 1 });
  });

  it('follows ?faceThread= either way and says so', () => {
    expect(planThreads('own', 2, 2)).toMatchObject({ faceOwnThread: true, generatorThreads: 1 });
    expect(planThreads('shared', 16, 4)).toMatchObject({ faceOwnThread: false, generatorThreads: 4 });
    expect(planThreads('own', 2, 2).reason).toContain('?faceThread=own');
  });
});
