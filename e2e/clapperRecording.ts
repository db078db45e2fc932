/**
 * The A/V timing measurement shared by e2e/avsync.spec.ts and `npm run bench`: live mode with the clapper generator
 * (lower face bright while its audio window's centre is loud) on a browser whose fake mic plays irregular noise
 * bursts (fakeDeviceFlags('clapper')), a recording made with the app's Record button, and the offset between the
 * recording's picture and sound (tools/recordingAvOffset.ts).
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { expect, type Browser } from '@playwright/test';
import { FIXTURES } from './chromium.ts';
import { measureAvOffset, type AvOffset } from '../tools/recordingAvOffset.ts';
import type { LiveStatus } from '../src/workers/protocol.ts';

export async function recordClapperOffset(browser: Browser, origin: string, seconds = 12): Promise<AvOffset & { live: LiveStatus }> {
  const page = await browser.newPage();
  try {
    await page.goto(`${origin}/?model=test-models/clapper/manifest.json&backend=wasm`);
    await page.getByTestId('start').click();
    await expect(page.getByTestId('start')).toHaveText('Stop', { timeout: 120_000 });
    await expect.poll(async () => Number(await page.getByTestId('hud-fps').textContent()), { timeout: 90_000 }).toBeGreaterThan(0);
    await page.waitForTimeout(3000); // past the start, when the audio thread may still skip render quanta
    await page.getByTestId('record').click();
    await page.waitForTimeout(seconds * 1000);
    await page.getByTestId('record').click();
    const link = page.getByTestId('download');
    await expect(link).toHaveAttribute('download', /\.webm$/, { timeout: 60_000 });
    const bytes = await link.evaluate(async (a: HTMLAnchorElement) => Array.from(new Uint8Array(await (await fetch(a.href)).arrayBuffer())));
    const file = resolve(FIXTURES, 'avsync-recording.webm');
    writeFileSync(file, Uint8Array.from(bytes));
    const live = (await page.evaluate(() => (globalThis as unknown as { lipsyncDebug: { stats(): unknown } }).lipsyncDebug.stats())) as LiveStatus;
    return { ...measureAvOffset(file), live };
  } finally {
    await page.close();
  }
}
