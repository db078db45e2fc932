/**
 * `npm run bench`: serves the production build (with COOP/COEP, like a real host) and measures in
 * headless Debian Chromium:
 *   1. the shipped generator's ms/frame on every backend (bench.html);
 *   2. the same generator on native ONNX Runtime, onnxruntime-web's wasm EP and tfjs-wasm in Node, on the same
 *      cores (bench/runtimes.ts), and the browser's wasm time ÷ native: how far the browser is from the hardware;
 *   3. the live pipeline's per-stage breakdown (capture, landmarks, crop, inference, blend, total)
 *      from the app's own stats, with the fake camera + mic fed by a real clip;
 *   4. render mode's speed (output frames per second) in the app's Render view and in `npm run render` (Node),
 *      against the live path's busy time per frame;
 *   5. the end-to-end A/V offset of a recording of the live output (clapper generator, e2e/clapperRecording.ts).
 * Prints a table and writes bench/results.json. Timing lives here, never in tests.
 */
import type { LiveStatus } from '../src/workers/protocol.ts';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { chromium } from '@playwright/test';
import { BASE_FLAGS, fakeDeviceFlags } from '../e2e/chromium.ts';
import { recordClapperOffset } from '../e2e/clapperRecording.ts';
import { prepareFixtures } from '../e2e/prepare.ts';
import { MEL_FRAMES_PER_MESSAGE } from '../src/engine/audio/messages.ts';
import { CHROMIUM } from '../playwright.config.ts';
import { startPreview } from './previewServer.ts';
import { benchGemmCeiling, benchRuntimes, printGemmCeiling, printRuntimes } from './runtimes.ts';
import { benchEngine, printEngine } from './engine.ts';
import { benchFineTuneStep, printFineTuneStep } from './fineTuneStep.ts';
import { benchRender } from './render.ts';

const PORT = 4183;
/** The default model's audio lookahead and the worklet's block, in ms (10 ms per mel frame). */
const MODELS = resolve(import.meta.dirname, '../public/models');
const MANIFEST = JSON.parse(readFileSync(resolve(MODELS, 'manifest.json'), 'utf8'));
/** The build live mode runs on wasm: the manifest's cpu variant when it has one (see generatorStart.ts). */
const CPU_MANIFEST_PATH: string | undefined = MANIFEST.variants?.cpu && resolve(MODELS, MANIFEST.variants.cpu);
const CPU_MANIFEST = CPU_MANIFEST_PATH ? JSON.parse(readFileSync(CPU_MANIFEST_PATH, 'utf8')) : MANIFEST;
const CPU_MODEL = resolve(dirname(CPU_MANIFEST_PATH ?? resolve(MODELS, 'manifest.json')), CPU_MANIFEST.model);
const LOOKAHEAD_MS = MANIFEST.audioWindow.lookahead * 10;
const WORKLET_BLOCK_MS = MEL_FRAMES_PER_MESSAGE * 10;
const ORIGIN = `http://127.0.0.1:${PORT}`;
const LIVE_SECONDS = Number(process.env.BENCH_LIVE_SECONDS ?? 20);
const LIVE_WARMUP_SECONDS = Number(process.env.BENCH_LIVE_WARMUP_SECONDS ?? 8);

