/**
 * Issue #11 feasibility: MediaPipe Tasks' FaceLandmarker (built offline from @mediapipe/face_mesh by
 * tools/build-face-task.ts) vs the app's tfjs Face Mesh, both in a module worker in headless Chromium.
 *
 *   npx tsx tools/compare-landmarkers.ts [--clips id,id] [--frames 75] [--mesh attention|plain] [--mode VIDEO|IMAGE] [--num-faces 1] [--rebuild]
 *                                        [--task .cache/face-task/OTHER.task] [--json out.json]
 *
 * Prints: whether/how the .task loads (exact errors), landmark distance between the two (normalised by the
 * inter-ocular distance, on align.ts's STABLE_POINTS, the lips, the irises and all 478 points), crop shift
 * (align.ts's similarity at S=256), mouth-opening difference, detection rate and ms/frame of each.
 * Frames are decoded with ffmpeg into memory (640 px wide) and served to the page by Playwright; nothing is written.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpus, loadavg } from 'node:os';
import { chromium } from '@playwright/test';
import { createServer } from 'vite';
import { BASE_FLAGS } from '../e2e/chromium.ts';
import { estimateCropTransform, applyAffine } from '../src/engine/face/align.ts';
import { CLIPS_DIR } from '../src/node/clipFrames.ts';
import { INNER_LIPS, OUTER_LIPS, STABLE_POINTS, interOcularDistance, mouthOpening } from '../src/engine/face/meshIndices.ts';
import { buildFaceTask, DEFAULT_TASK_PATH } from './build-face-task.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PORT = 4290;
const args = process.argv.slice(2);
const opt = (k: string, d?: string) => {
  const i = args.indexOf(k);
  return i >= 0 ? args[i + 1] : d;
};
const FRAMES = Number(opt('--frames', '75'));
const MESH = opt('--mesh', 'attention') as 'attention' | 'plain';
/** VIDEO = tracking + MediaPipe's built-in landmark smoothing (the live-mode setting); IMAGE = detector on every frame, no smoothing. */
const MODE = opt('--mode', 'VIDEO') as 'VIDEO' | 'IMAGE';
/** MediaPipe smooths landmarks only when numFaces is 1 (VIDEO): --num-faces 2 tracks without that smoothing. */
const NUM_FACES = Number(opt('--num-faces', '1'));
const WIDTH = 640;
const DEFAULT_CLIPS = [
  'lrs2_00001',
  'styletalk_Obama_clip2',
  'mimictalk_May_5s',
  'edtalk_mouth_source',
  'grid_bbaf2n',
  'eamm_M030_sad_3_001',
  'sadtalker_WDA_EdMarkey0_000',
  'spectre_mead_W015',
  'vretalk_1',
  'latentsync_demo3',
];
const clips = (opt('--clips')?.split(',') ?? DEFAULT_CLIPS).filter((c) => existsSync(join(CLIPS_DIR, c, 'video.mp4')));

function decode(clip: string, n: number): { width: number; height: number; frames: Buffer[] } {
  const file = join(CLIPS_DIR, clip, 'video.mp4');
  const probe = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height', '-of', 'csv=p=0', file], {
    encoding: 'utf8',
  });
  const [w0, h0] = probe.trim().split(',').map(Number);
  const width = WIDTH;
  const height = 2 * Math.round((h0 * WIDTH) / w0 / 2);
  const raw = execFileSync(
    'ffmpeg',
    ['-v', 'error', '-i', file, '-vf', `scale=${width}:${height}`, '-frames:v', String(n), '-f', 'rawvideo', '-pix_fmt', 'rgba', '-'],
    { maxBuffer: 1 << 30 },
  );
  const size = width * height * 4;
  const frames: Buffer[] = [];
  for (let o = 0; o + size <= raw.length; o += size) frames.push(raw.subarray(o, o + size));
  return { width, height, frames };
}

