/** `npm run model:stats` (tools/model-stats.ts) prints the engine's computeModelStats for a file. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readOnnxModel } from '../src/engine/generator/onnx.ts';
import { computeModelStats } from '../src/engine/generator/stats.ts';
import { buildTestGenerator } from '../src/engine/generator/testGenerator.ts';

describe('tools/model-stats.ts', () => {
  it('prints the numbers for a file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'model-stats-'));
    const file = join(dir, 'gen.onnx');
    const { bytes } = buildTestGenerator({ size: 64, melFrames: 20 });
    writeFileSync(file, bytes);
    const expected = computeModelStats(readOnnxModel(bytes));
    const root = resolve(import.meta.dirname, '..');
    let text: string;
    try {
      text = execFileSync(process.execPath, [resolve(root, 'node_modules/tsx/dist/cli.mjs'), 'tools/model-stats.ts', file], { cwd: root, encoding: 'utf8' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(text).toContain(`parameters    ${expected.parameters.toLocaleString('en-US')}`);
    expect(text).toContain(`MACs/frame    ${expected.macs.toLocaleString('en-US')}`);
    expect(text).toMatch(/ops\s+Conv×2/);
    expect(text).not.toContain('NOT');
  });
});
