/** Records a MediaStream (the lip-synced output) to a WebM Blob. */
import { finishWebmRecording } from '../workers/mediaFiles.ts';

const PREFERRED_TYPES = ['video/webm;codecs=vp9,opus', 'video/webm;codecs=vp8,opus', 'video/webm'];

export function pickWebmType(): string {
  for (const t of PREFERRED_TYPES) if (MediaRecorder.isTypeSupported(t)) return t;
  throw new Error('This browser cannot record WebM (MediaRecorder has no WebM support).');
}

export interface Recording {
  readonly mimeType: string;
  /** Stops recording and resolves with the whole file. */
  stop(): Promise<Blob>;
}

export function startRecording(stream: MediaStream): Recording {
  const mimeType = pickWebmType();
  const recorder = new MediaRecorder(stream, { mimeType });
  const chunks: Blob[] = [];
  recorder.ondataavailable = (e) => {
    if (e.data.size > 0) chunks.push(e.data);
  };
  recorder.start(250);
  // MediaRecorder leaves the WebM's Duration and cues out; a remux writes them so players know the length and can seek.
  const finish = () => finishWebmRecording(new Blob(chunks, { type: mimeType }));
  let stopped: Promise<Blob> | undefined;
  return {
    mimeType,
    stop: () =>
      (stopped ??= new Promise<Blob>((resolve, reject) => {
        if (recorder.state === 'inactive') return resolve(finish());
        recorder.onstop = () => resolve(finish());
        recorder.onerror = (e) => reject(new Error(`Recording failed: ${(e as ErrorEvent).message ?? 'unknown error'}`));
        recorder.stop();
      })),
  };
}