const LIPS = [...OUTER_LIPS, ...INNER_LIPS];
const IRIS = [468, 469, 470, 471, 472, 473, 474, 475, 476, 477];
const ALL = Array.from({ length: 478 }, (_, i) => i);
const SETS: Record<string, readonly number[]> = { 'align (STABLE_POINTS)': STABLE_POINTS, 'lips (outer+inner)': LIPS, irises: IRIS, 'all 478': ALL };

function meanDist(a: Float32Array, b: Float32Array, idx: readonly number[], norm: number): number {
  let s = 0;
  for (const i of idx) s += Math.hypot(a[3 * i] - b[3 * i], a[3 * i + 1] - b[3 * i + 1]);
  return s / idx.length / norm;
}

function cropShift(ref: Float32Array, other: Float32Array, S = 256): number {
  const A = estimateCropTransform({ points: ref, score: 1 }, S);
  const B = estimateCropTransform({ points: other, score: 1 }, S);
  let s = 0;
  for (const i of STABLE_POINTS) {
    const [ax, ay] = applyAffine(A, ref[3 * i], ref[3 * i + 1]);
    const [bx, by] = applyAffine(B, ref[3 * i], ref[3 * i + 1]);
    s += Math.hypot(ax - bx, ay - by);
  }
  return s / STABLE_POINTS.length;
}

const stats = (xs: number[]) => {
  if (!xs.length) return { mean: NaN, median: NaN, p90: NaN };
  const s = [...xs].sort((a, b) => a - b);
  return { mean: xs.reduce((a, b) => a + b, 0) / xs.length, median: s[Math.floor(s.length / 2)], p90: s[Math.min(s.length - 1, Math.floor(s.length * 0.9))] };
};
const f = (x: number, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : '—');

