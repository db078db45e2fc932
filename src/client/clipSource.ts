/**
 * Getting a clip for fine-tuning onto the main thread: record N seconds from camera + mic (MediaRecorder),
 * or take a user's file; then decode it — video frames with mediabunny at decode speed (sampled at the
 * trainer's 25 fps), audio with AudioContext.decodeAudioData — and hand frames over one at a time.
 */
import { openDevice, openMicrophone } from './devices.ts';
import { openFaceMedia, type FaceMedia } from '../workers/mediaFiles.ts';
import type { RgbaImage } from '../engine/types.ts';
import { CodedError } from '../engine/codedError.ts';

export class ClipSourceError extends CodedError<'not-a-video' | 'no-audio' | 'record-failed' | 'cancelled'> {
  override readonly name = 'ClipSourceError';
}

export const TRAIN_FPS = 25;
/** Frames are scaled down to this width before the face tracker sees them (it works at 256 px anyway). */
const MAX_WIDTH = 640;

export interface RecordOptions {
  seconds: number;
  cameraId?: string;
  micId?: string;
  /** Seconds before recording starts (a countdown). */
  countdown?: number;
  onCountdown?: (left: number) => void;
  /** Mic level 0…1, ~30 times a second while recording. */
  onLevel?: (level: number) => void;
  onElapsed?: (seconds: number) => void;
  /** The camera stream, for a preview while recording. */
  onStream?: (stream: MediaStream | undefined) => void;
  signal?: { aborted: boolean };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function recordClip(o: RecordOptions): Promise<Blob> {
  const camera = await openDevice('camera', {
    video: { deviceId: o.cameraId ? { exact: o.cameraId } : undefined, width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 25 } },
  });
  let mic: MediaStream | undefined;
  const ctx = new AudioContext();
  try {
    mic = await openMicrophone(o.micId);
    o.onStream?.(camera);
    const stream = new MediaStream([...camera.getVideoTracks(), ...mic.getAudioTracks()]);
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 1024;
    ctx.createMediaStreamSource(mic).connect(analyser);
    const buf = new Float32Array(analyser.fftSize);
    const levelTimer = setInterval(() => {
      analyser.getFloatTimeDomainData(buf);
      let s = 0;
      for (const v of buf) s += v * v;
      o.onLevel?.(Math.min(1, Math.sqrt(s / buf.length) * 4));
    }, 33);
    try {
      for (let left = o.countdown ?? 3; left > 0; left--) {
        o.onCountdown?.(left);
        await sleep(1000);
        if (o.signal?.aborted) throw new ClipSourceError('cancelled', 'Recording was cancelled.');
      }
      o.onCountdown?.(0);
      const mime = ['video/webm;codecs=vp8,opus', 'video/webm'].find((m) => MediaRecorder.isTypeSupported(m)) ?? '';
      const rec = new MediaRecorder(stream, mime ? { mimeType: mime } : undefined);
      const chunks: Blob[] = [];
      rec.ondataavailable = (e) => e.data.size && chunks.push(e.data);
      const stopped = new Promise<void>((r) => (rec.onstop = () => r()));
      rec.start(250);
      const t0 = performance.now();
      while (performance.now() - t0 < o.seconds * 1000 && !o.signal?.aborted) {
        o.onElapsed?.((performance.now() - t0) / 1000);
        await sleep(100);
      }
      rec.stop();
      await stopped;
      if (o.signal?.aborted) throw new ClipSourceError('cancelled', 'Recording was cancelled.');
      return new Blob(chunks, { type: rec.mimeType || 'video/webm' });
    } finally {
      clearInterval(levelTimer);
    }
  } catch (e) {
    if (e instanceof ClipSourceError || (e as { code?: string }).code) throw e;
    throw new ClipSourceError('record-failed', `Recording failed: ${(e as Error).message}`);
  } finally {
    o.onStream?.(undefined);
    camera.getTracks().forEach((t) => t.stop());
    mic?.getTracks().forEach((t) => t.stop());
    void ctx.close();
  }
}

export interface DecodedAudio {
  samples: Float32Array;
  sampleRate: number;
}

