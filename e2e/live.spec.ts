/**
 * Live mode end to end: Debian Chromium, fake camera + mic fed by a real talking-face clip,
 * the real workers, onnxruntime-web and the Face Mesh network.
 */
import { expect, test, chromium, type Browser, type Page } from '@playwright/test';
import { BASE_FLAGS, fakeDeviceFlags, mainThreadTasks, openPageVideoFrames, trackPageVideoFrames, watchConsole } from './chromium.ts';
import { CHROMIUM, PORT } from '../playwright.config.ts';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** The generator build wasm runs (its name, and its ONNX path under the app): the shipped cpu variant if any. */
function shippedCpuModel(): { name: string; path: string } {
  type M = { name: string; model: string; variants?: { cpu?: string } };
  const main = JSON.parse(readFileSync(resolve(import.meta.dirname, '../public/models/manifest.json'), 'utf8')) as M;
  if (!main.variants?.cpu) return { name: main.name, path: `models/${main.model}` };
  const cpu = JSON.parse(readFileSync(resolve(import.meta.dirname, '../public/models', main.variants.cpu), 'utf8')) as M;
  return { name: cpu.name, path: `models/${dirname(main.variants.cpu)}/${cpu.model}` };
}

const ORIGIN = `http://127.0.0.1:${PORT}`;
let browser: Browser;

test.beforeAll(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...BASE_FLAGS, ...fakeDeviceFlags()] });
});
test.afterAll(async () => browser?.close());

/** Opens the app and records console errors and every request that leaves the page's origin. */
async function openApp(query = ''): Promise<{ page: Page; consoleErrors: string[]; offOrigin: string[]; onnx: string[] }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.addInitScript(trackPageVideoFrames);
  const consoleErrors = watchConsole(page);
  const offOrigin: string[] = [];
  const onnx: string[] = [];
  context.on('request', (r) => {
    const url = r.url();
    if (url.endsWith('.onnx')) onnx.push(new URL(url).pathname);
    if (!url.startsWith(ORIGIN) && !url.startsWith('blob:') && !url.startsWith('data:')) offOrigin.push(url);
  });
  await page.goto(`${ORIGIN}/${query}`);
  return { page, consoleErrors, offOrigin, onnx };
}

/**
 * Grabs camera and output frames with equal timestamps (the worker keeps each camera frame's
 * timestamp on its output frame) and compares them pixel by pixel in the page.
 */
async function compareFrames(page: Page, pairs: number) {
  return page.evaluate(async (wanted) => {
    type Proc = new (i: { track: MediaStreamTrack }) => { readable: ReadableStream<VideoFrame> };
    const Processor = (globalThis as unknown as { MediaStreamTrackProcessor: Proc }).MediaStreamTrackProcessor;
    const cam = (document.querySelector('[data-testid=camera-view]') as HTMLVideoElement).srcObject as MediaStream;
    const out = (document.querySelector('[data-testid=output-view]') as HTMLVideoElement).srcObject as MediaStream;
    const toPixels = (f: VideoFrame) => {
      const c = new OffscreenCanvas(f.displayWidth, f.displayHeight);
      const g = c.getContext('2d')!;
      g.drawImage(f, 0, 0);
      return g.getImageData(0, 0, c.width, c.height);
    };
    const camFrames = new Map<number, ImageData>();
    // Clones, so the app’s own tracks are untouched; stopped at the end, and every frame read here is closed.
    const camClone = cam.getVideoTracks()[0].clone();
    const outClone = out.getVideoTracks()[0].clone();
    const camReader = new Processor({ track: camClone }).readable.getReader();
    const outReader = new Processor({ track: outClone }).readable.getReader();
    let stop = false;
    // Reads until the clone ends, closing every frame (once stopped, without looking at it).
    const camLoop = (async () => {
      for (;;) {
        const { value, done } = await camReader.read();
        if (done || !value) break;
        if (!stop) camFrames.set(value.timestamp, toPixels(value));
        value.close();
        if (camFrames.size > 200) camFrames.delete(camFrames.keys().next().value!);
      }
    })();
    const results: { top: number; changed: number; bbox: number[]; width: number; height: number; outHash: number }[] = [];
    const deadline = performance.now() + 90_000;
    while (results.length < wanted && performance.now() < deadline) {
      const { value } = await outReader.read();
      if (!value) break;
      const ts = value.timestamp;
      const outPx = toPixels(value);
      value.close();
      await new Promise((r) => setTimeout(r, 30));
      const camPx = camFrames.get(ts);
      if (!camPx || camPx.width !== outPx.width) continue;
      const { width, height } = outPx;
      let topSum = 0;
      let topN = 0;
      let changed = 0;
      let hash = 0;
      const bbox = [width, height, -1, -1];
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const i = (y * width + x) * 4;
          const d =
            (Math.abs(camPx.data[i] - outPx.data[i]) + Math.abs(camPx.data[i + 1] - outPx.data[i + 1]) + Math.abs(camPx.data[i + 2] - outPx.data[i + 2])) / 3;
          hash = (hash + outPx.data[i] * ((x * 31 + y * 17) % 97)) % 1_000_000_007;
          if (y < height * 0.4) {
            topSum += d;
            topN++;
          }
          if (d > 12) {
            changed++;
            bbox[0] = Math.min(bbox[0], x);
            bbox[1] = Math.min(bbox[1], y);
            bbox[2] = Math.max(bbox[2], x);
            bbox[3] = Math.max(bbox[3], y);
          }
        }
      }
      results.push({ top: topSum / topN, changed, bbox, width, height, outHash: hash });
    }
    // End the clones, then drain: cancel() would drop frames still queued in the streams without closing them.
    stop = true;
    camClone.stop();
    outClone.stop();
    await camLoop;
    for (let r = await outReader.read(); !r.done; r = await outReader.read()) r.value?.close();
    return results;
  }, pairs);
}

