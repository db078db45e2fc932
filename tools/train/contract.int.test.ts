/**
 * The trainer reads the same contract file as the engine, live: its export check and its constants come from
 * src/engine/contract.json, and an op deleted from (a copy of) the file is refused by the exporter with exactly
 * the engine's message.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import contract from '../../src/engine/contract.json' with { type: 'json' };
import { SILENCE_VALUE } from '../../src/engine/audio/melConfig.ts';
import { opsRefusedMessage, opsWith } from '../../src/engine/generator/opContract.ts';

const PYTHON = '/usr/bin/python3';
const py = (code: string, env: Record<string, string> = {}) => {
  const r = spawnSync(PYTHON, ['-c', code], { cwd: import.meta.dirname, encoding: 'utf8', env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout.trim();
};

describe('tools/train/contract.py', () => {
  it('gives the trainer the engine’s export set, silence and mask fill', () => {
    const out = JSON.parse(
      py(
        'import json, contract, export, data, train; print(json.dumps({"export": sorted(export.ALLOWED_OPS), "silence": data.SILENCE, "maskFill": train.MASK_FILL}))',
      ),
    );
    expect(out.export).toEqual([...opsWith('export')].sort());
    expect(out.silence).toBe(SILENCE_VALUE);
    expect(out.maskFill).toBe(contract.crop.maskFill);
  });

  it('refuses an op deleted from the contract with the engine’s message, and one lacking export likewise', () => {
    const dir = mkdtempSync(join(tmpdir(), 'contract-'));
    try {
      const { Conv: _deleted, ...rest } = contract.ops as Record<string, string[]>;
      const file = join(dir, 'contract.json');
      writeFileSync(file, JSON.stringify({ ...contract, ops: rest }));
      const asked = ['Conv', 'Relu', 'Tanh'];
      const fromPython = py(`import contract; print(contract.ops_refused(${JSON.stringify(asked)}, "export"))`, { LIPSYNC_CONTRACT: file });
      expect(fromPython).toBe('uses the op Conv, which is not in the generator contract (src/engine/contract.json)');
      const noExport = Object.keys(contract.ops).find((op) => !(contract.ops as Record<string, string[]>)[op].includes('export'))!;
      expect(py(`import contract; print(contract.ops_refused(["Conv", "${noExport}"], "export"))`)).toBe(opsRefusedMessage(['Conv', noExport], 'export'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
