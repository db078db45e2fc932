/**
 * The embeddable library end to end, in Debian Chromium against the production build:
 * demo.html with two <lipsync-avatar> elements at once (a looping face video and a still face, each
 * driven by the other person's voice, converted from real clips by e2e/prepare.ts), recording,
 * bad inputs, and the library build served from a different base path (dist/other/path/lipsync/).
 * Real workers, onnxruntime-web, Face Mesh and the shipped generator; no timing asserts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { expect, test, chromium, type Browser, type Page } from '@playwright/test';
import { BASE_FLAGS, DIST, fakeDeviceFlags, openPageVideoFrames, trackPageVideoFrames, watchConsole } from './chromium.ts';
import { EMBED_LIB_PATH } from './prepare.ts';
import { CHROMIUM, PORT } from '../playwright.config.ts';
import type { LipsyncAvatarElement, LipsyncErrorDetail } from '../src/lib/api.ts';

const ORIGIN = `http://127.0.0.1:${PORT}`;
const MEDIA = '/e2e-media';
/** The shipped generator (public/models/) is the default; without it the small test generator stands in. */
const SHIPPED_MODEL = existsSync(resolve(DIST, 'models/manifest.json'));
const TEST_MODEL = '/test-models/small/manifest.json';
const DEMO_QUERY = `?face1=${MEDIA}/face1.webm&audio1=${MEDIA}/audio1.wav&face2=${MEDIA}/face2.png&audio2=${MEDIA}/audio2.wav${SHIPPED_MODEL ? '' : `&model=${TEST_MODEL}`}`;
const MODEL_ATTR = SHIPPED_MODEL ? '' : ` model="${TEST_MODEL}"`;
const LIB = `/${EMBED_LIB_PATH}`;
const ISOLATION = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

let browser: Browser;

test.beforeAll(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...BASE_FLAGS, ...fakeDeviceFlags()] });
});
test.afterAll(async () => browser?.close());

interface Watched {
  page: Page;
  consoleErrors: string[];
  offOrigin: string[];
  requests: string[];
}

/** The blank page prepare.ts writes: a host site that loads the library build from elsewhere. */
const HOST = `${MEDIA}/host.html`;

async function openPage(path: string): Promise<Watched> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.addInitScript(trackPageVideoFrames);
  const consoleErrors = watchConsole(page);
  const offOrigin: string[] = [];
  const requests: string[] = [];
  context.on('request', (r) => {
    const url = r.url();
    requests.push(url);
    if (!url.startsWith(ORIGIN) && !url.startsWith('blob:') && !url.startsWith('data:')) offOrigin.push(url);
  });
  await page.goto(`${ORIGIN}${path}`);
  await page.evaluate(() => {
    const w = window as unknown as { unhandled: string[] };
    w.unhandled = [];
    addEventListener('unhandledrejection', (e) => w.unhandled.push(String(e.reason)));
    addEventListener('error', (e) => w.unhandled.push(String(e.message)));
  });
  return { page, consoleErrors, offOrigin, requests };
}

interface FrameSample {
  frames: number;
  distinct: number;
  width: number;
  height: number;
  /** Mean RGB of the whole frame: tells two different faces apart. */
  mean: [number, number, number];
}

/**
 * Reads output frames of an avatar's outputStream by playing it in a <video> and drawing each presented
 * frame (requestVideoFrameCallback). No VideoFrame objects reach the test's JS, so nothing the test does
 * can leave a frame for the garbage collector (a MediaStreamTrackProcessor on a clone sometimes did).
 */
