/**
 * Face sources: everything a session can take a face from, turned into a video MediaStreamTrack.
 *
 *  - 'camera' → the webcam;  MediaStream / MediaStreamTrack → its video track (a clone: the caller's
 *    track keeps running when the session stops);  a <video> showing a stream → that stream.
 *  - a video (URL, Blob, or a <video> with a file) → MuseTalk's avatar loop: its frames are decoded with
 *    mediabunny at decode speed, then play forward, backward, forward… (ping-pong) at 25 fps. Only a <video>
 *    whose file cannot be fetched or decoded is captured as it plays, in real time.
 *  - an image (URL, Blob, ImageBitmap, <img>, canvas) → the same still frame at 25 fps.
 * The pipeline uses each output frame's own crop as the reference, so a loop needs no extra state.
 */
import type { LipsyncFace } from './publicApi.ts';
import { LipsyncError } from './errors.ts';
import { fetchMedia, mimeOf, resolveUserUrl } from './fetchMedia.ts';
import { openCamera } from './devices.ts';
import { pingPongIndex } from './pingPong.ts';
import { breakoutBox, type FaceFeed } from './session.ts';
import { openFaceMedia, type FaceMedia } from '../workers/mediaFiles.ts';
import type { RgbaImage } from '../engine/types.ts';

/** Every face the library accepts (the public type, see src/lib/api.ts). */
export type FaceInput = LipsyncFace;

/** The keyword that selects the webcam (`face="camera"`). */
export const CAMERA = 'camera';

export interface FaceSourceOptions {
  /** Frames per second of a video/image source (the generator's clips are 25 fps). */
  fps?: number;
  /** Memory for the captured frames of a looping video; longer clips loop over their start. */
  loopBudgetBytes?: number;
  /** Frames are scaled down so that their longer side is at most this. */
  maxSide?: number;
  cameraId?: string;
}

const DEFAULTS = { fps: 25, loopBudgetBytes: 160 * 2 ** 20, maxSide: 640 };
/** A source that does not load within this is reported instead of waiting forever. */
const LOAD_TIMEOUT_MS = 30_000;
/** During the first pass, a video that shows no new frame for this long is looped as far as it got. */
const CAPTURE_STALL_MS = 3_000;

export async function openFaceSource(input: FaceInput | null | undefined, options: FaceSourceOptions = {}): Promise<FaceFeed> {
  const opts = { ...DEFAULTS, ...options };
  if (input === null || input === undefined || input === '') {
    throw new LipsyncError(
      'face-missing',
      'No face source was given. Set `face` to a video or image URL, "camera", a MediaStream, a <video>, an <img> or an ImageBitmap.',
    );
  }
  if (typeof input === 'string' && input.trim().toLowerCase() === CAMERA) return openCameraTrack(opts.cameraId);
  if (typeof MediaStream !== 'undefined' && input instanceof MediaStream) return streamTrack(input, 'The face MediaStream');
  if (typeof MediaStreamTrack !== 'undefined' && input instanceof MediaStreamTrack) {
    if (input.kind !== 'video') throw new LipsyncError('face-unsupported', 'The face MediaStreamTrack is an audio track; give a video track.');
    return ownTrack(input.clone(), 'video track');
  }
  if (typeof HTMLVideoElement !== 'undefined' && input instanceof HTMLVideoElement) {
    if (input.srcObject instanceof MediaStream) return streamTrack(input.srcObject, 'The face <video> element’s stream');
    if (!input.currentSrc && !input.src) throw new LipsyncError('face-missing', 'The face <video> element has no src or srcObject.');
    const src = input.currentSrc || input.src;
    try {
      return await fromBlob(await fetchMedia(src, 'face'), src, opts);
    } catch {
      // Not fetchable here (no CORS, a stream URL) or not decodable by WebCodecs: capture what the element plays.
      return loopVideo(input, src, opts);
    }
  }
  if (typeof HTMLImageElement !== 'undefined' && input instanceof HTMLImageElement) {
    try {
      await input.decode();
    } catch {
      throw new LipsyncError('face-decode', `The face image ${input.currentSrc || input.src || '(no src)'} could not be loaded or decoded.`);
    }
    return stillImage(await toBitmap(input, input.currentSrc || input.src, opts), opts);
  }
  if (isDrawable(input)) return stillImage(await toBitmap(input, 'the face image', opts), opts);
  if (typeof Blob !== 'undefined' && input instanceof Blob) return fromBlob(input, 'the face file', opts);
  if (typeof input === 'string' || input instanceof URL) {
    const url = resolveUserUrl(input, 'face');
    return fromBlob(await fetchMedia(url, 'face'), url, opts);
  }
  throw new LipsyncError(
    'face-unsupported',
    `Unsupported face source (${describe(input)}). Use a video or image URL, "camera", a MediaStream, a <video>, an <img> or an ImageBitmap.`,
  );
}

