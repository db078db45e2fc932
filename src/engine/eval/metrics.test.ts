import { describe, expect, it } from 'vitest';
import {
  audioEnvelopePerFrame,
  bestLagCorrelation,
  jitter,
  laplacianVariance,
  landmarkBias,
  landmarkDistance,
  lowerRegion,
  MetricError,
  pearson,
  psnr,
  ssim,
  MOUTH_POINTS,
  type FloatImage,
} from './metrics.ts';
import { interOcularDistance } from '../face/meshIndices.ts';

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A face-ish landmark set: random points, eye centres 200 px apart. */
function face(seed = 1): Float32Array {
  const r = rng(seed);
  const p = new Float32Array(478 * 3);
  for (let i = 0; i < p.length; i++) p[i] = 100 + r() * 200;
  for (const [i, x] of [
    [33, 80],
    [133, 120],
    [362, 280],
    [263, 320],
  ])
    p.set([x, 200, 0], i * 3);
  return p;
}

function translate(p: Float32Array, dx: number, dy: number): Float32Array {
  const q = new Float32Array(p);
  for (let i = 0; i < 478; i++) {
    q[i * 3] += dx;
    q[i * 3 + 1] += dy;
  }
  return q;
}

/** Every point turned by `deg` about (200, 200). */
function turned(p: Float32Array, deg: number): Float32Array {
  const q = new Float32Array(p);
  const a = (deg * Math.PI) / 180;
  for (let i = 0; i < q.length; i += 3) {
    const x = p[i] - 200;
    const y = p[i + 1] - 200;
    q[i] = 200 + Math.cos(a) * x - Math.sin(a) * y;
    q[i + 1] = 200 + Math.sin(a) * x + Math.cos(a) * y;
  }
  return q;
}

/** The face's mouth points moved by (dx, dy) in the face's own frame, then the whole face turned by `deg`. */
function mouthMoved(p: Float32Array, dx: number, dy: number, deg = 0): Float32Array {
  const q = new Float32Array(p);
  for (const i of MOUTH_POINTS) {
    q[i * 3] += dx;
    q[i * 3 + 1] += dy;
  }
  return turned(q, deg);
}

describe('landmarkBias', () => {
  it('calls a mouth drawn 5 px off in every frame a fixed error, even while the head turns', () => {
    const truth = face();
    const turns = [0, 20, -30, 90, 5];
    const r = landmarkBias(
      turns.map((deg) => mouthMoved(truth, 3, 4, deg)),
      turns.map((deg) => turned(truth, deg)),
    );
    expect(r.frames).toBe(5);
    expect(r.bias).toBeCloseTo(5 / 200, 6);
    expect(r.residual).toBeCloseTo(0, 6);
    expect(r.shift).toBeCloseTo(5 / 200, 6); // all of it: the whole mouth is in the wrong place
    expect(r.shiftX).toBeCloseTo(3 / 200, 6); // towards the left eye (x grows from the right eye to the left)
    expect(r.shiftY).toBeCloseTo(4 / 200, 6); // down
  });

  it('tells a mouth drawn too wide from one drawn in the wrong place', () => {
    const truth = face();
    const wide = new Float32Array(truth);
    const cx = MOUTH_POINTS.reduce((a, i) => a + truth[i * 3], 0) / MOUTH_POINTS.length;
    for (const i of MOUTH_POINTS) wide[i * 3] = cx + (truth[i * 3] - cx) * 1.2;
    const r = landmarkBias([wide, wide], [truth, truth]);
    expect(r.bias).toBeGreaterThan(0.01);
    expect(r.shift).toBeCloseTo(0, 6);
  });

  it('calls a mouth that is right on average but moves at the wrong time a moving error', () => {
    const truth = face();
    const preds = [mouthMoved(truth, 0, 5), mouthMoved(truth, 0, -5), mouthMoved(truth, 0, 5), mouthMoved(truth, 0, -5)];
    const r = landmarkBias(preds, [truth, truth, truth, truth]);
    expect(r.bias).toBeCloseTo(0, 6);
    expect(r.residual).toBeCloseTo(5 / 200, 6);
    // Together they bound the LMD: here it is all residual.
    expect(landmarkDistance(preds[0], truth)).toBeCloseTo(5 / 200, 6);
  });

  it('skips frames without landmarks and has nothing to say about none', () => {
    const truth = face();
    const r = landmarkBias([mouthMoved(truth, 2, 0), null, mouthMoved(truth, 2, 0)], [truth, truth, null]);
    expect(r.frames).toBe(1);
    expect(r.bias).toBeCloseTo(2 / 200, 6);
    const none = landmarkBias([null], [truth]);
    expect(none.frames).toBe(0);
    expect(none.bias).toBeNaN();
  });
});

