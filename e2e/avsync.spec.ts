/**
 * End-to-end audio–video offset of the live output's recording (a correctness property, not a speed target): the
 * clapper generator paints the lower face bright while its audio window's centre is loud; the mic plays irregular
 * noise bursts. The recording made with the app's Record button must keep picture and sound within ±40 ms.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { expect, test, chromium, type Browser } from '@playwright/test';
import { BASE_FLAGS, FIXTURES, fakeDeviceFlags } from './chromium.ts';
import { CHROMIUM, PORT } from '../playwright.config.ts';
import { measureAvOffset } from '../tools/recordingAvOffset.ts';

let browser: Browser;
test.beforeAll(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...BASE_FLAGS, ...fakeDeviceFlags('clapper')] });
});
test.afterAll(async () => browser?.close());

test('recorded output: lips (clapper) and sound stay within ±40 ms', async () => {
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${PORT}/?model=test-models/clapper/manifest.json&backend=wasm`);
  await page.getByTestId('start').click();
  await expect(page.getByTestId('start')).toHaveText('Stop', { timeout: 120_000 });
  await expect.poll(async () => Number(await page.getByTestId('hud-fps').textContent()), { timeout: 90_000 }).toBeGreaterThan(0);
  await page.waitForTimeout(3000); // past the start, when the audio thread may still skip render quanta
  await page.getByTestId('record').click();
  await page.waitForTimeout(12_000);
  await page.getByTestId('record').click();
  const link = page.getByTestId('download');
  await expect(link).toHaveAttribute('download', /\.webm$/);
  const bytes = await link.evaluate(async (a: HTMLAnchorElement) => Array.from(new Uint8Array(await (await fetch(a.href)).arrayBuffer())));
  const file = resolve(FIXTURES, 'avsync-recording.webm');
  writeFileSync(file, Uint8Array.from(bytes));
  const m = measureAvOffset(file);
  console.log(JSON.stringify(await page.evaluate(() => (globalThis as unknown as { lipsyncDebug: { stats(): unknown } }).lipsyncDebug.stats())));
  console.log(`A/V offset ${m.offsetMs} ms (r ${m.r.toFixed(2)}, ${m.frames} frames)`);
  expect(m.r).toBeGreaterThan(0.5);
  expect(Math.abs(m.offsetMs)).toBeLessThanOrEqual(40);
  await page.close();
});
