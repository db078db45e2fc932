/** Chromium launch flags for the tests: fake camera/mic from a real clip, no network chatter. */
import { resolve } from 'node:path';
import type { Browser, Page } from '@playwright/test';

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

/** One task of the page's main thread: its CPU time, its wall time, and what ran in it. */
export interface MainThreadTask {
  cpuMs: number;
  wallMs: number;
  /** The largest pieces inside it: scripts (function @ file) and rendering steps (Layout, Paint, ...). */
  work: string[];
}

/**
 * Every task the page's main thread ran for `ms` milliseconds, from a Chromium trace.
 *
 * The Long Tasks API reports wall time: on a 2-core machine that live mode keeps busy (two wasm threads, face
 * tracking, software compositing) a task of a few milliseconds of work can wait 50 ms for a core. The trace's
 * thread time (`tdur`) is the work the page itself put on its main thread, which is what the app controls.
 */
export async function mainThreadTasks(browser: Browser, page: Page, ms: number): Promise<MainThreadTask[]> {
  await browser.startTracing(page, { categories: ['toplevel', 'devtools.timeline', 'disabled-by-default-devtools.timeline'] });
  await page.waitForTimeout(ms);
  const trace = JSON.parse((await browser.stopTracing()).toString()) as { traceEvents: TraceEvent[] };
  const events = trace.traceEvents;
  const mains = new Set(events.filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain').map((e) => `${e.pid}:${e.tid}`));
  const byThread = new Map<string, TraceEvent[]>();
  for (const e of events) {
    const key = `${e.pid}:${e.tid}`;
    if (e.ph !== 'X' || !mains.has(key)) continue;
    if (!byThread.has(key)) byThread.set(key, []);
    byThread.get(key)?.push(e);
  }
  // The page's renderer is the one whose scripts come from the page's origin.
  const origin = new URL(page.url()).origin;
  const mine = [...byThread.values()].find((list) => list.some((e) => e.name === 'FunctionCall' && String(e.args?.data?.url ?? '').startsWith(origin)));
  if (!mine) throw new Error(`no main-thread trace of ${origin} (threads: ${[...byThread.keys()].join(', ')})`);
  const tasks = mine.filter((e) => e.name === 'ThreadControllerImpl::RunTask').sort((a, b) => a.ts - b.ts);
  const pieces = mine.filter((e) =>
    ['FunctionCall', 'Layout', 'Paint', 'UpdateLayoutTree', 'Commit', 'RunMicrotasks', 'EventDispatch', 'TimerFire'].includes(e.name),
  );
  const out: MainThreadTask[] = [];
  let end = -1;
  for (const t of tasks) {
    if (t.ts < end) continue; // nested in the previous task
    end = t.ts + (t.dur ?? 0);
    const inside = pieces.filter((p) => p.ts >= t.ts && p.ts < end).sort((a, b) => (b.tdur ?? 0) - (a.tdur ?? 0));
    out.push({
      cpuMs: (t.tdur ?? 0) / 1000,
      wallMs: (t.dur ?? 0) / 1000,
      work: inside.slice(0, 4).map((p) => {
        const d = p.args?.data ?? {};
        const what =
          p.name === 'FunctionCall'
            ? `${d.functionName || '(anonymous)'} @ ${String(d.url ?? '')
                .split('/')
                .pop()}`
            : p.name;
        return `${what} ${((p.tdur ?? 0) / 1000).toFixed(1)} ms`;
      }),
    });
  }
  return out;
}

interface TraceEvent {
  name: string;
  ph: string;
  pid: number;
  tid: number;
  ts: number;
  dur?: number;
  tdur?: number;
  args?: { name?: string; data?: { url?: string; functionName?: string } };
}
