/**
 * End-to-end audio–video offset of the live output's recording (a correctness property, not a speed target): the
 * clapper generator paints the lower face bright while its audio window's centre is loud; the mic plays irregular
 * noise bursts. The recording made with the app's Record button must keep picture and sound within ±40 ms.
 */
import { expect, test, chromium, type Browser } from '@playwright/test';
import { BASE_FLAGS, fakeDeviceFlags } from './chromium.ts';
import { recordClapperOffset } from './clapperRecording.ts';
import { CHROMIUM, PORT } from '../playwright.config.ts';

let browser: Browser;
test.beforeAll(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...BASE_FLAGS, ...fakeDeviceFlags('clapper')] });
});
test.afterAll(async () => browser?.close());

test('recorded output: lips (clapper) and sound stay within ±40 ms', async () => {
  const m = await recordClapperOffset(browser, `http://127.0.0.1:${PORT}`);
  console.log(`A/V offset ${m.offsetMs} ms (r ${m.r.toFixed(2)}, ${m.frames} frames; read → output ${m.live.stages.total?.mean.toFixed(0)} ms)`);
  expect(m.r).toBeGreaterThan(0.5);
  expect(Math.abs(m.offsetMs)).toBeLessThanOrEqual(40);
});
