/** Chromium launch flags for the tests: fake camera/mic from a real clip, no network chatter. */
import { resolve } from 'node:path';

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
 * plumbing makes in the page (a track read by a worker through a transferred stream), which no page code can
 * close: seen a while after an avatar fed by a still image is removed, never with a frame the page's code made
 * still open. Tests that filter it count the page's own frames instead (`trackPageVideoFrames`).
 */
export const BROWSER_FRAME_GC = /^A VideoFrame was garbage collected without being closed/;

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
