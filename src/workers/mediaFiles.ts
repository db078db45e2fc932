/**
 * Media files in and out of the browser with mediabunny (pure TypeScript over WebCodecs): decoding a
 * face video or image into RGBA frames on demand, a speech track into mono samples, and encoding the
 * rendered frames + speech into MP4 (H.264/AAC where the browser can encode both) or WebM (VP9/Opus).
 * Works in workers and on the main thread. Nothing is held decoded beyond what a caller asks for.
 */
import {
  ALL_FORMATS,
  AudioSample,
  AudioSampleSink,
  AudioSampleSource,
  BlobSource,
  BufferTarget,
  EncodedPacketSink,
  Input,
  Mp4OutputFormat,
  Output,
  QUALITY_HIGH,
  VideoSample,
  VideoSampleSink,
  VideoSampleSource,
  WebMOutputFormat,
  canEncodeAudio,
  canEncodeVideo,
  getFirstEncodableVideoCodec,
  type InputAudioTrack,
  type InputVideoTrack,
} from 'mediabunny';
import type { RgbaImage } from '../engine/types.ts';
import { RenderError, throwIfCancelled, type RenderFrameSink, type RenderFrameSource } from '../engine/render/renderLoop.ts';
import { Resampler } from '../engine/audio/resample.ts';
import { MEL_CONFIG } from '../engine/audio/melConfig.ts';
import { readRgba } from './frameIo.ts';

/** Frame rate given to a still image (the generator's clips are 25 fps). */
export const IMAGE_FPS = 25;

export interface FaceMedia extends RenderFrameSource {
  readonly kind: 'video' | 'image';
  /** Length of the face video (s); 0 for an image. */
  readonly seconds: number;
  close(): void;
}

const describe = (file: Blob, label: string) => `${label}${file instanceof File && file.name ? ` "${file.name}"` : ''}`;

async function openInput(file: Blob): Promise<Input | null> {
  const input = new Input({ formats: ALL_FORMATS, source: new BlobSource(file) });
  try {
    if (await input.canRead()) return input;
  } catch {
    // not a container mediabunny knows: the caller decides (an image, or not media at all)
  }
  input.dispose();
  return null;
}

/** The face: a video file (frames decoded on demand) or an image (one frame). */
export async function openFaceMedia(file: Blob, label = 'face file'): Promise<FaceMedia> {
  const what = describe(file, `The ${label}`);
  if (file.size === 0) throw new RenderError('render-not-media', `${what} is empty.`);
  const input = file.type.startsWith('image/') ? null : await openInput(file);
  if (!input) return openImage(file, what);
  try {
    const track = await input.getPrimaryVideoTrack();
    if (!track) {
      const audio = await input.getPrimaryAudioTrack();
      throw new RenderError('render-no-video', audio ? `${what} is audio only: give a video or an image of a face.` : `${what} has no video track.`);
    }
    return await openVideo(input, track, what);
  } catch (e) {
    input.dispose();
    throw e;
  }
}

async function openImage(file: Blob, what: string): Promise<FaceMedia> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    throw new RenderError(
      'render-not-media',
      `${what} is neither a video nor an image this browser can read: choose an MP4, WebM or MOV video, or a JPEG/PNG/WebP image of a face.`,
    );
  }
  const width = bitmap.width & ~1;
  const height = bitmap.height & ~1;
  const ctx = new OffscreenCanvas(width, height).getContext('2d', { willReadFrequently: true })!;
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  const pixels = ctx.getImageData(0, 0, width, height).data;
  return {
    kind: 'image',
    frameCount: 1,
    fps: IMAGE_FPS,
    width,
    height,
    seconds: 0,
    async *read(from: number, to: number) {
      if (from <= 0 && to > 0) yield { width, height, data: new Uint8ClampedArray(pixels) };
    },
    close() {},
  };
}

async function openVideo(input: Input, track: InputVideoTrack, what: string): Promise<FaceMedia> {
  if (!(await track.canDecode())) {
    throw new RenderError(
      'render-codec',
      `${what} uses a video codec this browser cannot decode (${(await track.getCodec()) ?? 'unknown'}): convert it to H.264 MP4 or VP9 WebM.`,
    );
  }
  // Frame times from the packet table (no decoding): exact frame count, and where each read starts.
  const times: number[] = [];
  for await (const packet of new EncodedPacketSink(track).packets(undefined, undefined, { metadataOnly: true })) times.push(packet.timestamp);
  times.sort((a, b) => a - b);
  if (times.length === 0) throw new RenderError('render-no-video', `${what} has a video track without frames.`);
  const t0 = times[0];
  const span = times.length > 1 ? times[times.length - 1] - t0 : 0;
  const fps = times.length > 1 ? Math.round(((times.length - 1) / span) * 1000) / 1000 : IMAGE_FPS;
  const width = (await track.getDisplayWidth()) & ~1;
  const height = (await track.getDisplayHeight()) & ~1;
  const sink = new VideoSampleSink(track);
  return {
    kind: 'video',
    frameCount: times.length,
    fps,
    width,
    height,
    seconds: times.length / fps,
    async *read(from: number, to: number) {
      from = Math.max(0, from);
      to = Math.min(times.length, to);
      if (from >= to) return;
      const end = to < times.length ? times[to] : Infinity;
      for await (const sample of sink.samples(times[from], end)) {
        let image: RgbaImage;
        try {
          image = await sampleRgba(sample, width, height);
        } finally {
          sample.close();
        }
        yield image;
      }
    },
    close: () => input.dispose(),
  };
}

