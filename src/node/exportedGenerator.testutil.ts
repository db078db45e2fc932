/**
 * Test helper (Node only): a real generator exported by the offline PyTorch trainer (tools/train), so the
 * fine-tuning tests run on the graph the trainer actually produces, not a hand-built stand-in.
 * Synthetic data → pairs from the shared sampler → a couple of training steps → export.py.
 * Results are cached in the OS temp dir keyed by the trainer's sources and the options.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { mulberry32 } from '../engine/training/rng.ts';
import type { GeneratorManifest } from '../engine/generator/manifest.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const TRAIN = join(ROOT, 'tools/train');
const PY = process.env.PYTHON ?? '/usr/bin/python3';

/** Why the exported generator cannot be made here (no python3 / torch), or null when it can. */
export function pythonTorchMissing(): string | null {
  try {
    execFileSync(PY, ['-c', 'import torch'], { stdio: 'pipe' });
    return null;
  } catch (e) {
    return `${PY} with torch is not available (${(e as Error).message.split('\n')[0]}); install python3-torch to run this test`;
  }
}

export interface ExportedGenerator {
  bytes: Uint8Array;
  manifest: GeneratorManifest;
  dir: string;
}

export interface ExportOptions {
  size?: number;
  widths?: string;
  past?: number;
  lookahead?: number;
  /** Channels of the full-resolution reference path (model.py ref_features; 0 = none). */
  refFeatures?: number;
  /** Decoder upsampling (model.py upsample): new runs use 'transposed'; 0.3.0 and earlier shipped 'nearest'. */
  upsample?: 'nearest' | 'transposed';
  /** How the lower half is made (model.py output): 'warp' adds a flow, Transpose and GridSample. */
  output?: 'residual' | 'warp';
  /** The person-articulation input (train.py --articulation): a fourth graph input, [1, 2]. */
  articulation?: boolean;
  /** The openingGain input (export.py --opening-gain): one more graph input, [1, 1]. */
  openingGain?: boolean;
}

export function exportedGenerator(opts: ExportOptions = {}): ExportedGenerator {
  const size = opts.size ?? 128;
  const widths = opts.widths ?? '32,64,128,192';
  const past = opts.past ?? 8;
  const lookahead = opts.lookahead ?? 8;
  const refFeatures = opts.refFeatures ?? 0;
  const upsample = opts.upsample ?? 'transposed';
  const output = opts.output ?? 'residual';
  const articulation = opts.articulation ?? false;
  const openingGain = opts.openingGain ?? false;
  const hash = createHash('sha256');
  for (const f of ['model.py', 'export.py', 'train.py', 'data.py', 'synth.py']) hash.update(readFileSync(join(TRAIN, f)));
  hash.update(JSON.stringify({ size, widths, past, lookahead, refFeatures, upsample, output, articulation, openingGain }));
  const dir = join(tmpdir(), `lipsync-exported-${hash.digest('hex').slice(0, 12)}`);
  const onnx = join(dir, 'model/generator.onnx');
  if (!existsSync(onnx)) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { cwd: ROOT, stdio: 'pipe', env: { ...process.env, OMP_NUM_THREADS: '1' } });
    run(PY, [join(TRAIN, 'synth.py'), '--out', join(dir, 'data'), '--clips', '2', '--frames', '30', '--identities', '2', '--size', String(size)]);
    run(process.execPath, [join(ROOT, 'node_modules/tsx/dist/cli.mjs'), join(TRAIN, 'write_pairs.ts'), join(dir, 'data'), '--epochs', '1']);
    run(PY, [
      join(TRAIN, 'train.py'),
      '--data',
      join(dir, 'data'),
      '--out',
      join(dir, 'run'),
      '--steps',
      '2',
      '--batch',
      '2',
      '--val-identities',
      'person1',
      '--val-every',
      '2',
      '--val-pairs',
      '4',
      '--widths',
      widths,
      '--past',
      String(past),
      '--lookahead',
      String(lookahead),
      '--threads',
      '1',
      '--ref-features',
      String(refFeatures),
      '--upsample',
      upsample,
      '--output',
      output,
      ...(articulation ? ['--articulation'] : []),
    ]);
    run(PY, [join(TRAIN, 'export.py'), '--checkpoint', join(dir, 'run/last.pt'), '--out', join(dir, 'model'), ...(openingGain ? ['--opening-gain'] : [])]);
  }
  return {
    bytes: new Uint8Array(readFileSync(onnx)),
    manifest: JSON.parse(readFileSync(join(dir, 'model/manifest.json'), 'utf8')) as GeneratorManifest,
    dir: join(dir, 'model'),
  };
}

/** Random contract inputs for one frame of an S×S exported generator (lower half masked, audio in [-1, 1]). */
export function frameInputs(S: number, seed: number): { masked: Float32Array; reference: Float32Array; audio: Float32Array } {
  const r = mulberry32(seed);
  const masked = Float32Array.from({ length: 3 * S * S }, r);
  for (let c = 0; c < 3; c++) masked.fill(0.5, c * S * S + (S / 2) * S, (c + 1) * S * S);
  return { masked, reference: Float32Array.from({ length: 3 * S * S }, r), audio: Float32Array.from({ length: 80 * 16 }, () => r() * 2 - 1) };
}

/** The largest elementwise difference of two outputs; outputs of different sizes are an error, not a small number. */
export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`outputs differ in size: ${a.length} against ${b.length} values`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
