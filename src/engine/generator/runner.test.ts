import { afterEach, describe, expect, it, vi } from 'vitest';
import * as ort from 'onnxruntime-web';
import { GeneratorRunError, GeneratorRunner, wasmThreadCount } from './runner.ts';
import { buildTestGenerator } from './testGenerator.ts';
import { GeneratorValidationError } from './validate.ts';

ort.env.wasm.numThreads = 1;

const S = 64;
const T = 20;
const N = 3 * S * S;

/** A crop-like image: smooth gradients per channel, in [0, 1]. */
function image(): Float32Array {
  const out = new Float32Array(N);
  for (let c = 0; c < 3; c++) for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) out[(c * S + y) * S + x] = 0.2 + (0.6 * ((x + y * (c + 1)) % S)) / S;
  return out;
}

/** Masked copy: rows from (1 − maskRatio)·S down filled with maskFill. */
function masked(img: Float32Array, fill: number): Float32Array {
  const out = new Float32Array(img);
  for (let c = 0; c < 3; c++) out.fill(fill, (c * S + S / 2) * S, (c + 1) * S * S);
  return out;
}

/** Log-mel-like windows: silence is uniformly low, speech has energy in the low/mid bins. */
function mel(kind: 'silence' | 'speech'): Float32Array {
  const out = new Float32Array(80 * T);
  for (let m = 0; m < 80; m++)
    for (let t = 0; t < T; t++) out[m * T + t] = kind === 'silence' ? -11 : -4 + 6 * Math.exp(-m / 25) * (0.6 + 0.4 * Math.sin(t / 2));
  return out;
}

const meanAbsDiff = (a: Float32Array, b: Float32Array, rows: [number, number]) => {
  let s = 0;
  let n = 0;
  for (let c = 0; c < 3; c++)
    for (let y = rows[0]; y < rows[1]; y++)
      for (let x = 0; x < S; x++) {
        const i = (c * S + y) * S + x;
        s += Math.abs(a[i] - b[i]);
        n++;
      }
  return s / n;
};