/** The file's audio as mono samples. A file without a (decodable) audio track → 'no-audio'. */
export async function decodeAudio(file: Blob): Promise<DecodedAudio> {
  const ctx = new OfflineAudioContext(1, 1, 48000);
  let buffer: AudioBuffer;
  try {
    buffer = await ctx.decodeAudioData(await file.arrayBuffer());
  } catch {
    throw new ClipSourceError(
      'no-audio',
      'The video has no audio track (or it cannot be decoded): fine-tuning needs the voice that goes with the face. Use a clip with sound.',
    );
  }
  if (buffer.length === 0 || buffer.numberOfChannels === 0) throw new ClipSourceError('no-audio', 'The video has no audio: use a clip with sound.');
  const mono = new Float32Array(buffer.length);
  for (let c = 0; c < buffer.numberOfChannels; c++) {
    const ch = buffer.getChannelData(c);
    for (let i = 0; i < mono.length; i++) mono[i] += ch[i] / buffer.numberOfChannels;
  }
  return { samples: mono, sampleRate: buffer.sampleRate };
}

export interface DecodeFramesOptions {
  /** Called with every 25 fps frame, in order; the buffer may be transferred. */
  onFrame: (frame: { width: number; height: number; data: ArrayBuffer }, index: number) => void;
  onProgress?: (seconds: number, duration: number) => void;
  signal?: { aborted: boolean };
  /** Upper bound on decoded length (s). */
  maxSeconds?: number;
}

/**
 * Decodes the file's video with mediabunny (WebCodecs) at decode speed, not in real time, and samples it at
 * 25 fps (frames of slower sources repeat, extra ones of faster sources are skipped). Returns the frame count.
 */
export async function decodeFrames(file: Blob, o: DecodeFramesOptions): Promise<number> {
  let media: FaceMedia;
  try {
    media = await openFaceMedia(file, 'clip');
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new ClipSourceError(
      'not-a-video',
      code === 'render-no-video'
        ? 'This file has no picture: choose a video file (mp4 or webm) of your face with sound.'
        : code === 'render-codec'
          ? `This video cannot be decoded by this browser (${(e as Error).message}).`
          : 'This file is not a video the browser can play: choose an mp4 or webm file with a face and sound.',
    );
  }
  try {
    if (media.kind === 'image') throw new ClipSourceError('not-a-video', 'This is a still image: fine-tuning needs a video of your face talking, with sound.');
    const scale = Math.min(1, MAX_WIDTH / media.width);
    const w = Math.round(media.width * scale);
    const h = Math.round(media.height * scale);
    const ctx = scale < 1 ? new OffscreenCanvas(w, h).getContext('2d', { willReadFrequently: true })! : undefined;
    const duration = media.seconds;
    const limit = Math.min(media.frameCount, o.maxSeconds === undefined ? Infinity : Math.ceil((o.maxSeconds + 1 / TRAIN_FPS) * media.fps) + 1);
    let index = 0;
    let source = 0;
    const done = (slot: number) => o.maxSeconds !== undefined && slot / TRAIN_FPS >= o.maxSeconds;
    for await (const image of media.read(0, limit)) {
      if (o.signal?.aborted) throw new ClipSourceError('cancelled', 'Cancelled.');
      // This frame is on screen from its time until the next one's: it fills every 25 fps slot in between.
      const mediaTime = source / media.fps;
      const next = ++source / media.fps - 1e-3;
      let pixels: ArrayBuffer | undefined;
      while (index / TRAIN_FPS < next && !done(index)) {
        pixels ??= await scaled(image, w, h, ctx);
        const more = (index + 1) / TRAIN_FPS < next && !done(index + 1);
        o.onFrame({ width: w, height: h, data: more ? pixels.slice(0) : pixels }, index);
        if (!more) pixels = undefined;
        index++;
      }
      o.onProgress?.(mediaTime, duration);
      if (done(index)) break;
    }
    return index;
  } finally {
    media.close();
  }
}

/** The frame's pixels at w × h (a copy when scaled down; its own buffer otherwise). */
async function scaled(image: RgbaImage, w: number, h: number, ctx?: OffscreenCanvasRenderingContext2D): Promise<ArrayBuffer> {
  if (!ctx) return image.data.buffer as ArrayBuffer;
  const bitmap = await createImageBitmap(new ImageData(image.data as Uint8ClampedArray<ArrayBuffer>, image.width, image.height), {
    resizeWidth: w,
    resizeHeight: h,
    resizeQuality: 'medium',
  });
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  return ctx.getImageData(0, 0, w, h).data.buffer as ArrayBuffer;
}
