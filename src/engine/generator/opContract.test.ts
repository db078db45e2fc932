/**
 * The contract's op set is the one list: the fine-tune reader, validation and stats read it, and an op deleted
 * from the contract file is refused by each of them with the same message.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import contract from '../contract.json' with { type: 'json' };
import { MEL_FRAME_RATE, SILENCE_VALUE } from '../audio/melConfig.ts';
import { buildTestGenerator } from './testGenerator.ts';
import { readOnnxModel } from './onnx.ts';
import { opsRefusedMessage, opsWith } from './opContract.ts';
import { OP_RULES } from './stats.ts';
import { TfOnnxNetwork } from '../training/onnxToTf.ts';

const ops = contract.ops as Record<string, string[]>;

describe('the generator contract', () => {
  it('the trainer may only export what the browser fine-tune can read back', () => {
    for (const op of opsWith('export')) expect(ops[op], op).toContain('fineTune');
  });

  it('holds the audio constants the engine uses (the trainer reads the same file)', () => {
    expect(SILENCE_VALUE).toBe(contract.audio.silence);
    expect(MEL_FRAME_RATE / 25).toBe(contract.audio.melFramesPerVideoFrame);
  });

  it('words a refusal once: unknown ops first, then ops lacking the capability', () => {
    expect(opsRefusedMessage(['Conv', 'Relu'], 'webgpu')).toBeUndefined();
    expect(opsRefusedMessage(['Conv', 'com.microsoft.FusedConv'])).toBe(
      'uses the op com.microsoft.FusedConv, which is not in the generator contract (src/engine/contract.json)',
    );
    const noFineTune = Object.keys(ops).find((op) => !ops[op].includes('fineTune'))!;
    expect(opsRefusedMessage(['Conv', noFineTune], 'fineTune')).toBe(
      `uses the op ${noFineTune}, which the generator contract (src/engine/contract.json) does not list as readable by the browser fine-tune`,
    );
  });
});

describe('the op registries follow the contract', () => {
  it('model stats has a shape rule for every contract op, and none for others', () => {
    expect(Object.keys(OP_RULES).sort()).toEqual(Object.keys(ops).sort());
  });

  it('the fine-tune reader implements exactly the ops the contract marks fineTune', () => {
    expect([...TfOnnxNetwork.KERNEL_OPS].sort()).toEqual([...opsWith('fineTune')].sort());
  });
});

describe('an op deleted from the contract file', () => {
  afterEach(() => {
    vi.doUnmock('../contract.json');
    vi.resetModules();
  });

  it('is refused by validation, stats and the fine-tune reader with the same message', async () => {
    const { bytes, manifest } = buildTestGenerator({ size: 32, melFrames: 16, past: 8 });
    const used = [...new Set(readOnnxModel(bytes).nodes.map((n) => n.opType))];
    const victim = used.includes('Sigmoid') ? 'Sigmoid' : used.find((op) => op !== 'Constant')!;
    const { [victim]: _deleted, ...rest } = ops;
    vi.resetModules();
    vi.doMock('../contract.json', () => ({ default: { ...contract, ops: rest } }));

    const expected = `uses the op ${victim}, which is not in the generator contract (src/engine/contract.json)`;
    const { validateGenerator } = await import('./validate.ts');
    const { computeModelStats } = await import('./stats.ts');
    const { readOnnxModel: read } = await import('./onnx.ts');
    const { TfOnnxNetwork } = await import('../training/onnxToTf.ts');
    const messages: string[] = [];
    for (const run of [() => validateGenerator(bytes, manifest), () => computeModelStats(read(bytes)), () => new TfOnnxNetwork(bytes)]) {
      try {
        await run();
        messages.push('accepted');
      } catch (e) {
        messages.push((e as Error).message);
      }
    }
    expect(messages).toHaveLength(3);
    for (const m of messages) expect(m).toContain(expected);
  });
});
