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
