import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLIPS_DIR } from '../src/node/clipFrames.ts';
import { CROP_TEMPLATE_MOUTH, MOUTH_ANCHOR, MOUTH_ANCHOR_WARMUP } from '../src/engine/face/mouthAnchor.ts';
import { INNER_LIPS, OUTER_LIPS, RIGHT_EYE, LEFT_EYE } from '../src/engine/face/meshIndices.ts';

const ROOT = new URL('..', import.meta.url).pathname;

/** Runs `npm run data:prepare` on the shared clips with `args`; returns its log. */
const prepare = (args: string[], opts: { stdio?: 'pipe' } = {}): string =>
  execFileSync('npx', ['tsx', 'tools/data-prepare.ts', '--clips', CLIPS_DIR, ...args], { encoding: 'utf8', cwd: ROOT, ...opts });

describe('npm run data:prepare', () => {
  it('writes a dataset the trainer can read, with face crops, from a short clip slice', () => {
    const out = mkdtempSync(join(tmpdir(), 'prep-'));
    try {
      const log = prepare(['--out', out, '--only', 'styletalk_Obama_clip2', '--limit-frames', '40', '--epochs', '2', '--size', '96']);
      expect(log).toMatch(/styletalk_Obama_clip2: 40 frames, kept \d+/);
      const index = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8'));
      expect(index).toMatchObject({ version: 1, cropSize: 96, cropTemplate: 'facemesh-sim-v1' });
      expect(index.mel.nMels).toBe(80);
      const [clip] = index.clips;
      expect(clip).toMatchObject({ id: 'styletalk_Obama_clip2', dir: 'styletalk_Obama_clip2', frames: 40, fps: 25 });
      expect(typeof clip.identity).toBe('string');
      // 40 video frames = 1.6 s = 160 mel hops (+1 for the centred frame 0)
      expect(clip.melFrames).toBe(161);
      const d = join(out, clip.dir);
      const S = 96;
      expect(statSync(join(d, 'crops.u8')).size).toBe(40 * S * S * 3);
      expect(statSync(join(d, 'landmarks.f32')).size).toBe(40 * 478 * 3 * 4);
      expect(statSync(join(d, 'mel.f32')).size).toBe(clip.melFrames * 80 * 4);
      const valid = readFileSync(join(d, 'valid.u8'));
      expect(valid.length).toBe(40);
      expect(valid.every((v) => v === 1)).toBe(true);

      // Landmarks are in crop pixels: the mouth lies in the masked lower half, the eyes in the upper.
      const lmBuf = readFileSync(join(d, 'landmarks.f32'));
      const lm = new Float32Array(lmBuf.buffer, lmBuf.byteOffset, lmBuf.length / 4);
      const crops = readFileSync(join(d, 'crops.u8'));
      for (let f = 0; f < 40; f++) {
        const p = lm.subarray(f * 478 * 3, (f + 1) * 478 * 3);
        for (const i of [...OUTER_LIPS, ...INNER_LIPS]) {
          expect(p[3 * i + 1]).toBeGreaterThan(S / 2);
          expect(p[3 * i + 1]).toBeLessThan(S);
          expect(p[3 * i]).toBeGreaterThan(0.15 * S);
          expect(p[3 * i]).toBeLessThan(0.85 * S);
        }
        for (const i of [...RIGHT_EYE, ...LEFT_EYE]) expect(p[3 * i + 1]).toBeLessThan(S / 2);
        // The crop holds an image (not blank): the lips are redder than they are blue.
        const frame = crops.subarray(f * S * S * 3, (f + 1) * S * S * 3);
        const [mx, my] = [Math.round(p[3 * 0]), Math.round(p[3 * 0 + 1]) + 1]; // upper lip, just below point 0
        const px = frame.subarray((my * S + mx) * 3, (my * S + mx) * 3 + 3);
        expect(px[0]).toBeGreaterThan(px[2]);
      }

      const pairs = new Int32Array(new Uint8Array(readFileSync(join(out, 'pairs.i32'))).buffer);
      expect(pairs.length % 3).toBe(0);
      expect(pairs.length / 3).toBeGreaterThan(40); // 2 epochs over the valid targets
      for (let k = 0; k < pairs.length; k += 3) {
        expect(pairs[k]).toBe(0);
        expect(Math.abs(pairs[k + 2] - pairs[k + 1])).toBeGreaterThan(5);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 120_000);

  it('--crop-template facemesh-sim-mouth-v1 cuts a turned head with its mouth where the generator expects one', () => {
    const mouthsOf = (template: string) => {
      const out = mkdtempSync(join(tmpdir(), 'prep-'));
      try {
        prepare(['--out', out, '--only', 'lrs2_00024', '--limit-frames', '40', '--epochs', '1', '--crop-template', template]);
        expect(JSON.parse(readFileSync(join(out, 'index.json'), 'utf8')).cropTemplate).toBe(template);
        const buf = readFileSync(join(out, 'lrs2_00024', 'landmarks.f32'));
        const lm = new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
        // Distance (crop px) of the mouth-corner midpoint from the anchor, per frame after the warm-up.
        const far: number[] = [];
        for (let f = MOUTH_ANCHOR_WARMUP; f < 40; f++) {
          const p = lm.subarray(f * 478 * 3);
          far.push(Math.hypot((p[3 * 61] + p[3 * 291]) / 2 - MOUTH_ANCHOR[0] * 128, (p[3 * 61 + 1] + p[3 * 291 + 1]) / 2 - MOUTH_ANCHOR[1] * 128));
        }
        return far.reduce((a, b) => a + b, 0) / far.length;
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    };
    const plain = mouthsOf('facemesh-sim-v1');
    const anchored = mouthsOf(CROP_TEMPLATE_MOUTH);
    expect(plain).toBeGreaterThan(5);
    expect(anchored).toBeLessThan(0.6 * plain);
    expect(() => prepare(['--out', '/tmp/x', '--crop-template', 'facemesh-v2'], { stdio: 'pipe' })).toThrow(
      /--crop-template must be one of facemesh-sim-v1, facemesh-sim-mouth-v1, got "facemesh-v2"/,
    );
  }, 120_000);

  it('rejects bad arguments with a usage message', () => {
    expect(() => prepare([], { stdio: 'pipe' })).toThrow(/--clips and --out are required/);
  }, 60_000);
});
