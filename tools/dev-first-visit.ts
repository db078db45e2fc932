/**
 * Does the dev server reload the page on a fresh clone's first visit? (Vite discovering dependencies late —
 * workers' imports are found only when a worker starts — and re-optimising.) Starts `vite --force` (an empty
 * dependency cache), opens the app and the fine-tune panel, starts live mode, and counts page loads.
 * `npx tsx tools/dev-first-visit.ts` exits 1 on a reload; e2e/devserver.spec.ts runs the same check.
 */
import { spawn } from 'node:child_process';
import { chromium } from '@playwright/test';
import { BASE_FLAGS, fakeDeviceFlags } from '../e2e/chromium.ts';
import { CHROMIUM } from '../playwright.config.ts';

export interface FirstVisit {
  pageLoads: number;
  /** Dev-server log lines about optimising or reloading. */
  serverLines: string[];
}

export async function firstVisit(port = 5199, watchMs = 30_000): Promise<FirstVisit> {
  const vite = spawn('npx', ['vite', '--host', '127.0.0.1', '--port', String(port), '--strictPort', '--force'], {
    cwd: new URL('..', import.meta.url).pathname,
    detached: true,
  });
  let log = '';
  vite.stdout.on('data', (d) => (log += d));
  vite.stderr.on('data', (d) => (log += d));
  try {
    for (let i = 0; i < 120 && !log.includes('ready in'); i++) await new Promise((r) => setTimeout(r, 500));
    if (!log.includes('ready in')) throw new Error(`vite did not start:\n${log}`);
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: [...BASE_FLAGS, ...fakeDeviceFlags()] });
    try {
      const page = await browser.newPage();
      let pageLoads = 0;
      page.on('load', () => pageLoads++);
      await page.goto(`http://127.0.0.1:${port}/`);
      await page.getByTestId('open-finetune').click();
      await page.getByTestId('start').click();
      await page.waitForTimeout(watchMs);
      return { pageLoads, serverLines: log.split('\n').filter((l) => /optimiz|reload|new dependencies/i.test(l)) };
    } finally {
      await browser.close();
    }
  } finally {
    process.kill(-vite.pid!, 'SIGTERM');
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await firstVisit();
  console.log(`page loads: ${r.pageLoads}\n${r.serverLines.join('\n')}`);
  process.exitCode = r.pageLoads === 1 && !r.serverLines.some((l) => /reloading/i.test(l)) ? 0 : 1;
}
