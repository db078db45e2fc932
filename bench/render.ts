/** Render-mode speed for `npm run bench`: the app's Render view in Chromium and `npm run render` in Node, on the same real clip. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from '@playwright/test';
import { CAMERA_CLIP, CLIPS_DIR } from '../e2e/prepare.ts';
import { runRenderCli } from '../tools/render.ts';

export interface RenderBench {
  frames: number;
  width: number;
  height: number;
  /** Output frames per second of wall time. */
  browserFps: number;
  cliFps: number;
  /** Mean ms per frame in each stage of the browser's render. */
  stages: Record<string, number>;
}

/** `query` adds app URL options (e.g. '&faceThread=shared' to measure render without its face thread). */
export async function benchRender(browser: Browser, origin: string, query = ''): Promise<RenderBench> {
  const dir = mkdtempSync(join(tmpdir(), 'render-bench-'));
  try {
    const face = join(dir, 'face.mp4');
    const clip = join(CLIPS_DIR, CAMERA_CLIP);
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', join(clip, 'video.mp4'), '-t', '4', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', face]);
    const audio = join(clip, 'audio.wav'); // 8 s: the 4 s face loops once forward and back
    const page = await browser.newPage();
    await page.goto(`${origin}/?view=render&backend=wasm${query}`);
    await page.getByTestId('render-face').setInputFiles(face);
    await page.getByTestId('render-audio').setInputFiles(audio);
    await page.getByTestId('render-start').click();
    const result = page.getByTestId('render-result');
    await result.waitFor({ timeout: 600_000 });
    const browserFps = Number(await result.getAttribute('data-render-fps'));
    const frames = Number(await result.getAttribute('data-frames'));
    const stages = JSON.parse((await result.getAttribute('data-stages')) ?? '{}') as Record<string, number>;
    await page.close();
    const cli = await runRenderCli(
      { face, audio, out: join(dir, 'out.mp4'), model: join(import.meta.dirname, '../public/models/manifest.json'), tail: 'stop' },
      () => {},
    );
    return { frames, width: 512, height: 512, browserFps, cliFps: cli.fps, stages };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
