import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-web';
import { buildClapperGenerator } from './testGenerator.ts';
import { MEL_CONFIG, SILENCE_VALUE } from '../audio/melConfig.ts';
import { validateGenerator } from './validate.ts';

ort.env.wasm.numThreads = 1;

describe('clapper generator (A/V timing tests)', () => {
  it('passes the contract; its lower half is dark for a silent centre frame and bright for a loud one, whatever the rest of the window', async () => {
    const { bytes, manifest } = buildClapperGenerator({ mel: MEL_CONFIG });
    validateGenerator(bytes, manifest, { expectedMel: MEL_CONFIG });
    const S = 128;
    const T = 16;
    const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
    const run = async (centreLoud: boolean) => {
      const audio = new Float32Array(80 * T).fill(0.2); // loud everywhere…
      for (let m = 0; m < 80; m++) audio[m * T + 8] = centreLoud ? -0.2 : SILENCE_VALUE; // …but the centre column decides
      const ref = new Float32Array(3 * S * S).fill(0.4);
      const out = await session.run({
        masked: new ort.Tensor('float32', new Float32Array(3 * S * S), [1, 3, S, S]),
        reference: new ort.Tensor('float32', ref, [1, 3, S, S]),
        audio: new ort.Tensor('float32', audio, [1, 80, T]),
      });
      return out.output.data as Float32Array;
    };
    const quiet = await run(false);
    const loud = await run(true);
    expect(quiet[10 * S + 5]).toBeCloseTo(0.4, 6); // upper half = reference
    expect(quiet[100 * S + 5]).toBeLessThan(0.05);
    expect(loud[100 * S + 5]).toBeGreaterThan(0.95);
    await session.release();
  });
});
