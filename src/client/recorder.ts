/**
 * A recording of the live output (Session.record()): WebM with VP9 (or VP8) video and Opus audio, written in the
 * inference worker with every frame placed at the time of the audio its mouth came from (workers/liveRecorder.ts).
 */
export interface Recording {
  readonly mimeType: string;
  /** Stops recording and resolves with the whole file. */
  stop(): Promise<Blob>;
}
