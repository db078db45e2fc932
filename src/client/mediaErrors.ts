/** Turns getUserMedia / device failures into messages a user can act on. */
import { CodedError } from '../engine/codedError.ts';

export type MediaErrorCode =
  | 'camera-denied'
  | 'mic-denied'
  | 'no-camera'
  | 'no-mic'
  | 'camera-busy'
  | 'mic-busy'
  | 'insecure-context'
  | 'unsupported-browser'
  | 'device-error';

export class MediaAccessError extends CodedError<MediaErrorCode> {
  override readonly name = 'MediaAccessError';
}

export function describeMediaError(err: unknown, kind: 'camera' | 'mic'): MediaAccessError {
  const name = (err as { name?: string } | null)?.name ?? '';
  const device = kind === 'camera' ? 'camera' : 'microphone';
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
    case 'PermissionDeniedError':
      return new MediaAccessError(
        kind === 'camera' ? 'camera-denied' : 'mic-denied',
        `Permission to use the ${device} was denied. Allow it in the browser's site settings (the icon left of the address bar), then press Start again.`,
      );
    case 'NotFoundError':
    case 'DevicesNotFoundError':
    case 'OverconstrainedError':
      return new MediaAccessError(
        kind === 'camera' ? 'no-camera' : 'no-mic',
        `No ${device} was found. Connect one (or pick another in the ${device} list) and press Start again.`,
      );
    case 'NotReadableError':
    case 'TrackStartError':
    case 'AbortError':
      return new MediaAccessError(
        kind === 'camera' ? 'camera-busy' : 'mic-busy',
        `The ${device} could not be started; another application may be using it. Close it and press Start again.`,
      );
    default:
      return new MediaAccessError('device-error', `Could not open the ${device}: ${(err as Error)?.message || String(err)}`);
  }
}

/**
 * Checks the browser features a session needs, returning a message for the first one missing.
 * `devices`: the session opens a camera or microphone (file and stream sources do not).
 */
export function missingLiveFeatures(g: typeof globalThis = globalThis, opts: { devices?: boolean } = {}): MediaAccessError | null {
  const devices = opts.devices ?? true;
  if (!g.isSecureContext) {
    return new MediaAccessError(
      'insecure-context',
      devices
        ? 'Camera and microphone need a secure page: open the app over https:// or on localhost.'
        : 'Lip-sync needs a secure page (AudioWorklet and insertable streams): serve it over https:// or on localhost.',
    );
  }
  if (devices && !g.navigator?.mediaDevices?.getUserMedia) {
    return new MediaAccessError('unsupported-browser', 'This browser cannot open a camera (navigator.mediaDevices is missing).');
  }
  const w = g as unknown as Record<string, unknown>;
  for (const feature of ['MediaStreamTrackProcessor', 'MediaStreamTrackGenerator', 'VideoFrame', 'AudioWorkletNode']) {
    if (typeof w[feature] !== 'function') {
      return new MediaAccessError(
        'unsupported-browser',
        `This browser lacks ${feature}, which live mode needs. Use a current Chrome, Edge or another Chromium-based browser.`,
      );
    }
  }
  return null;
}