function describe(v: unknown): string {
  if (v === null || typeof v !== 'object') return typeof v;
  return (v as object).constructor?.name ?? 'object';
}

function isDrawable(v: unknown): v is ImageBitmap | HTMLCanvasElement | OffscreenCanvas {
  return (
    (typeof ImageBitmap !== 'undefined' && v instanceof ImageBitmap) ||
    (typeof HTMLCanvasElement !== 'undefined' && v instanceof HTMLCanvasElement) ||
    (typeof OffscreenCanvas !== 'undefined' && v instanceof OffscreenCanvas)
  );
}

async function openCameraTrack(cameraId?: string): Promise<FaceFeed> {
  return ownTrack((await openCamera(cameraId)).getVideoTracks()[0], 'camera');
}

function streamTrack(stream: MediaStream, what: string): FaceFeed {
  const track = stream.getVideoTracks().find((t) => t.readyState === 'live');
  if (!track) throw new LipsyncError('face-unsupported', `${what} has no live video track.`);
  return ownTrack(track.clone(), 'video stream');
}

function ownTrack(track: MediaStreamTrack, label?: string): FaceFeed {
  return { track, label, close: () => track.stop() };
}

/** A fetched or given file: an image becomes a still, anything a <video> can play becomes a loop. */
async function fromBlob(blob: Blob, label: string, opts: typeof DEFAULTS): Promise<FaceFeed> {
  const type = mimeOf(blob);
  if (type.startsWith('audio/')) {
    throw new LipsyncError('face-unsupported', `The face source ${label} is an audio file (${type}); give a video or an image of a face.`);
  }
  if (!type.startsWith('video/')) {
    // Images, and files served without a useful type: try to decode as an image first.
    try {
      const decoded = await createImageBitmap(blob);
      const scaled = await toBitmap(decoded, label, opts);
      if (scaled !== decoded) decoded.close();
      return stillImage(scaled, opts);
    } catch (e) {
      if (type.startsWith('image/')) throw new LipsyncError('face-decode', `The face image ${label} (${type}) could not be decoded: ${(e as Error).message}`);
    }
  }
  return decodedVideoLoop(blob, label, opts, type);
}

/**
 * MuseTalk's avatar loop over a video file, decoded with mediabunny (WebCodecs) at decode speed, not played in
 * real time: the frames (scaled to maxSide, within the memory budget; longer clips loop over their start) are
 * ready before the first is shown, then play forward, backward, forward… at `fps`.
 */
async function decodedVideoLoop(blob: Blob, label: string, opts: typeof DEFAULTS, type = mimeOf(blob)): Promise<FaceFeed> {
  let media: FaceMedia;
  try {
    media = await openFaceMedia(blob, 'face file');
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'render-no-video') throw new LipsyncError('face-unsupported', `The face file ${label} has no video picture (is it an audio file?).`);
    if (code === 'render-not-media') {
      throw new LipsyncError(
        'face-unsupported',
        `The face source ${label}${type ? ` (${type})` : ''} is neither an image nor a video this browser can decode.`,
      );
    }
    throw new LipsyncError('face-decode', `The face video ${label} could not be decoded: ${(e as Error).message}`);
  }
  const frames: ImageBitmap[] = [];
  try {
    if (media.kind === 'image') {
      for await (const image of media.read(0, 1)) frames.push(await toScaledBitmap(image, opts.maxSide));
      return stillImage(frames[0], opts);
    }
    const k = Math.min(1, opts.maxSide / Math.max(media.width, media.height));
    const maxFrames = Math.max(2, Math.floor(opts.loopBudgetBytes / (Math.round(media.width * k) * Math.round(media.height * k) * 4)));
    for await (const image of media.read(0, Math.min(media.frameCount, maxFrames))) frames.push(await toScaledBitmap(image, opts.maxSide));
  } catch (e) {
    for (const f of frames) f.close();
    throw e instanceof LipsyncError ? e : new LipsyncError('face-decode', `The face video ${label} could not be decoded: ${(e as Error).message}`);
  } finally {
    media.close();
  }
  if (frames.length === 0) throw new LipsyncError('face-decode', `The face video ${label} has no frame that could be decoded.`);
  const times = frames.map((_, i) => i / media.fps);
  const startedAt = performance.now();
  return pumpFrames(
    opts.fps,
    async () => frames[pingPongIndex(times, (performance.now() - startedAt) / 1000)],
    () => {
      for (const f of frames) f.close();
      frames.length = 0;
    },
  );
}

