/**
 * Records the live output inside the inference worker: the generated frames and the microphone audio, each stamped
 * with the AudioContext time it belongs to (RecordingTimeline), encoded with WebCodecs and written to WebM by
 * mediabunny. Picture and sound are in sync by construction, independent of the live stream's audio delay.
 */
import {
  AudioSample,
  AudioSampleSource,
  BufferTarget,
  Output,
  Quality,
  VideoSample,
  VideoSampleSource,
  WebMOutputFormat,
  getFirstEncodableVideoCodec,
  canEncodeAudio,
} from 'mediabunny';
import { RecordingTimeline } from '../engine/live/recordingTimeline.ts';

/** Frames waiting for the video encoder beyond which new ones are left out of the recording (the live output goes on). */
const MAX_PENDING_FRAMES = 3;
/** After stop, how long to wait for the frames generated from audio before the stop time. */
const DRAIN_TIMEOUT_MS = 1500;

export class LiveRecorder {
  private readonly timeline: RecordingTimeline;
  private pendingFrames = 0;
  /** One queue per track keeps its samples in order; the muxer may wait on one track for the other. */
  private videoChain: Promise<unknown> = Promise.resolve();
  private audioChain: Promise<unknown> = Promise.resolve();
  private failure: Error | undefined;
  private drained?: () => void;
  /** Frames left out because the encoder was busy. */
  framesSkipped = 0;
  framesWritten = 0;

  private constructor(
    startS: number,
    private readonly output: Output<WebMOutputFormat, BufferTarget>,
    private readonly video: VideoSampleSource,
    private readonly audio: AudioSampleSource,
  ) {
    this.timeline = new RecordingTimeline(startS);
  }

  /** Starts a recording at AudioContext time `startS`; the output frames are width × height. */
  static async start(startS: number, width: number, height: number): Promise<LiveRecorder> {
    if (typeof VideoEncoder === 'undefined' || typeof AudioEncoder === 'undefined')
      throw new Error(
        'Recording needs WebCodecs (VideoEncoder and AudioEncoder in a worker), which this browser lacks: use a current Chrome, Edge or Firefox.',
      );
    const quality = new Quality('high');
    const codec = await getFirstEncodableVideoCodec(['vp9', 'vp8'], { width, height, quality });
    if (!codec)
      throw new Error(`This browser cannot encode ${width}×${height} video as VP9 or VP8, which recording needs: use a current Chrome, Edge or Firefox.`);
    if (!(await canEncodeAudio('opus', { numberOfChannels: 1, sampleRate: 48000, quality })))
      throw new Error('This browser cannot encode Opus audio, which recording needs: use a current Chrome, Edge or Firefox.');
    const output = new Output({ format: new WebMOutputFormat(), target: new BufferTarget() });
    const video = new VideoSampleSource({ codec, quality, sizeChangeBehavior: 'contain' });
    // Opus takes 48 kHz; the AudioContext may run at 44.1 kHz.
    const audio = new AudioSampleSource({ codec: 'opus', quality, transform: { sampleRate: 48000 } });
    output.addVideoTrack(video);
    output.addAudioTrack(audio);
    await output.start();
    return new LiveRecorder(startS, output, video, audio);
  }

  /** A generated frame whose mouth came from the audio at AudioContext time `audioS`. Takes ownership of `frame`. */
  addFrame(frame: VideoFrame, audioS: number): void {
    const t = this.failure ? undefined : this.timeline.videoTime(audioS);
    if (t === undefined || this.pendingFrames >= MAX_PENDING_FRAMES) {
      if (t !== undefined) this.framesSkipped++;
      frame.close();
      this.checkDrained();
      return;
    }
    this.pendingFrames++;
    const sample = new VideoSample(frame, { timestamp: t });
    this.enqueue('video', async () => {
      try {
        await this.video.add(sample);
        this.framesWritten++;
      } finally {
        sample.close();
        frame.close();
        this.pendingFrames--;
      }
    });
  }

  /** Mono microphone audio starting at AudioContext time `startS`. */
  addAudio(startS: number, samples: Float32Array, sampleRate: number): void {
    const span = this.failure ? undefined : this.timeline.audioSpan(startS, samples.length, sampleRate);
    if (span) {
      const sample = new AudioSample({
        data: samples.subarray(span.skip, span.skip + span.count),
        format: 'f32',
        numberOfChannels: 1,
        sampleRate,
        timestamp: span.timeS,
      });
      this.enqueue('audio', async () => {
        try {
          await this.audio.add(sample);
        } finally {
          sample.close();
        }
      });
    }
    this.checkDrained();
  }

  /**
   * Ends the recording at AudioContext time `stopS`: waits (briefly) for the frames generated from audio before it,
   * then finishes the file.
   */
  async finish(stopS: number): Promise<ArrayBuffer> {
    this.timeline.stop(stopS);
    if (!this.timeline.complete) {
      await new Promise<void>((resolve) => {
        this.drained = resolve;
        setTimeout(resolve, DRAIN_TIMEOUT_MS);
      });
    }
    this.drained = undefined;
    await Promise.all([this.videoChain, this.audioChain]);
    if (this.failure) throw this.failure;
    if (this.framesWritten === 0) {
      await this.output.cancel();
      throw new Error('The recording has no frames: stop a moment later (the first frames arrive within a fraction of a second).');
    }
    this.video.close();
    this.audio.close();
    await this.output.finalize();
    const buffer = this.output.target.buffer;
    if (!buffer) throw new Error('The recording could not be written.');
    return buffer;
  }

  /** Drops the recording (the session stops). */
  async cancel(): Promise<void> {
    this.drained?.();
    this.failure ??= new Error('cancelled');
    await this.output.cancel().catch(() => undefined);
    await Promise.all([this.videoChain, this.audioChain]);
  }

  private enqueue(track: 'video' | 'audio', task: () => Promise<void>): void {
    // An encoder error ends the recording; it is reported at finish().
    const fail = (e: unknown) => {
      this.failure ??= new Error(`Recording failed: ${(e as Error).message}`);
    };
    if (track === 'video') this.videoChain = this.videoChain.then(task).catch(fail);
    else this.audioChain = this.audioChain.then(task).catch(fail);
  }

  private checkDrained(): void {
    if (this.drained && this.timeline.complete) this.drained();
  }
}
