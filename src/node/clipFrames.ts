/**
 * Node-only: decode frames of a shared clip with ffmpeg (raw RGBA on stdout). Used by tests and tools.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RgbaImage } from '../engine/types.ts';
import { CodedError } from '../engine/codedError.ts';

export const CLIPS_DIR = fileURLToPath(new URL('../../../shared/data/clips/', import.meta.url));

/** The folder of shared clip `id`, or one of its files (`video.mp4`, `audio.wav`, `meta.json`). */
export function clipPath(id: string, file?: string): string {
  return file ? join(CLIPS_DIR, id, file) : join(CLIPS_DIR, id);
}

/** The bytes of one file of shared clip `id` (engine tests read clips through here: src/engine never imports node:*). */
export function readClipFile(id: string, file: string): Uint8Array {
  return new Uint8Array(readFileSync(clipPath(id, file)));
}

export interface ClipMeta {
  id: string;
  identity: string;
  width: number;
  height: number;
  fps: number;
  frames?: number;
  frontal?: boolean;
}

export class ClipError extends CodedError<'clip-missing' | 'ffmpeg'> {
  override readonly name = 'ClipError';
}

export function readClipMeta(clipDir: string): ClipMeta {
  const p = join(clipDir, 'meta.json');
  if (!existsSync(p)) throw new ClipError('clip-missing', `No meta.json in ${clipDir}`);
  const m = JSON.parse(readFileSync(p, 'utf8'));
  return { id: m.id, identity: m.identity ?? m.id, width: m.width, height: m.height, fps: m.fps ?? 25, frames: m.frames, frontal: m.frontal };
}

/** Decodes `count` frames starting at `start`, every `step`-th frame (small clip slices only). */
export function readFrames(clipDir: string, opts: { start?: number; count: number; step?: number }): { meta: ClipMeta; frames: RgbaImage[] } {
  const meta = readClipMeta(clipDir);
  const start = opts.start ?? 0;
  const step = opts.step ?? 1;
  const filter = `select=gte(n\\,${start})*not(mod(n-${start}\\,${step}))`;
  const raw = execFileSync(
    'ffmpeg',
    ['-v', 'error', '-i', join(clipDir, 'video.mp4'), '-vf', filter, '-vsync', '0', '-frames:v', String(opts.count), '-f', 'rawvideo', '-pix_fmt', 'rgba', '-'],
    { maxBuffer: 1 << 30 },
  );
  const size = meta.width * meta.height * 4;
  const frames: RgbaImage[] = [];
  for (let off = 0; off + size <= raw.length; off += size) {
    frames.push({ width: meta.width, height: meta.height, data: new Uint8ClampedArray(raw.buffer.slice(raw.byteOffset + off, raw.byteOffset + off + size)) });
  }
  return { meta, frames };
}

/** Streams all frames of a clip (one frame in memory at a time). */
export async function* streamFrames(clipDir: string, limit?: number): AsyncGenerator<RgbaImage> {
  const meta = readClipMeta(clipDir);
  const size = meta.width * meta.height * 4;
  const args = ['-v', 'error', '-i', join(clipDir, 'video.mp4')];
  if (limit !== undefined) args.push('-frames:v', String(limit));
  args.push('-f', 'rawvideo', '-pix_fmt', 'rgba', '-');
  const proc = spawn('ffmpeg', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => (stderr += d));
  const done = new Promise<number>((res) => proc.on('close', (code) => res(code ?? 0)));
  let pending: Buffer[] = [];
  let have = 0;
  for await (const chunk of proc.stdout as AsyncIterable<Buffer>) {
    pending.push(chunk);
    have += chunk.length;
    while (have >= size) {
      const all = pending.length === 1 ? pending[0] : Buffer.concat(pending);
      const frame = new Uint8ClampedArray(size);
      frame.set(all.subarray(0, size));
      const rest = all.subarray(size);
      pending = rest.length ? [rest] : [];
      have = rest.length;
      yield { width: meta.width, height: meta.height, data: frame };
    }
  }
  const code = await done;
  if (code !== 0) throw new ClipError('ffmpeg', `ffmpeg failed on ${clipDir} (exit ${code}): ${stderr.trim()}`);
}