function grabFrames(page: Page, selector: string, wanted: number, timeoutMs: number): Promise<FrameSample> {
  return page.evaluate(
    async ({ selector, wanted, timeoutMs }) => {
      const el = document.querySelector(selector) as unknown as { outputStream: MediaStream | null };
      const video = document.createElement('video');
      video.muted = true;
      video.playsInline = true;
      video.srcObject = new MediaStream(el.outputStream!.getVideoTracks());
      const hashes = new Set<number>();
      let frames = 0;
      let width = 0;
      let height = 0;
      const mean: [number, number, number] = [0, 0, 0];
      const canvas = new OffscreenCanvas(1, 1);
      const g = canvas.getContext('2d', { willReadFrequently: true })!;
      await new Promise<void>((done) => {
        const timer = setTimeout(done, timeoutMs);
        const onFrame = () => {
          if (video.videoWidth > 0) {
            if (canvas.width !== video.videoWidth || canvas.height !== video.videoHeight) {
              canvas.width = video.videoWidth;
              canvas.height = video.videoHeight;
            }
            g.drawImage(video, 0, 0);
            const { data } = g.getImageData(0, 0, canvas.width, canvas.height);
            let hash = 0;
            const sum = [0, 0, 0];
            for (let i = 0; i < data.length; i += 4) {
              hash = (hash * 31 + data[i] + data[i + 1] * 7 + data[i + 2] * 13) % 1_000_000_007;
              sum[0] += data[i];
              sum[1] += data[i + 1];
              sum[2] += data[i + 2];
            }
            hashes.add(hash);
            frames++;
            width = canvas.width;
            height = canvas.height;
            for (let k = 0; k < 3; k++) mean[k] = sum[k] / (data.length / 4);
          }
          if (frames >= wanted) {
            clearTimeout(timer);
            done();
          } else video.requestVideoFrameCallback(onFrame);
        };
        video.requestVideoFrameCallback(onFrame);
        video.play().catch(() => {});
      });
      video.pause();
      video.srcObject = null;
      return { frames, distinct: hashes.size, width, height, mean };
    },
    { selector, wanted, timeoutMs },
  );
}

function waitRunning(page: Page, selector: string, timeout = 150_000) {
  return expect
    .poll(() => page.evaluate((s) => (document.querySelector(s) as unknown as LipsyncAvatarElement).state, selector), { timeout, intervals: [1000] })
    .toBe('running');
}

test.describe
  .serial('demo.html: two avatars at once', () => {
    let w: Watched;
    test.afterAll(async () => w?.page.context().close());

    test('the demo page loads and both avatars produce lip-synced frames', async () => {
      test.setTimeout(300_000);
      w = await openPage(`/demo.html${DEMO_QUERY}`);
      const { page } = w;
      await expect(page.locator('lipsync-avatar')).toHaveCount(2);
      await waitRunning(page, '#avatar1');
      await waitRunning(page, '#avatar2');
      // One inference worker per avatar: nothing shared.
      expect(page.workers().filter((x) => x.url().includes('inference.worker')).length).toBe(2);

      const [a, b] = [await grabFrames(page, '#avatar1', 8, 90_000), await grabFrames(page, '#avatar2', 8, 90_000)];
      for (const s of [a, b]) {
        expect(s.frames).toBe(8);
        expect([s.width, s.height]).toEqual([360, 360]);
        // The looping video moves; the still face's mouth moves with its audio.
        expect(s.distinct).toBeGreaterThan(1);
      }
      // Different faces come out of the two avatars.
      expect(Math.max(...a.mean.map((v, k) => Math.abs(v - b.mean[k])))).toBeGreaterThan(5);

      await expect
        .poll(() => page.evaluate(() => Math.min(...[1, 2].map((n) => (document.getElementById(`avatar${n}`) as LipsyncAvatarElement).stats?.fps ?? 0))), {
          timeout: 60_000,
        })
        .toBeGreaterThan(0);
      const stats = await page.evaluate(() =>
        [1, 2].map((n) => {
          const s = (document.getElementById(`avatar${n}`) as LipsyncAvatarElement).stats!;
          return {
            fps: s.fps,
            faceVisible: s.faceVisible,
            framesOut: s.framesOut,
            noFace: s.noFace,
            audioDelayMs: s.audioDelayMs,
            inferenceMs: s.stages.inference?.mean,
          };
        }),
      );
      console.log('two avatars at once:', JSON.stringify(stats));
      for (const s of stats) {
        expect(s.faceVisible).toBe(true);
        expect(s.fps).toBeGreaterThan(0);
      }
      expect(w.consoleErrors).toEqual([]);
      expect(w.offOrigin).toEqual([]);
    });

    test('outputStream has one video and one audio track', async () => {
      const tracks = await w.page.evaluate(() =>
        [1, 2].map((n) => {
          const s = (document.getElementById(`avatar${n}`) as LipsyncAvatarElement).outputStream!;
          return { video: s.getVideoTracks().length, audio: s.getAudioTracks().length, live: s.getTracks().every((t) => t.readyState === 'live') };
        }),
      );
      expect(tracks).toEqual([
        { video: 1, audio: 1, live: true },
        { video: 1, audio: 1, live: true },
      ]);
    });

    test('record() yields a WebM with a valid header, both tracks and a duration', async () => {
      const result = await w.page.evaluate(async () => {
        const el = document.getElementById('avatar1') as LipsyncAvatarElement;
        const blob = await el.record(2500);
        const bytes = new Uint8Array(await blob.arrayBuffer());
        const text = new TextDecoder('latin1').decode(bytes.subarray(0, 4096));
        const video = document.createElement('video');
        video.muted = true;
        video.src = URL.createObjectURL(blob);
        await new Promise((r, j) => ((video.onloadedmetadata = r), (video.onerror = () => j(new Error('the recording does not load')))));
        return {
          type: blob.type,
          size: blob.size,
          magic: Array.from(bytes.subarray(0, 4)),
          codecs: ['V_VP8', 'V_VP9', 'A_OPUS'].filter((c) => text.includes(c)),
          duration: video.duration,
          width: video.videoWidth,
        };
      });
      expect(result.type).toContain('webm');
      expect(result.magic).toEqual([0x1a, 0x45, 0xdf, 0xa3]); // EBML
      expect(result.codecs).toContain('A_OPUS');
      expect(result.codecs.some((c) => c.startsWith('V_'))).toBe(true);
      expect(result.width).toBe(360);
      expect(Number.isFinite(result.duration)).toBe(true);
      expect(result.duration).toBeGreaterThan(1);
      expect(result.duration).toBeLessThan(5);
    });

    test('removing one avatar stops it; the other keeps producing frames', async () => {
      const { page } = w;
      await page.evaluate(() => {
        const el = document.getElementById('avatar1') as LipsyncAvatarElement;
        const w = window as unknown as { removed: { controller: unknown; stream: MediaStream } };
        w.removed = { controller: el.controller, stream: el.outputStream! };
        el.closest('figure')!.remove();
      });
      await expect
        .poll(() =>
          page.evaluate(() => {
            const { controller, stream } = (window as unknown as { removed: { controller: { state: string }; stream: MediaStream } }).removed;
            return { state: controller.state, ended: stream.getTracks().every((t) => t.readyState === 'ended') };
          }),
        )
        .toEqual({ state: 'closed', ended: true });
      const b = await grabFrames(page, '#avatar2', 3, 60_000);
      expect(b.frames).toBe(3);
      expect(await page.evaluate(() => (window as unknown as { unhandled: string[] }).unhandled)).toEqual([]);
    });

    test('the webcam avatar behind the button runs on the camera and microphone', async () => {
      test.setTimeout(240_000);
      const { page } = w;
      await page.click('#webcam-toggle');
      await waitRunning(page, '#webcam-avatar');
      const s = await grabFrames(page, '#webcam-avatar', 3, 90_000);
      expect(s.frames).toBe(3);
      expect([s.width, s.height]).toEqual([640, 480]); // Chromium's fake camera, fed by the clip
      await expect
        .poll(() => page.evaluate(() => (document.getElementById('webcam-avatar') as LipsyncAvatarElement).stats?.faceVisible), { timeout: 60_000 })
        .toBe(true);
      await page.click('#webcam-toggle');
      await expect(page.locator('#webcam-avatar')).toHaveCount(0);
      expect(w.consoleErrors).toEqual([]);
    });
  });