test('live mode: lips are re-synthesised, the rest of the frame is untouched, HUD reports', async () => {
  const { page, consoleErrors, offOrigin, onnx } = await openApp(process.env.E2E_QUERY ?? '');
  await page.getByTestId('start').click();
  await expect(page.getByTestId('start')).toHaveText('Stop', { timeout: 120_000 });
  await expect(page.getByTestId('hud-backend')).toContainText(/wasm|webgpu/);
  // Headless Chromium has no real GPU: the app falls back to wasm and says why.
  await expect(page.getByTestId('msg-backend')).toContainText(/wasm/);
  // ...and tracks faces on the CPU with the plain Face Mesh, and says so.
  await expect(page.getByTestId('hud-landmarks')).toContainText('wasm, plain mesh');
  // ...and runs the shipped generator's cheaper cpu build there (only that one downloaded), and says which.
  if (!process.env.E2E_QUERY?.includes('model=')) {
    const cpu = shippedCpuModel();
    await expect(page.getByTestId('hud-model')).toHaveText(cpu.name);
    expect(onnx).toEqual([`/${cpu.path}`]);
  }
  await expect.poll(async () => Number(await page.getByTestId('hud-fps').textContent()), { timeout: 90_000 }).toBeGreaterThan(0);

  const frames = await compareFrames(page, 6);
  expect(frames.length, 'matched camera/output frame pairs').toBeGreaterThanOrEqual(4);
  for (const f of frames) {
    // Upper 40% of the frame (eyes, forehead, background) matches the camera.
    expect(f.top).toBeLessThan(3);
    // The mouth region was re-synthesised: a visible patch changed...
    expect(f.changed).toBeGreaterThan(200);
    // ...and it lies in the lower face: the clip fills x 80..560 (the paste may feather a few
    // pixels past a crop edge), its mouth sits below mid-height.
    const [x0, y0, x1, y1] = f.bbox;
    expect(y0).toBeGreaterThan(f.height * 0.4);
    expect(x0).toBeGreaterThan(60);
    expect(x1).toBeLessThan(580);
    expect(y1 - y0).toBeLessThan(f.height * 0.5);
  }
  // The output moves from frame to frame.
  expect(new Set(frames.map((f) => f.outHash)).size).toBeGreaterThan(1);

  await expect(page.getByTestId('hud-latency')).toContainText('ms');
  // The mouth placement reads outputs back (one in four, with the face tracker) and has learnt where this face's mouth is.
  await expect(page.getByTestId('hud-mouth-shift')).toHaveText(/[←→] \d+\.\d %\s+[↑↓] \d+\.\d %/, { timeout: 60_000 });
  // The shipped generator has no articulation input: the HUD does not show a mouth range it would not use.
  await expect(page.getByTestId('hud-articulation')).toHaveCount(0);
  // It has the openingGain input: the HUD says how far the mouth is opened against the model as trained.
  await expect(page.getByTestId('hud-opening-gain')).toHaveText(/^(as trained|× (0\.[4-9]\d|1\.00))$/);
  // Honest counters: every frame the camera produced was either output or counted as dropped, whatever the reason
  // (the few in flight at the moment of reading aside).
  const counts = (await page.evaluate(() => (globalThis as unknown as { lipsyncDebug: { stats(): unknown } }).lipsyncDebug.stats())) as {
    framesOffered: number;
    framesOut: number;
    dropped: number;
    openingGain: number | null;
  };
  expect(counts.openingGain).toBeGreaterThanOrEqual(0.4);
  expect(counts.openingGain).toBeLessThanOrEqual(1);
  expect(counts.framesOffered).toBeGreaterThan(counts.framesOut);
  expect(Math.abs(counts.framesOffered - counts.framesOut - counts.dropped)).toBeLessThanOrEqual(6);
  expect(consoleErrors).toEqual([]);
  expect(offOrigin).toEqual([]);
  await page.getByTestId('start').click();
  await expect(page.getByTestId('start')).toHaveText('Start');
  await page.context().close();
});

