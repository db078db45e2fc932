import { describe, expect, it } from 'vitest';
import { mulberry32 } from './rng.ts';
import { epochPairs, holdOutTail, pairsToInt32, planPairs, restrictValid, samplePairs, SamplerError, type TrainingPair } from './sampler.ts';

/** Random validity mask with a random face-found rate. */
function randomMask(rng: () => number, length: number): Uint8Array {
  const rate = 0.2 + 0.8 * rng();
  return Uint8Array.from({ length }, () => (rng() < rate ? 1 : 0));
}

/** Brute-force reference set, independent of the sampler's binary search. */
function admissibleRefs(mask: ArrayLike<number>, t: number, minOffset: number): number[] {
  const refs: number[] = [];
  for (let r = 0; r < mask.length; r++) if (mask[r] && Math.abs(r - t) > minOffset) refs.push(r);
  return refs;
}

function admissibleTargets(mask: ArrayLike<number>, minOffset: number): number[] {
  const out: number[] = [];
  for (let t = 0; t < mask.length; t++) if (mask[t] && admissibleRefs(mask, t, minOffset).length > 0) out.push(t);
  return out;
}

function expectSamplerError(fn: () => unknown, code: string, messagePart: RegExp): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SamplerError);
    expect((e as SamplerError).code).toBe(code);
    expect((e as Error).message).toMatch(messagePart);
    return;
  }
  throw new Error('expected a SamplerError');
}

