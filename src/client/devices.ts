/**
 * The user's camera and microphone: opened with the constraints the pipeline wants, and every refusal or
 * failure turned into a MediaAccessError that says what to do (see mediaErrors.ts).
 */
import { describeMediaError } from './mediaErrors.ts';
import type { AudioFeed } from './session.ts';

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
