/**
 * The generator's CPU runtimes side by side, in Node on the same cores (part of `npm run bench`):
 *   - native ONNX Runtime (onnxruntime-node, CPU EP): the hardware limit for this model here;
 *   - onnxruntime-web's wasm EP (the browser runtime, run in Node: same wasm, no browser around it);
 *   - tfjs-backend-wasm (XNNPACK) through the fine-tune's ONNX→tfjs reader: the candidate CPU runtime.
 * Same inputs, same thread counts; every runtime's output is compared with native ORT's, so a fast but wrong
 * runtime shows up. Run alone: `npx tsx bench/runtimes.ts [generator.onnx]`.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import { buildOnnxModel, readOnnxModel } from '../src/engine/generator/onnx.ts';
import { onnxToTf } from '../src/engine/training/onnxToTf.ts';

const require = createRequire(import.meta.url);

export interface RuntimeResult {
  runtime: string;
  threads: number;
  meanMs?: number;
  p50Ms?: number;
  /** max |output − native ORT's output| on the same input. */
  maxAbsDiff?: number;
  error?: string;
}

/** Every graph input by name: its values and dims. */
type Inputs = Record<string, { data: Float32Array; dims: number[] }>;

function inputsFor(model: Uint8Array): Inputs {
  const info = readOnnxModel(model);
  const fill = (n: number, f: (i: number) => number) => Float32Array.from({ length: n }, (_, i) => f(i));
  const pattern: Record<string, (i: number) => number> = {
    masked: (i) => (i % 251) / 251,
    reference: (i) => (i % 241) / 241,
    audio: (i) => Math.sin(i * 0.37) * 0.8,
    // Optional inputs at their neutral values: the opening as trained, a typical person's mouth range.
    openingGain: () => 1,
    articulation: (i) => [0.039, 0.07][i % 2],
  };
  return Object.fromEntries(
    info.inputs.map((i) => {
      const dims = i.dims!.map((d) => (typeof d === 'number' ? d : 1));
      return [
        i.name,
        {
          data: fill(
            dims.reduce((a, b) => a * b, 1),
            pattern[i.name] ?? (() => 0),
          ),
          dims,
        },
      ];
    }),
  );
}

async function time(run: () => Promise<Float32Array>, iterations: number): Promise<{ out: Float32Array; meanMs: number; p50Ms: number }> {
  const out = await run(); // warm-up: first-run kernels and allocations are not the steady state
  for (let i = 0; i < 2; i++) await run();
  const times: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    await run();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { out, meanMs: times.reduce((a, b) => a + b, 0) / times.length, p50Ms: times[times.length >> 1] };
}

const maxAbsDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

