/**
 * Test fixtures made at test time (never committed): a real talking-face clip from
 * ../shared/data turned into a y4m camera + wav mic for Chromium's fake devices.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { buildClapperGenerator, buildTestGenerator, buildWarpTestGenerator } from '../src/engine/generator/testGenerator.ts';
import { MEL_CONFIG } from '../src/engine/audio/melConfig.ts';
import { resolve } from 'node:path';
import { DIST, FIXTURES } from './chromium.ts';

export const CLIPS_DIR = resolve(import.meta.dirname, '../../shared/data/clips');
/** A frontal news-style speaker; padded to a 640×480 webcam frame. */
export const CAMERA_CLIP = 'sadtalker_WDA_BobMenendez_000';

function convert(clip: string, name: string): void {
  const src = resolve(CLIPS_DIR, clip);
  const y4m = resolve(FIXTURES, `${name}.y4m`);
  const wav = resolve(FIXTURES, `${name}.wav`);
  if (!existsSync(y4m) || statSync(y4m).size === 0) {
    execFileSync('ffmpeg', [
      '-v',
      'error',
      '-y',
      '-i',
      resolve(src, 'video.mp4'),
      '-vf',
      'scale=480:480,pad=640:480:80:0',
      '-r',
      '25',
      '-pix_fmt',
      'yuv420p',
      y4m,
    ]);
  }
  if (!existsSync(wav)) {
    // Chromium's fake mic wants 16-bit PCM; 48 kHz exercises the worklet's resampler like a real mic.
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', resolve(src, 'audio.wav'), '-ar', '48000', '-ac', '1', '-c:a', 'pcm_s16le', wav]);
  }
}

/** Where the built app (vite build → dist/) finds the small deterministic test generator. */
export const TEST_MODEL_DIR = resolve(DIST, 'test-models/small');

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

/** The same small generator at 96² (a hot swap across crop sizes). */
export const TEST_MODEL_96_DIR = resolve(DIST, 'test-models/small96');

/**
 * Manifests whose `model` tries to leave the manifest's folder or origin in ways a naive check misses. If one were
 * followed, the request log would show the target; the app must refuse each before fetching anything.
 */
export const MODEL_BYPASSES: Record<string, string> = {
  'unc-path': '\\\\127.0.0.1:4274\\cors\\generator.onnx',
  'leading-space': ' http://127.0.0.1:4274/cors/generator.onnx',
  'tab-in-scheme': 'ht\ttp://127.0.0.1:4274/cors/generator.onnx',
  'encoded-dots': '%2e%2e/%2e%2e/models/generator.onnx',
};
export const BYPASS_DIR = resolve(DIST, 'e2e-media/bypass');

/** A generator that warps the reference with GridSample (the trainer's "warp" output), for the WebGPU EP check. */
export const WARP_MODEL_DIR = resolve(DIST, 'test-models/warp');

/** A generator with the person-articulation input (manifest.inputs.articulation), for the WebGPU EP check and live use. */
export const ARTICULATION_MODEL_DIR = resolve(DIST, 'test-models/articulation');