async function main(): Promise<void> {
  prepareFixtures();
  const server = await startPreview(PORT);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...BASE_FLAGS, ...fakeDeviceFlags(), '--enable-unsafe-webgpu', '--enable-features=Vulkan'],
  });
  try {
    const page = await browser.newPage();
    await page.goto(`${ORIGIN}/bench.html?iterations=20&warmupMs=8000`);
    await page.waitForFunction(() => (globalThis as unknown as { benchResult?: unknown }).benchResult, null, { timeout: 600_000 });
    const generator = await page.evaluate(() => (globalThis as unknown as { benchResult: unknown }).benchResult);
    console.log("\nGenerator ms/frame (shipped model, headless Chromium, page main thread; the live worker's own figure is the inference stage below):");
    console.table(
      ((generator as { results?: Record<string, unknown>[] }).results ?? []).map((r) => ({
        backend: r.backend,
        ok: r.ok,
        threads: r.threads,
        'first run ms': fmt(r.firstRunMs),
        'mean ms': fmt(r.meanMs),
        'p50 ms': fmt(r.p50Ms),
        'p95 ms': fmt(r.p95Ms),
        note: r.error ?? '',
      })),
    );
    // Node runs after the page is done with the CPU: the two never time each other.
    const runtimes = await benchRuntimes(resolve(MODELS, MANIFEST.model));
    const browserWasm = ((generator as { results?: { backend: string; ok: boolean; meanMs?: number; threads?: number }[] }).results ?? []).find(
      (r) => r.backend === 'wasm' && r.ok && r.meanMs,
    );
    console.log('\nGenerator on CPU runtimes in Node (same model, same cores):');
    printRuntimes(runtimes, browserWasm && { meanMs: browserWasm.meanMs!, threads: browserWasm.threads ?? 1 });
    let cpuRuntimes = runtimes;
    if (CPU_MANIFEST_PATH) {
      cpuRuntimes = await benchRuntimes(CPU_MODEL);
      console.log(
        `\nIts cpu build, which live mode runs on wasm (${CPU_MANIFEST.name} ${CPU_MANIFEST.version}, ${CPU_MANIFEST.architecture?.gflopsPerFrame} GFLOPs/frame against ${MANIFEST.architecture?.gflopsPerFrame}):`,
      );
      printRuntimes(cpuRuntimes);
    }
    const gemm = await benchGemmCeiling();
    printGemmCeiling(gemm, CPU_MANIFEST.architecture?.gflopsPerFrame, cpuRuntimes);
    const engine = benchEngine();
    console.log('\nEngine costs per frame / per training step (Node):');
    printEngine(engine);
    // The fine-tune's frozen layers (contract fineTune.frozen) are there to fit more per minute: what a step saves.
    const fineTune = await benchFineTuneStep(CPU_MANIFEST_PATH ?? resolve(MODELS, 'manifest.json'));
    console.log('\nFine-tune step, the frozen layers against every layer (the wasm build, Node, tfjs cpu, batch 4):');
    printFineTuneStep(fineTune);

    await page.close(); // its WebGPU device and wasm threads must not share the cores with the live run

    // Live mode in a browser of its own, launched as a CPU-only user's would be (no WebGPU flags). Measured over a
    // steady window after a warm-up: on a first visit Chrome runs onnxruntime's 28 MB wasm on its baseline compiler
    // for the first ~5 s (the generator is 2–4× slower until its optimised code is in); a returning visitor gets
    // the optimised code from Chrome's wasm code cache at once. Both windows are printed.
    const liveBrowser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...BASE_FLAGS, ...fakeDeviceFlags()] });
    const app = await liveBrowser.newPage();
    await app.goto(`${ORIGIN}/?backend=wasm`);
    await app.getByTestId('start').click();
    await app.getByTestId('start').filter({ hasText: 'Stop' }).waitFor({ timeout: 180_000 });
    const stats = () => app.evaluate(() => (globalThis as unknown as { lipsyncDebug: { stats(): unknown } }).lipsyncDebug.stats()) as Promise<LiveStatus>;
    await new Promise((r) => setTimeout(r, LIVE_WARMUP_SECONDS * 1000));
    const warm = await stats();
    await new Promise((r) => setTimeout(r, LIVE_SECONDS * 1000));
    const s = await stats();
    const live = { ...s, warmup: warm };
    const why = Object.entries(s.droppedBy)
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${k} ${n - (warm.droppedBy[k as keyof typeof warm.droppedBy] ?? 0)}`)
      .join(', ');
    const offered = s.framesOffered - warm.framesOffered;
    const dropped = s.dropped - warm.dropped;
    const steadyFps = (s.framesOut - warm.framesOut) / LIVE_SECONDS;
    console.log(
      `\nLive pipeline (wasm generator, fake 25 fps camera), steady ${LIVE_WARMUP_SECONDS}–${LIVE_WARMUP_SECONDS + LIVE_SECONDS} s: ${steadyFps.toFixed(1)} fps out ` +
        `(target ≥ 20); the camera offered ${offered} frames, ${dropped} dropped = ${((100 * dropped) / Math.max(1, offered)).toFixed(0)} % (target ≤ 5 %; ${why || 'none'}); ` +
        `audio delay ${s.audioDelayMs.toFixed(0)} ms`,
    );
    console.log(
      `  first ${LIVE_WARMUP_SECONDS} s (wasm still compiling on a first visit): ${(warm.framesOut / LIVE_WARMUP_SECONDS).toFixed(1)} fps out, ${warm.dropped} of ${warm.framesOffered} dropped`,
    );
    console.table(Object.fromEntries(Object.entries(s.stages).map(([k, v]) => [k, { 'mean ms': fmt(v.mean), 'p95 ms': fmt(v.p95) }])));
    // Latency budget: where the audio → output delay goes. A frame is prepared (capture, landmarks, crop) while its
    // audio is still arriving (the model's lookahead, delivered one worklet block at a time), so 'to generator' — capture
    // until the generator takes the frame — holds that wait, the preparing alongside it and any wait for the generator
    // to finish the frame before; generator, blend and output follow in turn.
    const st = (k: string) => s.stages[k]?.mean ?? 0;
    const after = { generator: st('inference'), blend: st('blend'), 'output track': st('output') };
    const total = st('total');
    const accounted = st('to generator') + Object.values(after).reduce((a, b) => a + b, 0);
    console.log(
      `\nLatency budget (mean ms): until the generator takes the frame ${st('to generator').toFixed(1)} [audio lookahead ${LOOKAHEAD_MS} ms in worklet blocks of ${WORKLET_BLOCK_MS} ms, ` +
        `alongside capture ${st('capture').toFixed(1)} + landmarks ${st('landmarks').toFixed(1)} + crop ${st('crop').toFixed(1)}; or the generator busy] + ` +
        `${Object.entries(after)
          .map(([k, v]) => `${k} ${v.toFixed(1)}`)
          .join(' + ')} + waiting to be written ${(total - accounted).toFixed(1)} = ${total.toFixed(1)} (audio delay applied ${s.audioDelayMs.toFixed(0)})`,
    );
    // The generator as the live path runs it (the worker's inference stage) against the hardware limit.
    const liveThreads =
      (await app.evaluate(() => (globalThis as unknown as { lipsyncDebug: { backend(): { threads?: number } | undefined } }).lipsyncDebug.backend()))
        ?.threads ?? 1;
    const nativeSame = cpuRuntimes.find((r) => r.runtime.startsWith('onnxruntime-node') && r.threads === liveThreads)?.meanMs;
    if (nativeSame)
      console.log(
        `Live generator (${CPU_MANIFEST.name}, wasm ×${liveThreads}, ${st('inference').toFixed(1)} ms) ÷ native ORT (×${liveThreads}, ${nativeSame.toFixed(1)} ms): ${(st('inference') / nativeSame).toFixed(2)}×  (target ≤ 2.5×)`,
      );
    const busy = st('capture') + st('landmarks') + st('crop') + st('inference') + st('blend') + st('output');
    console.log(`Everything but the generator: ${((100 * (busy - st('inference'))) / busy).toFixed(0)} % of the busy time per frame`);
    await app.getByTestId('start').click(); // stop live mode: render gets the cores to itself
    await liveBrowser.close();
    const render = await benchRender(browser, ORIGIN);
    console.log(
      `\nRender mode (wasm, ${render.frames} frames of ${render.width}×${render.height}): browser ${render.browserFps.toFixed(1)} frames/s (${(1000 / render.browserFps).toFixed(1)} ms/frame), ` +
        `npm run render (Node) ${render.cliFps.toFixed(1)} frames/s; live busy time ${busy.toFixed(1)} ms/frame (${(1000 / busy).toFixed(1)} frames/s): ` +
        `render ÷ live busy pace ${(render.browserFps / (1000 / busy)).toFixed(2)}× (must be ≥ 1); render ms/frame: ${Object.entries(render.stages)
          .map(([k, v]) => `${k} ${v.toFixed(1)}`)
          .join(', ')}`,
    );
    // The fake mic is chosen at launch: the clapper's noise bursts need a browser of their own.
    const clapperBrowser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...BASE_FLAGS, ...fakeDeviceFlags('clapper')] });
    const av = await recordClapperOffset(clapperBrowser, ORIGIN, 10).finally(() => clapperBrowser.close());
    console.log(
      `\nA/V offset of a 10 s recording of the live output (clapper generator): ${av.offsetMs} ms (r ${av.r.toFixed(2)}; > 0: picture late; bar ±40)`,
    );
    const out = resolve(import.meta.dirname, 'results.json');
    const avOffset = { offsetMs: av.offsetMs, r: av.r, frames: av.frames };
    writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), generator, runtimes, gemm, engine, fineTune, live, render, avOffset }, null, 2));
    console.log(`wrote ${out}`);
  } finally {
    await browser.close();
    server.stop();
  }
}

function fmt(v: unknown): string {
  return typeof v === 'number' ? v.toFixed(1) : '–';
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
