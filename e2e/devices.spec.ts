/**
 * Device lifecycle and microphone health end to end: Debian Chromium, fake camera + mic fed by a real clip
 * (or by digital silence, e2e/prepare.ts), the real workers, AudioWorklet and generator.
 *
 * "Unplugging" is `track.stop()` on the real track the page got from getUserMedia (the test keeps a handle on
 * each stream; nothing else is replaced). A stopped track fires no `ended`, so this exercises the paths that
 * notice an ending without that event: the worker's frames ending and the mic's state read on health reports.
 */
import { expect, test, chromium, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { BASE_FLAGS, fakeDeviceFlags, trackPageVideoFrames, watchConsole } from './chromium.ts';
import { EMBED_LIB_PATH } from './prepare.ts';
import { CHROMIUM, PORT } from '../playwright.config.ts';
import type { LipsyncController, LipsyncErrorDetail, LipsyncAvatarElement } from '../src/lib/api.ts';

const ORIGIN = `http://127.0.0.1:${PORT}`;
/** The small test generator: these tests are about devices, not about how fast a loaded CPU runs the model. */
const SMALL = '?model=test-models/small/manifest.json';
const SMALL_LIB_MODEL = '/test-models/small/manifest.json';

let browser: Browser;
test.beforeAll(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...BASE_FLAGS, ...fakeDeviceFlags()] });
});
test.afterAll(async () => browser?.close());

/**
 * Keeps every stream getUserMedia hands out (as `window.userMedia`) so a test can end its tracks, notes when
 * the microphone opened (`micOpenedAt`) and when the "no sound" warning first showed (`silentWarningAt`).
 */
async function keepUserMedia(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    const w = window as unknown as { userMedia: MediaStream[]; micOpenedAt?: number; silentWarningAt?: number };
    w.userMedia = [];
    const md = navigator.mediaDevices;
    const original = md.getUserMedia.bind(md);
    md.getUserMedia = async (c?: MediaStreamConstraints) => {
      const s = await original(c);
      w.userMedia.push(s);
      if (s.getAudioTracks().length) w.micOpenedAt ??= performance.now();
      return s;
    };
    new MutationObserver(() => {
      if (document.querySelector('[data-testid=msg-audio-silent]')) w.silentWarningAt ??= performance.now();
    }).observe(document, { childList: true, subtree: true });
  });
}

async function openApp(b: Browser, query = SMALL): Promise<{ page: Page; consoleErrors: string[] }> {
  const context = await b.newContext();
  await keepUserMedia(context);
  const page = await context.newPage();
  await page.addInitScript(trackPageVideoFrames);
  const consoleErrors = watchConsole(page);
  await page.goto(`${ORIGIN}/${query}`);
  return { page, consoleErrors };
}

/** Ends every live track of `kind` the page opened (the camera or the microphone "goes away"). */
function endTracks(page: Page, kind: 'video' | 'audio'): Promise<number> {
  return page.evaluate((kind) => {
    const tracks = (window as unknown as { userMedia: MediaStream[] }).userMedia
      .flatMap((s) => s.getTracks())
      .filter((t) => t.kind === kind && t.readyState === 'live');
    for (const t of tracks) t.stop();
    return tracks.length;
  }, kind);
}

const framesOut = (page: Page) =>
  page.evaluate(() => (globalThis as unknown as { lipsyncDebug: { stats(): { framesOut: number } | undefined } }).lipsyncDebug.stats()?.framesOut ?? 0);

async function startLive(page: Page): Promise<void> {
  await page.getByTestId('start').click();
  await expect(page.getByTestId('start')).toHaveText('Stop', { timeout: 120_000 });
  await expect.poll(async () => Number(await page.getByTestId('hud-fps').textContent()), { timeout: 90_000 }).toBeGreaterThan(0);
}