/** Imports the library build into the host page (as `window.lipsync`) and adds `html` to its body. */
async function loadLibrary(page: Page, libUrl: string, html = ''): Promise<void> {
  await page.evaluate(
    async ({ libUrl, html }) => {
      (window as unknown as { lipsync: unknown }).lipsync = await import(libUrl);
      document.body.insertAdjacentHTML('beforeend', html);
    },
    { libUrl, html },
  );
}

test('bad inputs fire `error` with a clear message, the element shows it, nothing throws', async () => {
  test.setTimeout(240_000);
  const w = await openPage(HOST);
  const { page } = w;
  await loadLibrary(page, `${LIB}lipsync.js`);
  // A host that answers 404 (vite preview answers unknown paths with its index page instead).
  await page.route(`${ORIGIN}/gone/**`, (r) => r.fulfill({ status: 404, body: 'not found', headers: ISOLATION }));
  // A real second origin that lets pages embed its video (CORP) but not read it (no CORS headers).
  // (Playwright's route.fulfill would add CORS headers by itself, so this is a server of its own.)
  const video = readFileSync(resolve(DIST, 'e2e-media/face1.webm'));
  const other: Server = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'video/webm', 'Content-Length': video.length, 'Cross-Origin-Resource-Policy': 'cross-origin' });
    res.end(video);
  });
  await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
  const crossOrigin = `http://127.0.0.1:${(other.address() as AddressInfo).port}/face.webm`;

  const errors = await page.evaluate(
    async ({ media, crossOrigin }) => {
      const { createLipsync } = (window as unknown as { lipsync: typeof import('../src/lib/index.ts') }).lipsync;
      const audio = `${media}/audio1.wav`;
      const face = `${media}/face2.png`;
      const tainted = document.createElement('video');
      tainted.src = crossOrigin; // no crossorigin attribute: plays, but its pixels may not be read
      tainted.muted = true;
      const cases: Record<string, Parameters<typeof createLipsync>[0]> = {
        missingFace: { face: undefined as never, audio },
        unsupportedFace: { face: 42 as never, audio },
        audioAsFace: { face: audio, audio },
        missingFaceFile: { face: `${media}/no-such-face.webm`, audio },
        audio404: { face, audio: '/gone/speech.wav' },
        taintedVideo: { face: tainted, audio },
        crossOriginUrl: { face: crossOrigin, audio },
      };
      const out: Record<string, { event?: LipsyncErrorDetail; rejected?: string }> = {};
      for (const [name, options] of Object.entries(cases)) {
        const c = createLipsync(options);
        const entry: { event?: LipsyncErrorDetail; rejected?: string } = {};
        c.addEventListener('error', (e) => (entry.event ??= e.detail));
        await c.start().catch((e: Error) => (entry.rejected = e.message));
        out[name] = entry;
        await c.close();
      }
      return out;
    },
    { media: MEDIA, crossOrigin },
  );
  const expected: Record<string, [string, RegExp]> = {
    missingFace: ['face-missing', /No face source/],
    unsupportedFace: ['face-unsupported', /Unsupported face source/],
    audioAsFace: ['face-unsupported', /audio file/],
    missingFaceFile: ['face-fetch', /no-such-face\.webm.*(missing|HTTP)/],
    audio404: ['audio-fetch', /speech\.wav.*HTTP 404/],
    taintedVideo: ['face-tainted', /another origin.*CORS/],
    crossOriginUrl: ['face-fetch', /another site.*Access-Control-Allow-Origin/],
  };
  for (const [name, [code, message]] of Object.entries(expected)) {
    expect(errors[name].event?.code, name).toBe(code);
    expect(errors[name].event?.message, name).toMatch(message);
    expect(errors[name].event?.fatal, name).toBe(true);
    expect(errors[name].rejected, name).toBe(errors[name].event?.message);
  }

  // The element: a bad face URL and a model that fails validation, each shown in the element.
  await page.evaluate(
    ({ media }) => {
      document.body.insertAdjacentHTML(
        'beforeend',
        `<lipsync-avatar id="bad-face" face="/gone/face.mp4" audio="${media}/audio1.wav" autoplay></lipsync-avatar>
         <lipsync-avatar id="bad-model" face="${media}/face2.png" audio="${media}/audio1.wav" model="${media}/bad-model/manifest.json" backend="wasm" autoplay></lipsync-avatar>`,
      );
      const w = window as unknown as { elementErrors: Record<string, LipsyncErrorDetail> };
      w.elementErrors = {};
      for (const el of document.querySelectorAll('lipsync-avatar')) el.addEventListener('error', (e) => (w.elementErrors[el.id] = e.detail));
    },
    { media: MEDIA },
  );
  await expect
    .poll(() => page.evaluate(() => Object.keys((window as unknown as { elementErrors: object }).elementErrors).sort()), { timeout: 120_000 })
    .toEqual(['bad-face', 'bad-model']);
  const shown = await page.evaluate(() =>
    ['bad-face', 'bad-model'].map((id) => {
      const el = document.getElementById(id) as LipsyncAvatarElement;
      const status = el.shadowRoot!.querySelector('[part=status]') as HTMLElement;
      return { id, code: el.lastError?.code, state: el.dataset.state, text: status.hidden ? '' : status.textContent, elementState: el.state };
    }),
  );
  expect(shown[0]).toMatchObject({ code: 'face-fetch', state: 'error', elementState: 'idle' });
  expect(shown[0].text).toMatch(/face\.mp4.*HTTP 404/);
  expect(shown[1]).toMatchObject({ code: 'bad-model', state: 'error', elementState: 'idle' });
  expect(shown[1].text).toMatch(/cannot be used|shape|96/i);

  expect(await page.evaluate(() => (window as unknown as { unhandled: string[] }).unhandled)).toEqual([]);
  // The browser itself logs the 404 and the CORS refusal; nothing else may be logged as an error.
  expect(w.consoleErrors.filter((e) => !/Failed to load resource|CORS policy/.test(e))).toEqual([]);
  await page.context().close();
  other.close();
});

