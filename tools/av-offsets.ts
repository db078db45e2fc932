/**
 * Checks every clip of a prepared dataset for an audio–video offset (src/engine/eval/avOffset.ts:
 * leave-one-out audio → mouth-opening predictor, best audio shift per clip) and decides per clip:
 *   |offset| ≤ 1 frame            → ok (left as it is)
 *   |offset| > 1 with a clear peak → corrected (the trainer reads its audio `offset` frames later)
 *   |offset| > 1, no clear peak    → excluded from training
 *
 *   npm run data:av-offsets -- --data data/prepared [--out tools/train/av-offsets.json] [--apply]
 *
 * --apply also writes the decisions into DATA/index.json (`audioOffset`, `excluded` per clip), which
 * tools/train/data.py honours. `npm run data:prepare` copies the committed decisions into every new index.
 */
import type { IndexClip } from './data-prepare.ts';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { estimateOffsets, fitSyncPredictor, type SyncClip } from '../src/engine/eval/avOffset.ts';
import { mouthOpening } from '../src/engine/face/meshIndices.ts';
import { MEL_CONFIG } from '../src/engine/audio/melConfig.ts';

export const DEFAULT_OFFSETS_FILE = resolve(import.meta.dirname, 'train/av-offsets.json');
export const PREDICTOR_FILE = resolve(import.meta.dirname, '../src/engine/eval/syncPredictor.json');

/** A clip's decision, as committed in av-offsets.json and copied into index.json. */
export interface OffsetDecision {
  offset: number;
  offsetFine: number;
  r: number;
  r0: number;
  margin: number;
  action: 'ok' | 'corrected' | 'excluded';
}

/** How far the estimator looks (frames each way). */
export const MAX_LAG = 8;

/**
 * The rule above. A peak is clear when it beats everything more than 2 frames away by 0.05, r ≥ 0.3, and it
 * is not at the edge of the scan (a maximum there is a slope, not a peak: short clips give such).
 */
export function decide(e: { offset: number; r: number; margin: number }, maxLag = MAX_LAG): OffsetDecision['action'] {
  if (Math.abs(e.offset) <= 1) return 'ok';
  return e.margin > 0.05 && e.r >= 0.3 && Math.abs(e.offset) < maxLag ? 'corrected' : 'excluded';
}

/** Mouth opening per frame from a prepared clip's landmarks (NaN where no face). */
/** A float32 file as a Float32Array of its own (a Buffer may sit at any offset of a shared pool). */
function readF32(path: string): Float32Array {
  const b = readFileSync(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

export function loadSyncClip(root: string, c: IndexClip): SyncClip {
  const lm = readF32(join(root, c.dir, 'landmarks.f32'));
  const valid = readFileSync(join(root, c.dir, 'valid.u8'));
  const mel = readF32(join(root, c.dir, 'mel.f32'));
  const opening = new Float64Array(c.frames).fill(NaN);
  for (let t = 0; t < c.frames; t++) if (valid[t]) opening[t] = mouthOpening(lm.subarray(t * 478 * 3, (t + 1) * 478 * 3));
  return { id: c.id, opening, mel, melFrames: mel.length / MEL_CONFIG.nMels, fps: c.fps };
}

function main(argv: string[]): void {
  const get = (k: string) => {
    const i = argv.indexOf(k);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const data = get('--data');
  if (!data) {
    console.error('usage: npm run data:av-offsets -- --data DIR [--out FILE] [--apply]');
    process.exit(2);
  }
  const out = get('--out') ?? DEFAULT_OFFSETS_FILE;
  const indexPath = join(data, 'index.json');
  if (!existsSync(indexPath)) {
    console.error(`${indexPath} not found: pass the folder written by \`npm run data:prepare\`.`);
    process.exit(2);
  }
  const index = JSON.parse(readFileSync(indexPath, 'utf8')) as { clips: IndexClip[] };
  const clips = index.clips.map((c) => loadSyncClip(data, c));
  const t0 = performance.now();
  const est = estimateOffsets(clips, { rounds: 3, maxLag: MAX_LAG });
  const decisions: Record<string, OffsetDecision> = {};
  console.log('clip                                     offset  fine    r@best  r@0     margin  action');
  for (const c of index.clips) {
    const e = est.get(c.id)!;
    const action = decide(e);
    decisions[c.id] = {
      offset: e.offset,
      offsetFine: +e.offsetFine.toFixed(2),
      r: +e.r.toFixed(3),
      r0: +e.r0.toFixed(3),
      margin: +e.margin.toFixed(3),
      action,
    };
    console.log(
      `${c.id.padEnd(40)} ${String(e.offset).padStart(6)}  ${e.offsetFine.toFixed(2).padStart(6)}  ${e.r.toFixed(3).padStart(6)}  ${e.r0.toFixed(3).padStart(6)}  ${e.margin.toFixed(3).padStart(6)}  ${action}`,
    );
  }
  const counts = Object.values(decisions).reduce<Record<string, number>>((a, d) => ((a[d.action] = (a[d.action] ?? 0) + 1), a), {});
  console.log(`${clips.length} clips in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${JSON.stringify(counts)}`);
  writeFileSync(
    out,
    `${JSON.stringify({ convention: 'offset d: the sound of video frame t is at audio time t + d frames (25 fps)', clips: decisions }, null, 1)}\n`,
  );
  console.log(`wrote ${out}`);
  // The committed predictor (tests, eval): fitted on every usable clip at its corrected offset.
  const usable = clips.filter((c) => decisions[c.id].action !== 'excluded');
  const lags = new Map(usable.map((c) => [c.id, decisions[c.id].action === 'corrected' ? decisions[c.id].offset : 0]));
  const predictor = fitSyncPredictor(usable, lags);
  writeFileSync(PREDICTOR_FILE, `${JSON.stringify({ ...predictor, weights: predictor.weights.map((w) => +w.toPrecision(6)) })}\n`);
  console.log(`wrote ${PREDICTOR_FILE} (fitted on ${usable.length} clips)`);
  if (argv.includes('--apply')) {
    applyDecisions(index.clips, decisions);
    writeFileSync(indexPath, `${JSON.stringify(index, null, 1)}\n`);
    console.log(`applied to ${indexPath}`);
  }
}

/** Writes `audioOffset` / `excluded` into index clips from decisions (clips without a decision are left alone). */
export function applyDecisions(clips: IndexClip[], decisions: Record<string, Pick<OffsetDecision, 'offset' | 'action'>>): void {
  for (const c of clips) {
    const d = decisions[c.id];
    delete c.audioOffset;
    delete c.excluded;
    if (d?.action === 'corrected') c.audioOffset = d.offset;
    if (d?.action === 'excluded') c.excluded = true;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) main(process.argv.slice(2));
