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