export async function benchRuntimes(modelPath: string, threads: number[] = [1, 2], iterations = 30): Promise<RuntimeResult[]> {
  const model = new Uint8Array(readFileSync(modelPath));
  const x = inputsFor(model);
  const results: RuntimeResult[] = [];
  let reference: Float32Array | undefined;

  const ortNode = await import('onnxruntime-node');
  for (const n of threads) {
    try {
      const session = await ortNode.InferenceSession.create(model, { intraOpNumThreads: n, interOpNumThreads: 1, executionMode: 'sequential' });
      const feeds = Object.fromEntries(Object.entries(x).map(([name, v]) => [name, new ortNode.Tensor('float32', v.data, v.dims)]));
      const r = await time(async () => (await session.run(feeds))[session.outputNames[0]].data as Float32Array, iterations);
      reference ??= r.out;
      results.push({ runtime: 'onnxruntime-node (native CPU)', threads: n, meanMs: r.meanMs, p50Ms: r.p50Ms, maxAbsDiff: maxAbsDiff(r.out, reference) });
      await session.release();
    } catch (e) {
      results.push({ runtime: 'onnxruntime-node (native CPU)', threads: n, error: (e as Error).message });
    }
  }

  // onnxruntime-web in Node: its threaded wasm needs workers Node does not give it, so 1 thread (as the
  // browser gets without cross-origin isolation).
  try {
    const ortWeb = await import('onnxruntime-web');
    ortWeb.env.wasm.numThreads = 1;
    const session = await ortWeb.InferenceSession.create(model, { executionProviders: ['wasm'] });
    const feeds = Object.fromEntries(Object.entries(x).map(([name, v]) => [name, new ortWeb.Tensor('float32', v.data, v.dims)]));
    const r = await time(async () => (await session.run(feeds))[session.outputNames[0]].data as Float32Array, iterations);
    results.push({
      runtime: 'onnxruntime-web wasm EP (in Node)',
      threads: 1,
      meanMs: r.meanMs,
      p50Ms: r.p50Ms,
      maxAbsDiff: reference && maxAbsDiff(r.out, reference),
    });
    await session.release();
  } catch (e) {
    results.push({ runtime: 'onnxruntime-web wasm EP (in Node)', threads: 1, error: (e as Error).message });
  }

  try {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths(`${dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'))}/`);
    if (!(await tf.setBackend('wasm'))) throw new Error('tfjs-backend-wasm did not initialise');
    await tf.ready();
    const net = onnxToTf(model, { trainable: () => false });
    const feeds = Object.fromEntries(Object.entries(x).map(([name, v]) => [name, tf.tensor(v.data, v.dims)]));
    const r = await time(async () => {
      const y = net.forward(feeds);
      const data = (await y.data()) as Float32Array;
      y.dispose();
      return data;
    }, iterations);
    results.push({
      runtime: 'tfjs-backend-wasm via ONNX→tfjs',
      threads: 1,
      meanMs: r.meanMs,
      p50Ms: r.p50Ms,
      maxAbsDiff: reference && maxAbsDiff(r.out, reference),
    });
    Object.values(feeds).forEach((t) => t.dispose());
    net.dispose();
  } catch (e) {
    results.push({ runtime: 'tfjs-backend-wasm via ONNX→tfjs', threads: 1, error: (e as Error).message });
  }
  return results;
}

export interface GemmCeiling {
  n: number;
  threads: number;
  nativeGflops?: number;
  wasmGflops?: number;
  /** Why it could not be measured (e.g. onnxruntime-node missing). */
  error?: string;
}

/**
 * The hardware limit behind the wasm ÷ native ratio: one large float32 matrix multiply (n×n by n×n), the kernel a
 * conv network spends its time in, on onnxruntime-web's wasm (128-bit SIMD, no fused multiply-add) and on native
 * onnxruntime (MLAS with this CPU's widest vectors, AVX-512 here), 1 thread each. Measured on this machine: wasm
 * levels off at 17–25 GFLOP/s from n = 256 to 1536, while native MatMul grows with n (23 → 92) and its conv kernels
 * run the generator at ~100, so the generator's own native rate is the native side of the limit.
 */
export async function benchGemmCeiling(n = 1024, iterations = 6): Promise<GemmCeiling> {
  try {
    return await gemmCeiling(n, iterations);
  } catch (e) {
    return { n, threads: 1, error: (e as Error).message };
  }
}

