import { describe, expect, it } from 'vitest';
import { GAIN_GAP, GAIN_MIN, GAIN_STEP, OpeningGain } from './openingGain.ts';
import { PLACEMENT_EVERY } from './mouthPlacement.ts';
import { cropMouthOpening } from './articulation.ts';
import { mulberry32 } from '../training/rng.ts';
import type { Affine } from '../types.ts';

const S = 128;
/** Frame pixels are twice crop pixels. */
const FRAME_TO_CROP: Affine = [0.5, 0, 0, 0, 0.5, 0];

/** A face whose inner lips are `open` (fraction of the crop) apart, as the face mesh would report it in frame pixels. */
function mouth(open: number): Float32Array {
  const p = new Float32Array(478 * 3);
  for (const [u, d] of [
    [13, 14],
    [82, 87],
    [312, 317],
  ]) {
    p[3 * u + 1] = 300;
    p[3 * d + 1] = 300 + 2 * open * S;
  }
  return p;
}

/** A speech envelope in [0, 1]: syllables of 3–8 frames with pauses, from a seed. */
function speech(frames: number, seed: number): number[] {
  const r = mulberry32(seed);
  const out: number[] = [];
  while (out.length < frames) {
    const len = 3 + Math.floor(r() * 6);
    const peak = r() < 0.25 ? 0 : 0.3 + 0.7 * r();
    for (let i = 0; i < len; i++) out.push(peak * Math.sin((Math.PI * (i + 0.5)) / len));
  }
  return out.slice(0, frames);
}

interface Person {
  /** The camera's inner-lip gap at frame t (fraction of the crop). */
  real(t: number): number;
  /** What the generator opens by itself at frame t, before the gain. */
  own(t: number): number;
}

/** The app's loop: every frame generated with the gain, every PLACEMENT_EVERY-th output read back. Returns the gains. */
function run(gain: OpeningGain, person: Person, frames: number): number[] {
  const gains: number[] = [];
  for (let t = 0; t < frames; t++) {
    const g = gain.gainFor(t);
    gains.push(g);
    if (t % PLACEMENT_EVERY === 0) gain.observe(t, mouth(g * person.own(t)), mouth(person.real(t)), FRAME_TO_CROP, S);
  }
  return gains;
}

describe('OpeningGain', () => {
  const env = speech(3000, 1);

  it('the mouth read back is the gap the face mesh points give', () => {
    expect(cropMouthOpening(mouth(0.03), FRAME_TO_CROP, S)).toBeCloseTo(0.03, 6);
  });

  it('learns that a person opens half as wide as the generator, in step with the audio, and closes the output to match', () => {
    const gains = run(new OpeningGain(), { real: (t) => 0.02 * env[t], own: (t) => 0.04 * env[t] }, 400);
    expect(gains[0]).toBe(1);
    expect(gains.at(-1)!).toBeCloseTo(0.5, 2);
    // Never faster than GAIN_STEP per frame: the mouth closes over a second, it does not pop.
    for (let t = 1; t < gains.length; t++) expect(Math.abs(gains[t] - gains[t - 1])).toBeLessThanOrEqual(GAIN_STEP + 1e-12);
  });

  it('only ever closes the mouth, never below GAIN_MIN', () => {
    expect(Math.max(...run(new OpeningGain(), { real: (t) => 0.06 * env[t], own: (t) => 0.03 * env[t] }, 400))).toBe(1);
    expect(run(new OpeningGain(), { real: (t) => 0.002 * env[t], own: (t) => 0.05 * env[t] }, 400).at(-1)).toBeCloseTo(GAIN_MIN, 9);
  });

  it('a still photo, or a camera mouth that never moves, teaches nothing', () => {
    expect(run(new OpeningGain(), { real: () => 0.01, own: (t) => 0.04 * env[t] }, 600).every((g) => g === 1)).toBe(true);
    expect(run(new OpeningGain(), { real: () => 0, own: (t) => 0.04 * env[t] }, 600).every((g) => g === 1)).toBe(true);
  });

  it('a person saying other words than the audio, or a silent one with a twitching mouth, is not learnt from', () => {
    // The camera's mouth follows another speech envelope (or landmark noise on a closed mouth) than the output's.
    for (const seed of [2, 3, 4, 5, 6]) {
      const other = speech(3000, seed);
      const noise = mulberry32(seed + 10);
      const words = run(new OpeningGain(), { real: (t) => 0.02 * other[t], own: (t) => 0.04 * env[t] }, 3000);
      const silent = run(new OpeningGain(), { real: () => 0.002 * noise(), own: (t) => 0.04 * env[t] }, 3000);
      // Rarely and briefly fooled at most: 2 minutes of video spend 95 % of the time at a gain of 0.9 or more.
      for (const gains of [words, silent]) expect(gains.filter((g) => g >= 0.9).length / gains.length).toBeGreaterThan(0.95);
    }
  });

  it('frame t is generated from readings at least GAIN_GAP frames before it, never its own neighbourhood', () => {
    const a = new OpeningGain();
    const b = new OpeningGain();
    const person: Person = { real: (t) => 0.02 * env[t], own: (t) => 0.04 * env[t] };
    run(a, person, 200);
    run(b, person, 200);
    // b also reads frames 200 … 200 + GAIN_GAP − 1, where the output suddenly opens far wider than the person: frame
    // 200 + GAIN_GAP − 1 must not hear of it.
    for (let t = 200; t < 200 + GAIN_GAP; t++) b.observe(t, mouth(0.16), mouth(0.002), FRAME_TO_CROP, S);
    expect(b.gainFor(200 + GAIN_GAP - 1)).toBe(a.gainFor(200 + GAIN_GAP - 1));
  });

  it('reset forgets the person', () => {
    const gain = new OpeningGain();
    run(gain, { real: (t) => 0.02 * env[t], own: (t) => 0.04 * env[t] }, 400);
    expect(gain.lastGain).toBeLessThan(0.6);
    gain.reset();
    expect(gain.lastGain).toBe(1);
    expect(gain.gainFor(0)).toBe(1);
  });
});
