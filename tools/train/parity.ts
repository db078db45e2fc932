/**
 * Checks an exported generator against the trainer's own outputs (parity.json + parity.bin written
 * by export.py): the ONNX file must pass the generator contract and give PyTorch's output within
 * the tolerance (1e-4) in onnxruntime-web — the runtime the app uses.
 *
 *   npx tsx tools/train/parity.ts MODEL_DIR
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-web';
import { parseManifest } from '../../src/engine/generator/manifest.ts';
import { validateGenerator } from '../../src/engine/generator/validate.ts';
import { GeneratorRunner } from '../../src/engine/generator/runner.ts';
import { MEL_CONFIG } from '../../src/engine/audio/melConfig.ts';

interface ParityEntry {
  shape: number[];
  offset: number;
  length: number;
}
interface ParityFile {
  model: string;
  file: string;
  tolerance: number;
  inputs: Record<'masked' | 'reference' | 'audio', ParityEntry> & { articulation?: ParityEntry; openingGain?: ParityEntry };
  output: ParityEntry & { name: string };
}

export interface ParityResult {
  maxAbsDiff: number;
  meanAbsDiff: number;
  tolerance: number;
  ok: boolean;
}

/**
 * `checkMel: false` is for the smoke test's synthetic dataset, whose stand-in features are not the
 * engine's log-mel; shipped models are always checked against MEL_CONFIG.
 */
export async function checkParity(dir: string, { checkMel = true } = {}): Promise<ParityResult> {
  const parity = JSON.parse(readFileSync(join(dir, 'parity.json'), 'utf8')) as ParityFile;
  const raw = readFileSync(join(dir, parity.file));
  const floats = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  const take = (e: ParityEntry) => floats.slice(e.offset, e.offset + e.length);
  const manifest = parseManifest(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')));
  const bytes = new Uint8Array(readFileSync(join(dir, manifest.model)));
  const expectedMel = checkMel ? MEL_CONFIG : undefined;
  validateGenerator(bytes, manifest, { expectedMel });
  const runner = await GeneratorRunner.create({ modelBytes: bytes, manifest, ort, preferredBackends: ['wasm'], expectedMel });
  try {
    const { masked, reference, audio, articulation, openingGain } = parity.inputs;
    const out = await runner.run({
      masked: take(masked),
      reference: take(reference),
      audio: take(audio),
      ...(articulation ? { articulation: take(articulation) } : {}),
      ...(openingGain ? { openingGain: take(openingGain)[0] } : {}),
    });
    const want = take(parity.output);
    if (out.length !== want.length) throw new Error(`output has ${out.length} values, the trainer's has ${want.length}`);
    let max = 0;
    let sum = 0;
    for (let i = 0; i < out.length; i++) {
      const d = Math.abs(out[i] - want[i]);
      if (!(d <= max)) max = d; // NaN-safe: a NaN output makes max NaN and fails the check
      sum += d;
    }
    return { maxAbsDiff: max, meanAbsDiff: sum / out.length, tolerance: parity.tolerance, ok: max <= parity.tolerance };
  } finally {
    await runner.dispose();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: npx tsx tools/train/parity.ts MODEL_DIR');
    process.exit(2);
  }
  const r = await checkParity(dir);
  console.log(
    `parity: max |onnxruntime-web − PyTorch| = ${r.maxAbsDiff.toExponential(2)} (mean ${r.meanAbsDiff.toExponential(2)}, tolerance ${r.tolerance}) → ${r.ok ? 'OK' : 'FAIL'}`,
  );
  process.exit(r.ok ? 0 : 1);
}
