/**
 * Generator benchmark page (used by `npm run bench`): ms per frame of a generator on every backend
 * this browser offers, through the same loader and runner the live worker uses.
 * Query: ?model=<manifest URL>&iterations=N&warmupMs=T (wasm runs untimed for T ms first)
 */
import * as ort from 'onnxruntime-web';
import { GeneratorRunner, type GeneratorBackend } from '../engine/generator/runner.ts';
import { loadGeneratorFromUrl } from '../workers/modelLoader.ts';

export interface BackendResult {
  backend: GeneratorBackend;
  ok: boolean;
  error?: string;
  threads?: number;
  firstRunMs?: number;
  meanMs?: number;
  p50Ms?: number;
  p95Ms?: number;
  iterations?: number;
}

/** First output per backend, to check that backends agree numerically. */
const outputs = new Map<string, Float32Array>();

async function benchBackend(
  backend: GeneratorBackend,
  bytes: Uint8Array,
  manifest: Awaited<ReturnType<typeof loadGeneratorFromUrl>>['manifest'],
  iterations: number,
  warmupMs: number,
): Promise<BackendResult> {
  let runner: GeneratorRunner | undefined;
  try {
    runner = await GeneratorRunner.create({ modelBytes: bytes, manifest, ort, preferredBackends: [backend] });
    const S = manifest.cropSize;
    const T = manifest.audioWindow.past + manifest.audioWindow.lookahead;
    const img = new Float32Array(3 * S * S).map((_, i) => (i % 255) / 255);
    const audio = new Float32Array(80 * T).map((_, i) => Math.sin(i) * 0.5);
    // A person who opens wider than the prior, so the articulation input's ops compute something non-zero.
    const articulation = manifest.inputs.articulation ? Float32Array.from(manifest.inputs.articulation.prior, (v) => v * 1.5) : undefined;
    const t0 = performance.now();
    const first = await runner.run({ masked: img, reference: img, audio, articulation });
    const firstRunMs = performance.now() - t0;
    outputs.set(runner.backend, first);
    // Chrome first runs a wasm module on its baseline compiler and swaps in optimised code a few seconds later
    // (onnxruntime's 28 MB module: ~5 s on 2 cores, 2–4× slower until then): time the steady state.
    const warmUntil = performance.now() + (runner.backend === 'wasm' ? warmupMs : 0);
    while (performance.now() < warmUntil) await runner.run({ masked: img, reference: img, audio, articulation });
    const times: number[] = [];
    for (let i = 0; i < iterations; i++) {
      const s = performance.now();
      await runner.run({ masked: img, reference: img, audio, articulation });
      times.push(performance.now() - s);
    }
    times.sort((a, b) => a - b);
    return {
      backend: runner.backend,
      ok: runner.backend === backend,
      error: runner.backend === backend ? undefined : runner.fallbackReason,
      threads: ort.env.wasm.numThreads as number | undefined,
      firstRunMs,
      meanMs: times.reduce((a, b) => a + b, 0) / times.length,
      p50Ms: times[times.length >> 1],
      p95Ms: times[Math.min(times.length - 1, Math.floor(times.length * 0.95))],
      iterations,
    };
  } catch (e) {
    return { backend, ok: false, error: (e as Error).message };
  } finally {
    await runner?.dispose();
  }
}

async function main(): Promise<void> {
  const q = new URLSearchParams(location.search);
  const manifestUrl = new URL(q.get('model') ?? 'models/manifest.json', location.href).href;
  const iterations = Number(q.get('iterations') ?? 20);
  const warmupMs = Number(q.get('warmupMs') ?? 0);
  ort.env.wasm.wasmPaths = new URL('ort/', location.href).href;
  const loaded = await loadGeneratorFromUrl(manifestUrl);
  const results: BackendResult[] = [];
  for (const b of (q.get('backends') ?? 'wasm,webgpu').split(',') as GeneratorBackend[]) {
    results.push(await benchBackend(b, loaded.bytes, loaded.manifest, b === 'webgpu' ? Math.min(iterations, 3) : iterations, warmupMs));
  }
  // WebGPU kernels have had correctness bugs (see docs): the same inputs must give the same face.
  const a = outputs.get('wasm');
  const b = outputs.get('webgpu');
  let maxAbsDiffWasmVsWebgpu: number | undefined;
  if (a && b) {
    maxAbsDiffWasmVsWebgpu = 0;
    for (let i = 0; i < a.length; i++) maxAbsDiffWasmVsWebgpu = Math.max(maxAbsDiffWasmVsWebgpu, Math.abs(a[i] - b[i]));
  }
  const report = { model: loaded.label, crossOriginIsolated, results, maxAbsDiffWasmVsWebgpu };
  (globalThis as unknown as { benchResult: unknown }).benchResult = report;
  document.getElementById('out')!.textContent = JSON.stringify(report, null, 2);
}

main().catch((e) => {
  (globalThis as unknown as { benchResult: unknown }).benchResult = { error: (e as Error).message };
  document.getElementById('out')!.textContent = `error: ${(e as Error).message}`;
});
