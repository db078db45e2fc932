import { describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTestGenerator } from '../src/engine/generator/testGenerator.ts';
import { findManifest } from './render.ts';

describe('npm run render picks the generator build wasm runs', () => {
  const main = buildTestGenerator({ seed: 1 }).manifest;
  const dir = mkdtempSync(join(tmpdir(), 'render-model-'));
  mkdirSync(join(dir, 'cpu'));
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...main, variants: { cpu: 'cpu/manifest.json' } }));
  writeFileSync(join(dir, 'cpu/manifest.json'), JSON.stringify({ ...main, name: 'small-cpu', model: 'small.onnx' }));

  it("a manifest with a cpu variant: the variant's model and manifest", () => {
    const found = findManifest(join(dir, 'manifest.json'));
    expect(found.modelPath).toBe(join(dir, 'cpu/small.onnx'));
    expect((found.manifestJson as { name: string }).name).toBe('small-cpu');
  });

  it('an .onnx file: that file, with the manifest beside it', () => {
    const found = findManifest(join(dir, 'test-generator.onnx'));
    expect(found.modelPath).toBe(join(dir, 'test-generator.onnx'));
  });

  it('a variant whose contract differs is refused, naming the field', () => {
    const bad = mkdtempSync(join(tmpdir(), 'render-model-'));
    mkdirSync(join(bad, 'cpu'));
    writeFileSync(join(bad, 'manifest.json'), JSON.stringify({ ...main, variants: { cpu: 'cpu/manifest.json' } }));
    writeFileSync(join(bad, 'cpu/manifest.json'), JSON.stringify({ ...main, maskFill: 0.5 }));
    expect(() => findManifest(join(bad, 'manifest.json'))).toThrow(/cpu variant .* does not fit .*maskFill/);
  });
});