async function toScaledBitmap(image: RgbaImage, maxSide: number): Promise<ImageBitmap> {
  const k = Math.min(1, maxSide / Math.max(image.width, image.height));
  const data = new ImageData(image.data as Uint8ClampedArray<ArrayBuffer>, image.width, image.height);
  return k < 1
    ? createImageBitmap(data, { resizeWidth: Math.round(image.width * k), resizeHeight: Math.round(image.height * k), resizeQuality: 'medium' })
    : createImageBitmap(data);
}

const isSecurityError = (e: unknown) => (e as { name?: string } | null)?.name === 'SecurityError';

function taintedError(label: string): LipsyncError {
  return new LipsyncError(
    'face-tainted',
    `The face ${label} comes from another origin without CORS permission, so its pixels cannot be read (it would taint the canvas). ` +
      'Serve it from this page’s origin, or from a server that sends Access-Control-Allow-Origin and load it with crossorigin="anonymous".',
  );
}

/**
 * A copy of `source`, scaled so its longer side is at most maxSide. `checkReadable`: make sure its
 * pixels may be read — createImageBitmap copies a cross-origin picture without complaint, but the
 * worker could not use it, so that is found out here, with a message, instead.
 */
async function toBitmap(source: ImageBitmapSource & CanvasImageSource, label: string, opts: typeof DEFAULTS, checkReadable = true): Promise<ImageBitmap> {
  const size = sizeOf(source);
  const k = size ? Math.min(1, opts.maxSide / Math.max(size.w, size.h)) : 1;
  let bitmap: ImageBitmap;
  try {
    bitmap =
      size && k < 1
        ? await createImageBitmap(source, { resizeWidth: Math.round(size.w * k), resizeHeight: Math.round(size.h * k), resizeQuality: 'medium' })
        : await createImageBitmap(source);
  } catch (e) {
    if (isSecurityError(e)) throw taintedError(label);
    throw new LipsyncError('face-decode', `The face ${label} could not be read: ${(e as Error).message}`);
  }
  if (checkReadable) {
    try {
      const probe = new OffscreenCanvas(1, 1).getContext('2d')!;
      probe.drawImage(bitmap, 0, 0, 1, 1);
      probe.getImageData(0, 0, 1, 1);
    } catch (e) {
      bitmap.close();
      if (isSecurityError(e)) throw taintedError(label);
      throw e;
    }
  }
  return bitmap;
}

function sizeOf(s: CanvasImageSource): { w: number; h: number } | null {
  if (typeof HTMLVideoElement !== 'undefined' && s instanceof HTMLVideoElement) return { w: s.videoWidth, h: s.videoHeight };
  if (typeof HTMLImageElement !== 'undefined' && s instanceof HTMLImageElement) return { w: s.naturalWidth, h: s.naturalHeight };
  const any = s as { width?: unknown; height?: unknown };
  return typeof any.width === 'number' && typeof any.height === 'number' ? { w: any.width, h: any.height } : null;
}

/** Writes a frame every 1/fps s into a track generator; `next` says which image to show. */
function pumpFrames(fps: number, next: () => Promise<ImageBitmap | null>, onClose: () => void): FaceFeed {
  const { Generator } = breakoutBox();
  const track = new Generator({ kind: 'video' });
  const writer = track.writable.getWriter();
  const period = 1000 / fps;
  let closed = false;
  let busy = false;
  let due = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  /** The frame being written: a write still pending when the track stops may never settle, so close() closes it. */
  let inFlight: VideoFrame | undefined;
  const tick = async () => {
    if (closed) return;
    due += period;
    // Keep the cadence without bursts: after a stall (background tab) restart from now.
    if (due < performance.now() - 4 * period) due = performance.now() + period;
    timer = setTimeout(tick, Math.max(0, due - performance.now()));
    if (busy) return; // the previous frame is still on its way: skip rather than pile up
    busy = true;
    try {
      const image = await next();
      if (image && !closed) {
        const frame = new VideoFrame(image, { timestamp: Math.round(performance.now() * 1000) });
        inFlight = frame;
        try {
          await writer.write(frame);
        } finally {
          inFlight = undefined;
          frame.close(); // the track has its own reference; a no-op if the write already closed it
        }
      }
    } catch {
      // A frame that cannot be made is skipped; load errors were reported when the source opened.
    } finally {
      busy = false;
    }
  };
  void tick();
  return {
    track,
    close() {
      if (closed) return;
      closed = true;
      clearTimeout(timer);
      writer.close().catch(() => undefined);
      track.stop();
      inFlight?.close();
      onClose();
    },
  };
}