test('the camera ending mid-session: a clear message, the recording is saved, settings stay, Start works again', async () => {
  test.setTimeout(300_000);
  const { page, consoleErrors } = await openApp(browser);
  const generator = page.locator('label', { hasText: 'Generator' }).locator('select');
  await generator.selectOption('wasm');
  await startLive(page);
  await page.getByTestId('record').click();
  // Long enough for MediaRecorder's encoder to deliver data on a loaded machine (it can take a few seconds).
  await page.waitForTimeout(8000);

  const t0 = Date.now();
  expect(await endTracks(page, 'video')).toBe(1);
  const msg = page.getByTestId('msg-camera-ended');
  await expect(msg).toBeVisible({ timeout: 10_000 });
  const seconds = (Date.now() - t0) / 1000;
  console.log(`camera ended → message after ${seconds.toFixed(2)} s`);
  await expect(msg).toContainText(/camera stopped/i);
  await expect(msg).toContainText(/press Start/i);
  await expect(msg).toContainText(/recording .*saved/i);
  // The session stopped instead of freezing on the last frame with a Stop button.
  await expect(page.getByTestId('start')).toHaveText('Start');
  // Nothing lost: the recording made before the camera ended is a real WebM, and the chosen settings stay.
  const link = page.getByTestId('download');
  await expect(link).toBeVisible();
  const rec = await link.evaluate(async (a: HTMLAnchorElement) => {
    const blob = await (await fetch(a.href)).blob();
    return { size: blob.size, magic: Array.from(new Uint8Array(await blob.slice(0, 4).arrayBuffer())) };
  });
  expect(rec.magic).toEqual([0x1a, 0x45, 0xdf, 0xa3]);
  expect(rec.size).toBeGreaterThan(5_000);
  await expect(generator).toHaveValue('wasm');
  await expect(page.locator('label', { hasText: 'Camera' }).locator('select')).toBeEnabled();

  // Recovery: Start opens the camera again and frames flow.
  await startLive(page);
  await expect(msg).toHaveCount(0);
  const before = await framesOut(page);
  await expect.poll(() => framesOut(page), { timeout: 60_000 }).toBeGreaterThan(before + 10);
  expect(consoleErrors).toEqual([]);
  await page.context().close();
});

test('the microphone ending mid-session: a clear message instead of silent lips, and Start works again', async () => {
  test.setTimeout(300_000);
  const { page, consoleErrors } = await openApp(browser);
  await startLive(page);
  const t0 = Date.now();
  expect(await endTracks(page, 'audio')).toBe(1);
  const msg = page.getByTestId('msg-mic-ended');
  await expect(msg).toBeVisible({ timeout: 10_000 });
  console.log(`mic ended → message after ${((Date.now() - t0) / 1000).toFixed(2)} s`);
  await expect(msg).toContainText(/microphone stopped/i);
  await expect(msg).toContainText(/press Start/i);
  await expect(page.getByTestId('start')).toHaveText('Start');
  await startLive(page);
  await expect(msg).toHaveCount(0);
  expect(consoleErrors).toEqual([]);
  await page.context().close();
});

test('a working mic while the page is busy for 3 s: no false "no sound" warning', async () => {
  test.setTimeout(300_000);
  const { page } = await openApp(browser);
  await startLive(page);
  await page.waitForTimeout(1000);
  await expect(page.getByTestId('msg-audio-silent')).toHaveCount(0);
  // Watch for the warning from now on, even if it showed only briefly, and for the stat behind it.
  await page.evaluate(() => {
    const w = window as unknown as { sawWarning: boolean; sawStalled: boolean };
    w.sawWarning = w.sawStalled = false;
    new MutationObserver(() => {
      if (document.querySelector('[data-testid=msg-audio-silent]')) w.sawWarning = true;
    }).observe(document.body, { childList: true, subtree: true });
    setInterval(() => {
      if ((globalThis as unknown as { lipsyncDebug: { stats(): { audioStalled: boolean } | undefined } }).lipsyncDebug.stats()?.audioStalled)
        w.sawStalled = true;
    }, 50);
  });
  const outBefore = await framesOut(page);
  const busyMs = await page.evaluate(() => {
    const t = performance.now();
    while (performance.now() - t < 3000) {
      /* the main thread is blocked: no rendering, no timers, no messages */
    }
    return performance.now() - t;
  });
  expect(busyMs).toBeGreaterThanOrEqual(3000);
  await page.waitForTimeout(3000); // let every queued report and stats message arrive
  const seen = await page.evaluate(() => {
    const w = window as unknown as { sawWarning: boolean; sawStalled: boolean };
    return { sawWarning: w.sawWarning, sawStalled: w.sawStalled };
  });
  expect(seen.sawWarning, 'the "no sound" warning appeared').toBe(false);
  expect(seen.sawStalled, 'stats said audio stalled').toBe(false);
  // The pipeline kept running through it.
  expect(await framesOut(page)).toBeGreaterThan(outBefore);
  await page.context().close();
});

