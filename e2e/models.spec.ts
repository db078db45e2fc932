/**
 * Where a generator may come from, end to end in the built app: a `?model=` on another site waits for the user's
 * click and is named in the HUD; manifests whose `model` tries to leave their folder are refused before anything
 * is fetched; a missing file on an SPA host reads "missing"; hot swaps across crop sizes lose no frame; and the
 * frame counters add up.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { expect, test, chromium, type Browser, type Page } from '@playwright/test';
import { BASE_FLAGS, fakeDeviceFlags } from './chromium.ts';
import { MODEL_BYPASSES, TEST_MODEL_96_DIR, TEST_MODEL_DIR } from './prepare.ts';
import { CHROMIUM, PORT } from '../playwright.config.ts';
import type { LiveStatus } from '../src/workers/protocol.ts';

const ORIGIN = `http://127.0.0.1:${PORT}`;
let browser: Browser;

test.beforeAll(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...BASE_FLAGS, ...fakeDeviceFlags()] });
});
test.afterAll(async () => browser?.close());

async function openApp(query: string): Promise<{ page: Page; requests: string[] }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const requests: string[] = [];
  context.on('request', (r) => requests.push(r.url()));
  await page.goto(`${ORIGIN}/${query}`);
  return { page, requests };
}

/** The latest stats, or undefined until the worker has sent its first report (Stop can show before that). */
const liveStats = (page: Page) => page.evaluate(() => (globalThis as unknown as { lipsyncDebug: { stats(): LiveStatus | undefined } }).lipsyncDebug.stats());
const framesOut = async (page: Page): Promise<number> => (await liveStats(page))?.framesOut ?? 0;

const modelFile = (dir: string): string => JSON.parse(readFileSync(resolve(dir, 'manifest.json'), 'utf8')).model;