describe('landmarkDistance', () => {
  it('is 0 for identical landmarks', () => {
    const p = face();
    expect(interOcularDistance(p)).toBeCloseTo(200, 5);
    expect(landmarkDistance(p, new Float32Array(p))).toBe(0);
  });

  it('is d/D for mouth points shifted by d pixels with inter-ocular distance D', () => {
    const truth = face();
    const pred = new Float32Array(truth);
    for (const i of MOUTH_POINTS) {
      pred[i * 3] += 3;
      pred[i * 3 + 1] += 4; // |(3,4)| = 5 px
    }
    expect(landmarkDistance(pred, truth)).toBeCloseTo(5 / 200, 6);
    // Only the mouth counts: moving other points changes nothing.
    pred[1 * 3] += 50;
    expect(landmarkDistance(pred, truth)).toBeCloseTo(5 / 200, 6);
  });

  it('rejects landmark arrays of the wrong size', () => {
    expect(() => landmarkDistance(new Float32Array(10), face())).toThrow(MetricError);
  });
});

describe('pearson and bestLagCorrelation', () => {
  it('gives 1 for x and 2x + 1, −1 for a negated copy, 0 for a constant', () => {
    const x = [1, 5, 2, 8, 3, 9, 4];
    expect(
      pearson(
        x,
        x.map((v) => 2 * v + 1),
      ),
    ).toBeCloseTo(1, 12);
    expect(
      pearson(
        x,
        x.map((v) => -v),
      ),
    ).toBeCloseTo(-1, 12);
    expect(
      pearson(
        x,
        x.map(() => 3),
      ),
    ).toBe(0);
  });

  it('skips missing (NaN) frames', () => {
    expect(pearson([1, 2, NaN, 4, 5], [2, 4, 100, 8, 10])).toBeCloseTo(1, 12);
  });

  const r = rng(7);
  const audio = Array.from({ length: 100 }, () => r());

  for (const k of [3, -2, 0]) {
    it(`finds a delay of ${k} frames`, () => {
      // mouth[t] = audio[t − k]: the mouth lags the audio by k frames.
      const mouth = audio.map((_, t) => audio[t - k] ?? 0.5);
      const res = bestLagCorrelation(mouth, audio, 5);
      expect(res.lag).toBe(k);
      expect(res.r).toBeCloseTo(1, 6);
      if (k !== 0) expect(res.r0).toBeLessThan(0.5);
    });
  }
});

describe('audioEnvelopePerFrame', () => {
  it('is louder for a tone than for silence, and measures the tone RMS', () => {
    const n = 16000;
    const silence = new Float32Array(n);
    const tone = new Float32Array(n).map((_, i) => 0.5 * Math.sin((2 * Math.PI * 250 * i) / 16000));
    const es = audioEnvelopePerFrame(silence, 25, 25);
    const et = audioEnvelopePerFrame(tone, 25, 25);
    expect(es).toHaveLength(25);
    for (let i = 0; i < 25; i++) expect(et[i]).toBeGreaterThan(es[i] + 40);
    // Inside the clip (10 whole cycles per window), RMS of 0.5·sin = 0.5/√2 → −9.03 dB.
    expect(et[10]).toBeCloseTo(20 * Math.log10(0.5 / Math.SQRT2), 1);
  });

  it('follows where the sound is', () => {
    const s = new Float32Array(16000);
    for (let i = 6400; i < 9600; i++) s[i] = Math.sin(i / 3); // frames 10 … 14 at 25 fps
    const e = audioEnvelopePerFrame(s, 25, 25);
    expect(e[12]).toBeGreaterThan(e[5] + 40);
    expect(e[12]).toBeGreaterThan(e[20] + 40);
  });
});