test('a mic delivering digital silence: warned within 5 s', async () => {
  test.setTimeout(300_000);
  const silent = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...BASE_FLAGS, ...fakeDeviceFlags('silent')] });
  try {
    const { page } = await openApp(silent);
    const t0 = Date.now();
    await page.getByTestId('start').click();
    const msg = page.getByTestId('msg-audio-silent');
    await expect(msg).toBeVisible({ timeout: 10_000 });
    // Silence starts when the microphone opens: the warning must follow within 5 s of that.
    const t = await page.evaluate(() => {
      const w = window as unknown as { micOpenedAt: number; silentWarningAt: number };
      return { micOpenedAt: w.micOpenedAt, silentWarningAt: w.silentWarningAt };
    });
    const afterMicS = (t.silentWarningAt - t.micOpenedAt) / 1000;
    console.log(
      `silent mic → warning ${afterMicS.toFixed(2)} s after the microphone opened (${((Date.now() - t0) / 1000).toFixed(2)} s after Start was pressed)`,
    );
    expect(afterMicS).toBeGreaterThan(0);
    expect(afterMicS).toBeLessThanOrEqual(5);
    await expect(msg).toContainText(/microphone has delivered only silence/i);
    await expect(msg).toContainText(/muted/i);
    // It stays while the silence lasts (here: for good), and the stats say so.
    await expect(page.getByTestId('start')).toHaveText('Stop', { timeout: 120_000 });
    await expect
      .poll(
        () =>
          page.evaluate(
            () => (globalThis as unknown as { lipsyncDebug: { stats(): { audioStalled: boolean } | undefined } }).lipsyncDebug.stats()?.audioStalled,
          ),
        { timeout: 30_000 },
      )
      .toBe(true);
    await expect(msg).toBeVisible();
  } finally {
    await silent.close();
  }
});

// ── the library ────────────────────────────────────────────────────────────────────────────────

const LIB = `/${EMBED_LIB_PATH}lipsync.js`;
type Lib = typeof import('../src/lib/index.ts');

async function openHost(): Promise<Page> {
  const context = await browser.newContext();
  await keepUserMedia(context);
  const page = await context.newPage();
  await page.goto(`${ORIGIN}/e2e-media/host.html`);
  await page.evaluate(async (lib) => {
    (window as unknown as { lipsync: unknown }).lipsync = await import(lib);
  }, LIB);
  return page;
}

