/**
 * Watching the live input tracks of a session (camera, microphone, or a caller's stream): `ended`
 * (unplugged, taken by another application, permission revoked) and `mute`/`unmute` (the system paused
 * the device). A track stopped by page code fires no `ended`: the inference worker notices its frames
 * ending, and the microphone's readyState is read on every health report of the audio thread.
 */
import type { AudioHealth } from '../engine/audio/audioHealth.ts';

export type InputKind = 'camera' | 'mic';

export interface TrackWatchHandlers {
  ended(kind: InputKind): void;
  muted(kind: InputKind, muted: boolean): void;
}

/** Listens to one track; returns the function that stops listening. */
export function watchTrack(track: MediaStreamTrack, kind: InputKind, on: TrackWatchHandlers): () => void {
  const ended = () => on.ended(kind);
  const mute = () => on.muted(kind, true);
  const unmute = () => on.muted(kind, false);
  track.addEventListener('ended', ended);
  track.addEventListener('mute', mute);
  track.addEventListener('unmute', unmute);
  return () => {
    track.removeEventListener('ended', ended);
    track.removeEventListener('mute', mute);
    track.removeEventListener('unmute', unmute);
  };
}

/** What happened, for people; the owner (app or library) adds what to do next. */
export function endedMessage(kind: InputKind, label: string): string {
  return kind === 'camera'
    ? `The ${label} stopped sending video (it was unplugged, switched off, taken by another application, or its track was stopped).`
    : `The ${label} stopped (it was unplugged, switched off, taken by another application, or its track was stopped), so the lips would only get silence.`;
}

export function mutedMessage(kind: InputKind, label: string): string {
  return kind === 'camera'
    ? `The ${label} is paused by the system or another application: the output holds the last picture and continues when the ${label} sends video again.`
    : `The ${label} is paused by the system or another application (muted): the lips get silence until it sends sound again.`;
}

export function silenceMessage(label: string, health: AudioHealth): string {
  const seconds = Math.floor(health.silentForS);
  return health.state === 'no-input'
    ? `No audio reaches lip-sync from the ${label} (nothing connected for ${seconds} s): the lips stay closed. Pick another ${label === 'microphone' ? 'microphone' : 'audio source'} and start again.`
    : `The ${label} has delivered only silence for ${seconds} s: the lips stay closed. Check that it is not muted (a mute switch or key, the system's sound settings) and that it is the right ${label === 'microphone' ? 'microphone' : 'source'}.`;
}