async function sampleRgba(sample: VideoSample, width: number, height: number): Promise<RgbaImage> {
  const frame = sample.toVideoFrame();
  try {
    const image = await readRgba(frame, (bytes) => new Uint8ClampedArray(bytes));
    return image.width === width && image.height === height ? image : cropTo(image, width, height);
  } finally {
    frame.close();
  }
}

/** The top-left width × height of `image` (encoders want even sizes; rotated or odd frames are trimmed). */
function cropTo(image: RgbaImage, width: number, height: number): RgbaImage {
  const data = new Uint8ClampedArray(width * height * 4);
  const w = Math.min(width, image.width);
  for (let y = 0; y < Math.min(height, image.height); y++) data.set(image.data.subarray(y * image.width * 4, (y * image.width + w) * 4), y * width * 4);
  return { width, height, data };
}

export interface SpeechTrack {
  /** Mono samples at 16 kHz (what the generator's mel is computed from). */
  samples16k: Float32Array;
  seconds: number;
  /** The audio track, for encoding into the output. */
  track: InputAudioTrack;
  /** Where the track starts (s): output audio is shifted to start at 0. */
  startSeconds: number;
  close(): void;
}

/** The speech: the audio track of any audio or video file, decoded to 16 kHz mono as it streams. */
export async function openSpeech(file: Blob, signal?: AbortSignal): Promise<SpeechTrack> {
  const what = describe(file, 'The audio file');
  if (file.size === 0) throw new RenderError('render-not-media', `${what} is empty.`);
  const input = await openInput(file);
  if (!input)
    throw new RenderError(
      'render-not-media',
      `${what} is not an audio or video file this browser can read: choose a WAV, MP3, M4A, OGG/Opus, FLAC, MP4 or WebM file.`,
    );
  try {
    const track = await input.getPrimaryAudioTrack();
    if (!track) throw new RenderError('render-no-audio', `${what} has no sound track: choose a recording with speech.`);
    if (!(await track.canDecode())) {
      throw new RenderError(
        'render-codec',
        `${what} uses an audio codec this browser cannot decode (${(await track.getCodec()) ?? 'unknown'}): convert it to WAV, MP3 or Opus.`,
      );
    }
    // The decoder's rate, not the container's: they differ for HE-AAC (SBR doubles it).
    let resampler: Resampler | undefined;
    const chunks: Float32Array[] = [];
    let total = 0;
    let first: number | undefined;
    let mono = new Float32Array(0);
    let plane = new Float32Array(0);
    for await (const sample of new AudioSampleSink(track).samples()) {
      try {
        throwIfCancelled(signal);
        first ??= sample.timestamp;
        resampler ??= new Resampler(sample.sampleRate, MEL_CONFIG.sampleRate);
        const n = sample.numberOfFrames;
        if (mono.length < n) (mono = new Float32Array(n)), (plane = new Float32Array(n));
        mono.fill(0, 0, n);
        for (let c = 0; c < sample.numberOfChannels; c++) {
          sample.copyTo(plane.subarray(0, n), { planeIndex: c, format: 'f32-planar' });
          for (let i = 0; i < n; i++) mono[i] += plane[i] / sample.numberOfChannels;
        }
        const out = new Float32Array(resampler.maxOutput(n));
        const k = resampler.process(mono.subarray(0, n), out);
        chunks.push(out.subarray(0, k));
        total += k;
      } finally {
        sample.close();
      }
    }
    if (!resampler) throw new RenderError('render-no-audio', `${what} has a sound track without any samples.`);
    const tail = new Float32Array(resampler.maxOutput(0) + 16);
    const k = resampler.flush(tail);
    chunks.push(tail.subarray(0, k));
    total += k;
    const samples16k = new Float32Array(total);
    let at = 0;
    for (const c of chunks) samples16k.set(c, at), (at += c.length);
    if (total === 0) throw new RenderError('render-no-audio', `${what} has a sound track without any samples.`);
    return { samples16k, seconds: total / MEL_CONFIG.sampleRate, track, startSeconds: first ?? 0, close: () => input.dispose() };
  } catch (e) {
    input.dispose();
    throw e;
  }
}

