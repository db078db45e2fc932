/**
 * Timestamps of a recording of the live output, in sync by construction.
 *
 * Every output frame's mouth was generated from the audio window centred at one AudioContext time; the microphone
 * audio carries its own AudioContext time. Stamping both with those times puts each mouth shape exactly where its
 * sound is, whatever the live stream's audio delay and however the browser's recorder would place the two tracks
 * (MediaRecorder placed the picture 40–200 ms early, by how the audio delay and the pipeline latency happened to
 * fall on the run). All times are AudioContext seconds; the recording's own times start at 0 at `startS`.
 */
export interface AudioSpan {
  /** Samples of the chunk to leave out at its start (before the recording started). */
  skip: number;
  /** Samples to keep after those. */
  count: number;
  /** Recording time (s) of the first kept sample. */
  timeS: number;
}

export class RecordingTimeline {
  private stopS = Infinity;
  private lastVideoS = -Infinity;
  private videoReachedStop = false;
  private audioReachedStop = false;

  constructor(readonly startS: number) {}

  /** Ends the recording at AudioContext time `atS` (frames still on their way up to it are kept). */
  stop(atS: number): void {
    this.stopS = Math.max(this.startS, atS);
  }

  get stopped(): boolean {
    return this.stopS !== Infinity;
  }

  /** Both tracks have reached the stop time: nothing more will be kept. */
  get complete(): boolean {
    return this.videoReachedStop && this.audioReachedStop;
  }

  /**
   * Recording time (s) of a frame whose mouth came from the audio at `audioS`, or undefined to leave it out: from
   * before the start, from after the stop, or not later than the frame before (time must move forward).
   */
  videoTime(audioS: number): number | undefined {
    if (audioS >= this.stopS) {
      this.videoReachedStop = true;
      return undefined;
    }
    if (audioS < this.startS || audioS <= this.lastVideoS) return undefined;
    this.lastVideoS = audioS;
    return audioS - this.startS;
  }

  /** The part of an audio chunk of `n` samples starting at `chunkStartS` that belongs to the recording. */
  audioSpan(chunkStartS: number, n: number, sampleRate: number): AudioSpan | undefined {
    const chunkEndS = chunkStartS + n / sampleRate;
    if (chunkEndS >= this.stopS) this.audioReachedStop = true;
    const skip = Math.max(0, Math.ceil((this.startS - chunkStartS) * sampleRate - 1e-6));
    const end = Math.min(n, Math.ceil((this.stopS - chunkStartS) * sampleRate - 1e-6));
    if (end <= skip) return undefined;
    return { skip, count: end - skip, timeS: chunkStartS + skip / sampleRate - this.startS };
  }
}