function image(w: number, h: number, c: number, f: (x: number, y: number, ch: number) => number): FloatImage {
  const data = new Float32Array(w * h * c);
  for (let ch = 0; ch < c; ch++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[ch * w * h + y * w + x] = f(x, y, ch);
  return { width: w, height: h, channels: c, data };
}

describe('psnr and ssim', () => {
  const textured = image(32, 32, 3, (x, y, c) => 0.5 + 0.3 * Math.sin(x / 3 + c) * Math.cos(y / 4));

  it('psnr is Infinity for identical images and 20 dB for ±0.1 noise in [0,1]', () => {
    expect(psnr(textured, textured, 1)).toBe(Infinity);
    const noisy = image(32, 32, 3, (x, y, c) => textured.data[c * 1024 + y * 32 + x] + ((x + y) % 2 ? 0.1 : -0.1));
    expect(psnr(textured, noisy, 1)).toBeCloseTo(20, 4);
    // In 0…255 units the same relative error gives the same PSNR.
    const scale = (im: FloatImage) => ({ ...im, data: im.data.map((v) => v * 255) });
    expect(psnr(scale(textured), scale(noisy), 255)).toBeCloseTo(20, 3);
  });

  it('psnr only looks inside the region', () => {
    const bottomOnly = image(32, 32, 1, (_x, y) => (y >= 16 ? 0.2 : 0));
    const zero = image(32, 32, 1, () => 0);
    expect(psnr(bottomOnly, zero, 1, { x: 0, y: 0, width: 32, height: 16 })).toBe(Infinity);
    expect(psnr(bottomOnly, zero, 1, lowerRegion(32, 0.5))).toBeCloseTo(10 * Math.log10(1 / 0.04), 4);
  });

  it('ssim is 1 for identical images and falls as noise grows', () => {
    expect(ssim(textured, textured, 1)).toBeCloseTo(1, 10);
    const r = rng(3);
    const noise = Array.from({ length: textured.data.length }, () => r() - 0.5);
    const withNoise = (amp: number): FloatImage => ({ ...textured, data: textured.data.map((v, i) => v + amp * noise[i]) });
    const s1 = ssim(textured, withNoise(0.05), 1);
    const s2 = ssim(textured, withNoise(0.2), 1);
    expect(s1).toBeLessThan(1);
    expect(s2).toBeLessThan(s1);
    expect(s2).toBeGreaterThan(-1);
  });

  it('ssim of two flat images is the luminance term (2ab + C1)/(a² + b² + C1)', () => {
    const a = image(16, 16, 1, () => 0.4);
    const b = image(16, 16, 1, () => 0.6);
    const c1 = 0.01 ** 2;
    expect(ssim(a, b, 1)).toBeCloseTo((2 * 0.4 * 0.6 + c1) / (0.16 + 0.36 + c1), 6);
  });

  it('rejects images of different sizes and regions outside the image', () => {
    expect(() =>
      psnr(
        textured,
        image(16, 16, 3, () => 0),
        1,
      ),
    ).toThrow(MetricError);
    expect(() => ssim(textured, textured, 1, { x: 20, y: 0, width: 20, height: 5 })).toThrow(MetricError);
  });
});

describe('jitter', () => {
  it('is 0 for linear motion', () => {
    const p = face();
    const series = Array.from({ length: 10 }, (_, t) => translate(p, 2 * t, -t));
    expect(jitter(series)).toBeCloseTo(0, 5);
  });

  it('is 2a/D for motion x = a·t² (constant acceleration 2a)', () => {
    const p = face();
    const series = Array.from({ length: 10 }, (_, t) => translate(p, 0.5 * t * t, 0));
    expect(jitter(series)).toBeCloseTo(1 / 200, 5);
  });

  it('skips frames without a face and is NaN when nothing is left', () => {
    const p = face();
    const series = [p, p, null, p, p, p];
    expect(jitter(series)).toBe(0);
    expect(jitter([p, null, p])).toBeNaN();
  });
});

describe('laplacianVariance (sharpness)', () => {
  it('is 0 on a flat or linear image and 64·a² on a checkerboard of amplitude a', () => {
    expect(laplacianVariance(image(16, 16, 1, () => 0.3))).toBeCloseTo(0, 12);
    expect(laplacianVariance(image(16, 16, 1, (x, y) => 0.01 * x + 0.02 * y))).toBeCloseTo(0, 12);
    // Checkerboard ±a: the Laplacian is ∓8a at every interior pixel, mean 0 → variance 64a².
    expect(laplacianVariance(image(16, 16, 1, (x, y) => ((x + y) % 2 ? 0.1 : -0.1)))).toBeCloseTo(64 * 0.01, 6);
  });

  it('drops when an image is blurred, and reads luma from RGB', () => {
    const sharp = image(32, 32, 3, (x, y) => ((x >> 1) + (y >> 1)) % 2);
    const blurred = image(32, 32, 3, (x, y) => {
      let s = 0;
      for (let dy = -1; dy <= 1; dy++)
        for (let dx = -1; dx <= 1; dx++) s += ((Math.min(31, Math.max(0, x + dx)) >> 1) + (Math.min(31, Math.max(0, y + dy)) >> 1)) % 2;
      return s / 9;
    });
    expect(laplacianVariance(blurred)).toBeLessThan(0.3 * laplacianVariance(sharp));
    const grey = image(32, 32, 1, (x, y) => ((x >> 1) + (y >> 1)) % 2);
    expect(laplacianVariance(sharp)).toBeCloseTo(laplacianVariance(grey), 10);
  });

  it('only looks inside the region and refuses one too small', () => {
    const half = image(16, 16, 1, (x, y) => (y < 8 ? 0.5 : (x + y) % 2));
    expect(laplacianVariance(half, { x: 0, y: 0, width: 16, height: 8 })).toBeCloseTo(0, 12);
    expect(laplacianVariance(half, { x: 0, y: 8, width: 16, height: 8 })).toBeGreaterThan(1);
    expect(() => laplacianVariance(half, { x: 0, y: 0, width: 2, height: 8 })).toThrow(MetricError);
  });
});
