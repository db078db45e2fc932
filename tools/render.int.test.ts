/**
 * `npm run render` on a real clip (../shared/data, cut at test time, never committed): a 2 s face video with
 * another clip's 4.8 s of speech becomes an MP4 of exactly 120 frames (the face loops forward and back) with
 * 4.8 s of sound, a new mouth and an unchanged upper face. Bad input gets its message and leaves no file.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLIPS_DIR } from '../src/node/clipFrames.ts';
import { pingPongFrame } from '../src/engine/render/renderPlan.ts';
import { decodeFrames, mouthAndUpperChange, probe } from './mediaCheck.ts';

const dir = mkdtempSync(join(tmpdir(), 'render-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const speech = join(CLIPS_DIR, 'lrs2_00001', 'audio.wav');
const cli = (...args: string[]) => spawnSync('npx', ['tsx', 'tools/render.ts', ...args], { encoding: 'utf8', cwd: join(import.meta.dirname, '..') });

describe('npm run render', () => {
  it('dubs a real face video with another clip’s speech: 25 fps × the audio’s length, new mouth, same upper face', async () => {
    const face = join(dir, 'face.mp4');
    execFileSync('ffmpeg', [
      '-v',
      'error',
      '-y',
      '-i',
      join(CLIPS_DIR, 'sadtalker_WDA_BobMenendez_000', 'video.mp4'),
      '-t',
      '2',
      '-c:v',
      'libx264',
      '-pix_fmt',
      'yuv420p',
      face,
    ]);
    const out = join(dir, 'out.mp4');
    const r = cli('--face', face, '--audio', speech, '--out', out);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/frame 120\/120/);
    const p = probe(out);
    expect(p.videoFrames).toBe(120);
    expect(Math.abs(p.audioSeconds - 4.8)).toBeLessThanOrEqual(0.04);
    expect([p.videoCodec, p.audioCodec]).toEqual(['h264', 'aac']);

    const output = decodeFrames(out, p.width, p.height);
    const source = decodeFrames(face, 512, 512);
    expect(source.length).toBe(50);
    const { mouth, upper } = await mouthAndUpperChange(output, source, (i) => pingPongFrame(i, source.length), 6);
    expect(upper).toBeLessThan(4);
    expect(mouth).toBeGreaterThan(2 * upper + 2);
  }, 300_000);

  it('--paste-area: by default only the skin speech moves changes; "face" repaints the whole lower face (more pixels)', () => {
    const face = join(dir, 'face-area.mp4');
    execFileSync('ffmpeg', [
      '-v',
      'error',
      '-y',
      '-i',
      join(CLIPS_DIR, 'styletalk_Obama_clip2', 'video.mp4'),
      '-t',
      '1',
      '-c:v',
      'libx264',
      '-crf',
      '12',
      '-pix_fmt',
      'yuv420p',
      face,
    ]);
    const p0 = probe(face);
    const source = decodeFrames(face, p0.width, p0.height);
    // Pixels whose colour moved by more than coding noise, summed over the frames.
    const changed = (out: string) => {
      const frames = decodeFrames(out, p0.width, p0.height);
      let n = 0;
      frames.forEach((f, i) => {
        const s = source[pingPongFrame(i, source.length)].data;
        for (let k = 0; k < f.data.length; k += 4)
          if (Math.abs(f.data[k] - s[k]) + Math.abs(f.data[k + 1] - s[k + 1]) + Math.abs(f.data[k + 2] - s[k + 2]) > 24) n++;
      });
      return n / frames.length;
    };
    const counts: Record<string, number> = {};
    for (const area of ['default', 'face']) {
      const out = join(dir, `area-${area}.mp4`);
      const r = cli('--face', face, '--audio', speech, '--out', out, '--max-seconds', '1', ...(area === 'face' ? ['--paste-area', 'face'] : []));
      expect(r.status, r.stderr).toBe(0);
      counts[area] = changed(out);
    }
    expect(counts.default).toBeGreaterThan(300); // a mouth was painted
    expect(counts.face).toBeGreaterThan(1.2 * counts.default);
    const bad = cli('--face', face, '--audio', speech, '--out', join(dir, 'x.mp4'), '--paste-area', 'jaw');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/--paste-area must be "mouth" or "face", got jaw/);
  }, 300_000);

  it('a file that is not media, or an audio file without sound, gets its message and no output file', () => {
    const notes = join(dir, 'notes.mp4');
    writeFileSync(notes, 'not a video\n'.repeat(20));
    const bad = cli('--face', notes, '--audio', speech, '--out', join(dir, 'bad.mp4'));
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/not a media file ffmpeg can read/);
    const silent = join(dir, 'silent.wav');
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'anullsrc=r=16000:cl=mono', '-t', '2', silent]);
    const still = join(dir, 'face.png');
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', join(CLIPS_DIR, 'sadtalker_WDA_BobMenendez_000', 'video.mp4'), '-frames:v', '1', still]);
    const quiet = cli('--face', still, '--audio', silent, '--out', join(dir, 'quiet.mp4'));
    expect(quiet.status).toBe(1);
    expect(quiet.stderr).toMatch(/audio track is silent/);
    expect(existsSync(join(dir, 'bad.mp4')) || existsSync(join(dir, 'quiet.mp4'))).toBe(false);
    expect(readdirSync(dir).filter((f) => f.includes('partial'))).toEqual([]);
  }, 120_000);
});
