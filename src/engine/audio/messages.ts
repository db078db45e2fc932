/**
 * Messages between the 'lipsync-mel' AudioWorklet (src/workers/melWorklet.ts) and its listeners.
 * Mel blocks go to the port handed over with {type:'connect'} (the inference worker), or to the
 * node's own port when none was connected; level and health messages always go to the node's own port.
 */
import type { AudioHealth } from './audioHealth.ts';

/** A block of consecutive mel frames (MEL_CONFIG features). */
export interface MelBlockMessage {
  type: 'mel';
  /** Absolute index of the first frame since the last reset. */
  firstIndex: number;
  /** Frame-major [n·nMels] values (n = 4 normally); the buffer is transferred. */
  frames: Float32Array;
  /** AudioContext time (s) of 16 kHz sample 0 = mel frame 0: frame k is at startContextTime + k/100. */
  startContextTime: number;
}

/** Input level over the last ~50 ms (linear, full scale = 1), for a level meter. */
export interface LevelMessage {
  type: 'level';
  rms: number;
  peak: number;
}

/** Input health measured on the audio clock (see audioHealth.ts): every ~250 ms and at once on a change of state. */
export interface HealthMessage extends AudioHealth {
  type: 'health';
}

/**
 * Mono microphone audio at the context's rate, sent to the mel port while a recording taps it: the recording stamps
 * it with its own AudioContext time, the clock the mel frames (and so every generated mouth) are placed on.
 */
export interface PcmChunkMessage {
  type: 'pcm';
  /** AudioContext time (s) of the first sample. */
  startContextTime: number;
  sampleRate: number;
  /** The buffer is transferred. */
  samples: Float32Array;
}

/** Samples per posted PCM chunk (about 43 ms at 48 kHz). */
export const PCM_CHUNK = 2048;

/** Everything the worklet posts. */
export type MelWorkletMessage = MelBlockMessage | LevelMessage | HealthMessage | PcmChunkMessage;

/** Everything the worklet accepts on its node port. */
export type ToMelWorklet =
  /** Restart frame numbering at 0 with a new startContextTime (e.g. after a device change). */
  | { type: 'reset' }
  /** Send mel blocks to this port from now on (e.g. straight to the inference worker). */
  | { type: 'connect'; port: MessagePort }
  /** Also send the microphone audio itself (PcmChunkMessage) to the mel port, or stop sending it. */
  | { type: 'tap'; on: boolean };

/**
 * Mel frames per posted block. Every frame (10 ms) is posted as soon as it exists: a frame waits for its
 * lookahead audio, so a bigger block adds up to its length to the audio → output latency (4 frames cost
 * 30 ms more on average), while 100 small messages a second cost the worker nothing measurable.
 */
export const MEL_FRAMES_PER_MESSAGE = 1;

/** Interval of level messages in seconds. */
export const LEVEL_INTERVAL_S = 0.05;