test('the library build works from a different base path, and from a baseUrl elsewhere', async () => {
  test.setTimeout(300_000);
  // The element, with lipsync.js loaded from /other/path/lipsync/: its runtime files come from there.
  const w = await openPage(HOST);
  const { page } = w;
  w.requests.length = 0;
  await loadLibrary(
    page,
    `${LIB}lipsync.js`,
    `<lipsync-avatar id="a" style="width:200px;height:200px" face="${MEDIA}/face2.png" audio="${MEDIA}/audio2.wav"${MODEL_ATTR} autoplay muted></lipsync-avatar>`,
  );
  await waitRunning(page, '#a');
  const s = await grabFrames(page, '#a', 3, 60_000);
  expect(s.frames).toBe(3);
  // Worker, face model, wasm and generator came from the library's folder, nothing from the app's own.
  const paths = w.requests.filter((u) => u.startsWith(ORIGIN)).map((u) => new URL(u).pathname);
  expect(paths).toContain(`${LIB}lipsync-worker.js`);
  expect(paths.some((p) => p.startsWith(`${LIB}models/face/`))).toBe(true);
  if (SHIPPED_MODEL) expect(paths).toContain(`${LIB}models/manifest.json`);
  const allowed = [LIB, `${MEDIA}/`, '/test-models/'];
  for (const p of paths)
    expect(
      allowed.some((a) => p.startsWith(a)),
      p,
    ).toBe(true);
  await page.evaluate(() => document.getElementById('a')!.remove());

  // The API, with lipsync.js served from yet another path and baseUrl pointing at the runtime files.
  const libSource = readFileSync(resolve(DIST, EMBED_LIB_PATH, 'lipsync.js'));
  await page.route(`${ORIGIN}/vendor/js/lipsync.js`, (r) => r.fulfill({ body: libSource, contentType: 'text/javascript', headers: ISOLATION }));
  w.requests.length = 0;
  const api = await page.evaluate(
    async ({ media, lib, model, testModel }) => {
      const { createLipsync } = (await import('/vendor/js/lipsync.js' as string)) as typeof import('../src/lib/index.ts');
      const c = createLipsync({ face: `${media}/face1.webm`, audio: `${media}/audio1.wav`, baseUrl: lib, backend: 'wasm', model });
      let ready = false;
      c.addEventListener('ready', () => (ready = true));
      const errors: string[] = [];
      c.addEventListener('error', (e) => errors.push(e.detail.code));
      await c.start();
      const stream = c.outputStream!;
      // Swap models live: a good one by URL, then bytes that are not ONNX (rejected; the running one stays).
      await c.setModel(testModel);
      const swapped = c.backend?.modelName;
      const badSwap = await c.setModel(new Uint8Array([1, 2, 3, 4])).then(
        () => 'accepted',
        (e: { code: string; fatal: boolean }) => `${e.code}:${e.fatal}`,
      );
      const out = {
        ready,
        state: c.state,
        video: stream.getVideoTracks().length,
        audio: stream.getAudioTracks().length,
        backend: c.backend?.generator,
        swapped,
        badSwap,
        errors,
        modelAfterBadSwap: c.backend?.modelName,
      };
      await c.close();
      return { ...out, closedState: c.state, stopped: stream.getTracks().every((t) => t.readyState === 'ended') };
    },
    { media: MEDIA, lib: LIB, model: SHIPPED_MODEL ? undefined : TEST_MODEL, testModel: TEST_MODEL },
  );
  expect(api).toEqual({
    ready: true,
    state: 'running',
    video: 1,
    audio: 1,
    backend: 'wasm',
    swapped: 'test-generator',
    badSwap: 'bad-model:false',
    errors: ['bad-model'],
    modelAfterBadSwap: 'test-generator',
    closedState: 'closed',
    stopped: true,
  });
  const paths2 = w.requests.filter((u) => u.startsWith(ORIGIN)).map((u) => new URL(u).pathname);
  for (const p of paths2)
    expect(
      [...allowed, '/vendor/js/lipsync.js'].some((a) => p.startsWith(a)),
      p,
    ).toBe(true);
  // Both avatars are gone: every frame the library made in the page was closed.
  expect(await openPageVideoFrames(page)).toBe(0);
  expect(w.consoleErrors).toEqual([]);
  expect(w.offOrigin).toEqual([]);
  await page.context().close();
});
