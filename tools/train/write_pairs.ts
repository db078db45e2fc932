/**
 * Writes <root>/pairs.i32 for a prepared dataset with the shared sampler (src/engine/training/sampler.ts).
 * Minimal stand-in used by the trainer's smoke test; the data:prepare CLI may take this over.
 *
 *   npx tsx tools/train/write_pairs.ts <root> [--epochs N] [--seed S] [--min-offset K] [--near-fraction F --near-within W]
 *
 * --near-fraction F draws that share of references from minOffset < |r − t| ≤ W (default W = 15) instead of the whole clip.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pairsToInt32, samplePairs } from '../../src/engine/training/sampler.ts';

interface IndexClip {
  dir: string;
  frames: number;
}

function flag(args: string[], name: string, fallback: number, integer = true): number {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(args[i + 1]);
  if (integer ? !Number.isInteger(v) : !Number.isFinite(v)) throw new Error(`${name} needs ${integer ? 'an integer' : 'a number'}, got ${args[i + 1]}`);
  return v;
}

const args = process.argv.slice(2);
const root = args[0];
if (!root || root.startsWith('--')) {
  console.error('usage: tsx tools/train/write_pairs.ts <root> [--epochs N] [--seed S] [--min-offset K] [--near-fraction F] [--near-within W]');
  process.exit(2);
}
if (args.includes('--near-within') && !args.includes('--near-fraction')) {
  console.error('--near-within W sets the near band of --near-fraction F: give --near-fraction too (e.g. --near-fraction 0.5 --near-within 15).');
  process.exit(2);
}
const index = JSON.parse(readFileSync(join(root, 'index.json'), 'utf8')) as { clips: IndexClip[] };
const clips = index.clips.map((c) => new Uint8Array(readFileSync(join(root, c.dir, 'valid.u8'))));
const { pairs, skippedTargets, plan } = samplePairs({
  clips,
  epochs: flag(args, '--epochs', 10),
  rng: flag(args, '--seed', 1),
  minOffset: flag(args, '--min-offset', 5),
  nearReference: args.includes('--near-fraction') ? { fraction: flag(args, '--near-fraction', 0, false), within: flag(args, '--near-within', 15) } : undefined,
});
writeFileSync(join(root, 'pairs.i32'), pairsToInt32(pairs));
console.log(`wrote ${pairs.length} pairs (${plan.targetCount} targets/epoch, ${skippedTargets.length} skipped) to ${join(root, 'pairs.i32')}`);
