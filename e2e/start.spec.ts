/**
 * Starting live mode, as a user sees it, in Debian Chromium with the fake camera + mic (a real talking-face
 * clip) and the real workers and shipped generator: the start reports its steps (model bytes, face tracker,
 * generator, warm-up); the output view shows the camera with a "warming up" badge until the first generated
 * frame, never a black box; Cancel during warm-up releases everything (worker, camera, mic, AudioContext)
 * without an error, and Start works again.
 */
import { expect, test, chromium, type Browser, type Locator, type Page } from '@playwright/test';
import { PNG } from 'pngjs';
import { BASE_FLAGS, fakeDeviceFlags, watchConsole } from './chromium.ts';
import { CHROMIUM, PORT } from '../playwright.config.ts';

const ORIGIN = `http://127.0.0.1:${PORT}`;
let browser: Browser;

test.beforeAll(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...BASE_FLAGS, ...fakeDeviceFlags()] });
});
test.afterAll(async () => browser?.close());

type Probe = { audioContexts: AudioContext[]; streams: MediaStream[]; stepLog: string[]; viewLog: string[] };

/**
 * Keeps handles on what a start opens (every AudioContext, every getUserMedia stream) so the test can check
 * that Cancel released them, and logs every state the start-steps list goes through (it hides after the
 * first frame), and every state of the output view at each change of the page: warming-up badge shown, camera
 * under it playing, output video holding a frame. Nothing is replaced: the real constructors and getUserMedia run.
 */
function instrument(): void {
  const probe: Probe = { audioContexts: [], streams: [], stepLog: [], viewLog: [] };
  (globalThis as unknown as { __probe: Probe }).__probe = probe;
  const Native = globalThis.AudioContext;
  globalThis.AudioContext = class extends Native {
    constructor(options?: AudioContextOptions) {
      super(options);
      probe.audioContexts.push(this);
    }
  };
  const gum = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async (c?: MediaStreamConstraints) => {
    const s = await gum(c);
    probe.streams.push(s);
    return s;
  };
  /** The output view as the user sees it now; on every change of the page and every 10 ms (a video's frames and srcObject are no DOM change). */
  const recordView = () => {
    const output = document.querySelector<HTMLVideoElement>('[data-testid=output-view]');
    const camera = document.querySelector<HTMLVideoElement>('[data-testid=output-camera]');
    const view = [
      `badge=${document.querySelector('[data-testid=warming-up]') ? 1 : 0}`,
      `camera=${camera?.srcObject ? 1 : 0}`,
      `output=${output && output.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA ? 1 : 0}`,
    ].join(' ');
    if (probe.viewLog[probe.viewLog.length - 1] !== view) probe.viewLog.push(view);
  };
  setInterval(recordView, 10);
  new MutationObserver(() => {
    for (const li of document.querySelectorAll('[data-testid^=start-step-]')) {
      const line = `${li.getAttribute('data-testid')}|${li.getAttribute('data-status')}|${li.textContent}`;
      if (!probe.stepLog.some((l) => l.startsWith(`${line}|`))) probe.stepLog.push(`${line}|${Math.round(performance.now())}`);
    }
    recordView();
  }).observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
}

async function openApp(query = ''): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext();
  await context.addInitScript(instrument);
  const page = await context.newPage();
  const errors = watchConsole(page);
  await page.goto(`${ORIGIN}/${query}`);
  return { page, errors };
}

/** Mean luminance of the middle of an element as painted on screen (the fixture's face fills x 80–560 of 640). */
async function centreLuma(el: Locator): Promise<number> {
  const png = PNG.sync.read(await el.screenshot());
  let sum = 0;
  let n = 0;
  for (let y = Math.floor(png.height * 0.2); y < png.height * 0.8; y += 2) {
    for (let x = Math.floor(png.width * 0.3); x < png.width * 0.7; x += 2) {
      const i = (y * png.width + x) * 4;
      sum += 0.299 * png.data[i] + 0.587 * png.data[i + 1] + 0.114 * png.data[i + 2];
      n++;
    }
  }
  return sum / n;
}

const outputHasFrame = (page: Page) =>
  page.getByTestId('output-view').evaluate((v: HTMLVideoElement) => v.srcObject !== null && v.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA);