describe('samplePairs reference rule', () => {
  it('never pairs a target with a reference within minOffset, nor with an invalid frame (random masks, minOffset 0..10)', () => {
    const rng = mulberry32(1234);
    let checked = 0;
    for (let trial = 0; trial < 300; trial++) {
      const minOffset = trial % 11;
      const mask = randomMask(rng, 1 + Math.floor(rng() * 80));
      const expected = admissibleTargets(mask, minOffset);
      if (expected.length === 0) {
        expectSamplerError(() => samplePairs({ valid: mask, minOffset, rng: trial, count: 10 }), 'clip-too-short', /too|apart/);
        continue;
      }
      const { pairs } = samplePairs({ valid: mask, minOffset, rng: trial, count: 200 });
      for (const p of pairs) {
        expect(Math.abs(p.reference - p.target)).toBeGreaterThan(minOffset);
        expect(mask[p.target]).toBe(1);
        expect(mask[p.reference]).toBe(1);
        expect(p.clip).toBe(0);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(10_000);
  });

  it('reaches every admissible reference of a target, including both clip edges', () => {
    const mask = Uint8Array.from({ length: 30 }, (_, i) => (i === 12 ? 0 : 1));
    const minOffset = 5;
    const plan = planPairs({ valid: mask, minOffset });
    const clip = plan.clips[0];
    const rng = mulberry32(7);
    for (const t of [0, 10, 29]) {
      const seen = new Set<number>();
      const counts = new Map<number, number>();
      for (let epoch = 0; epoch < 400; epoch++) {
        for (const p of epochPairs({ plan, rng })) {
          if (p.target !== t) continue;
          seen.add(p.reference);
          counts.set(p.reference, (counts.get(p.reference) ?? 0) + 1);
        }
      }
      const expected = admissibleRefs(mask, t, minOffset);
      expect([...seen].sort((a, b) => a - b)).toEqual(expected);
      // Uniform: no reference is drawn more than ~3x as often as expected.
      const total = [...counts.values()].reduce((a, b) => a + b, 0);
      for (const c of counts.values()) expect(c).toBeLessThan((3 * total) / expected.length);
      expect(clip.targets).toContain(t);
    }
  });

  it('on a clip of exactly minOffset + 2 frames, pairs only the two ends with each other', () => {
    for (let minOffset = 0; minOffset <= 10; minOffset++) {
      const n = minOffset + 2;
      const { pairs } = samplePairs({ valid: new Uint8Array(n).fill(1), minOffset, rng: 3, epochs: 4 });
      const keys = new Set(pairs.map((p) => `${p.target}->${p.reference}`));
      expect([...keys].sort()).toEqual([`0->${n - 1}`, `${n - 1}->0`].sort());
      expect(pairs).toHaveLength(8);
    }
  });

  it('rejects a clip that is one frame too short with an actionable message', () => {
    expectSamplerError(
      () => samplePairs({ valid: new Uint8Array(6).fill(1), minOffset: 5, rng: 1, count: 1 }),
      'clip-too-short',
      /Clip 0 has 6 valid frame\(s\).*more than 5 frames apart/,
    );
    // Enough frames, but faces only found close together.
    const mask = new Uint8Array(100);
    mask.fill(1, 40, 45);
    expectSamplerError(() => samplePairs({ valid: mask, rng: 1, count: 1 }), 'clip-too-short', /5 valid frame\(s\) out of 100/);
  });

  it('skips and reports targets whose only valid neighbours are too close', () => {
    const mask = new Uint8Array(60);
    mask.fill(1, 0, 3); // 0,1,2
    mask[8] = 1; // 8 pairs with 0,1,2 (|8-2| = 6 > 5)
    const { skippedTargets, pairs } = samplePairs({ valid: mask, minOffset: 5, rng: 9, epochs: 1 });
    expect(skippedTargets).toEqual([]);
    expect(pairs.map((p) => p.target).sort((a, b) => a - b)).toEqual([0, 1, 2, 8]);
    const mask2 = Uint8Array.from(mask);
    mask2[3] = 1; // 3 has no valid frame > 5 away (8 is exactly 5 away)
    const r2 = samplePairs({ valid: mask2, minOffset: 5, rng: 9, epochs: 1 });
    expect(r2.skippedTargets).toEqual([{ clip: 0, frame: 3 }]);
    expect(r2.pairs.some((p) => p.target === 3 || p.reference === 3)).toBe(false);
  });
});

describe('epochs', () => {
  it('covers every admissible target exactly once per epoch, over many random masks', () => {
    const rng = mulberry32(99);
    for (let trial = 0; trial < 150; trial++) {
      const minOffset = trial % 11;
      const masks = [randomMask(rng, 20 + Math.floor(rng() * 60)), randomMask(rng, 20 + Math.floor(rng() * 60))];
      const expected = masks.map((m) => admissibleTargets(m, minOffset));
      if (expected.some((e) => e.length === 0)) continue;
      const pairs = [...epochPairs({ clips: masks, minOffset, rng: trial })];
      for (let c = 0; c < masks.length; c++) {
        const targets = pairs.filter((p) => p.clip === c).map((p) => p.target);
        expect(targets.sort((a, b) => a - b)).toEqual(expected[c]);
      }
      expect(pairs).toHaveLength(expected[0].length + expected[1].length);
    }
  });

  it('shuffles targets rather than walking them in order', () => {
    const pairs = samplePairs({ valid: new Uint8Array(200).fill(1), rng: 5, epochs: 1 }).pairs;
    const inOrder = pairs.filter((p, i) => i > 0 && p.target === pairs[i - 1].target + 1).length;
    expect(inOrder).toBeLessThan(20);
  });
});

describe('multi-clip', () => {
  it('keeps pairs inside their clip', () => {
    const a = new Uint8Array(20).fill(1);
    const b = new Uint8Array(80);
    b.fill(1, 30, 80); // faces only in frames 30..79
    const { pairs } = samplePairs({ clips: [a, b], rng: 11, count: 5000 });
    const byClip = [pairs.filter((p) => p.clip === 0), pairs.filter((p) => p.clip === 1)];
    expect(byClip[0].length).toBeGreaterThan(0);
    expect(byClip[1].length).toBeGreaterThan(byClip[0].length); // longer clip, more targets
    for (const p of byClip[0]) expect(Math.max(p.target, p.reference)).toBeLessThan(20);
    for (const p of byClip[1]) expect(Math.min(p.target, p.reference)).toBeGreaterThanOrEqual(30);
  });

  it('throws for a short clip among good ones unless asked to skip it', () => {
    const good = new Uint8Array(40).fill(1);
    const short = new Uint8Array(4).fill(1);
    expectSamplerError(() => planPairs({ clips: [good, short] }), 'clip-too-short', /Clip 1/);
    const plan = planPairs({ clips: [good, short, good], skipShortClips: true });
    expect(plan.skippedClips).toEqual([1]);
    const pairs = [...epochPairs({ plan, rng: 2 })];
    expect(new Set(pairs.map((p) => p.clip))).toEqual(new Set([0, 2]));
  });
});

describe('determinism', () => {
  const masks = [new Uint8Array(50).fill(1), Uint8Array.from({ length: 70 }, (_, i) => (i % 3 ? 1 : 0))];
  const key = (pairs: TrainingPair[]) => pairs.map((p) => `${p.clip}:${p.target}:${p.reference}`).join(',');

  it('gives the same schedule for the same seed and a different one for another seed', () => {
    const a = samplePairs({ clips: masks, rng: 42, count: 300 }).pairs;
    const b = samplePairs({ clips: masks, rng: 42, count: 300 }).pairs;
    const c = samplePairs({ clips: masks, rng: 43, count: 300 }).pairs;
    expect(key(a)).toBe(key(b));
    expect(key(a)).not.toBe(key(c));
    const e1 = samplePairs({ clips: masks, rng: 42, epochs: 2 }).pairs;
    const e2 = samplePairs({ clips: masks, rng: mulberry32(42), epochs: 2 }).pairs;
    expect(key(e1)).toBe(key(e2));
  });

  it('accepts boolean masks and gives the same pairs as 0/1 masks', () => {
    const bools = Array.from(masks[1], (v) => v === 1);
    expect(key(samplePairs({ valid: bools, rng: 8, count: 100 }).pairs)).toBe(key(samplePairs({ valid: masks[1], rng: 8, count: 100 }).pairs));
  });
});

describe('pairsToInt32', () => {
  it('writes (clip, target, reference) triples in order', () => {
    const pairs = samplePairs({ clips: [new Uint8Array(30).fill(1), new Uint8Array(30).fill(1)], rng: 1, count: 50 }).pairs;
    const flat = pairsToInt32(pairs);
    expect(flat).toHaveLength(150);
    pairs.forEach((p, i) => expect([flat[3 * i], flat[3 * i + 1], flat[3 * i + 2]]).toEqual([p.clip, p.target, p.reference]));
  });
});

describe('holdOutTail', () => {
  it('holds out the last fraction, and pairs sampled from the head never touch the tail', () => {
    const { train, holdout } = holdOutTail(250, 0.1);
    expect(train).toEqual({ start: 0, end: 225 });
    expect(holdout).toEqual({ start: 225, end: 250 });
    const valid = new Uint8Array(250).fill(1);
    const trainPairs = samplePairs({ valid: restrictValid(valid, train), rng: 4, epochs: 1 }).pairs;
    expect(trainPairs).toHaveLength(225);
    for (const p of trainPairs) expect(Math.max(p.target, p.reference)).toBeLessThan(225);
    const holdPairs = samplePairs({ valid: restrictValid(valid, holdout), rng: 4, epochs: 1 }).pairs;
    for (const p of holdPairs) expect(Math.min(p.target, p.reference)).toBeGreaterThanOrEqual(225);
  });

  it('always keeps at least one frame on each side and rejects bad fractions', () => {
    expect(holdOutTail(3, 0.01).holdout).toEqual({ start: 2, end: 3 });
    expect(holdOutTail(3, 0.99).train).toEqual({ start: 0, end: 1 });
    expectSamplerError(() => holdOutTail(100, 0), 'invalid-option', /between 0 and 1/);
    expectSamplerError(() => holdOutTail(100, 1.5), 'invalid-option', /between 0 and 1/);
    expectSamplerError(() => holdOutTail(1, 0.1), 'invalid-option', /frame count/);
  });
});

describe('bad options', () => {
  it('explains what is wrong', () => {
    const v = new Uint8Array(20).fill(1);
    expectSamplerError(() => samplePairs({ valid: v, rng: 1 }), 'invalid-option', /exactly one of `count`/);
    expectSamplerError(() => samplePairs({ valid: v, rng: 1, count: 0 }), 'invalid-option', /positive integer/);
    expectSamplerError(() => samplePairs({ valid: v, rng: 1, count: 5, minOffset: -1 }), 'invalid-option', /minOffset/);
    expectSamplerError(() => samplePairs({ valid: v, rng: 1, count: 5, minOffset: 2.5 }), 'invalid-option', /minOffset/);
    expectSamplerError(() => samplePairs({ rng: 1, count: 5 }), 'invalid-option', /No clips/);
    expectSamplerError(() => samplePairs({ valid: [0, 1, 2, 1, 1, 1, 1, 1], rng: 1, count: 5 }), 'invalid-option', /frame 2 .*got 2/);
    expectSamplerError(() => samplePairs({ valid: v, clips: [v], rng: 1, count: 5 }), 'invalid-option', /not both/);
  });
});

describe('samplePairs near references', () => {
  it('keeps the reference rule, and draws about `fraction` of references from minOffset < |r − t| ≤ within (random masks)', () => {
    const rng = mulberry32(77);
    let near = 0;
    let total = 0;
    let nearPossible = 0;
    for (let trial = 0; trial < 200; trial++) {
      const minOffset = 3 + (trial % 5);
      const within = minOffset + 1 + (trial % 12);
      const mask = randomMask(rng, 40 + Math.floor(rng() * 200));
      if (admissibleTargets(mask, minOffset).length === 0) continue;
      const { pairs } = samplePairs({ valid: mask, minOffset, rng: trial, count: 200, nearReference: { fraction: 0.6, within } });
      for (const p of pairs) {
        const d = Math.abs(p.reference - p.target);
        expect(d).toBeGreaterThan(minOffset);
        expect(mask[p.reference]).toBe(1);
        const band = admissibleRefs(mask, p.target, minOffset).filter((r) => Math.abs(r - p.target) <= within).length;
        if (band > 0) {
          nearPossible++;
          if (d <= within) near++;
        }
        total++;
      }
    }
    expect(total).toBeGreaterThan(20_000);
    // 60 % drawn from the band plus the uniform draws that land in it by chance.
    expect(near / nearPossible).toBeGreaterThan(0.6);
    expect(near / nearPossible).toBeLessThan(0.8);
  });

  it('changes nothing when off, and refuses a band that would break the rule', () => {
    const mask = new Uint8Array(300).fill(1);
    const plain = samplePairs({ valid: mask, rng: 5, epochs: 2 }).pairs;
    expect(samplePairs({ valid: mask, rng: 5, epochs: 2, nearReference: { fraction: 0, within: 15 } }).pairs).toEqual(plain);
    const nearOnes = samplePairs({ valid: mask, rng: 5, epochs: 2, nearReference: { fraction: 1, within: 15 } }).pairs;
    expect(nearOnes.every((p) => Math.abs(p.reference - p.target) > 5 && Math.abs(p.reference - p.target) <= 15)).toBe(true);
    // Uniform references on a 300-frame clip are mostly far.
    expect(plain.filter((p) => Math.abs(p.reference - p.target) <= 15).length / plain.length).toBeLessThan(0.15);
    expectSamplerError(() => samplePairs({ valid: mask, rng: 1, count: 5, nearReference: { fraction: 0.5, within: 5 } }), 'invalid-option', /above minOffset/);
    expectSamplerError(() => samplePairs({ valid: mask, rng: 1, count: 5, nearReference: { fraction: 1.5, within: 15 } }), 'invalid-option', /\[0, 1\]/);
  });
});