function stillImage(bitmap: ImageBitmap, opts: typeof DEFAULTS): FaceFeed {
  return pumpFrames(
    opts.fps,
    async () => bitmap,
    () => bitmap.close(),
  );
}

function mediaErrorText(video: HTMLVideoElement): string {
  const err = video.error;
  if (!err) return 'unknown error';
  const names: Record<number, string> = {
    1: 'loading was aborted',
    2: 'a network error',
    3: 'the video could not be decoded',
    4: 'the format is not supported',
  };
  return `${names[err.code] ?? `error ${err.code}`}${err.message ? `: ${err.message}` : ''}`;
}

function waitForData(video: HTMLVideoElement, label: string): Promise<void> {
  if (video.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA) return Promise.resolve();
  if (video.error) return Promise.reject(new LipsyncError('face-decode', `The face video ${label} could not be loaded (${mediaErrorText(video)}).`));
  return new Promise<void>((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      video.removeEventListener('loadeddata', onData);
      video.removeEventListener('error', onError);
    };
    const onData = () => (done(), resolve());
    const onError = () => (done(), reject(new LipsyncError('face-decode', `The face video ${label} could not be loaded (${mediaErrorText(video)}).`)));
    const timer = setTimeout(
      () => (done(), reject(new LipsyncError('face-decode', `The face video ${label} did not load within ${LOAD_TIMEOUT_MS / 1000} s.`))),
      LOAD_TIMEOUT_MS,
    );
    video.addEventListener('loadeddata', onData);
    video.addEventListener('error', onError);
    if (video.preload === 'none') video.preload = 'auto';
    if (video.networkState === HTMLMediaElement.NETWORK_EMPTY) video.load();
  });
}

/** Resolves when the video has presented a frame (or after a short wait, for a paused element). */
function presentedFrame(video: HTMLVideoElement): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 2000);
    const done = () => (clearTimeout(timer), resolve());
    if (typeof video.requestVideoFrameCallback === 'function') video.requestVideoFrameCallback(done);
    else video.addEventListener('timeupdate', done, { once: true });
  });
}

/**
 * The avatar loop over a caller's <video> whose file cannot be fetched or decoded here: the first pass plays
 * forward in real time and its frames are kept (within the memory budget); after that the kept frames play
 * backward, forward, … The caller's element keeps playing when the session stops.
 */
async function loopVideo(video: HTMLVideoElement, label: string, opts: typeof DEFAULTS): Promise<FaceFeed> {
  video.muted = true; // muted playback needs no user gesture
  video.playsInline = true;
  await waitForData(video, label);
  if (!video.videoWidth || !video.videoHeight)
    throw new LipsyncError('face-unsupported', `The face file ${label} has no video picture (is it an audio file?).`);
  try {
    await video.play();
  } catch {
    // A caller's element that may not play: loop over what it shows.
  }
  // Chromium hands out a video's pixels only once a frame was presented after play().
  await presentedFrame(video);
  const first = await toBitmap(video, `video ${label}`, opts); // also the taint check
  const frameBytes = first.width * first.height * 4;
  const maxFrames = Math.max(2, Math.floor(opts.loopBudgetBytes / frameBytes));
  const frames: ImageBitmap[] = [first];
  const times: number[] = [video.currentTime];
  let capturing = true;
  let lastNewFrameAt = performance.now();
  let loopStartedAt = 0;

  const endCapture = () => {
    capturing = false;
    loopStartedAt = performance.now();
  };

  const next = async (): Promise<ImageBitmap | null> => {
    if (capturing) {
      const t = video.currentTime;
      const last = times[times.length - 1];
      if (video.ended || t + 0.1 < last || frames.length >= maxFrames || performance.now() - lastNewFrameAt > CAPTURE_STALL_MS) {
        endCapture();
      } else if (t > last && video.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA) {
        const bitmap = await toBitmap(video, `video ${label}`, opts, false); // checked with the first frame
        if (!capturing) {
          bitmap.close();
        } else {
          frames.push(bitmap);
          times.push(t);
          lastNewFrameAt = performance.now();
        }
        return bitmap;
      } else return frames[frames.length - 1];
    }
    // Start the ping-pong at the end of the first pass, heading backward: no jump.
    const span = times[times.length - 1] - times[0];
    return frames[pingPongIndex(times, span + (performance.now() - loopStartedAt) / 1000)];
  };

  return pumpFrames(opts.fps, next, () => {
    capturing = false;
    for (const f of frames) f.close();
    frames.length = 0;
    times.length = 0;
  });
}