test('start shows its steps, and the camera with a "warming up" badge until the first generated frame', async () => {
  test.setTimeout(240_000);
  const { page, errors } = await openApp();
  const output = page.locator('[data-testid=output-frame] .stack');
  const blackLuma = await centreLuma(output);
  const t0 = Date.now();
  await page.getByTestId('start').click();
  await expect(page.getByTestId('start-steps')).toBeVisible();

  // The camera appears in the output view while the generator is still loading.
  await expect.poll(() => centreLuma(output), { timeout: 60_000, intervals: [100] }).toBeGreaterThan(blackLuma + 25);
  const cameraShownMs = Date.now() - t0;
  // The badge and the camera under it came while the output had no frame yet. Read from the page's own log of the
  // view's states: with a fast generator the first frame can follow within one screenshot of the camera showing.
  const viewLog = await page.evaluate(() => (globalThis as unknown as { __probe: Probe }).__probe.viewLog);
  expect(viewLog, 'the camera with the warming-up badge, before any generated frame').toContain('badge=1 camera=1 output=0');

  await expect(page.getByTestId('start')).toHaveText('Stop', { timeout: 120_000 });
  const readyMs = Date.now() - t0;
  // Until the first generated frame the badge stays and the view is never black; then the output takes over.
  while (await page.getByTestId('warming-up').isVisible()) {
    expect(await centreLuma(output)).toBeGreaterThan(blackLuma + 25);
    await page.waitForTimeout(100);
  }
  const firstFrameMs = Date.now() - t0;
  expect(await outputHasFrame(page)).toBe(true);
  expect(await centreLuma(output)).toBeGreaterThan(blackLuma + 25);
  await expect(page.getByTestId('start-steps')).toBeHidden();
  console.log(
    `start e2e: camera shown in the output view after ${cameraShownMs} ms, ready (Stop) after ${readyMs} ms, first generated frame after ${firstFrameMs} ms`,
  );

  const log = await page.evaluate(() => (globalThis as unknown as { __probe: Probe }).__probe.stepLog);
  const seen = (step: string, status: string, text: RegExp = /./) => log.some((l) => l.startsWith(`start-step-${step}|${status}|`) && text.test(l));
  // Model download with bytes received of the total, then each step reported done in turn.
  expect(seen('model', 'active', /\d+\.\d \/ \d+\.\d MB \(\d+ %\)/) || seen('model', 'done', /\d+\.\d \/ \d+\.\d MB \(100 %\)/), log.join('\n')).toBe(true);
  for (const step of ['sources', 'model', 'face-model', 'generator', 'warmup']) expect(seen(step, 'done'), `${step} done\n${log.join('\n')}`).toBe(true);
  expect(seen('warmup', 'active', /Warming up the generator/), log.join('\n')).toBe(true);
  expect(seen('generator', 'done', /on (wasm|webgpu)/)).toBe(true);

  await page.getByTestId('start').click();
  await expect(page.getByTestId('start')).toHaveText('Start');
  expect(errors).toEqual([]);
  await page.context().close();
});

test('Cancel during warm-up stops the worker, camera, mic and audio, shows no error, and Start works again', async () => {
  test.setTimeout(300_000);
  const { page, errors } = await openApp();
  await page.getByTestId('start').click();
  // Cancel while the generator is being set up (the worker runs, the camera is open).
  await expect(
    page
      .locator(
        '[data-testid=start-step-face-model][data-status=active], [data-testid=start-step-generator][data-status=active], [data-testid=start-step-warmup][data-status=active]',
      )
      .first(),
  ).toBeAttached({ timeout: 60_000 });
  // The inference worker (and, once the generator's wasm has started, its threads: nested workers count too).
  expect(page.workers().length, 'the inference worker is running').toBeGreaterThanOrEqual(1);
  await expect(page.getByTestId('start')).toHaveText('Starting…');
  const t0 = Date.now();
  await page.getByTestId('cancel-start').click();
  await expect(page.getByTestId('start')).toHaveText('Start', { timeout: 5_000 });
  await expect(page.getByTestId('start')).toBeEnabled();
  const cancelMs = Date.now() - t0;
  console.log(`start e2e: Cancel took effect after ${cancelMs} ms`);

  await expect(page.getByTestId('cancel-start')).toHaveCount(0);
  await expect(page.getByTestId('msg-start-cancelled')).toContainText('Start cancelled');
  await expect(page.locator('.msg.error, .msg.warning')).toHaveCount(0);
  await expect.poll(() => page.workers().length, { timeout: 5_000 }).toBe(0);
  const released = await page.evaluate(() => {
    const p = (globalThis as unknown as { __probe: Probe }).__probe;
    return {
      streams: p.streams.length,
      liveTracks: p.streams
        .flatMap((s) => s.getTracks())
        .filter((t) => t.readyState !== 'ended')
        .map((t) => t.kind),
      contexts: p.audioContexts.map((c) => c.state),
    };
  });
  expect(released.streams).toBeGreaterThanOrEqual(1);
  expect(released.liveTracks, 'camera and microphone tracks still live after Cancel').toEqual([]);
  expect(released.contexts.length).toBeGreaterThanOrEqual(1);
  expect(new Set(released.contexts)).toEqual(new Set(['closed']));
  await expect(page.getByTestId('warming-up')).toHaveCount(0);
  expect(await page.getByTestId('camera-view').evaluate((v: HTMLVideoElement) => v.srcObject)).toBeNull();

  // Start works again, all the way to generated frames.
  await page.getByTestId('start').click();
  await expect(page.getByTestId('start')).toHaveText('Stop', { timeout: 120_000 });
  await expect.poll(async () => Number(await page.getByTestId('hud-fps').textContent()), { timeout: 90_000 }).toBeGreaterThan(0);
  await expect.poll(() => outputHasFrame(page), { timeout: 30_000 }).toBe(true);
  await page.getByTestId('start').click();
  await expect(page.getByTestId('start')).toHaveText('Start');
  expect(errors).toEqual([]);
  await page.context().close();
});