function writeModelFixtures(): void {
  mkdirSync(ARTICULATION_MODEL_DIR, { recursive: true });
  const art = buildTestGenerator({ size: 128, melFrames: 16, past: 8, mel: MEL_CONFIG, cropTemplate: 'facemesh-sim-v1', articulationPrior: [0.039, 0.07] });
  writeFileSync(resolve(ARTICULATION_MODEL_DIR, art.manifest.model), art.bytes);
  writeFileSync(resolve(ARTICULATION_MODEL_DIR, 'manifest.json'), JSON.stringify(art.manifest, null, 2));
  mkdirSync(WARP_MODEL_DIR, { recursive: true });
  const warp = buildWarpTestGenerator({ mel: MEL_CONFIG });
  writeFileSync(resolve(WARP_MODEL_DIR, warp.manifest.model), warp.bytes);
  writeFileSync(resolve(WARP_MODEL_DIR, 'manifest.json'), JSON.stringify(warp.manifest, null, 2));
  mkdirSync(TEST_MODEL_96_DIR, { recursive: true });
  const small96 = buildTestGenerator({ size: 96, melFrames: 16, past: 8, mel: MEL_CONFIG, cropTemplate: 'facemesh-sim-v1' });
  writeFileSync(resolve(TEST_MODEL_96_DIR, small96.manifest.model), small96.bytes);
  writeFileSync(resolve(TEST_MODEL_96_DIR, 'manifest.json'), JSON.stringify(small96.manifest, null, 2));
  // A manifest whose ONNX file is not on the server (an SPA host answers with index.html).
  mkdirSync(resolve(BYPASS_DIR, '../missing-onnx'), { recursive: true });
  writeFileSync(resolve(BYPASS_DIR, '../missing-onnx/manifest.json'), JSON.stringify({ ...small96.manifest, model: 'not-uploaded.onnx' }, null, 2));
  for (const [name, model] of Object.entries(MODEL_BYPASSES)) {
    const dir = resolve(BYPASS_DIR, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(resolve(dir, 'manifest.json'), JSON.stringify({ ...small96.manifest, model }, null, 2));
  }
}

/** A camera that shows no face (a test pattern) with a tone as the mic: the no-face path. */
function noFaceCamera(): void {
  const y4m = resolve(FIXTURES, 'noface.y4m');
  const wav = resolve(FIXTURES, 'noface.wav');
  if (!existsSync(y4m))
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=640x480:rate=25:duration=4', '-pix_fmt', 'yuv420p', y4m]);
  if (!existsSync(wav))
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine=frequency=300:sample_rate=48000:duration=4', '-c:a', 'pcm_s16le', wav]);
}

/**
 * A microphone that delivers digital silence (a muted or dead mic), with the real face as the camera: the mic
 * health warning (e2e/devices.spec.ts).
 */
function silentMic(): void {
  const y4m = resolve(FIXTURES, 'silent.y4m');
  if (!existsSync(y4m)) symlinkSync(resolve(FIXTURES, 'camera.y4m'), y4m);
  const wav = resolve(FIXTURES, 'silent.wav');
  if (!existsSync(wav)) execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'anullsrc=r=48000:cl=mono', '-t', '10', '-c:a', 'pcm_s16le', wav]);
}

/** Where the built app finds the clapper generator (A/V timing). */
export const CLAPPER_MODEL_DIR = resolve(DIST, 'test-models/clapper');

/**
 * The A/V timing fixture: the real face as camera and, as the mic, bursts of white noise, 200 ms each, at irregular times
 * (so only one alignment fits) with digital silence between them; plus the clapper generator in the build.
 */
function clapperFixture(): void {
  const y4m = resolve(FIXTURES, 'clapper.y4m');
  if (!existsSync(y4m)) symlinkSync(resolve(FIXTURES, 'camera.y4m'), y4m);
  const wav = resolve(FIXTURES, 'clapper.wav');
  // Written every time (a few ms): an older fixture left in a checkout (tone bursts) must not linger.
  const starts = [0.3, 0.9, 1.8, 2.3, 3.3, 3.8, 4.6, 5.4, 5.9, 6.9, 7.4];
  // Broadband noise, not a tone: a tone lifts a few mel bands only, so the clapper's mean over all bands would
  // flash at the bursts' edges (their clicks) instead of staying bright for the whole burst.
  const expr = `if(${starts.map((s) => `between(t,${s},${s + 0.2})`).join('+')},0.3*(2*random(0)-1),0)`;
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `aevalsrc='${expr}':s=48000:d=8`, '-c:a', 'pcm_s16le', wav]);
  mkdirSync(CLAPPER_MODEL_DIR, { recursive: true });
  const { bytes, manifest } = buildClapperGenerator({ mel: MEL_CONFIG });
  writeFileSync(resolve(CLAPPER_MODEL_DIR, manifest.model), bytes);
  writeFileSync(resolve(CLAPPER_MODEL_DIR, 'manifest.json'), JSON.stringify(manifest, null, 2));
}

