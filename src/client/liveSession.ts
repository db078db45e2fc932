/**
 * LiveSession: the app's live mode — a LipsyncSession whose face is the camera and whose audio is
 * the microphone (see session.ts for the pipeline).
 */
import { microphoneFeed, openCamera } from './devices.ts';
import { LipsyncSession, type SessionOptions, type SessionSources } from './session.ts';

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