async function gemmCeiling(n: number, iterations: number): Promise<GemmCeiling> {
  const f = (k: number) => Float32Array.from({ length: k }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  const model = buildOnnxModel({
    initializers: [{ name: 'b', dims: [n, n], data: f(n * n) }],
    nodes: [{ opType: 'MatMul', inputs: ['a', 'b'], outputs: ['y'] }],
    inputs: [{ name: 'a', dims: [n, n] }],
    outputs: [{ name: 'y', dims: [n, n] }],
  });
  const a = f(n * n);
  const gflops = (ms: number) => (2 * n ** 3) / (ms * 1e6);
  const ortNode = await import('onnxruntime-node');
  const native = await ortNode.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const nt = await time(async () => (await native.run({ a: new ortNode.Tensor('float32', a, [n, n]) })).y.data as Float32Array, iterations);
  await native.release();
  const ortWeb = await import('onnxruntime-web');
  ortWeb.env.wasm.numThreads = 1;
  const web = await ortWeb.InferenceSession.create(model, { executionProviders: ['wasm'] });
  const wt = await time(async () => (await web.run({ a: new ortWeb.Tensor('float32', a, [n, n]) })).y.data as Float32Array, iterations);
  await web.release();
  return { n, threads: 1, nativeGflops: gflops(nt.p50Ms), wasmGflops: gflops(wt.p50Ms) };
}

/** The limit in words: the generator's native rate over wasm's matrix-multiply rate is the closest wasm can get. */
export function printGemmCeiling(c: GemmCeiling, modelGflops?: number, runtimes?: RuntimeResult[]): void {
  if (c.nativeGflops === undefined || c.wasmGflops === undefined) {
    console.log(`Hardware limit: not measured (${c.error ?? 'no result'})`);
    return;
  }
  console.log(
    `Hardware limit (1 thread, ${c.n}×${c.n} float32 matrix multiply): wasm ${c.wasmGflops.toFixed(0)} GFLOP/s, native ${c.nativeGflops.toFixed(0)} GFLOP/s`,
  );
  if (!modelGflops || !runtimes) return;
  const at = (prefix: string) => runtimes.find((r) => r.runtime.startsWith(prefix) && r.threads === 1)?.meanMs;
  const native = at('onnxruntime-node');
  const wasm = at('onnxruntime-web');
  if (!native || !wasm) return;
  const wasmGemm = c.wasmGflops;
  const nativeRate = modelGflops / (native / 1000);
  const wasmRate = modelGflops / (wasm / 1000);
  console.log(
    `  the generator (${modelGflops.toFixed(3)} GFLOPs/frame) runs at ${nativeRate.toFixed(0)} GFLOP/s native and ${wasmRate.toFixed(0)} GFLOP/s on wasm ` +
      `(${((100 * wasmRate) / wasmGemm).toFixed(0)} % of wasm's matrix-multiply rate): even at wasm's full rate it would be ` +
      `${(nativeRate / Math.max(wasmGemm, wasmRate)).toFixed(1)}× native (bar 2.5×)`,
  );
}

export function printRuntimes(results: RuntimeResult[], browserWasm?: { meanMs: number; threads: number }): void {
  console.table(
    results.map((r) => ({
      runtime: r.runtime,
      threads: r.threads,
      'mean ms': r.meanMs?.toFixed(1) ?? '–',
      'p50 ms': r.p50Ms?.toFixed(1) ?? '–',
      'max |Δ| vs native': r.maxAbsDiff?.toExponential(1) ?? '–',
      note: r.error ?? '',
    })),
  );
  const native = (n: number) => results.find((r) => r.runtime.startsWith('onnxruntime-node') && r.threads === n)?.meanMs;
  for (const r of results.filter((r) => !r.runtime.startsWith('onnxruntime-node') && r.meanMs)) {
    const base = native(r.threads);
    if (base) console.log(`${r.runtime} ÷ native ORT (${r.threads} thread${r.threads > 1 ? 's' : ''}): ${(r.meanMs! / base).toFixed(2)}×`);
  }
  if (browserWasm) {
    const base = native(browserWasm.threads) ?? native(1);
    if (base)
      console.log(
        `browser wasm EP (${browserWasm.threads} thread${browserWasm.threads > 1 ? 's' : ''}, ${browserWasm.meanMs.toFixed(1)} ms) ÷ native ORT (${browserWasm.threads} thread${browserWasm.threads > 1 ? 's' : ''}): ${(browserWasm.meanMs / base).toFixed(2)}×  (target ≤ 2.5×)`,
      );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const model = resolve(process.argv[2] ?? resolve(import.meta.dirname, '../public/models/generator.onnx'));
  benchRuntimes(model).then(
    async (r) => {
      printRuntimes(r);
      const gflops = JSON.parse(readFileSync(resolve(dirname(model), 'manifest.json'), 'utf8')).architecture?.gflopsPerFrame as number | undefined;
      printGemmCeiling(await benchGemmCeiling(), gflops, r);
    },
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
