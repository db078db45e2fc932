/**
 * AudioWorkletProcessor 'lipsync-mel': mic audio → mono → 16 kHz → log-mel frames.
 *
 * Posts {type:'mel'} blocks of MEL_FRAMES_PER_MESSAGE frames (buffer transferred) to the port
 * received with {type:'connect'} (or to its own port until then), and {type:'level'} about every
 * 50 ms and {type:'health'} (silence measured on the audio clock, see audioHealth.ts) to its own port.
 * {type:'reset'} restarts frame numbering, the context-time anchor and the health measurement; {type:'tap', on}
 * starts or stops also posting the mono audio itself ({type:'pcm'} chunks) to the mel port, for a recording.
 * Per 128-sample block nothing is allocated except the posted messages themselves.
 */
import { AudioHealthMeter } from '../engine/audio/audioHealth.ts';
import { MelExtractor } from '../engine/audio/mel.ts';
import { MEL_CONFIG } from '../engine/audio/melConfig.ts';
import { LEVEL_INTERVAL_S, MEL_FRAMES_PER_MESSAGE, PCM_CHUNK, type MelWorkletMessage, type ToMelWorklet } from '../engine/audio/messages.ts';
import { Resampler } from '../engine/audio/resample.ts';

// AudioWorkletGlobalScope (TypeScript's libs do not describe it).
declare const sampleRate: number;
declare const currentFrame: number;
declare function registerProcessor(name: string, processorCtor: new (options?: unknown) => AudioWorkletProcessorBase): void;
interface AudioWorkletProcessorBase {
  readonly port: MessagePort;
  process(inputs: Float32Array[][], outputs: Float32Array[][], parameters: Record<string, Float32Array>): boolean;
}
declare const AudioWorkletProcessor: { prototype: AudioWorkletProcessorBase; new (options?: unknown): AudioWorkletProcessorBase };

/** Render quantum of the Web Audio API; larger blocks are handled too. */
const MAX_BLOCK = 128;
/** A longer gap in the context clock restarts the mel numbering instead of filling it with silence. */
const MAX_SKIP_S = 5;

class LipsyncMelProcessor extends AudioWorkletProcessor {
  private readonly resampler = new Resampler(sampleRate, MEL_CONFIG.sampleRate);
  private readonly mel = new MelExtractor();
  private mono = new Float32Array(MAX_BLOCK);
  private resampled = new Float32Array(this.resampler.maxOutput(MAX_BLOCK));
  private melPort: MessagePort = this.port;
  /** AudioContext time of the input sample that became 16 kHz sample 0; set on the first block after a reset. */
  private startContextTime: number | undefined;
  private readonly levelEvery = Math.max(1, Math.round(LEVEL_INTERVAL_S * sampleRate));
  /** Samples seen since reset, and when the next level message is due (keeps the 50 ms average exact). */
  private levelSamples = 0;
  private levelDueAt = this.levelEvery;
  private levelCount = 0;
  private levelSumSq = 0;
  private levelPeak = 0;
  private readonly health = new AudioHealthMeter(sampleRate);
  /** The context frame the next process() call should start at (a larger one means quanta were skipped). */
  private nextFrame = 0;
  private readonly silence = new Float32Array(MAX_BLOCK);
  /** Mono audio gathered for a recording's tap (null while no recording listens), and its first sample's frame. */
  private pcm: Float32Array | null = null;
  private pcmLength = 0;
  private pcmStartFrame = 0;

  constructor(options?: unknown) {
    super(options);
    this.port.onmessage = (e: MessageEvent<ToMelWorklet>) => this.onMessage(e.data);
  }

  private onMessage(msg: ToMelWorklet): void {
    if (msg?.type === 'reset') this.reset();
    else if (msg?.type === 'connect' && msg.port) this.melPort = msg.port;
    else if (msg?.type === 'tap') {
      this.pcm = msg.on ? new Float32Array(PCM_CHUNK) : null;
      this.pcmLength = 0;
    }
  }

  private reset(): void {
    this.resampler.reset();
    this.mel.reset();
    this.startContextTime = undefined;
    this.levelSamples = 0;
    this.levelDueAt = this.levelEvery;
    this.levelCount = 0;
    this.levelSumSq = 0;
    this.levelPeak = 0;
    this.health.reset();
    this.pcmLength = 0; // a partial recording chunk would straddle the restart
  }