test('face tracking on its own thread (?faceThread=own, the 4-core default): the same lip-sync, and Stop ends both threads', async () => {
  const { page, consoleErrors } = await openApp('?faceThread=own');
  await page.getByTestId('start').click();
  await expect(page.getByTestId('start')).toHaveText('Stop', { timeout: 120_000 });
  await expect(page.getByTestId('hud-landmarks')).toContainText('own thread');
  await expect.poll(async () => Number(await page.getByTestId('hud-fps').textContent()), { timeout: 90_000 }).toBeGreaterThan(0);
  const frames = await compareFrames(page, 4);
  expect(frames.length, 'matched camera/output frame pairs').toBeGreaterThanOrEqual(3);
  for (const f of frames) {
    expect(f.top).toBeLessThan(3);
    expect(f.changed).toBeGreaterThan(200);
    expect(f.bbox[1]).toBeGreaterThan(f.height * 0.4);
  }
  // The face thread also reads the outputs back for the mouth placement.
  await expect(page.getByTestId('hud-mouth-shift')).toHaveText(/[←→] \d+\.\d %\s+[↑↓] \d+\.\d %/, { timeout: 60_000 });
  await page.getByTestId('start').click();
  await expect(page.getByTestId('start')).toHaveText('Start');
  expect(await openPageVideoFrames(page)).toBe(0);
  // A second run starts a fresh face thread (the first one went with its worker).
  await page.getByTestId('start').click();
  await expect(page.getByTestId('start')).toHaveText('Stop', { timeout: 120_000 });
  await expect(page.getByTestId('hud-landmarks')).toContainText('own thread');
  await expect.poll(async () => Number(await page.getByTestId('hud-fps').textContent()), { timeout: 90_000 }).toBeGreaterThan(0);
  expect(consoleErrors).toEqual([]);
  await page.context().close();
});

test('live mode keeps the page responsive: no main-thread task does over 50 ms of work', async () => {
  const { page } = await openApp();
  await page.getByTestId('start').click();
  await expect(page.getByTestId('start')).toHaveText('Stop', { timeout: 120_000 });
  await expect.poll(async () => Number(await page.getByTestId('hud-fps').textContent()), { timeout: 90_000 }).toBeGreaterThan(0);
  // Starting may block briefly (the page wires streams, React mounts the views); live mode must not: the hot path
  // runs in workers, and the page only passes frames along and shows the HUD (4 updates a second).
  const tasks = await mainThreadTasks(browser, page, 10_000);
  const cpu = tasks.map((t) => t.cpuMs);
  const waited = tasks.filter((t) => t.wallMs > 50);
  console.log(
    `10 s of live mode: ${tasks.length} main-thread tasks, ${cpu.reduce((a, b) => a + b, 0).toFixed(0)} ms of work in all, the largest ${Math.max(...cpu).toFixed(1)} ms; ` +
      `${waited.length} over 50 ms of wall time, work and waiting for a core together (longest ${Math.max(0, ...waited.map((t) => t.wallMs)).toFixed(0)} ms)`,
  );
  expect(tasks.length, 'the trace saw the main thread').toBeGreaterThan(100);
  expect(await page.getByTestId('hud-fps').textContent()).not.toBe('0');
  expect(tasks.filter((t) => t.cpuMs > 50).map((t) => `${t.cpuMs.toFixed(0)} ms: ${t.work.join(', ')}`)).toEqual([]);
  await page.context().close();
});