/** Another site serving the small test generator with CORS, and the paths it was asked for. */
async function otherSite(): Promise<{ server: Server; origin: string; served: string[] }> {
  const served: string[] = [];
  const server = createServer((req, res) => {
    served.push(req.url ?? '');
    const file = req.url === '/manifest.json' ? 'manifest.json' : req.url === `/${modelFile(TEST_MODEL_DIR)}` ? modelFile(TEST_MODEL_DIR) : undefined;
    if (!file) return void res.writeHead(404).end();
    res.writeHead(200, { 'Access-Control-Allow-Origin': '*', 'Cross-Origin-Resource-Policy': 'cross-origin' });
    res.end(readFileSync(resolve(TEST_MODEL_DIR, file)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, served };
}

test('?model= on another site waits for a click, then runs and the HUD names the site; declining never contacts it', async () => {
  const site = await otherSite();
  try {
    const query = `?model=${encodeURIComponent(`${site.origin}/manifest.json`)}`;
    const { page } = await openApp(query);
    await expect(page.getByTestId('foreign-model')).toContainText(site.origin);
    // Start without choosing: nothing starts, nothing is fetched, and the message says what to do.
    await page.getByTestId('start').click();
    await expect(page.getByTestId('msg-foreign-model')).toContainText(/choose/i);
    await expect(page.getByTestId('start')).toHaveText('Start');
    expect(site.served).toEqual([]);

    await page.getByTestId('foreign-model-load').click();
    await expect(page.getByTestId('foreign-model')).toBeHidden();
    await page.getByTestId('start').click();
    await expect(page.getByTestId('start')).toHaveText('Stop', { timeout: 120_000 });
    await expect(page.getByTestId('hud-model-origin')).toContainText(site.origin);
    expect(site.served).toEqual(['/manifest.json', `/${modelFile(TEST_MODEL_DIR)}`]);
    await page.getByTestId('start').click();
    await expect(page.getByTestId('start')).toHaveText('Start');
    await page.context().close();

    const declined = await openApp(query);
    await declined.page.getByTestId('foreign-model-default').click();
    await declined.page.getByTestId('start').click();
    await expect(declined.page.getByTestId('start')).toHaveText('Stop', { timeout: 120_000 });
    await expect(declined.page.getByTestId('hud-model')).not.toHaveText('–');
    await expect(declined.page.getByTestId('hud-model-origin')).toHaveCount(0);
    expect(site.served).toHaveLength(2);
    expect(declined.requests.filter((u) => u.startsWith(site.origin))).toEqual([]);
    await declined.page.context().close();
  } finally {
    site.server.close();
  }
});

for (const [name, model] of Object.entries(MODEL_BYPASSES)) {
  test(`a manifest whose "model" is ${JSON.stringify(model)} (${name}) is refused and its target never fetched`, async () => {
    const { page, requests } = await openApp(`?model=e2e-media/bypass/${name}/manifest.json`);
    await page.getByTestId('start').click();
    await expect(page.locator('[data-testid^=msg-]').filter({ hasText: /"model"/ })).toContainText(
      /file name next to the manifest|outside the manifest's folder/,
    );
    await expect(page.getByTestId('start')).toHaveText('Start');
    const followed = requests.filter((u) => /:4274\/|\/cors\/|\/models\/generator\.onnx/.test(u));
    expect(followed).toEqual([]);
    await page.context().close();
  });
}

test('on a host that answers missing files with its web page, a missing manifest or model says "missing"', async () => {
  for (const manifest of ['models/not-there/manifest.json', 'e2e-media/missing-onnx/manifest.json']) {
    const { page } = await openApp(`?model=${manifest}`);
    await page.getByTestId('start').click();
    await expect(page.locator('.msg.error')).toContainText(/is missing \(the server returned a web page/);
    await expect(page.locator('.msg.error')).not.toContainText(/wire type|not valid JSON/);
    await expect(page.getByTestId('start')).toHaveText('Start');
    await page.context().close();
  }
});

test('hot swap 128² → 96² → 128²: no failed frame, no warning, frames keep coming', async () => {
  const { page } = await openApp('?model=test-models/small/manifest.json');
  await page.getByTestId('start').click();
  await expect(page.getByTestId('start')).toHaveText('Stop', { timeout: 120_000 });
  await expect.poll(() => framesOut(page), { timeout: 60_000 }).toBeGreaterThan(0);
  const files = (dir: string, label: string) => [
    { name: `${label}.onnx`, mimeType: 'application/octet-stream', buffer: readFileSync(resolve(dir, modelFile(dir))) },
    { name: 'manifest.json', mimeType: 'application/json', buffer: readFileSync(resolve(dir, 'manifest.json')) },
  ];
  for (const [dir, label] of [
    [TEST_MODEL_96_DIR, 'small96'],
    [TEST_MODEL_DIR, 'small128'],
    [TEST_MODEL_96_DIR, 'small96-again'],
  ] as const) {
    const before = await framesOut(page);
    await page.getByTestId('model-file').setInputFiles(files(dir, label));
    await expect(page.getByTestId('msg-model')).toContainText(`${label}.onnx`);
    await expect.poll(() => framesOut(page), { timeout: 60_000 }).toBeGreaterThan(before + 10);
  }
  const s = (await liveStats(page))!;
  expect(s.droppedBy.failed).toBe(0);
  await expect(page.locator('.msg.warning, .msg.error')).toHaveCount(0);
  await page.context().close();
});

test('honest counters: over 20 s every frame the camera offered is out, dropped with a reason, or in flight (±2)', async () => {
  const { page } = await openApp('?model=test-models/small/manifest.json');
  await page.getByTestId('start').click();
  await expect(page.getByTestId('start')).toHaveText('Stop', { timeout: 120_000 });
  await page.waitForTimeout(20_000);
  const s = (await liveStats(page))!;
  const dropped = Object.values(s.droppedBy).reduce((a, b) => a + b, 0);
  expect(dropped).toBe(s.dropped);
  expect(s.framesOffered).toBeGreaterThan(15 * 20); // the camera's frames (25 fps for 20 s and more), not the output's
  expect(s.framesOut).toBeGreaterThan(0);
  expect(s.framesOffered).toBeGreaterThan(s.framesOut);
  expect(Math.abs(s.framesOffered - s.framesOut - s.dropped - s.inFlight)).toBeLessThanOrEqual(2);
  await page.context().close();
});

test('?backend=webgpu on a software adapter runs, but warns that it will be slow and what to choose instead', async () => {
  const gpuBrowser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...BASE_FLAGS, ...fakeDeviceFlags(), '--enable-unsafe-webgpu', '--enable-features=Vulkan'],
  });
  try {
    const page = await gpuBrowser.newPage();
    await page.goto(`${ORIGIN}/?backend=webgpu&model=test-models/small/manifest.json`);
    await page.getByTestId('start').click();
    await expect(page.getByTestId('start')).toHaveText('Stop', { timeout: 180_000 });
    await expect(page.getByTestId('hud-backend')).toContainText('webgpu');
    const msg = page.getByTestId('msg-backend');
    await expect(msg).toContainText(/software-rendered.*Choose Auto or wasm/);
    await expect(msg).toHaveClass(/warning/);
  } finally {
    await gpuBrowser.close();
  }
});
