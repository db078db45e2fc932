/**
 * End-to-end A/V offset of a recording made with the clapper generator (src/engine/generator/testGenerator.ts
 * buildClapperGenerator): the generated lower face is bright while the audio window's centre is loud. The offset is
 * the shift between the brightness of the recorded video and the envelope of the recorded audio that correlates
 * best: > 0 means the picture comes after the sound. Node only (ffmpeg/ffprobe).
 */
import { execFileSync } from 'node:child_process';

export interface AvOffset {
  /** Video time − audio time of the same event, ms (> 0: lips late). */
  offsetMs: number;
  /** Correlation at that offset. */
  r: number;
  frames: number;
}

const W = 160;
const H = 120;

function pearson(a: number[], b: number[]): number {
  const n = a.length;
  const ma = a.reduce((s, x) => s + x, 0) / n;
  const mb = b.reduce((s, x) => s + x, 0) / n;
  let c = 0;
  let va = 0;
  let vb = 0;
  for (let i = 0; i < n; i++) {
    c += (a[i] - ma) * (b[i] - mb);
    va += (a[i] - ma) ** 2;
    vb += (b[i] - mb) ** 2;
  }
  return va > 0 && vb > 0 ? c / Math.sqrt(va * vb) : 0;
}

export function measureAvOffset(file: string, maxMs = 400): AvOffset {
  const pts = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=pts_time', '-of', 'csv=p=0', file], {
    encoding: 'utf8',
  })
    .split('\n')
    .map((l) => parseFloat(l))
    .filter(Number.isFinite);
  const gray = execFileSync(
    'ffmpeg',
    ['-v', 'error', '-i', file, '-map', '0:v:0', '-fps_mode', 'passthrough', '-vf', `scale=${W}:${H}`, '-f', 'rawvideo', '-pix_fmt', 'gray', '-'],
    {
      maxBuffer: 1 << 30,
    },
  );
  const n = Math.min(pts.length, Math.floor(gray.length / (W * H)));
  if (n < 50) throw new Error(`The recording has only ${n} video frames.`);
  // The clapper region: the pixels that change most over time (the lower face flips between black and white).
  const mean = new Float64Array(W * H);
  const sq = new Float64Array(W * H);
  for (let f = 0; f < n; f++)
    for (let i = 0; i < W * H; i++) {
      const v = gray[f * W * H + i];
      mean[i] += v / n;
      sq[i] += (v * v) / n;
    }
  const std = Array.from(mean, (m, i) => Math.sqrt(Math.max(0, sq[i] - m * m)));
  const cut = [...std].sort((a, b) => b - a)[Math.floor(W * H * 0.01)];
  const region = std.flatMap((s, i) => (s >= cut && s > 20 ? [i] : []));
  if (region.length < 10) throw new Error('No part of the recorded video flips with the audio: is the clapper generator running on a face?');
  const brightness = Array.from({ length: n }, (_, f) => region.reduce((s, i) => s + gray[f * W * H + i], 0) / region.length);

  const raw = execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-map', '0:a:0', '-ac', '1', '-ar', '16000', '-f', 'f32le', '-'], { maxBuffer: 1 << 30 });
  const audio = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
  // Decoded audio starts at its first frame's time, not at 0: a track that starts later (a recorder's audio often
  // does, by tens of ms) would otherwise shift the whole envelope by that much.
  const audioStart = parseFloat(
    execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'a:0', '-show_entries', 'frame=pts_time', '-read_intervals', '%+#1', '-of', 'csv=p=0', file], {
      encoding: 'utf8',
    }),
  );
  const audioT0 = Number.isFinite(audioStart) ? audioStart : 0;
  // Loudness (RMS over 25 ms, as one mel frame sees it) at time t seconds.
  const envelope = (t: number): number => {
    const c = Math.round((t - audioT0) * 16000);
    let s = 0;
    for (let k = c - 200; k < c + 200; k++) if (k >= 0 && k < audio.length) s += audio[k] * audio[k];
    return Math.sqrt(s / 400);
  };
  let best: AvOffset = { offsetMs: 0, r: -Infinity, frames: n };
  for (let d = -maxMs; d <= maxMs; d += 5) {
    const xs: number[] = [];
    const ys: number[] = [];
    for (let f = 0; f < n; f++) {
      const t = pts[f] - d / 1000;
      if (t < audioT0 || (t - audioT0) * 16000 >= audio.length) continue;
      xs.push(brightness[f]);
      ys.push(envelope(t));
    }
    if (xs.length < 50) continue;
    const r = pearson(xs, ys);
    if (r > best.r) best = { offsetMs: d, r, frames: n };
  }
  return best;
}