test('a corrupt model file shows a message and the running model keeps going', async () => {
  const { page } = await openApp(process.env.E2E_QUERY ?? '');
  await page.getByTestId('start').click();
  await expect(page.getByTestId('start')).toHaveText('Stop', { timeout: 120_000 });
  const modelBefore = await page.getByTestId('hud-model').textContent();
  await page
    .getByTestId('model-file')
    .setInputFiles({ name: 'broken.onnx', mimeType: 'application/octet-stream', buffer: Buffer.from('this is not an onnx file at all') });
  await expect(page.getByTestId('msg-bad-model')).toContainText(/ONNX/i);
  await expect(page.getByTestId('hud-model')).toHaveText(modelBefore ?? '');
  // Live mode keeps producing frames with the previous model.
  await expect.poll(async () => Number(await page.getByTestId('hud-fps').textContent()), { timeout: 30_000 }).toBeGreaterThan(0);
  await page.context().close();
});

test('camera permission denied shows what to do', async () => {
  const denied = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...BASE_FLAGS, '--use-fake-device-for-media-stream', '--deny-permission-prompts'],
  });
  try {
    const page = await denied.newPage();
    await page.goto(`${ORIGIN}/`);
    await page.getByTestId('start').click();
    await expect(page.getByTestId('msg-camera-denied')).toContainText(/allow|permission/i);
    await expect(page.getByTestId('start')).toHaveText('Start');
  } finally {
    await denied.close();
  }
});

test('recording saves a playable WebM of the output', async () => {
  // The small test generator keeps this about recording, not about how fast a loaded CPU runs the model.
  const { page } = await openApp('?model=test-models/small/manifest.json');
  await page.getByTestId('start').click();
  await expect(page.getByTestId('start')).toHaveText('Stop', { timeout: 120_000 });
  await expect.poll(async () => Number(await page.getByTestId('hud-fps').textContent()), { timeout: 90_000 }).toBeGreaterThan(0);
  await page.getByTestId('record').click();
  await page.waitForTimeout(4000);
  await page.getByTestId('record').click();
  const link = page.getByTestId('download');
  await expect(link).toHaveAttribute('download', /\.webm$/);
  const header = await link.evaluate(async (a: HTMLAnchorElement) => {
    const blob = await (await fetch(a.href)).blob();
    return { size: blob.size, type: blob.type, magic: Array.from(new Uint8Array(await blob.slice(0, 4).arrayBuffer())) };
  });
  expect(header.type).toContain('webm');
  expect(header.magic).toEqual([0x1a, 0x45, 0xdf, 0xa3]); // EBML
  expect(header.size).toBeGreaterThan(10_000);
  await page.context().close();
});

test("a generator with the articulation input: the HUD shows the person's mouth range once learnt, and lips are re-synthesised", async () => {
  const { page, consoleErrors } = await openApp('?model=test-models/articulation/manifest.json');
  await page.getByTestId('start').click();
  await expect(page.getByTestId('start')).toHaveText('Stop', { timeout: 120_000 });
  await expect.poll(async () => Number(await page.getByTestId('hud-fps').textContent()), { timeout: 90_000 }).toBeGreaterThan(0);
  // After 25 faces the range is known: a speaking person's median and 90th-percentile opening, a few % of the crop.
  await expect(page.getByTestId('hud-articulation')).toHaveText(/^\d+\.\d \/ \d+\.\d %$/, { timeout: 90_000 });
  const [p50, p90] = (await page.getByTestId('hud-articulation').textContent())!.match(/[\d.]+/g)!.map(Number);
  expect(p90).toBeGreaterThan(p50);
  expect(p90).toBeGreaterThan(1);
  expect(p90).toBeLessThan(20);
  const frames = await compareFrames(page, 3);
  expect(frames.length).toBeGreaterThanOrEqual(2);
  for (const f of frames) {
    expect(f.top).toBeLessThan(3);
    expect(f.changed).toBeGreaterThan(200);
  }
  expect(consoleErrors).toEqual([]);
  await page.context().close();
});

test('no face in view: the output shows the camera unchanged and says so', async () => {
  const noFace = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...BASE_FLAGS, ...fakeDeviceFlags('noface')] });
  try {
    const page = await noFace.newPage();
    await page.goto(`${ORIGIN}/${process.env.E2E_QUERY ?? ''}`);
    await page.getByTestId('start').click();
    await expect(page.getByTestId('msg-no-face')).toContainText(/No face/i, { timeout: 120_000 });
    await expect.poll(async () => Number(await page.getByTestId('hud-fps').textContent()), { timeout: 60_000 }).toBeGreaterThan(0);
    const frames = await compareFrames(page, 3);
    expect(frames.length).toBeGreaterThanOrEqual(2);
    for (const f of frames) {
      expect(f.top).toBeLessThan(3);
      expect(f.changed).toBeLessThan(50);
    }
  } finally {
    await noFace.close();
  }
});
