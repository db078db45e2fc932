/**
 * Render mode end to end in Debian Chromium (production build): a 4 s face video from ../shared/data with
 * another clip's 4.8 s of speech is dubbed in the Render view; the file it offers has exactly the audio's
 * length in frames (the face loops forward and back), an audio track as long as the speech, a new mouth and
 * an unchanged upper face. The same for an image face. A file that is not media and a video without a face
 * get their messages and no file. Fixtures are cut at test time into a temp folder, never committed.
 */
import { expect, test, chromium, type Browser, type Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BASE_FLAGS } from './chromium.ts';
import { CLIPS_DIR, CAMERA_CLIP } from './prepare.ts';
import { CHROMIUM, PORT } from '../playwright.config.ts';
import { decodeFrames, mouthAndUpperChange, probe } from '../tools/mediaCheck.ts';
import { pingPongFrame } from '../src/engine/render/renderPlan.ts';
import type { RgbaImage } from '../src/engine/types.ts';

const ORIGIN = `http://127.0.0.1:${PORT}`;
const SPEECH_CLIP = 'lrs2_00001';
/** lrs2_00001's audio.wav: 76,800 samples at 16 kHz. */
const SPEECH_SECONDS = 4.8;
let browser: Browser;
let dir: string;

const ff = (...args: string[]) => execFileSync('ffmpeg', ['-v', 'error', '-y', ...args]);

test.beforeAll(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: BASE_FLAGS });
  dir = mkdtempSync(join(tmpdir(), 'render-e2e-'));
  const clip = join(CLIPS_DIR, CAMERA_CLIP);
  ff(
    '-i',
    join(clip, 'video.mp4'),
    '-i',
    join(clip, 'audio.wav'),
    '-t',
    '4',
    '-r',
    '25',
    '-c:v',
    'libx264',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    join(dir, 'face.mp4'),
  );
  ff('-i', join(clip, 'video.mp4'), '-frames:v', '1', join(dir, 'face.png'));
  ff('-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-t', '2', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', join(dir, 'noface.mp4'));
  writeFileSync(join(dir, 'notes.mp4'), 'these are meeting notes, not a video\n'.repeat(50));
});
test.afterAll(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function openRender(): Promise<{ page: Page; errors: string[] }> {
  const page = await (await browser.newContext({ acceptDownloads: true })).newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${ORIGIN}/?view=render&backend=wasm`);
  await expect(page.getByTestId('render')).toBeVisible();
  return { page, errors };
}

async function renderFile(page: Page, face: string, audio: string): Promise<string> {
  await page.getByTestId('render-face').setInputFiles(face);
  await page.getByTestId('render-audio').setInputFiles(audio);
  await page.getByTestId('render-start').click();
  await expect(page.getByTestId('render-progress')).toContainText(/frame \d+ \/ \d+/, { timeout: 120_000 });
  await expect(page.getByTestId('render')).toHaveAttribute('data-phase', 'done', { timeout: 300_000 });
  const download = page.waitForEvent('download');
  await page.getByTestId('render-download').click();
  const file = join(dir, (await download).suggestedFilename());
  await (await download).saveAs(file);
  return file;
}

/** What a person checks in the dub: exactly the speech's length in frames and sound, a new mouth, the same upper face. */
async function expectDubbed(file: string, source: RgbaImage[], sourceIndex: (i: number) => number, what: string): Promise<void> {
  const p = probe(file);
  expect(Math.abs(p.videoFrames - SPEECH_SECONDS * 25)).toBeLessThanOrEqual(1);
  expect(Math.abs(p.audioSeconds - SPEECH_SECONDS)).toBeLessThanOrEqual(0.04);
  expect([p.width, p.height]).toEqual([source[0].width, source[0].height]);
  const c = await mouthAndUpperChange(decodeFrames(file, p.width, p.height), source, sourceIndex);
  console.log(`render e2e (${what}): ${JSON.stringify(p)}; mean change mouth ${c.mouth.toFixed(1)}, upper face ${c.upper.toFixed(1)} over ${c.faces} frames`);
  expect(c.faces).toBeGreaterThanOrEqual(8);
  expect(c.upper).toBeLessThan(4);
  expect(c.mouth).toBeGreaterThan(2 * c.upper + 2);
}

test('a face video dubbed with another clip’s speech: audio-length file, new mouth, same upper face', async () => {
  test.setTimeout(600_000);
  const { page, errors } = await openRender();
  const file = await renderFile(page, join(dir, 'face.mp4'), join(CLIPS_DIR, SPEECH_CLIP, 'audio.wav'));
  const src = decodeFrames(join(dir, 'face.mp4'), 512, 512);
  expect(src.length).toBe(100);
  // 120 output frames from 100 face frames: 0…99, then back 98…79 (ping-pong).
  await expectDubbed(file, src, (i) => pingPongFrame(i, src.length), 'video');
  expect(errors).toEqual([]);
});

test('an image face dubbed: the still face talks for the length of the audio', async () => {
  test.setTimeout(600_000);
  const { page, errors } = await openRender();
  const file = await renderFile(page, join(dir, 'face.png'), join(CLIPS_DIR, SPEECH_CLIP, 'audio.wav'));
  await expectDubbed(file, decodeFrames(join(dir, 'face.png'), 512, 512), () => 0, 'image');
  expect(errors).toEqual([]);
});

test('a file that is not media, and a video without a face, get their messages and no file', async () => {
  test.setTimeout(300_000);
  const { page, errors } = await openRender();
  await page.getByTestId('render-face').setInputFiles(join(dir, 'notes.mp4'));
  await page.getByTestId('render-audio').setInputFiles(join(CLIPS_DIR, SPEECH_CLIP, 'audio.wav'));
  await page.getByTestId('render-start').click();
  const error = page.getByTestId('render-error');
  await expect(error).toHaveAttribute('data-code', 'render-not-media', { timeout: 60_000 });
  await expect(error).toContainText('neither a video nor an image');
  await expect(page.getByTestId('render-result')).toHaveCount(0);

  await page.getByTestId('render-face').setInputFiles(join(dir, 'noface.mp4'));
  await page.getByTestId('render-start').click();
  await expect(error).toHaveAttribute('data-code', 'render-no-face', { timeout: 240_000 });
  await expect(error).toContainText('No face was found');
  await expect(page.getByTestId('render-result')).toHaveCount(0);
  expect(errors).toEqual([]);
});

test('Cancel stops a render mid-way and keeps nothing; a preview renders only the first 2 s', async () => {
  test.setTimeout(300_000);
  const { page, errors } = await openRender();
  await page.getByTestId('render-face').setInputFiles(join(dir, 'face.mp4'));
  await page.getByTestId('render-audio').setInputFiles(join(CLIPS_DIR, SPEECH_CLIP, 'audio.wav'));
  await page.getByTestId('render-start').click();
  await expect(page.getByTestId('render-progress')).toContainText(/frame [1-9]\d* \/ 120/, { timeout: 120_000 });
  await page.getByTestId('render-cancel').click();
  await expect(page.getByTestId('render')).toHaveAttribute('data-phase', 'idle', { timeout: 10_000 });
  await expect(page.getByTestId('render-error')).toContainText('Render cancelled: nothing was kept');
  await expect(page.getByTestId('render-result')).toHaveCount(0);
  await expect(page.getByTestId('render-download')).toHaveCount(0);

  await page.getByTestId('render-preview').click();
  await expect(page.getByTestId('render')).toHaveAttribute('data-phase', 'done', { timeout: 240_000 });
  await expect(page.getByTestId('render-result')).toHaveAttribute('data-frames', '50');
  expect(errors).toEqual([]);
});
