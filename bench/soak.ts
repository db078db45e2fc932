/**
 * `npm run soak`: live mode for SOAK_MINUTES (default 10) on the production build in headless Debian Chromium,
 * fake camera + mic fed by a real clip. Every SOAK_EVERY_S (30) seconds it samples memory (the page and its
 * workers: performance.measureUserAgentSpecificMemory under cross-origin isolation, else the page heap), fps and
 * the frame counters, then gives a verdict. Not part of `npm test` (it takes minutes; timing lives in benchmarks).
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { chromium } from '@playwright/test';
import { BASE_FLAGS, fakeDeviceFlags } from '../e2e/chromium.ts';
import { prepareFixtures } from '../e2e/prepare.ts';
import { CHROMIUM } from '../playwright.config.ts';
import type { LiveStatus } from '../src/workers/protocol.ts';
import { startPreview } from './previewServer.ts';

const PORT = 4184;
const MINUTES = Number(process.env.SOAK_MINUTES ?? 10);
const EVERY_S = Number(process.env.SOAK_EVERY_S ?? 30);
const QUERY = process.env.SOAK_QUERY ?? '?backend=wasm';

interface Sample {
  t: number;
  memoryMB: number;
  memorySource: string;
  fps: number;
  offered: number;
  out: number;
  dropped: number;
  inFlight: number;
  banners: string[];
}

async function main(): Promise<void> {
  prepareFixtures();
  const server = await startPreview(PORT);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...BASE_FLAGS, ...fakeDeviceFlags(), '--enable-precise-memory-info', '--enable-blink-features=ForceEagerMeasureMemory'],
  });
  const samples: Sample[] = [];
  const consoleErrors: string[] = [];
  try {
    const page = await browser.newPage();
    // Each error with the second it came at (counted from Start), so it can be matched with the samples.
    const since = () => `${((Date.now() - (t0 ?? Date.now())) / 1000).toFixed(0)} s`;
    let t0: number | undefined;
    page.on(
      'console',
      (m) => m.type() === 'error' && consoleErrors.push(`[${since()}] ${m.text()} (${m.location().url.split('/').pop()}:${m.location().lineNumber})`),
    );
    page.on('pageerror', (e) => consoleErrors.push(`[${since()}] ${String(e)}`));
    await page.goto(`${server.origin}/${QUERY}`);
    await page.getByTestId('start').click();
    await page.getByTestId('start').filter({ hasText: 'Stop' }).waitFor({ timeout: 180_000 });
    t0 = Date.now();
    console.log(`soak: ${MINUTES} min of live mode (${QUERY}), a sample every ${EVERY_S} s`);
    // The run ends by the clock, not by a sample count: a memory measurement can itself take tens of seconds
    // on a loaded machine, which a fixed count would turn into a run twice as long as asked for.
    const end = t0 + MINUTES * 60_000;
    for (let next = t0 + EVERY_S * 1000; next <= end; next = Math.max(next + EVERY_S * 1000, Date.now())) {
      await page.waitForTimeout(Math.max(0, next - Date.now()));
      const m = await page.evaluate(async () => {
        const g = globalThis as unknown as {
          crossOriginIsolated?: boolean;
          lipsyncDebug: { stats(): LiveStatus | undefined };
        };
        const perf = performance as unknown as { measureUserAgentSpecificMemory?: () => Promise<{ bytes: number }>; memory?: { usedJSHeapSize: number } };
        // One source for the whole run (ForceEagerMeasureMemory makes the measurement immediate, not at the next GC).
        const whole = g.crossOriginIsolated && perf.measureUserAgentSpecificMemory;
        const bytes = whole ? (await perf.measureUserAgentSpecificMemory!()).bytes : (perf.memory?.usedJSHeapSize ?? NaN);
        const source = whole ? 'page + workers' : 'page heap';
        const banners = Array.from(document.querySelectorAll('.msg.error, .msg.warning')).map((e) => e.textContent ?? '');
        return { bytes, source, stats: g.lipsyncDebug.stats(), banners };
      });
      const s = m.stats!;
      const sample: Sample = {
        t: Math.round((Date.now() - t0) / 1000),
        memoryMB: m.bytes / 2 ** 20,
        memorySource: m.source,
        fps: s.fps,
        offered: s.framesOffered,
        out: s.framesOut,
        dropped: s.dropped,
        inFlight: s.inFlight,
        banners: m.banners,
      };
      samples.push(sample);
      console.log(
        `${String(sample.t).padStart(5)} s  mem ${sample.memoryMB.toFixed(1)} MB (${sample.memorySource})  fps ${sample.fps.toFixed(1)}  ` +
          `offered ${sample.offered} = out ${sample.out} + dropped ${sample.dropped} + in flight ${sample.inFlight}` +
          `${sample.banners.length ? `  banners: ${sample.banners.join(' | ')}` : ''}`,
      );
    }
  } finally {
    await browser.close();
    server.stop();
  }
  const v = verdict(samples, consoleErrors);
  console.log(`\n${v.ok ? 'PASS' : 'FAIL'}: ${v.reasons.join('; ')}`);
  writeFileSync(
    resolve(import.meta.dirname, 'soak.json'),
    JSON.stringify({ date: new Date().toISOString(), query: QUERY, samples, consoleErrors, verdict: v }, null, 2),
  );
  process.exitCode = v.ok ? 0 : 1;
}

/** Memory flat (after the first sample's warm-up), fps steady, counters adding up, nothing reported. */
export function verdict(samples: Sample[], consoleErrors: string[]): { ok: boolean; reasons: string[] } {
  const reasons: string[] = [];
  let ok = samples.length >= 2;
  if (!ok) return { ok, reasons: ['fewer than 2 samples'] };
  const base = samples[0];
  const last = samples[samples.length - 1];
  const growth = last.memoryMB - base.memoryMB;
  const memOk = growth < Math.max(10, base.memoryMB * 0.2);
  reasons.push(`memory ${base.memoryMB.toFixed(1)} → ${last.memoryMB.toFixed(1)} MB${memOk ? '' : ' (grows)'}`);
  const fpsMin = Math.min(...samples.map((s) => s.fps));
  const fpsMean = samples.reduce((a, s) => a + s.fps, 0) / samples.length;
  const fpsOk = fpsMin >= 0.7 * fpsMean && fpsMin > 0;
  reasons.push(`fps mean ${fpsMean.toFixed(1)}, min ${fpsMin.toFixed(1)}${fpsOk ? '' : ' (stalls)'}`);
  const worstGap = Math.max(...samples.map((s) => Math.abs(s.offered - s.out - s.dropped - s.inFlight)));
  const countsOk = worstGap <= 2;
  reasons.push(`counters off by at most ${worstGap}`);
  const banners = [...new Set(samples.flatMap((s) => s.banners))];
  if (banners.length) reasons.push(`banners: ${banners.join(' | ')}`);
  if (consoleErrors.length) reasons.push(`${consoleErrors.length} console errors, first: ${consoleErrors[0]}`);
  ok = memOk && fpsOk && countsOk && !banners.length && !consoleErrors.length;
  return { ok, reasons };
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