export function prepareFixtures(): void {
  mkdirSync(FIXTURES, { recursive: true });
  convert(CAMERA_CLIP, 'camera');
  noFaceCamera();
  writeTestModel();
  writeModelFixtures();
  clapperFixture();
  silentMic();
}

/** Media for the embedding tests, copied next to the built app (served by `vite preview` from dist/). */
export const EMBED_MEDIA_DIR = resolve(DIST, 'e2e-media');
/** The library build (npm run build:lib) is placed here, under dist/, away from the app's own files. */
export const EMBED_LIB_PATH = 'other/path/lipsync/';
/** Two faces and two voices: each avatar is driven by the other person's speech. */
export const EMBED_MEDIA = {
  'face1.webm': {
    clip: 'sadtalker_WDA_AlexandriaOcasioCortez_000',
    args: ['-t', '4', '-vf', 'scale=360:360', '-r', '25', '-an', '-c:v', 'libvpx', '-b:v', '1M'],
  },
  'face2.png': { clip: 'sadtalker_WDA_EdMarkey0_000', args: ['-ss', '2', '-frames:v', '1', '-vf', 'scale=360:360'] },
  'audio1.wav': { clip: 'sadtalker_WDA_EdMarkey0_000', audio: true, args: ['-ac', '1', '-c:a', 'pcm_s16le'] },
  'audio2.wav': { clip: 'sadtalker_WDA_AlexandriaOcasioCortez_000', audio: true, args: ['-ac', '1', '-c:a', 'pcm_s16le'] },
} as const;

/**
 * Embedding tests (e2e/embed.spec.ts): a looping face video, a still face and two voices converted
 * from real clips into e2e/fixtures/gen/embed-* and copied into dist/e2e-media/, and the library
 * built into dist/other/path/lipsync/ (a different base path than the app's).
 */
export function prepareEmbedFixtures(): void {
  mkdirSync(FIXTURES, { recursive: true });
  mkdirSync(EMBED_MEDIA_DIR, { recursive: true });
  for (const [name, spec] of Object.entries(EMBED_MEDIA)) {
    const out = resolve(FIXTURES, `embed-${name}`);
    const input = resolve(CLIPS_DIR, spec.clip, 'audio' in spec ? 'audio.wav' : 'video.mp4');
    if (!existsSync(out) || statSync(out).size === 0) execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', input, ...spec.args, out]);
    copyFileSync(out, resolve(EMBED_MEDIA_DIR, name));
  }
  // A generator whose manifest promises another crop size than its ONNX has: fails validation.
  const bad = resolve(EMBED_MEDIA_DIR, 'bad-model');
  mkdirSync(bad, { recursive: true });
  const { bytes, manifest } = buildTestGenerator({ size: 128, melFrames: 16, past: 8, mel: MEL_CONFIG, cropTemplate: 'facemesh-sim-v1' });
  writeFileSync(resolve(bad, manifest.model), bytes);
  writeFileSync(
    resolve(bad, 'manifest.json'),
    JSON.stringify({ ...manifest, inputs: { ...manifest.inputs, masked: { ...manifest.inputs.masked, shape: [1, 3, 96, 96] } } }, null, 2),
  );
  // A blank host page at yet another path: the tests load the library into it.
  writeFileSync(
    resolve(EMBED_MEDIA_DIR, 'host.html'),
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>host</title></head><body></body></html>\n',
  );
  const libDir = resolve(DIST, EMBED_LIB_PATH);
  execFileSync('npx', ['vite', 'build', '-c', 'vite.lib.config.ts', '--outDir', libDir], { cwd: resolve(import.meta.dirname, '..'), stdio: 'inherit' });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  prepareFixtures();
  prepareEmbedFixtures();
  console.log(`fixtures ready in ${FIXTURES}`);
}
