/** The PyTorch trainer's own unit tests (tools/train/test_trainer.py), run by `npm test` like every other test. */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { pythonTorchMissing } from '../../src/node/exportedGenerator.testutil.ts';

describe('tools/train/test_trainer.py', () => {
  it('passes (data, augmentation, losses, export, ONNX warm start)', () => {
    const missing = pythonTorchMissing();
    expect(missing, missing ?? '').toBeNull();
    const r = spawnSync('/usr/bin/python3', ['-m', 'unittest', '-v', 'test_trainer'], { cwd: import.meta.dirname, encoding: 'utf8' });
    expect(r.status, r.stderr.slice(-3000)).toBe(0);
    expect(r.stderr).toMatch(/Ran [1-9]\d* tests?/);
  }, 600_000);
});
