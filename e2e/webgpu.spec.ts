/**
 * WebGPU code path on Chromium's software adapter (SwiftShader): slow but correct, so it checks
 * numerics. The generator must give the same face on the WebGPU EP as on the wasm EP (the
 * `onnxruntime-web/webgpu` bundle once computed 6-input-channel convs wrongly; ours has one).
 */
import { expect, test, chromium } from '@playwright/test';
import { BASE_FLAGS } from './chromium.ts';
import { CHROMIUM, PORT } from '../playwright.config.ts';

// test-models/warp: GridSample (a warp of the reference), the op the trainer's warp output adds.
const MODELS = [
  'test-models/small/manifest.json',
  'test-models/warp/manifest.json',
  // The person-articulation input (Sub, Mul, Gemm into the audio path), fed a range wider than its prior.
  'test-models/articulation/manifest.json',
  // The default (0.4.0, what WebGPU runs), its cpu build (what wasm runs, also loadable on its own) and the 0.3.2 candidate.
  'models/manifest.json',
  'models/cpu/manifest.json',
  'models/candidates/lipsync-0.3.2/manifest.json',
];

for (const model of MODELS) {
  test(`WebGPU EP matches wasm EP: ${model}`, async () => {
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...BASE_FLAGS, '--enable-unsafe-webgpu'] });
    try {
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${PORT}/bench.html?iterations=1&backends=wasm,webgpu&model=${model}`);
      await page.waitForFunction(() => (globalThis as unknown as { benchResult?: unknown }).benchResult, null, { timeout: 170_000 });
      const r = (await page.evaluate(() => (globalThis as unknown as { benchResult: unknown }).benchResult)) as {
        error?: string;
        results: { backend: string; ok: boolean; error?: string }[];
        maxAbsDiffWasmVsWebgpu?: number;
      };
      expect(r.error).toBeUndefined();
      const webgpu = r.results.find((x) => x.backend === 'webgpu');
      expect(webgpu?.ok, `WebGPU EP did not run: ${JSON.stringify(r.results)}`).toBe(true);
      expect(r.maxAbsDiffWasmVsWebgpu).toBeLessThan(1e-3);
    } finally {
      await browser.close();
    }
  });
}