export interface EncodedVideo {
  blob: Blob;
  mimeType: string;
  /** 'mp4' or 'webm'. */
  extension: string;
}

export interface VideoOutput extends RenderFrameSink {
  readonly mimeType: string;
  readonly extension: string;
  /** Writes the speech (trimmed to `seconds`) and closes the file. */
  finish(speech: SpeechTrack, seconds: number, signal?: AbortSignal): Promise<EncodedVideo>;
  /** Drops everything written so far (a cancelled or failed render leaves nothing). */
  cancel(): Promise<void>;
}

/** The output file: MP4 (H.264 + AAC) where the browser encodes both, else WebM (VP9 or VP8 + Opus). */
export async function createVideoOutput(width: number, height: number, fps: number): Promise<VideoOutput> {
  const mp4 = (await canEncodeVideo('avc', { width, height })) && (await canEncodeAudio('aac'));
  const videoCodec = mp4 ? 'avc' : await getFirstEncodableVideoCodec(['vp9', 'vp8', 'av1'], { width, height });
  const audioCodec = mp4 ? 'aac' : 'opus';
  if (!videoCodec || !(await canEncodeAudio(audioCodec))) {
    throw new RenderError(
      'render-codec',
      `This browser cannot encode video here (no H.264, VP9, VP8 or AV1 encoder for ${width}×${height}, or no AAC/Opus): use a recent Chrome, Edge or Safari.`,
    );
  }
  const output = new Output({ format: mp4 ? new Mp4OutputFormat({ fastStart: 'in-memory' }) : new WebMOutputFormat(), target: new BufferTarget() });
  // 'realtime': the encoder's fast presets (libvpx's realtime speed); render mode measured 8.3 → 10.0
  // frames/s with it on 2 cores (the encoder shares the cores with the generator).
  const video = new VideoSampleSource({ codec: videoCodec, bitrate: QUALITY_HIGH, keyFrameInterval: 2, latencyMode: 'realtime' });
  const audio = new AudioSampleSource({ codec: audioCodec, bitrate: QUALITY_HIGH, transform: { numberOfChannels: 1, sampleRate: 48000 } });
  output.addVideoTrack(video, { frameRate: fps });
  output.addAudioTrack(audio);
  await output.start();
  const mimeType = mp4 ? 'video/mp4' : 'video/webm';
  return {
    mimeType,
    extension: mp4 ? 'mp4' : 'webm',
    async write(image: RgbaImage, index: number) {
      const sample = new VideoSample(image.data, {
        format: 'RGBA',
        codedWidth: image.width,
        codedHeight: image.height,
        timestamp: index / fps,
        duration: 1 / fps,
      });
      try {
        await video.add(sample);
      } finally {
        sample.close();
      }
    },
    async finish(speech: SpeechTrack, seconds: number, signal?: AbortSignal) {
      video.close();
      // The speech is decoded a second time here, at its own rate, rather than held decoded since the start: a
      // long track would otherwise sit in memory at full rate for the whole render (decoding audio is cheap).
      for await (const sample of new AudioSampleSink(speech.track).samples()) {
        try {
          throwIfCancelled(signal);
          const start = sample.timestamp - speech.startSeconds;
          if (start >= seconds) break;
          const keep = Math.min(sample.numberOfFrames, Math.round((seconds - start) * sample.sampleRate));
          if (keep <= 0) continue;
          const shifted = trimmedSample(sample, start, keep);
          try {
            await audio.add(shifted);
          } finally {
            shifted.close();
          }
        } finally {
          sample.close();
        }
      }
      audio.close();
      await output.finalize();
      const buffer = (output.target as BufferTarget).buffer;
      if (!buffer) throw new RenderError('render-failed', 'The encoder produced no file.');
      return { blob: new Blob([buffer], { type: mimeType }), mimeType, extension: mp4 ? 'mp4' : 'webm' };
    },
    async cancel() {
      if (output.state !== 'finalized' && output.state !== 'canceled') await output.cancel().catch(() => undefined);
    },
  };
}

/** `sample`'s first `frames` frames, re-timed to start at `start` s (output audio starts at 0 like the video). */
function trimmedSample(sample: AudioSample, start: number, frames: number): AudioSample {
  const channels = sample.numberOfChannels;
  const data = new Float32Array(frames * channels);
  const plane = new Float32Array(sample.numberOfFrames);
  for (let c = 0; c < channels; c++) {
    sample.copyTo(plane, { planeIndex: c, format: 'f32-planar' });
    data.set(plane.subarray(0, frames), c * frames);
  }
  return new AudioSample({ data, format: 'f32-planar', numberOfChannels: channels, sampleRate: sample.sampleRate, timestamp: Math.max(0, start) });
}
