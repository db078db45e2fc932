import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { estimateOffset, estimateOffsets, fitSyncPredictor, speechSync, type SyncClip, type SyncPredictor } from './avOffset.ts';
import { audioEnvelopePerFrame, bestLagCorrelation } from './metrics.ts';
import { computeLogMel, melFrameCount } from '../audio/mel.ts';
import { readWav } from '../audio/wav.ts';
import { clipPath, readClipFile, readFrames } from '../../node/clipFrames.ts';
import syncPredictor from './syncPredictor.json' with { type: 'json' };
import { mouthOpening } from '../face/meshIndices.ts';
import { createNodeFaceLandmarker } from '../../node/tfNode.ts';
import type { FaceLandmarker } from '../face/landmarker.ts';
import { mulberry32 as makeRng } from '../training/rng.ts';

/** Audio samples shifted by `frames` video frames at 25 fps: > 0 makes the audio late (silence first). */
function shiftAudio(samples: Float32Array, frames: number): Float32Array {
  const n = Math.round(Math.abs(frames) * 640);
  if (frames >= 0) {
    const out = new Float32Array(samples.length + n);
    out.set(samples, n);
    return out;
  }
  return samples.slice(n);
}

function clipFrom(id: string, opening: ArrayLike<number>, samples: Float32Array): SyncClip {
  return { id, opening, mel: computeLogMel(samples), melFrames: melFrameCount(samples.length), fps: 25 };
}

describe('audio–video offset estimator on synthetic clips', () => {
  // Speech-like audio: bursts of noise with random loudness; the "mouth" opens with the loudness of the audio
  // `late` frames later (i.e. the audio is late by `late` frames).
  function synthetic(id: string, seed: number, late: number): SyncClip {
    const rng = makeRng(seed);
    const frames = 200;
    const samples = new Float32Array((frames + 20) * 640);
    const loud: number[] = [];
    for (let f = 0; f < frames + 20; f++) {
      const a = rng() < 0.35 ? 0 : rng();
      loud.push(a);
      for (let i = 0; i < 640; i++) samples[f * 640 + i] = a * 0.3 * (rng() * 2 - 1) * Math.sin((Math.PI * i) / 640);
    }
    const opening = Array.from({ length: frames }, (_, t) => loud[t + late] ?? 0);
    return clipFrom(id, opening, samples);
  }

  it("finds each clip's own offset, leave-one-out", () => {
    const offsets = [0, 0, 0, 0, 3];
    const clips = offsets.map((d, i) => synthetic(`c${i}`, i + 1, d));
    const est = estimateOffsets(clips, { rounds: 2 });
    for (let i = 0; i < 4; i++) expect(est.get(`c${i}`)!.offset).toBe(0);
    expect(est.get('c4')!.offset).toBe(3);
    expect(est.get('c4')!.r).toBeGreaterThan(0.8);
  });

  it('moves by exactly the shift given to the audio', () => {
    const predictor = fitSyncPredictor([1, 2, 3, 4].map((s) => synthetic(`t${s}`, s, 0)));
    const base = synthetic('x', 9, 0);
    for (const k of [-2, 0, 3]) {
      const shifted: SyncClip = { ...base, mel: shiftMel(base.mel, k * 4), melFrames: base.melFrames + k * 4 };
      expect(estimateOffset(predictor, shifted).offset).toBe(k);
    }
  });
});

/** Mel frames shifted by k (> 0: silence first, i.e. audio late). */
function shiftMel(mel: Float32Array, k: number): Float32Array {
  const bins = 80;
  if (k >= 0) {
    const out = new Float32Array(mel.length + k * bins).fill(-1);
    out.set(mel, k * bins);
    return out;
  }
  return mel.slice(-k * bins);
}

describe('audio–video offset of a real clip whose audio is shifted', () => {
  let lm: FaceLandmarker;
  beforeAll(async () => {
    lm = await createNodeFaceLandmarker('wasm');
  }, 60_000);
  afterAll(() => lm?.dispose());

  it("the estimate and the eval's ground-truth lags (loudness, speech) all move by exactly the shift", () => {
    const id = 'sadtalker_WDA_BobMenendez_000';
    const { frames } = readFrames(clipPath(id), { count: 150 });
    lm.reset();
    const opening = frames.map((f, t) => {
      const p = lm.detect(f, (t * 1000) / 25);
      return p ? mouthOpening(p.points) : NaN;
    });
    expect(opening.filter(Number.isFinite).length).toBeGreaterThan(140);
    const wav = readWav(readClipFile(id, 'audio.wav'), id);
    const samples = wav.mono.subarray(0, Math.round((150 / 25) * 16000));
    const predictor = syncPredictor as SyncPredictor;
    const at = (k: number) => {
      const s = shiftAudio(samples, k);
      return {
        estimate: estimateOffset(predictor, clipFrom(id, opening, s)),
        // The eval's yardstick: mouth opening vs loudness; > 0 means the mouth moves after the audio.
        gtLag: bestLagCorrelation(opening, audioEnvelopePerFrame(s, 25, opening.length), 8).lag,
        // The eval's speech-sync column: the same, against the opening the predictor expects from the audio.
        speech: speechSync(predictor, opening, { mel: computeLogMel(s), melFrames: melFrameCount(s.length) }, 25, 8),
      };
    };
    const base = at(0);
    expect(Math.abs(base.estimate.offset)).toBeLessThanOrEqual(1); // this clip is in sync
    expect(base.estimate.r).toBeGreaterThan(0.4);
    expect(Math.abs(base.speech.lag)).toBeLessThanOrEqual(1);
    expect(base.speech.r).toBeGreaterThan(0.4);
    for (const k of [3, -2]) {
      const moved = at(k);
      expect(moved.estimate.offset - base.estimate.offset).toBe(k);
      expect(base.gtLag - moved.gtLag).toBe(k); // audio later → the mouth now leads it by k more frames
      expect(base.speech.lag - moved.speech.lag).toBe(k);
    }
  });
});
