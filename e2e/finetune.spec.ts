/**
 * Fine-tune mode end to end in Debian Chromium: the fake camera + mic (a real talking-face clip) are
 * recorded, the clip is prepared and the small test generator trained a few steps in the training worker;
 * validation loss must go down; the model is saved to IndexedDB, hot-swapped into the running live
 * session, and still listed after a reload.
 */
import { expect, test, chromium, type Browser, type Page } from '@playwright/test';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BASE_FLAGS, fakeDeviceFlags } from './chromium.ts';
import { CHROMIUM, PORT } from '../playwright.config.ts';

const ORIGIN = `http://127.0.0.1:${PORT}`;
const QUERY = `?model=test-models/small/manifest.json${process.env.E2E_TRAIN_BACKEND ? `&trainBackend=${process.env.E2E_TRAIN_BACKEND}` : ''}`;
let browser: Browser;

test.beforeAll(async () => {
  // E2E_WEBGPU=1 exposes Chromium's SwiftShader WebGPU adapter (for measuring the webgpu training backend).
  const webgpu = process.env.E2E_WEBGPU ? ['--enable-unsafe-webgpu'] : [];
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...BASE_FLAGS, ...fakeDeviceFlags(), ...webgpu] });
});
test.afterAll(async () => browser?.close());

async function startLive(page: Page): Promise<void> {
  await page.getByTestId('start').click();
  await expect(page.getByTestId('start')).toHaveText('Stop', { timeout: 120_000 });
}

test('record, train, validation loss goes down, save, hot-swap, reload still lists it', async () => {
  test.setTimeout(600_000);
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  // Live mode is started only for the hot swap: 2 cores are shared with training here.
  await page.goto(`${ORIGIN}/${QUERY}`);
  await page.getByTestId('open-finetune').click();
  await page.getByTestId('record-seconds').fill('4');
  await page.getByTestId('train-steps').fill('20');
  await page.getByTestId('record-train').click();
  await expect(page.getByTestId('level-meter')).toBeVisible();
  const panel = page.getByTestId('finetune');
  await expect(panel).toHaveAttribute('data-phase', 'training', { timeout: 240_000 });
  await expect(page.getByTestId('train-backend')).toContainText(/Training on (webgpu|webgl|cpu)/);
  await expect(panel).toHaveAttribute('data-phase', 'done', { timeout: 400_000 });
  const stage = await page.getByTestId('finetune-stage').textContent();
  console.log(`fine-tune e2e: ${stage} [${await page.getByTestId('train-backend').textContent()}]`);

  const val = await page.getByTestId('val-point').evaluateAll((els) => els.map((e) => ({ step: Number(e.getAttribute('data-step')), loss: Number(e.getAttribute('data-loss')) })));
  expect(val.length).toBeGreaterThanOrEqual(2);
  expect(val[0].step).toBe(0);
  expect(val.at(-1)!.step).toBe(20);
  expect(val.at(-1)!.loss).toBeLessThan(val[0].loss);
  await expect(page.getByTestId('preview-prediction')).toBeVisible();

  await page.getByTestId('model-name').fill('e2e voice');
  await page.getByTestId('save-model').click();
  const saved = page.locator('[data-testid=saved-model][data-name="e2e voice"]');
  await expect(saved).toBeVisible();

  await startLive(page);
  await saved.getByTestId('use-model').click();
  await expect(page.getByTestId('msg-model')).toContainText('Now using "e2e voice"', { timeout: 60_000 });
  await expect(saved).toContainText('(in use)');
  // Still live after the swap.
  await expect(page.getByTestId('start')).toHaveText('Stop');

  await page.reload();
  await page.getByTestId('open-finetune').click();
  await expect(page.locator('[data-testid=saved-model][data-name="e2e voice"]')).toBeVisible();
  expect(errors).toEqual([]);
  await context.close();
});

test('a file that is not a video and a clip without audio get clear messages', async () => {
  test.setTimeout(180_000);
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${ORIGIN}/${QUERY}`);
  await page.getByTestId('open-finetune').click();
  const dir = mkdtempSync(join(tmpdir(), 'ft-e2e-'));
  const notVideo = join(dir, 'notes.mp4');
  writeFileSync(notVideo, 'this is not a video');
  await page.getByTestId('import-clip').setInputFiles(notVideo);
  await expect(page.getByTestId('msg-not-a-video')).toContainText(/not a video/, { timeout: 60_000 });

  // A silent-track-free video: frames only, made in the page with MediaRecorder.
  const webm = await page.evaluate(async () => {
    const c = document.createElement('canvas');
    c.width = 64;
    c.height = 64;
    const g = c.getContext('2d')!;
    const stream = c.captureStream(25);
    const rec = new MediaRecorder(stream, { mimeType: 'video/webm' });
    const chunks: Blob[] = [];
    rec.ondataavailable = (e) => chunks.push(e.data);
    rec.start(100);
    for (let i = 0; i < 10; i++) {
      g.fillStyle = `rgb(${i * 20},0,0)`;
      g.fillRect(0, 0, 64, 64);
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise<void>((r) => ((rec.onstop = () => r()), rec.stop()));
    return Array.from(new Uint8Array(await new Blob(chunks).arrayBuffer()));
  });
  const noAudio = join(dir, 'silent.webm');
  writeFileSync(noAudio, Uint8Array.from(webm));
  await page.getByTestId('import-clip').setInputFiles(noAudio);
  await expect(page.getByTestId('msg-no-audio')).toContainText(/no audio/, { timeout: 60_000 });
  await context.close();
});

test('a recording too short for the reference rule is refused, saying how long to record', async () => {
  test.setTimeout(240_000);
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${ORIGIN}/${QUERY}`);
  await page.getByTestId('open-finetune').click();
  await page.getByTestId('record-seconds').fill('2');
  await page.getByTestId('record-train').click();
  await expect(page.getByTestId('msg-clip-too-short')).toContainText(/too short.*Record at least 2\.8 s/, { timeout: 200_000 });
  await expect(page.getByTestId('finetune')).toHaveAttribute('data-phase', 'failed');
  await context.close();
});
