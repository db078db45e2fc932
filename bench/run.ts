/**
 * `npm run bench`: serves the production build (with COOP/COEP, like a real host) and measures in
 * headless Debian Chromium:
 *   1. the shipped generator's ms/frame on every backend (bench.html);
 *   2. the live pipeline's per-stage breakdown (capture, landmarks, crop, inference, blend, total)
 *      from the app's own stats, with the fake camera + mic fed by a real clip.
 * Prints a table and writes bench/results.json. Timing lives here, never in tests.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { chromium } from '@playwright/test';
import { BASE_FLAGS, fakeDeviceFlags } from '../e2e/chromium.ts';
import { prepareFixtures } from '../e2e/prepare.ts';
import { MEL_FRAMES_PER_MESSAGE } from '../src/engine/audio/messages.ts';
import { CHROMIUM } from '../playwright.config.ts';

const PORT = 4183;
/** The default model's audio lookahead and the worklet's block, in ms (10 ms per mel frame). */
const LOOKAHEAD_MS = JSON.parse(readFileSync(resolve(import.meta.dirname, '../public/models/manifest.json'), 'utf8')).audioWindow.lookahead * 10;
const WORKLET_BLOCK_MS = MEL_FRAMES_PER_MESSAGE * 10;
const ORIGIN = `http://127.0.0.1:${PORT}`;
const LIVE_SECONDS = Number(process.env.BENCH_LIVE_SECONDS ?? 20);

async function waitForServer(): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(ORIGIN)).ok) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('vite preview did not start');
}

async function main(): Promise<void> {
  prepareFixtures();
  // Something already answering on the port would be measured instead of this build: refuse.
  if (await fetch(ORIGIN).then(() => true, () => false)) {
    throw new Error(`Port ${PORT} is already in use (a vite preview left over from an earlier run?): stop it first, e.g. \`fuser -k ${PORT}/tcp\`.`);
  }
  // vite itself (not through npx, whose child outlives a kill), in its own process group so the whole group stops.
  const server = spawn(resolve(import.meta.dirname, '../node_modules/.bin/vite'), ['preview', '--host', '127.0.0.1', '--port', String(PORT), '--strictPort'], {
    stdio: 'ignore',
    detached: true,
  });
  const stopServer = () => {
    try {
      if (server.pid) process.kill(-server.pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
  };
  process.once('SIGINT', () => {
    stopServer();
    process.exit(130);
  });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...BASE_FLAGS, ...fakeDeviceFlags(), '--enable-unsafe-webgpu', '--enable-features=Vulkan'],
  });
  try {
    await waitForServer();
    const page = await browser.newPage();
    await page.goto(`${ORIGIN}/bench.html?iterations=20`);
    await page.waitForFunction(() => (globalThis as unknown as { benchResult?: unknown }).benchResult, null, { timeout: 600_000 });
    const generator = await page.evaluate(() => (globalThis as unknown as { benchResult: unknown }).benchResult);
    console.log('\nGenerator ms/frame (shipped model, headless Chromium, page main thread; the live worker\'s own figure is the inference stage below):');
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

    const app = await browser.newPage();
    await app.goto(`${ORIGIN}/?backend=wasm`);
    await app.getByTestId('start').click();
    await app.getByTestId('start').filter({ hasText: 'Stop' }).waitFor({ timeout: 180_000 });
    await new Promise((r) => setTimeout(r, LIVE_SECONDS * 1000));
    const live = await app.evaluate(() => (globalThis as unknown as { lipsyncDebug: { stats(): unknown } }).lipsyncDebug.stats());
    const s = live as { fps: number; dropped: number; framesIn: number; framesOut: number; audioDelayMs: number; stages: Record<string, { mean: number; p95: number }> };
    console.log(`\nLive pipeline (wasm generator, ${LIVE_SECONDS} s, fake 25 fps camera): ${s.fps.toFixed(1)} fps out, ${s.framesOut}/${s.framesIn} frames out, ${s.dropped} dropped, audio delay ${s.audioDelayMs.toFixed(0)} ms`);
    console.table(Object.fromEntries(Object.entries(s.stages).map(([k, v]) => [k, { 'mean ms': fmt(v.mean), 'p95 ms': fmt(v.p95) }])));
    // Latency budget: where the audio → output delay goes. The model's lookahead and one worklet block are waits
    // for audio that does not exist yet; the stages are work; the rest is queueing (a frame waiting for a stage).
    const st = (k: string) => s.stages[k]?.mean ?? 0;
    const budget = {
      'audio lookahead (model)': LOOKAHEAD_MS,
      'worklet block': WORKLET_BLOCK_MS,
      capture: st('capture'),
      landmarks: st('landmarks'),
      crop: st('crop'),
      generator: st('inference'),
      blend: st('blend'),
    };
    const work = Object.values(budget).reduce((a, b) => a + b, 0);
    const total = st('total');
    console.log(`\nLatency budget (mean ms): ${Object.entries(budget).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(' + ')} + queueing ${(total - work).toFixed(1)} = ${total.toFixed(1)} (audio delay applied ${s.audioDelayMs.toFixed(0)})`);
    const busy = st('capture') + st('landmarks') + st('crop') + st('inference') + st('blend');
    console.log(`Everything but the generator: ${((100 * (busy - st('inference'))) / busy).toFixed(0)} % of the busy time per frame`);
    const out = resolve(import.meta.dirname, 'results.json');
    writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), generator, live }, null, 2));
    console.log(`wrote ${out}`);
  } finally {
    await browser.close();
    stopServer();
  }
}

function fmt(v: unknown): string {
  return typeof v === 'number' ? v.toFixed(1) : '–';
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
