import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { measureAvOffset } from './recordingAvOffset.ts';

/**
 * A WebM like a clapper recording, made with ffmpeg: a grey square that turns white during irregular tone bursts,
 * with the picture shifted by `videoLateMs` against the sound. `audioStartS` > 0 starts the audio track that much
 * later (as recorders often do), its bursts still at the same times.
 */
function clapperWebm(dir: string, videoLateMs: number, audioStartS = 0): string {
  const starts = [0.4, 1.1, 1.9, 2.4, 3.5, 4.1, 5.0, 5.6, 6.7, 7.2];
  const on = (shift: number) => starts.map((s) => `between(t,${(s + shift).toFixed(3)},${(s + shift + 0.2).toFixed(3)})`).join('+');
  const out = join(dir, `clap${videoLateMs}-${audioStartS}.webm`);
  execFileSync('ffmpeg', [
    '-v',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    'color=c=gray:s=320x240:r=25:d=8',
    '-itsoffset',
    String(audioStartS),
    '-f',
    'lavfi',
    '-i',
    `aevalsrc='if(${on(-audioStartS)},0.3*sin(2*PI*1000*t),0)':s=48000:d=8`,
    '-vf',
    `drawbox=x=100:y=140:w=120:h=60:color=white:t=fill:enable='${on(videoLateMs / 1000)}'`,
    '-c:v',
    'libvpx',
    '-b:v',
    '500k',
    '-c:a',
    'libopus',
    out,
  ]);
  return out;
}

describe('A/V offset of a clapper recording', () => {
  it('finds the shift between picture and sound to within a frame, either way', () => {
    const dir = mkdtempSync(join(tmpdir(), 'avoff-'));
    try {
      for (const [late, audioStart] of [
        [0, 0],
        [120, 0],
        [-80, 0],
        [0, 0.1],
        [-40, 0.06],
      ]) {
        const m = measureAvOffset(clapperWebm(dir, late, audioStart));
        expect(m.r, `offset ${m.offsetMs} ms for ${late}`).toBeGreaterThan(0.6);
        expect(Math.abs(m.offsetMs - late), `offset ${m.offsetMs} ms for ${late}`).toBeLessThanOrEqual(20);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