async function main() {
  const taskPath = opt('--task') ? resolve(opt('--task')!) : MESH === 'attention' ? DEFAULT_TASK_PATH : DEFAULT_TASK_PATH.replace(/\.task$/, '_plain.task');
  if (opt('--task') && dirname(taskPath) !== dirname(DEFAULT_TASK_PATH))
    throw new Error(`--task must be in ${dirname(DEFAULT_TASK_PATH)} (served as /face-task/)`);
  if (!opt('--task') && (!existsSync(taskPath) || args.includes('--rebuild'))) {
    mkdirSync(dirname(taskPath), { recursive: true });
    writeFileSync(taskPath, buildFaceTask(MESH));
  }
  const taskUrl = `/face-task/${taskPath.split('/').pop()}`;
  const load0 = loadavg();
  console.log(`CPU: ${cpus().length} × ${cpus()[0]?.model}; load average before: ${load0.map((x) => x.toFixed(2)).join(' ')}`);
  console.log(`clips: ${clips.join(', ')}; ${FRAMES} frames each at ${WIDTH} px wide; task: ${taskUrl}; tasks running mode ${MODE}`);

  const server = await createServer({ configFile: join(ROOT, 'tools/face-task/vite.config.ts'), logLevel: 'warn' });
  await server.listen();
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: BASE_FLAGS });
  const report: Record<string, unknown> = { clips, frames: FRAMES, width: WIDTH, mesh: MESH, mode: MODE, numFaces: NUM_FACES, loadBefore: load0 };
  try {
    const page = await browser.newPage();
    const consoleLines: string[] = [];
    page.on('console', (m) => consoleLines.push(`[${m.type()}] ${m.text()}`));
    page.on('pageerror', (e) => consoleLines.push(`[pageerror] ${e.message}`));
    const frameStore = new Map<string, Buffer>();
    await page.route('**/frames/**', (route) => {
      const body = frameStore.get(new URL(route.request().url()).pathname);
      return body ? route.fulfill({ status: 200, body, contentType: 'application/octet-stream' }) : route.fulfill({ status: 404 });
    });
    await page.goto(`http://127.0.0.1:${PORT}/`);
    await page.waitForFunction(() => 'bench' in window, null, { timeout: 120_000 });
    type Bench = {
      call(req: unknown): Promise<unknown>;
      newWorker(): void;
      frame(u: string, w: number, h: number, t: number, run: string[]): Promise<Record<string, { ms: number; points: number[] | null }>>;
    };
    const call = (req: unknown) => page.evaluate((r) => (window as unknown as { bench: Bench }).bench.call(r), req);

    // 1. Feasibility: module worker with tasks-vision's own loader (importScripts), then with the workaround.
    const feas: Record<string, string> = {};
    for (const loader of ['importScripts', 'eval'] as const) {
      try {
        const r = (await call({ type: 'init-tasks', taskUrl, loader, mode: MODE, numFaces: NUM_FACES })) as { ms: number };
        feas[loader] = `loaded in ${r.ms.toFixed(0)} ms`;
      } catch (e) {
        feas[loader] = `FAILED: ${(e as Error).message.replace(/^page\.evaluate: /, '').split('\n')[0]}`;
        await page.evaluate(() => (window as unknown as { bench: Bench }).bench.newWorker());
      }
      console.log(`module worker, tasks loader via ${loader}: ${feas[loader]}`);
    }
    report.feasibility = feas;
    if (!feas.eval.startsWith('loaded')) {
      console.log(`console:\n${consoleLines.slice(-30).join('\n')}`);
      throw new Error('The .task did not load; see above');
    }
    const tfInit = (await call({ type: 'init-tfjs' })) as { ms: number; backend: string };
    console.log(`tfjs Face Mesh on ${tfInit.backend}: created + warmed up in ${tfInit.ms.toFixed(0)} ms`);

    // 2. Frames.
    interface Acc {
      dist: Record<string, number[]>;
      crop: number[];
      open: number[];
      openPairs: [number, number][];
      ms: { tfjs: number[]; tasks: number[] };
      found: { tfjs: number; tasks: number };
      n: number;
    }
    const acc = (n: number): Acc => ({
      dist: Object.fromEntries(Object.keys(SETS).map((k) => [k, []])),
      crop: [],
      open: [],
      openPairs: [],
      ms: { tfjs: [], tasks: [] },
      found: { tfjs: 0, tasks: 0 },
      n,
    });
    const per: Record<string, Acc> = {};
    const totals = acc(0);
    for (const clip of clips) {
      const { width, height, frames } = decode(clip, FRAMES);
      frames.forEach((b, i) => frameStore.set(`/frames/${clip}/${i}`, b));
      await call({ type: 'reset' });
      const c = (per[clip] = acc(frames.length));
      for (let i = 0; i < frames.length; i++) {
        // Alternate which runs first so cache effects do not favour one.
        const run = i % 2 ? ['tasks', 'tfjs'] : ['tfjs', 'tasks'];
        const r = await page.evaluate(
          ([u, w, h, t, run]) => (window as unknown as { bench: Bench }).bench.frame(u as string, w as number, h as number, t as number, run as string[]),
          [`/frames/${clip}/${i}`, width, height, i * 40, run] as const,
        );
        for (const k of ['tfjs', 'tasks'] as const) {
          if (r[k].points) c.found[k]++;
          if (i > 0) c.ms[k].push(r[k].ms); // frame 0 includes detection + first-run costs
        }
        if (r.tfjs.points && r.tasks.points) {
          const a = Float32Array.from(r.tfjs.points);
          const b = Float32Array.from(r.tasks.points);
          const iod = interOcularDistance(a);
          for (const [k, idx] of Object.entries(SETS)) c.dist[k].push(meanDist(a, b, idx, iod));
          c.crop.push(cropShift(a, b));
          c.open.push(Math.abs(mouthOpening(a) - mouthOpening(b)));
          c.openPairs.push([mouthOpening(a), mouthOpening(b)]);
        }
      }
      for (const k of Object.keys(SETS)) totals.dist[k].push(...c.dist[k]);
      totals.crop.push(...c.crop);
      totals.open.push(...c.open);
      totals.openPairs.push(...c.openPairs);
      totals.ms.tfjs.push(...c.ms.tfjs);
      totals.ms.tasks.push(...c.ms.tasks);
      totals.found.tfjs += c.found.tfjs;
      totals.found.tasks += c.found.tasks;
      totals.n += c.n;
      for (let i = 0; i < frames.length; i++) frameStore.delete(`/frames/${clip}/${i}`);
      console.log(
        `${clip.padEnd(24)} ${width}x${height} n=${c.n} found tfjs ${c.found.tfjs} tasks ${c.found.tasks} | ` +
          Object.keys(SETS)
            .map((k) => `${k.split(' ')[0]} ${f(stats(c.dist[k]).mean)}`)
            .join(' ') +
          ` | crop ${f(stats(c.crop).mean, 2)} px | ms tfjs ${f(stats(c.ms.tfjs).median, 1)} tasks ${f(stats(c.ms.tasks).median, 1)}`,
      );
    }
    const corr = (pairs: [number, number][]) => {
      const n = pairs.length;
      const mx = pairs.reduce((s, p) => s + p[0], 0) / n;
      const my = pairs.reduce((s, p) => s + p[1], 0) / n;
      let sxy = 0,
        sxx = 0,
        syy = 0;
      for (const [x, y] of pairs) {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx) ** 2;
        syy += (y - my) ** 2;
      }
      return sxy / Math.sqrt(sxx * syy);
    };
    const load1 = loadavg();
    console.log('\n## MediaPipe Tasks FaceLandmarker (face_mesh models, .task built locally) vs tfjs Face Mesh (app)');
    console.log(`frames: ${totals.n} (${clips.length} clips × ≤${FRAMES}), both found a face in ${totals.dist['all 478'].length}`);
    console.log('\n| landmark distance / inter-ocular distance | mean | median | p90 |\n|---|---|---|---|');
    for (const k of Object.keys(SETS)) {
      const s = stats(totals.dist[k]);
      console.log(`| ${k} | ${f(s.mean)} | ${f(s.median)} | ${f(s.p90)} |`);
    }
    const cs = stats(totals.crop);
    console.log(`| crop shift, px in a 256 crop (align.ts similarity) | ${f(cs.mean, 2)} | ${f(cs.median, 2)} | ${f(cs.p90, 2)} |`);
    const os = stats(totals.open);
    console.log(`| |mouthOpening diff| (IOD units) | ${f(os.mean)} | ${f(os.median)} | ${f(os.p90)} |`);
    console.log(`mouthOpening correlation tfjs vs tasks: ${f(corr(totals.openPairs))}`);
    console.log('\n| landmarker | faces found | ms/frame mean | median | p90 |\n|---|---|---|---|---|');
    for (const k of ['tfjs', 'tasks'] as const) {
      const s = stats(totals.ms[k]);
      const name = k === 'tfjs' ? `tfjs Face Mesh (wasm SIMD, 1 thread)` : `Tasks FaceLandmarker (CPU/XNNPACK, ${MESH}, ${MODE}, numFaces ${NUM_FACES})`;
      console.log(`| ${name} | ${totals.found[k]}/${totals.n} | ${f(s.mean, 1)} | ${f(s.median, 1)} | ${f(s.p90, 1)} |`);
    }
    console.log(
      `\nload average before ${load0.map((x) => x.toFixed(2)).join(' ')}, after ${load1.map((x) => x.toFixed(2)).join(' ')} (${cpus().length} cores)`,
    );
    Object.assign(report, {
      loadAfter: load1,
      tfInit,
      per: Object.fromEntries(
        Object.entries(per).map(([k, c]) => [
          k,
          {
            found: c.found,
            n: c.n,
            dist: Object.fromEntries(Object.entries(c.dist).map(([s, v]) => [s, stats(v)])),
            crop: stats(c.crop),
            msTfjs: stats(c.ms.tfjs),
            msTasks: stats(c.ms.tasks),
          },
        ]),
      ),
    });
    const warn = consoleLines.filter((l) => /error|warn/i.test(l));
    if (warn.length) console.log(`\nbrowser console (errors/warnings, first 10):\n${warn.slice(0, 10).join('\n')}`);
    const json = opt('--json');
    if (json) writeFileSync(json, JSON.stringify(report, null, 2));
  } finally {
    await browser.close();
    await server.close();
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exit(1);
});