test('library: a camera that ends fires `camera-ended` (fatal); a camera appearing, or a new face stream, restarts the avatar', async () => {
  test.setTimeout(300_000);
  const page = await openHost();
  const result = await page.evaluate(async (model) => {
    const { createLipsync } = (window as unknown as { lipsync: Lib }).lipsync;
    const errors: LipsyncErrorDetail[] = [];
    const avatar: LipsyncController = createLipsync({ face: 'camera', audio: await navigator.mediaDevices.getUserMedia({ audio: true }), model });
    avatar.addEventListener('error', (e) => errors.push(e.detail));
    await avatar.start();
    /** Output frames gained from now on (a restart counts from 0 again). */
    const waitFrames = async (n: number) => {
      let gained = 0;
      let last = avatar.stats?.framesOut ?? 0;
      const onStats = (e: CustomEvent<{ framesOut: number }>) => {
        if (e.detail.framesOut > last) gained += e.detail.framesOut - last;
        last = e.detail.framesOut;
      };
      avatar.addEventListener('stats', onStats);
      const deadline = performance.now() + 90_000;
      while (gained < n && performance.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      avatar.removeEventListener('stats', onStats);
      return gained;
    };
    const before = await waitFrames(5);
    const stateChanges: string[] = [];
    avatar.addEventListener('statechange', (e) => stateChanges.push(e.detail));
    const endCamera = async (n: number) => {
      avatar.faceTrack!.stop(); // the camera goes away
      const deadline = performance.now() + 10_000;
      while (errors.filter((e) => e.code === 'camera-ended').length < n && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      while (avatar.state !== 'idle' && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      return avatar.state;
    };
    const stateAfterEnd = await endCamera(1);
    // A camera is plugged in (the OS's devicechange; the fake camera is still there): the avatar reopens it.
    navigator.mediaDevices.dispatchEvent(new Event('devicechange'));
    const deadline = performance.now() + 120_000;
    while (avatar.state !== 'running' && performance.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const afterDeviceChange = await waitFrames(5);
    // Ends again; this time the page gives it a new stream.
    const stateAfterSecondEnd = await endCamera(2);
    await avatar.setSources({ face: await navigator.mediaDevices.getUserMedia({ video: true }) });
    const after = await waitFrames(10);
    const out = {
      before,
      ended: errors.find((e) => e.code === 'camera-ended'),
      endedCount: errors.filter((e) => e.code === 'camera-ended').length,
      stateAfterEnd,
      stateAfterSecondEnd,
      afterDeviceChange,
      stateChanges,
      running: avatar.state,
      after,
      otherErrors: errors.filter((e) => e.code !== 'camera-ended'),
    };
    await avatar.close();
    return out;
  }, SMALL_LIB_MODEL);
  expect(result.before).toBeGreaterThanOrEqual(5);
  expect(result.ended).toBeDefined();
  expect(result.ended!.fatal).toBe(true);
  expect(result.ended!.message).toMatch(/camera stopped/i);
  expect(result.ended!.message).toMatch(/start\(\)/);
  expect(result.stateAfterEnd).toBe('idle');
  expect(result.stateChanges[0]).toBe('idle');
  expect(result.afterDeviceChange).toBeGreaterThanOrEqual(5);
  expect(result.stateAfterSecondEnd).toBe('idle');
  expect(result.endedCount).toBe(2);
  expect(result.running).toBe('running');
  expect(result.after).toBeGreaterThanOrEqual(10);
  expect(result.otherErrors).toEqual([]);
  await page.context().close();
});

test('library element: a microphone that ends fires `mic-ended`, shows it, and a new audio stream restarts it', async () => {
  test.setTimeout(300_000);
  const page = await openHost();
  await page.evaluate(async (model) => {
    const el = document.createElement('lipsync-avatar') as LipsyncAvatarElement;
    el.model = model;
    el.face = await navigator.mediaDevices.getUserMedia({ video: true });
    el.audio = await navigator.mediaDevices.getUserMedia({ audio: true });
    const w = window as unknown as { errors: LipsyncErrorDetail[]; el: LipsyncAvatarElement };
    w.errors = [];
    w.el = el;
    el.addEventListener('error', (e) => w.errors.push(e.detail));
    document.body.append(el);
    await el.start();
  }, SMALL_LIB_MODEL);
  const state = () => page.evaluate(() => (window as unknown as { el: LipsyncAvatarElement }).el.state);
  await expect.poll(state, { timeout: 120_000 }).toBe('running');
  await page.evaluate(
    () =>
      (window as unknown as { el: LipsyncAvatarElement }).el.audio instanceof MediaStream &&
      ((window as unknown as { el: LipsyncAvatarElement }).el.audio as MediaStream).getAudioTracks()[0].stop(),
  );
  await expect.poll(() => page.evaluate(() => (window as unknown as { el: LipsyncAvatarElement }).el.lastError?.code), { timeout: 10_000 }).toBe('mic-ended');
  const shown = await page.evaluate(() => {
    const el = (window as unknown as { el: LipsyncAvatarElement }).el;
    return { fatal: el.lastError!.fatal, status: el.shadowRoot!.querySelector('.status')!.textContent, state: el.state };
  });
  expect(shown.fatal).toBe(true);
  expect(shown.status).toMatch(/audio stream stopped/i);
  expect(shown.status).toMatch(/setSources\(\{ audio \}\)|audio property/);
  await expect.poll(state).toBe('idle');
  await page.evaluate(async () => {
    (window as unknown as { el: LipsyncAvatarElement }).el.audio = await navigator.mediaDevices.getUserMedia({ audio: true });
  });
  await expect.poll(state, { timeout: 120_000 }).toBe('running');
  const before = await page.evaluate(() => (window as unknown as { el: LipsyncAvatarElement }).el.stats?.framesOut ?? 0);
  await expect
    .poll(() => page.evaluate(() => (window as unknown as { el: LipsyncAvatarElement }).el.stats?.framesOut ?? 0), { timeout: 60_000 })
    .toBeGreaterThan(before + 5);
  await page.context().close();
});

test('library: live audio that goes silent fires `audio-silent` within 5 s, and the stat clears when sound returns', async () => {
  test.setTimeout(300_000);
  const page = await openHost();
  const r = await page.evaluate(async (model) => {
    const { createLipsync } = (window as unknown as { lipsync: Lib }).lipsync;
    // A voice-like tone the page can mute: the avatar gets it as a MediaStream, like a call's remote audio.
    const ctx = new AudioContext();
    const osc = ctx.createOscillator();
    osc.frequency.value = 220;
    const gain = ctx.createGain();
    const dest = ctx.createMediaStreamDestination();
    osc.connect(gain).connect(dest);
    osc.start();
    const errors: { detail: LipsyncErrorDetail; at: number }[] = [];
    const avatar = createLipsync({ face: await navigator.mediaDevices.getUserMedia({ video: true }), audio: dest.stream, model });
    avatar.addEventListener('error', (e) => errors.push({ detail: e.detail, at: performance.now() }));
    await avatar.start();
    const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));
    const deadline = performance.now() + 90_000;
    while ((avatar.stats?.framesOut ?? 0) < 5 && performance.now() < deadline) await sleep(100);
    const stalledWithSound = avatar.stats?.audioStalled;
    const mutedAt = performance.now();
    gain.gain.value = 0;
    while (!errors.some((e) => e.detail.code === 'audio-silent') && performance.now() - mutedAt < 8000) await sleep(50);
    const silent = errors.find((e) => e.detail.code === 'audio-silent');
    const stalledWhenSilent = avatar.stats?.audioStalled;
    gain.gain.value = 1;
    const unmutedAt = performance.now();
    while (avatar.stats?.audioStalled && performance.now() - unmutedAt < 5000) await sleep(50);
    const out = {
      stalledWithSound,
      silentAfterS: silent ? (silent.at - mutedAt) / 1000 : null,
      silent: silent?.detail,
      stalledWhenSilent,
      clearedAfterS: avatar.stats?.audioStalled ? null : (performance.now() - unmutedAt) / 1000,
      state: avatar.state,
    };
    await avatar.close();
    await ctx.close();
    return out;
  }, SMALL_LIB_MODEL);
  console.log(`library: silence → audio-silent after ${r.silentAfterS?.toFixed(2)} s; sound back → cleared after ${r.clearedAfterS?.toFixed(2)} s`);
  expect(r.stalledWithSound).toBe(false);
  expect(r.silent).toBeDefined();
  expect(r.silent!.fatal).toBe(false);
  expect(r.silent!.message).toMatch(/audio stream has delivered only silence/i);
  expect(r.silentAfterS!).toBeLessThanOrEqual(5);
  expect(r.stalledWhenSilent).toBe(true);
  expect(r.clearedAfterS).not.toBeNull();
  expect(r.state).toBe('running');
  await page.context().close();
});
