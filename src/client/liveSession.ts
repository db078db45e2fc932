/**
 * LiveSession: the app's live mode — a LipsyncSession whose face is the camera and whose audio is
 * the microphone (see session.ts for the pipeline).
 */
import { describeMediaError, MediaAccessError } from './mediaErrors.ts';
import { LipsyncSession, type AudioFeed, type SessionOptions, type SessionSources } from './session.ts';

export type LiveSessionOptions = SessionOptions;

export interface StartOptions {
  cameraId?: string;
  micId?: string;
}

export type { SessionEvents as LiveSessionEvents } from './session.ts';

export class LiveSession extends LipsyncSession {
  private camera?: MediaStream;

  get cameraStream(): MediaStream | undefined {
    return this.camera;
  }

  /** Opens camera and mic, starts the worker and returns the lip-synced output stream. */
  start(opts: StartOptions = {}): Promise<MediaStream> {
    return this.run(cameraAndMic(opts, (s) => (this.camera = s)));
  }

  override async stop(): Promise<void> {
    await super.stop();
    this.camera = undefined;
  }
}

/** Camera + microphone as session sources (camera first, so its permission prompt comes first). */
export function cameraAndMic(opts: StartOptions = {}, onCamera?: (stream: MediaStream) => void): SessionSources {
  return {
    usesDevices: true,
    async face() {
      const camera = await openCamera(opts.cameraId);
      onCamera?.(camera);
      return { track: camera.getVideoTracks()[0], label: 'camera', close: () => camera.getTracks().forEach((t) => t.stop()) };
    },
    audio: (ctx) => microphoneFeed(ctx, opts.micId),
  };
}

/** The webcam at the size the pipeline works at (640×480, 30 fps when offered). */
export function openCamera(cameraId?: string): Promise<MediaStream> {
  return openDevice('camera', {
    video: { deviceId: cameraId ? { exact: cameraId } : undefined, width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 30 } },
  });
}

/** The raw microphone as an audio node of `ctx`; close() stops the microphone. */
export async function microphoneFeed(ctx: AudioContext, micId?: string): Promise<AudioFeed> {
  const mic = await openMicrophone(micId);
  return { node: ctx.createMediaStreamSource(mic), track: mic.getAudioTracks()[0], label: 'microphone', close: () => mic.getTracks().forEach((t) => t.stop()) };
}

/** The microphone, raw: features need the signal without echo cancellation, noise suppression or AGC. */
export function openMicrophone(micId?: string): Promise<MediaStream> {
  return openDevice('mic', {
    audio: {
      deviceId: micId ? { exact: micId } : undefined,
      echoCancellation: false,
      noiseSuppression: false,
      autoGainControl: false,
    },
  });
}

export async function openDevice(kind: 'camera' | 'mic', constraints: MediaStreamConstraints): Promise<MediaStream> {
  try {
    return await navigator.mediaDevices.getUserMedia(constraints);
  } catch (err) {
    throw describeMediaError(err, kind);
  }
}

export { MediaAccessError };
