/** What a person would check in a rendered file, measured with ffprobe/ffmpeg: frames, sound, where pixels changed. */
import { execFileSync } from 'node:child_process';
import type { FaceLandmarks, RgbaImage } from '../src/engine/types.ts';
import { createNodeFaceLandmarker } from '../src/node/tfNode.ts';
import { OUTER_LIPS, LEFT_EYE, RIGHT_EYE } from '../src/engine/face/meshIndices.ts';

export interface Probe {
  videoFrames: number;
  videoSeconds: number;
  audioSeconds: number;
  width: number;
  height: number;
  videoCodec: string;
  audioCodec: string;
}

export function probe(file: string): Probe {
  const out = JSON.parse(
    execFileSync(
      'ffprobe',
      ['-v', 'error', '-count_frames', '-show_entries', 'stream=codec_type,codec_name,width,height,nb_read_frames:format=duration', '-of', 'json', file],
      { encoding: 'utf8' },
    ),
  );
  const v = out.streams.find((s: { codec_type: string }) => s.codec_type === 'video');
  const a = out.streams.find((s: { codec_type: string }) => s.codec_type === 'audio');
  // Stream durations are not written by every muxer (WebM): decode to measure them.
  const seconds = (sel: string) =>
    Number(
      execFileSync('sh', ['-c', `ffmpeg -v error -i "${file}" -map 0:${sel} -f null - -progress - | grep out_time_us | tail -1 | cut -d= -f2`], {
        encoding: 'utf8',
      }).trim(),
    ) / 1e6;
  return {
    videoFrames: Number(v?.nb_read_frames ?? 0),
    videoSeconds: v ? seconds('v:0') : 0,
    audioSeconds: a ? seconds('a:0') : 0,
    width: v?.width ?? 0,
    height: v?.height ?? 0,
    videoCodec: v?.codec_name ?? '',
    audioCodec: a?.codec_name ?? '',
  };
}

/** Every frame of a video as RGBA. */
export function decodeFrames(file: string, width: number, height: number): RgbaImage[] {
  const raw = execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-f', 'rawvideo', '-pix_fmt', 'rgba', '-'], { maxBuffer: 2 ** 31 });
  const size = width * height * 4;
  const frames: RgbaImage[] = [];
  for (let o = 0; o + size <= raw.length; o += size) frames.push({ width, height, data: new Uint8ClampedArray(raw.buffer, raw.byteOffset + o, size) });
  return frames;
}

export interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

function boxOf(points: Float32Array, idx: readonly number[], pad: number): Box {
  let x0 = Infinity,
    y0 = Infinity,
    x1 = -Infinity,
    y1 = -Infinity;
  for (const i of idx) {
    x0 = Math.min(x0, points[i * 3]);
    x1 = Math.max(x1, points[i * 3]);
    y0 = Math.min(y0, points[i * 3 + 1]);
    y1 = Math.max(y1, points[i * 3 + 1]);
  }
  const w = x1 - x0;
  return { x0: Math.floor(x0 - pad * w), y0: Math.floor(y0 - pad * w), x1: Math.ceil(x1 + pad * w), y1: Math.ceil(y1 + pad * w) };
}

/** The mouth, and the eyes-and-brows band (upper face) of a face. */
export function faceRegions(face: FaceLandmarks): { mouth: Box; upper: Box } {
  const mouth = boxOf(face.points, OUTER_LIPS, 0.1);
  const eyes = boxOf(face.points, [...RIGHT_EYE, ...LEFT_EYE], 0.1);
  // Brows and forehead above the eyes: as far above the eye line as the eyes are wide / 3.
  const h = (eyes.x1 - eyes.x0) / 3;
  return { mouth, upper: { ...eyes, y0: Math.floor(eyes.y0 - h) } };
}

/** Mean absolute difference (0–255) of RGB inside `box`. */
export function meanDiff(a: RgbaImage, b: RgbaImage, box: Box): number {
  let sum = 0;
  let n = 0;
  for (let y = Math.max(0, box.y0); y < Math.min(a.height, box.y1); y++) {
    for (let x = Math.max(0, box.x0); x < Math.min(a.width, box.x1); x++) {
      const i = (y * a.width + x) * 4;
      sum += Math.abs(a.data[i] - b.data[i]) + Math.abs(a.data[i + 1] - b.data[i + 1]) + Math.abs(a.data[i + 2] - b.data[i + 2]);
      n += 3;
    }
  }
  return sum / n;
}

/**
 * How much a dub changed the mouth and the upper face: mean difference between output frames and the face frames
 * they were made from (`sourceIndex`, e.g. the ping-pong plan), over about `samples` frames with a face found.
 * A wrong frame order shows as a changed upper face.
 */
export async function mouthAndUpperChange(
  output: RgbaImage[],
  source: RgbaImage[],
  sourceIndex: (i: number) => number,
  samples = 12,
): Promise<{ mouth: number; upper: number; faces: number }> {
  const landmarker = await createNodeFaceLandmarker();
  let mouth = 0;
  let upper = 0;
  let faces = 0;
  try {
    for (let i = 5; i < output.length; i += Math.max(1, Math.floor(output.length / samples))) {
      const src = source[sourceIndex(i)];
      landmarker.reset();
      const face = landmarker.detect(src, 0);
      if (!face) continue;
      const r = faceRegions(face);
      mouth += meanDiff(output[i], src, r.mouth);
      upper += meanDiff(output[i], src, r.upper);
      faces++;
    }
  } finally {
    landmarker.close();
  }
  return { mouth: mouth / faces, upper: upper / faces, faces };
}
