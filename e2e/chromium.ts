/** Chromium launch flags for the tests: fake camera/mic from a real clip, no network chatter. */
import { resolve } from 'node:path';
import type { Page } from '@playwright/test';

export const FIXTURES = resolve(import.meta.dirname, 'fixtures/gen');
/** The production build the tests serve (E2E_DIST lets two checkouts' test runs share a machine: own build, own port). */
export const DIST = resolve(import.meta.dirname, '..', process.env.E2E_DIST ?? 'dist');
export const BASE_FLAGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--autoplay-policy=no-user-gesture-required',
];

/** Fake devices fed by the converted talking-face clip (see e2e/prepare.ts). */
export function fakeDeviceFlags(clip = 'camera'): string[] {
  return [
    '--use-fake-ui-for-media-stream',
    '--use-fake-device-for-media-stream',
    `--use-file-for-fake-video-capture=${resolve(FIXTURES, `${clip}.y4m`)}`,
    `--use-file-for-fake-audio-capture=${resolve(FIXTURES, `${clip}.wav`)}`,
  ];
}

/**
 * Chromium's own notice that a VideoFrame was reclaimed unclosed. It also fires for frames its breakout-box
 * plumbing makes (a track read by a worker through a transferred stream, frames handed between threads), which
 * no page code can close: seen now and then a while after a session fed by a still image or the camera stops,
 * never with a frame the page's code made still open. The tests count the page's own frames instead
 * (`trackPageVideoFrames`); every close path in the workers is covered by their unit and e2e tests.
 */
export const BROWSER_FRAME_GC = /^A VideoFrame was garbage collected without being closed/;

/** The page's console errors and uncaught errors as they come, without Chromium's BROWSER_FRAME_GC notice. */
export function watchConsole(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && !BROWSER_FRAME_GC.test(m.text()) && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(String(e)));
  return errors;
}

/** How many VideoFrames the page's own code made are still open (needs `trackPageVideoFrames` as an init script). */
export function openPageVideoFrames(page: Page): Promise<number> {
  return page.evaluate(() => (globalThis as unknown as { openPageVideoFrames: () => number }).openPageVideoFrames());
}

/**
 * Page init script: remembers every VideoFrame the page's own code constructs, so a test can ask how many
 * are still open after teardown (`openPageVideoFrames`). A closed frame reports codedWidth 0. Frames the
 * browser makes itself (a breakout-box stream feeding a worker, a decoder's output) are not seen here.
 */
export function trackPageVideoFrames(): void {
  const Native = globalThis.VideoFrame;
  const made: WeakRef<VideoFrame>[] = [];
  globalThis.VideoFrame = new Proxy(Native, {
    construct(target, args) {
      const frame = Reflect.construct(target, args) as VideoFrame;
      made.push(new WeakRef(frame));
      return frame;
    },
  });
  (globalThis as unknown as { openPageVideoFrames: () => number }).openPageVideoFrames = () => made.filter((r) => (r.deref()?.codedWidth ?? 0) > 0).length;
}

/** Page init script: records the main thread's long tasks (over 50 ms, the Long Tasks API) for `longTasksSince`. */
export function trackLongTasks(): void {
  const tasks: { start: number; duration: number }[] = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) tasks.push({ start: e.startTime, duration: e.duration });
  }).observe({ type: 'longtask', buffered: true });
  (globalThis as unknown as { longTasks: typeof tasks }).longTasks = tasks;
}

/** The page's clock now (performance.now()), to pass to `longTasksSince` later. */
export function pageNow(page: Page): Promise<number> {
  return page.evaluate(() => performance.now());
}

/** Main-thread tasks over 50 ms that started after `since` (needs `trackLongTasks` as an init script). */
export function longTasksSince(page: Page, since: number): Promise<{ start: number; duration: number }[]> {
  return page.evaluate((t) => (globalThis as unknown as { longTasks: { start: number; duration: number }[] }).longTasks.filter((e) => e.start >= t), since);
}
