/**
 * `npx tsx bench/render-only.ts [own|shared]` (after a build): just the render-mode speed of `npm run bench`,
 * optionally with face tracking forced onto its own thread or onto the generator's.
 */
import { chromium } from '@playwright/test';
import { BASE_FLAGS } from '../e2e/chromium.ts';
import { CHROMIUM } from '../playwright.config.ts';
import { startPreview } from './previewServer.ts';
import { benchRender } from './render.ts';

const PORT = 4184;
const server = await startPreview(PORT);
const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: BASE_FLAGS });
try {
  const faceThread = process.argv[2];
  const r = await benchRender(browser, `http://127.0.0.1:${PORT}`, faceThread ? `&faceThread=${faceThread}` : '');
  console.log(
    `render${faceThread ? ` (faceThread=${faceThread})` : ''}: browser ${r.browserFps.toFixed(1)} frames/s, npm run render ${r.cliFps.toFixed(1)} frames/s (${r.frames} frames of ${r.width}×${r.height}); ms/frame: ${Object.entries(
      r.stages,
    )
      .map(([k, v]) => `${k} ${v.toFixed(1)}`)
      .join(', ')}`,
  );
} finally {
  await browser.close();
  server.stop();
}