  override process(inputs: Float32Array[][]): boolean {
    const channels = inputs[0] ?? [];
    // No connected input still advances time (as silence) so frame k stays at startContextTime + k/100.
    const length = channels.length > 0 ? channels[0].length : MAX_BLOCK;
    if (length !== this.mono.length) {
      this.mono = new Float32Array(length);
      this.resampled = new Float32Array(this.resampler.maxOutput(Math.max(length, MAX_BLOCK)));
    }
    const mono = this.mono;
    this.downmix(channels, mono);
    if (this.startContextTime === undefined) this.startContextTime = currentFrame / sampleRate;
    else if (currentFrame > this.nextFrame) this.fillSkipped(currentFrame - this.nextFrame);
    this.nextFrame = currentFrame + length;
    this.meter(mono);
    const health = this.health.block(channels.length > 0 ? mono : null, currentFrame, length);
    if (health) this.port.postMessage({ type: 'health', ...health } satisfies MelWorkletMessage);
    this.feed(mono, currentFrame);
    return true;
  }

  /**
   * The context clock moved on without calling process() (Chromium skips render quanta when its audio thread
   * starts late or falls behind: 40–270 ms at start on a loaded machine). Mel frames are numbered by samples, so the
   * skipped span goes in as silence: frame k stays at startContextTime + k/100, the clock every frame is placed on.
   */
  private fillSkipped(frames: number): void {
    if (frames > MAX_SKIP_S * sampleRate) {
      this.reset();
      this.startContextTime = currentFrame / sampleRate;
      return;
    }
    for (let done = 0; done < frames; done += MAX_BLOCK) {
      const n = Math.min(MAX_BLOCK, frames - done);
      this.feed(n === MAX_BLOCK ? this.silence : this.silence.subarray(0, n), this.nextFrame + done);
    }
  }

  /** Mono samples whose first is context frame `frame`: into the recording tap and the mel frames. */
  private feed(mono: Float32Array, frame: number): void {
    if (this.pcm) this.tap(mono, frame);
    const n = this.resampler.process(mono, this.resampled);
    this.mel.push(this.resampled, n);
    while (this.mel.pending >= MEL_FRAMES_PER_MESSAGE) {
      const { firstIndex, frames } = this.mel.drain(MEL_FRAMES_PER_MESSAGE);
      const msg: MelWorkletMessage = { type: 'mel', firstIndex, frames, startContextTime: this.startContextTime! };
      this.melPort.postMessage(msg, [frames.buffer]);
    }
  }

  private tap(mono: Float32Array, frame: number): void {
    let i = 0;
    while (i < mono.length) {
      if (this.pcmLength === 0) this.pcmStartFrame = frame + i;
      const n = Math.min(mono.length - i, PCM_CHUNK - this.pcmLength);
      this.pcm!.set(mono.subarray(i, i + n), this.pcmLength);
      this.pcmLength += n;
      i += n;
      if (this.pcmLength === PCM_CHUNK) {
        const msg: MelWorkletMessage = { type: 'pcm', startContextTime: this.pcmStartFrame / sampleRate, sampleRate, samples: this.pcm! };
        this.melPort.postMessage(msg, [this.pcm!.buffer]);
        this.pcm = new Float32Array(PCM_CHUNK);
        this.pcmLength = 0;
      }
    }
  }

  private downmix(channels: Float32Array[], mono: Float32Array): void {
    if (channels.length === 0) {
      mono.fill(0);
      return;
    }
    mono.set(channels[0]);
    if (channels.length === 1) return;
    for (let c = 1; c < channels.length; c++) {
      const ch = channels[c];
      for (let i = 0; i < mono.length; i++) mono[i] += ch[i];
    }
    const scale = 1 / channels.length;
    for (let i = 0; i < mono.length; i++) mono[i] *= scale;
  }

  private meter(mono: Float32Array): void {
    for (let i = 0; i < mono.length; i++) {
      const v = mono[i];
      this.levelSumSq += v * v;
      const a = v < 0 ? -v : v;
      if (a > this.levelPeak) this.levelPeak = a;
    }
    this.levelCount += mono.length;
    this.levelSamples += mono.length;
    if (this.levelSamples >= this.levelDueAt) {
      this.levelDueAt += this.levelEvery;
      const msg: MelWorkletMessage = { type: 'level', rms: Math.sqrt(this.levelSumSq / this.levelCount), peak: this.levelPeak };
      this.port.postMessage(msg);
      this.levelCount = 0;
      this.levelSumSq = 0;
      this.levelPeak = 0;
    }
  }
}

registerProcessor('lipsync-mel', LipsyncMelProcessor);
