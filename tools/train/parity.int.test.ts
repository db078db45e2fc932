/**
 * CI smoke of the offline trainer, end to end: synthetic data → pairs from the shared TypeScript
 * sampler → a few PyTorch steps → resume → ONNX export → loaded through the app's own contract
 * check and runner (onnxruntime-web), whose output must match PyTorch's within 1e-4.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkParity } from './parity.ts';

const dir = mkdtempSync(join(tmpdir(), 'smoke-model-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('trainer smoke → export → onnxruntime-web', () => {
  beforeAll(() => {
    execFileSync('bash', [resolve(import.meta.dirname, 'smoke.sh')], {
      env: { ...process.env, SMOKE_MODEL_OUT: dir },
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: 300_000,
    });
  }, 300_000);

  it('the exported generator passes the contract and matches PyTorch within 1e-4', async () => {
    const r = await checkParity(dir, { checkMel: false });
    expect(r.tolerance).toBeLessThanOrEqual(1e-4);
    expect(r.maxAbsDiff).toBeLessThanOrEqual(1e-4);
  });
});
