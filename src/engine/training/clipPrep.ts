/**
 * Turns a talking-face clip (decoded RGBA frames + audio samples) into training data: per frame the aligned
 * S×S crop, face-found flag and landmarks in crop pixels, plus the clip's log-mel. The offline tool
 * (tools/data-prepare.ts) and in-browser fine-tuning both use this, with the live app's own landmarker,
 * crop template, temporal smoothing, warp and mel — so training crops match inference crops.
 *
 * Layout (same as the files data:prepare writes, see tools/train/data.py):
 *   crops     uint8   [N,S,S,3] RGB        valid  uint8 [N] (1 = face)
 *   landmarks float32 [N,478,3] crop px    mel    float32 [M,80], 100 frames/s
 */
import type { RgbaImage } from '../types.ts';
import type { LandmarkSource } from '../pipeline/lipsyncPipeline.ts';
import { CROP_TEMPLATE, TransformSmoother, estimateCropTransform } from '../face/align.ts';
import { MouthAnchor, templateTransform } from '../face/mouthAnchor.ts';
import { LANDMARK_COUNT } from '../face/meshIndices.ts';
import { warpToCropU8 } from '../face/warp.ts';
import { computeLogMel } from '../audio/mel.ts';
import { MEL_CONFIG } from '../audio/melConfig.ts';
import { resampleBuffer } from '../audio/resample.ts';
import { CodedError } from '../codedError.ts';

export type ClipPrepErrorCode = 'no-frames' | 'no-face' | 'no-audio' | 'silent-audio' | 'bad-input' | 'cancelled';

export class ClipPrepError extends CodedError<ClipPrepErrorCode> {
  override readonly name = 'ClipPrepError';
}

/** One frame's result: the crop (RGB, S·S·3) and its landmarks in crop pixels, or null when no face was found. */
export interface CroppedFrame {
  crop: Uint8Array;
  landmarks: Float32Array;
}

/**
 * Per-frame crop + landmarks with the live pipeline's smoothing. One instance per clip (call reset() between
 * clips); results are fresh arrays the caller owns.
 */
export class CropFrameProcessor {
  private readonly smoother = new TransformSmoother();
  private readonly mouthAnchor = new MouthAnchor();

  /** `cropTemplate`: the generator's (align.ts CROP_TEMPLATE, or mouthAnchor.ts CROP_TEMPLATE_MOUTH). */
  constructor(
    private readonly landmarker: LandmarkSource,
    readonly size: number,
    readonly cropTemplate: string = CROP_TEMPLATE,
  ) {}

  reset(): void {
    this.smoother.reset();
    this.mouthAnchor.reset();
    this.landmarker.reset?.();
  }

  process(frame: RgbaImage, timestampMs: number): CroppedFrame | null {
    const S = this.size;
    const lmk = this.landmarker.detect(frame, timestampMs);
    if (!lmk) {
      // Same as live: no face → the smoother starts over on the next face.
      this.smoother.reset();
      return null;
    }
    const plain = estimateCropTransform(lmk, S);
    const t = this.smoother.filter(templateTransform(this.cropTemplate, plain, lmk.points, this.mouthAnchor, S), timestampMs);
    const crop = warpToCropU8(frame, t, S);
    const scale = Math.hypot(t[0], t[3]);
    const p = lmk.points;
    const landmarks = new Float32Array(LANDMARK_COUNT * 3);
    for (let i = 0; i < LANDMARK_COUNT; i++) {
      const x = p[3 * i];
      const y = p[3 * i + 1];
      landmarks[3 * i] = t[0] * x + t[1] * y + t[2];
      landmarks[3 * i + 1] = t[3] * x + t[4] * y + t[5];
      landmarks[3 * i + 2] = p[3 * i + 2] * scale;
    }
    return { crop, landmarks };
  }
}

/**
 * The clip's log-mel (frame-major [M, nMels]) from mono samples at any rate, cut to `frames` video frames at
 * `fps` when given (so audio never runs past the kept video).
 */
