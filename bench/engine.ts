/**
 * Per-frame engine costs that must stay small, timed here instead of inside unit tests (a loaded CI machine
 * would fail a timed test for no reason): the live crop warp at 128², and the fine-tune's augmentation of a
 * batch of 4 (8 crops + lip landmarks). Part of `npm run bench`; alone: `npx tsx bench/engine.ts`.
 */
import { join } from 'node:path';
import { CLIPS_DIR, readFrames } from '../src/node/clipFrames.ts';
import { warpToCrop } from '../src/engine/face/warp.ts';
import { LANDMARK_COUNT } from '../src/engine/face/meshIndices.ts';
import { CropWarper, DEFAULT_AUGMENT, drawAugment, warpLandmarks } from '../src/engine/training/augment.ts';
import { mulberry32 } from '../src/engine/training/rng.ts';

export interface EngineTiming {
  what: string;
  meanMs: number;
  /** What the live path or the fine-tune can afford. */
  budgetMs: number;
}

function time(fn: () => void, warmUp: number, n: number): number {
  for (let i = 0; i < warmUp; i++) fn();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) fn();
  return (performance.now() - t0) / n;
}

export function benchEngine(): EngineTiming[] {
  const frame = readFrames(join(CLIPS_DIR, 'mimictalk_May_5s'), { count: 1 }).frames[0];
  const t: [number, number, number, number, number, number] = [0.4, 0, -40, 0, 0.4, -50];
  const warp = time(() => warpToCrop(frame, t, 128, [-1, 1]), 5, 50);

  const size = 128;
  const rng = mulberry32(1);
  const warper = new CropWarper(size);
  const crops = [1, 2].map((seed) => {
    const r = mulberry32(seed);
    return Uint8Array.from({ length: size * size * 3 }, () => Math.floor(r() * 256));
  });
  const out = new Float32Array(3 * size * size);
  const lm = new Float32Array(LANDMARK_COUNT * 3).fill(64);
  const lmOut = new Float32Array(LANDMARK_COUNT * 3);
  const augment = time(
    () => {
      for (let b = 0; b < 4; b++) {
        const a = drawAugment(rng, DEFAULT_AUGMENT);
        warper.warp(crops[0], a.target, a.colour, [0, 1], out);
        warper.warp(crops[1], a.reference, a.colour, [0, 1], out);
        warpLandmarks(lm, size, a.target, lmOut);
      }
    },
    20,
    100,
  );
  return [
    { what: 'warpToCrop 128² (live, per frame)', meanMs: warp, budgetMs: 5 },
    { what: 'augment a batch of 4 at 128² (fine-tune, per step)', meanMs: augment, budgetMs: 50 },
  ];
}

export function printEngine(rows: EngineTiming[]): void {
  console.table(rows.map((r) => ({ what: r.what, 'mean ms': r.meanMs.toFixed(2), 'budget ms': r.budgetMs, ok: r.meanMs <= r.budgetMs ? 'yes' : 'OVER' })));
}

if (import.meta.url === `file://${process.argv[1]}`) printEngine(benchEngine());