describe('GeneratorRunner (real onnxruntime-web, wasm in Node)', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('falls back from WebGPU to wasm with a reason, and produces a [1,3,S,S] image that follows the audio', async () => {
    const { bytes, manifest } = buildTestGenerator({ size: S, melFrames: T, seed: 5 });
    const statuses: string[] = [];
    const runner = await GeneratorRunner.create({ modelBytes: bytes, manifest, ort, onStatus: (s) => statuses.push(s) });
    try {
      expect(runner.backend).toBe('wasm');
      expect(runner.fallbackReason).toBe('WebGPU unavailable: navigator.gpu missing');
      expect(statuses.at(-1)).toMatch(/running on wasm/);

      const ref = image();
      const inputs = { masked: masked(ref, manifest.maskFill), reference: ref };
      const silent = await runner.run({ ...inputs, audio: mel('silence') });
      const speech = await runner.run({ ...inputs, audio: mel('speech') });
      expect(silent).toBeInstanceOf(Float32Array);
      expect(silent.length).toBe(N);
      const [lo, hi] = manifest.imageRange;
      expect(silent.every((v) => v >= lo && v <= hi)).toBe(true);

      // Above the mask line the face is untouched; below it the generator rewrites the mouth…
      expect(meanAbsDiff(silent, ref, [0, S / 2])).toBe(0);
      expect(meanAbsDiff(silent, ref, [S / 2, S])).toBeGreaterThan(0.05);
      // …differently for speech than for silence.
      expect(meanAbsDiff(silent, speech, [S / 2, S])).toBeGreaterThan(0.05);
      expect(meanAbsDiff(silent, speech, [0, S / 2])).toBe(0);

      // Deterministic: the same inputs give the same output, also when runs overlap.
      const [again, speechAgain] = await Promise.all([runner.run({ ...inputs, audio: mel('silence') }), runner.run({ ...inputs, audio: mel('speech') })]);
      expect(again).toEqual(silent);
      expect(speechAgain).toEqual(speech);

      const t = await runner.runToTensor({ ...inputs, audio: mel('speech') });
      expect(t.dims).toEqual([1, 3, S, S]);
      expect(t.location).toBe('cpu');
      expect(t.data).toEqual(speech);
      t.dispose();
    } finally {
      await runner.dispose();
    }
  });

  it('reports why WebGPU was skipped when the browser has no adapter', async () => {
    vi.stubGlobal('navigator', { gpu: { requestAdapter: async () => null }, hardwareConcurrency: 8 });
    const { bytes, manifest } = buildTestGenerator({ size: 32, melFrames: T });
    const runner = await GeneratorRunner.create({ modelBytes: bytes, manifest, ort });
    expect(runner.backend).toBe('wasm');
    expect(runner.fallbackReason).toBe('WebGPU unavailable: no WebGPU adapter available');
    await runner.dispose();
  });

  it('uses up to 4 wasm threads only on cross-origin-isolated pages', () => {
    expect(wasmThreadCount({ crossOriginIsolated: true, navigator: { hardwareConcurrency: 8 } })).toBe(4);
    expect(wasmThreadCount({ crossOriginIsolated: true, navigator: { hardwareConcurrency: 2 } })).toBe(2);
    expect(wasmThreadCount({ crossOriginIsolated: false, navigator: { hardwareConcurrency: 8 } })).toBe(1);
    expect(wasmThreadCount({})).toBe(1);
  });

  it('has no fallback reason when wasm is what was asked for', async () => {
    const { bytes, manifest } = buildTestGenerator({ size: 32, melFrames: T });
    const runner = await GeneratorRunner.create({ modelBytes: bytes, manifest, ort, preferredBackends: ['wasm'] });
    expect(runner.backend).toBe('wasm');
    expect(runner.fallbackReason).toBeUndefined();
    await runner.dispose();
    await expect(
      runner.run({ masked: new Float32Array(3 * 32 * 32), reference: new Float32Array(3 * 32 * 32), audio: new Float32Array(80 * T) }),
    ).rejects.toThrow(/already closed/);
  });

  it('validates before creating a session, and rejects inputs of the wrong size by name', async () => {
    const { bytes, manifest } = buildTestGenerator({ size: 32, melFrames: 16 });
    const { manifest: other } = buildTestGenerator({ size: 32, melFrames: T });
    const create = vi.spyOn(ort.InferenceSession, 'create');
    await expect(GeneratorRunner.create({ modelBytes: bytes, manifest: other, ort })).rejects.toBeInstanceOf(GeneratorValidationError);
    expect(create).not.toHaveBeenCalled();
    create.mockRestore();

    const runner = await GeneratorRunner.create({ modelBytes: bytes, manifest, ort, preferredBackends: ['wasm'] });
    try {
      const img = new Float32Array(3 * 32 * 32);
      const err = await runner.run({ masked: img, reference: img, audio: new Float32Array(80 * T) }).catch((e) => e);
      expect(err).toBeInstanceOf(GeneratorRunError);
      expect(err.message).toMatch(/audio input needs 1280 float32 values \(shape \[1,80,16\]\) but got 1600/);
    } finally {
      await runner.dispose();
    }
  });

  it("feeds a generator with the articulation input the person's range, or its prior while unknown", async () => {
    const { bytes, manifest } = buildTestGenerator({ size: S, melFrames: T, articulationPrior: [0.04, 0.07] });
    const runner = await GeneratorRunner.create({ modelBytes: bytes, manifest, ort, preferredBackends: ['wasm'] });
    try {
      const img = image();
      const x = { masked: masked(img, 0), reference: img, audio: mel('speech') };
      const unknown = await runner.run(x);
      expect(meanAbsDiff(unknown, await runner.run({ ...x, articulation: Float32Array.of(0.04, 0.07) }), [0, S])).toBe(0);
      const wide = await runner.run({ ...x, articulation: Float32Array.of(0.09, 0.13) });
      expect(meanAbsDiff(unknown, wide, [S / 2, S])).toBeGreaterThan(0.01);
      expect(meanAbsDiff(unknown, wide, [0, S / 2])).toBe(0);
      await expect(runner.run({ ...x, articulation: Float32Array.of(0.09) })).rejects.toThrow(
        /articulation input needs 2 float32 values \(shape \[1,2\]\) but got 1/,
      );
    } finally {
      await runner.dispose();
    }
    // The same graph without the input described by its manifest is refused before a session exists.
    const { articulation: _, ...inputs } = manifest.inputs;
    await expect(GeneratorRunner.create({ modelBytes: bytes, manifest: { ...manifest, inputs }, ort })).rejects.toThrow(/needs input "articulation"/);
  });
});
