/**
 * The fine-tune's loss terms against the contract file (the parity of their values with the trainer runs live in
 * tools/train/lossesParity.int.test.ts), and the mouth weight map.
 */
import { describe, expect, it } from 'vitest';
import contract from '../contract.json' with { type: 'json' };
import readme from '../../../README.md?raw';
import { DEFAULT_LOSS_WEIGHTS, FINE_TUNE_LOSSES, LIP_POINTS, OFFLINE_ONLY_LOSSES, mouthWeightMap } from './losses.ts';

const S = 32;

/** Lips on an ellipse around (cx, cy) in crop pixels; the other landmarks far away (they must not matter). */
function landmarks(cx: number, cy: number, rx: number, ry: number): Float32Array {
  const p = new Float32Array(478 * 3).fill(-1000);
  LIP_POINTS.forEach((i, k) => {
    const a = (2 * Math.PI * k) / LIP_POINTS.length;
    p[3 * i] = cx + rx * Math.cos(a);
    p[3 * i + 1] = cy + ry * Math.sin(a);
    p[3 * i + 2] = 0;
  });
  return p;
}

describe("the fine-tune's loss terms and the contract", () => {
  const terms = Object.entries(contract.losses).filter(([k]) => !k.startsWith('$')) as [string, { weight: number; fineTune: boolean; why?: string }][];

  it("computes exactly the terms the contract marks fineTune, at the contract's weights", () => {
    expect(
      terms
        .filter(([, t]) => t.fineTune)
        .map(([k]) => k)
        .sort(),
    ).toEqual([...FINE_TUNE_LOSSES].sort());
    expect(DEFAULT_LOSS_WEIGHTS).toEqual({ mouth: contract.losses.mouth.weight, grad: contract.losses.grad.weight });
  });

  it('states why for every term it leaves out, and the README lists each one', () => {
    expect(OFFLINE_ONLY_LOSSES.map((l) => l.term).sort()).toEqual(
      terms
        .filter(([, t]) => !t.fineTune)
        .map(([k]) => k)
        .sort(),
    );
    for (const { term, why } of OFFLINE_ONLY_LOSSES) {
      expect(why.length, term).toBeGreaterThan(10);
      expect(readme, term).toContain(`- \`${term}\` (`);
      expect(readme, term).toContain(why);
    }
  });
});

describe('mouthWeightMap', () => {
  it('is 1 on the lips, 0 far away, and centred on them', () => {
    const w = mouthWeightMap(landmarks(16, 24, 5, 2), S);
    expect(w[24 * S + 16]).toBe(1);
    expect(w[2 * S + 2]).toBe(0);
    expect(w[24 * S + 10]).toBeCloseTo(w[24 * S + 21], 5); // symmetric about x = 16 (pixel x is centred at x + 0.5)
    expect(w[24 * S + 10]).toBeLessThan(1);
  });
});