export function clipMel(samples: Float32Array, sampleRate: number, frames?: number, fps = 25): Float32Array {
  let s = sampleRate === MEL_CONFIG.sampleRate ? samples : resampleBuffer(samples, sampleRate, MEL_CONFIG.sampleRate);
  if (frames !== undefined) s = s.subarray(0, Math.round((frames / fps) * MEL_CONFIG.sampleRate));
  return computeLogMel(s);
}

export interface PreparedClip {
  size: number;
  frames: number;
  fps: number;
  cropTemplate: string;
  /** uint8 [N,S,S,3]; frames without a face are zeros. */
  crops: Uint8Array;
  /** uint8 [N]: 1 = face found. */
  valid: Uint8Array;
  /** float32 [N,478,3] in crop pixels (zeros where invalid). */
  landmarks: Float32Array;
  /** float32 [M, nMels] log-mel at 100 frames/s. */
  mel: Float32Array;
  melFrames: number;
  /** Frames dropped because no face was found. */
  dropped: number;
}

export interface PrepareProgress {
  done: number;
  /** Total frames when known. */
  total?: number;
  dropped: number;
}

export interface PrepareClipOptions {
  frames: AsyncIterable<RgbaImage> | Iterable<RgbaImage>;
  /** Expected frame count (progress only). */
  total?: number;
  fps: number;
  audio: { samples: Float32Array; sampleRate: number };
  landmarker: LandmarkSource;
  size: number;
  /** The generator's crop template (manifest.cropTemplate); default the plain one. */
  cropTemplate?: string;
  onProgress?: (p: PrepareProgress) => void;
  /** Checked between frames; a set flag stops with 'cancelled'. */
  signal?: { aborted: boolean };
}

/** Prepares a whole clip in memory (short clips: a 30 s recording at S=128 is ~37 MB of crops). */
export async function prepareClip(opts: PrepareClipOptions): Promise<PreparedClip> {
  const { audio, size: S, fps } = opts;
  if (!(fps > 0)) throw new ClipPrepError('bad-input', `The clip's frame rate must be positive, got ${fps}.`);
  if (!audio.samples.length) throw new ClipPrepError('no-audio', 'The clip has no audio track: fine-tuning needs the voice that goes with the video.');
  let peak = 0;
  for (let i = 0; i < audio.samples.length; i++) peak = Math.max(peak, Math.abs(audio.samples[i]));
  if (peak < 1e-4) throw new ClipPrepError('silent-audio', "The clip's audio is silent: check the microphone (or the file's audio track) and record again.");
  const proc = new CropFrameProcessor(opts.landmarker, S, opts.cropTemplate ?? CROP_TEMPLATE);
  proc.reset();
  const crops: Uint8Array[] = [];
  const lms: (Float32Array | null)[] = [];
  let dropped = 0;
  let n = 0;
  for await (const frame of opts.frames as AsyncIterable<RgbaImage>) {
    if (opts.signal?.aborted) throw new ClipPrepError('cancelled', 'Preparing the clip was cancelled.');
    const r = proc.process(frame, (n * 1000) / fps);
    if (r) {
      crops.push(r.crop);
      lms.push(r.landmarks);
    } else {
      crops.push(new Uint8Array(0));
      lms.push(null);
      dropped++;
    }
    n++;
    opts.onProgress?.({ done: n, total: opts.total, dropped });
  }
  if (n === 0) throw new ClipPrepError('no-frames', 'No video frames could be decoded from the clip.');
  if (dropped === n) throw new ClipPrepError('no-face', `No face was found in any of the ${n} frames: face the camera in good light and try again.`);
  const plane = S * S * 3;
  const out: PreparedClip = {
    size: S,
    frames: n,
    fps,
    cropTemplate: proc.cropTemplate,
    crops: new Uint8Array(n * plane),
    valid: new Uint8Array(n),
    landmarks: new Float32Array(n * LANDMARK_COUNT * 3),
    mel: clipMel(audio.samples, audio.sampleRate, n, fps),
    melFrames: 0,
    dropped,
  };
  out.melFrames = out.mel.length / MEL_CONFIG.nMels;
  for (let i = 0; i < n; i++) {
    const lm = lms[i];
    if (!lm) continue;
    out.valid[i] = 1;
    out.crops.set(crops[i], i * plane);
    out.landmarks.set(lm, i * LANDMARK_COUNT * 3);
  }
  return out;
}
