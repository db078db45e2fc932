/**
 * Test fixtures made at test time (never committed): a real talking-face clip from
 * ../shared/data turned into a y4m camera + wav mic for Chromium's fake devices.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { buildTestGenerator } from '../src/engine/generator/testGenerator.ts';
import { MEL_CONFIG } from '../src/engine/audio/melConfig.ts';
import { resolve } from 'node:path';
import { FIXTURES } from './chromium.ts';

export const CLIPS_DIR = resolve(import.meta.dirname, '../../shared/data/clips');
/** A frontal news-style speaker; padded to a 640×480 webcam frame. */
export const CAMERA_CLIP = 'sadtalker_WDA_BobMenendez_000';

function convert(clip: string, name: string): void {
  const src = resolve(CLIPS_DIR, clip);
  const y4m = resolve(FIXTURES, `${name}.y4m`);
  const wav = resolve(FIXTURES, `${name}.wav`);
  if (!existsSync(y4m) || statSync(y4m).size === 0) {
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', resolve(src, 'video.mp4'), '-vf', 'scale=480:480,pad=640:480:80:0', '-r', '25', '-pix_fmt', 'yuv420p', y4m]);
  }
  if (!existsSync(wav)) {
    // Chromium's fake mic wants 16-bit PCM; 48 kHz exercises the worklet's resampler like a real mic.
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', resolve(src, 'audio.wav'), '-ar', '48000', '-ac', '1', '-c:a', 'pcm_s16le', wav]);
  }
}

/** Where the built app (vite build → dist/) finds the small deterministic test generator. */
export const TEST_MODEL_DIR = resolve(import.meta.dirname, '../dist/test-models/small');

/**
 * A small generator that honours the full contract, for tests that need a second model (hot swap)
 * or a cheap one; the app itself loads whatever sits in public/models through the same path.
 */
function writeTestModel(): void {
  mkdirSync(TEST_MODEL_DIR, { recursive: true });
  const { bytes, manifest } = buildTestGenerator({ size: 128, melFrames: 16, past: 8, mel: MEL_CONFIG, cropTemplate: 'facemesh-sim-v1' });
  writeFileSync(resolve(TEST_MODEL_DIR, manifest.model), bytes);
  writeFileSync(resolve(TEST_MODEL_DIR, 'manifest.json'), JSON.stringify(manifest, null, 2));
}

/** A camera that shows no face (a test pattern) with a tone as the mic: the no-face path. */
function noFaceCamera(): void {
  const y4m = resolve(FIXTURES, 'noface.y4m');
  const wav = resolve(FIXTURES, 'noface.wav');
  if (!existsSync(y4m)) execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=640x480:rate=25:duration=4', '-pix_fmt', 'yuv420p', y4m]);
  if (!existsSync(wav)) execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine=frequency=300:sample_rate=48000:duration=4', '-c:a', 'pcm_s16le', wav]);
}

export function prepareFixtures(): void {
  mkdirSync(FIXTURES, { recursive: true });
  convert(CAMERA_CLIP, 'camera');
  noFaceCamera();
  writeTestModel();
}

if (import.meta.url === `file://${process.argv[1]}`) {
  prepareFixtures();
  console.log(`fixtures ready in ${FIXTURES}`);
}
