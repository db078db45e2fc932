/**
 * One frame of lip-sync, independent of where frames come from: the live worker, the
 * evaluation harness and the data tools all go through this, so crop, mask and paste-back
 * are the same everywhere.
 *
 *   prepare(): landmarks → similarity transform (+ the person's mouth anchor for that template) → smoothed → S×S crop
 *              (+ masked copy)
 *   generate(): generator(masked, reference = the same crop unmasked, audio window[, the person's articulation])
 *   paste(): generated lower face → frame through the inverse transform, feathered, moved by the person's mouth
 *            placement (observeOutput: where earlier outputs drew the mouth against the real one)
 */
import type { Affine, FaceLandmarks, PlanarImage, RgbaImage } from '../types.ts';
import type { GeneratorManifest } from '../generator/manifest.ts';
import type { GeneratorInputs } from '../generator/runner.ts';
import { estimateCropTransform, TransformSmoother } from '../face/align.ts';
import { maskLower, warpToCrop } from '../face/warp.ts';
import { BlendError, type PasteArea, pasteBack, pasteRegionWeights, pasteTopRow } from '../face/blend.ts';
import { ArticulationTracker, cropMouthOpening } from '../face/articulation.ts';
import { MouthAnchor, templateTransform } from '../face/mouthAnchor.ts';
import { type CropShift, MouthPlacement } from '../face/mouthPlacement.ts';
import { OpeningGain } from '../face/openingGain.ts';

export interface LandmarkSource {
  detect(image: RgbaImage, timestampMs: number): FaceLandmarks | null;
  /** A face near `near` (landmarks in the same image), the track untouched: reads the app's own output. */
  readNear?(image: RgbaImage, near: Float32Array): FaceLandmarks | null;
  reset?(): void;
}

export interface GeneratorLike {
  run(inputs: GeneratorInputs): Promise<Float32Array>;
}

export interface PreparedFrame {
  /** The frame's place in this pipeline's sequence (mouth placement readings are counted in it). */
  index: number;
  landmarks: FaceLandmarks;
  /** Frame → crop transform after temporal smoothing. */
  transform: Affine;
  /** The unmasked crop: the reference at inference (MuseTalk's rule: reference = current frame). */
  crop: PlanarImage;
  masked: PlanarImage;
  /**
   * The person's mouth-opening range over the recent frames up to this one (face/articulation.ts), or null while
   * unknown. Fed to generators with the articulation input (others ignore it).
   */
  articulation: Float32Array | null;
  /** The contract the crops were cut for (a hot swap may change it: see fitsContract / recut). */
  cut: { maskRatio: number; maskFill: number; imageRange: [number, number] };
  timings: { landmarksMs: number; cropMs: number };
}

export interface PipelineOptions {
  /** Smooth the crop transform over time (live video). Off for independent stills. */
  smooth?: boolean;
  now?: () => number;
  /** What the paste replaces: the moving skin around the mouth (default) or the whole face below the mask line. */
  pasteArea?: PasteArea;
}

export class LipsyncPipeline {
  private smoother: TransformSmoother | null;
  private readonly articulation = new ArticulationTracker();
  /** Kept for every template, so a hot swap to a mouth-anchored model starts with the person's history. */
  private readonly mouthAnchor = new MouthAnchor();
  private readonly placement = new MouthPlacement();
  /** For generators with the openingGain input: how far this person opens, learnt from the same reads. */
  private readonly opening = new OpeningGain();
  private frames = 0;
  /** Frames from this index on were painted by the running generator: only their outputs teach the placement. */
  private placementSince = 0;
  private readonly now: () => number;
  private readonly pasteArea: PasteArea;

  constructor(
    private landmarks: LandmarkSource,
    private generator: GeneratorLike,
    private manifest: GeneratorManifest,
    opts: PipelineOptions = {},
  ) {
    this.smoother = opts.smooth === false ? null : new TransformSmoother();
    this.now = opts.now ?? (() => performance.now());
    this.pasteArea = opts.pasteArea ?? 'mouth';
    // Refused here, once, rather than on every pasted frame (a misspelt ?paste= or attribute).
    if (this.pasteArea !== 'mouth' && this.pasteArea !== 'face') {
      throw new BlendError(
        `Unknown paste area ${JSON.stringify(this.pasteArea)}: use "mouth" (the skin speech moves, the default) or "face" (the whole lower face).`,
      );
    }
  }

  /** Swap the generator (hot model swap); crop size and mask must match the running contract. */
  setGenerator(generator: GeneratorLike, manifest: GeneratorManifest): void {
    this.generator = generator;
    if (manifest.cropSize !== this.manifest.cropSize || manifest.maskRatio !== this.manifest.maskRatio) {
      this.smoother?.reset();
    }
    this.manifest = manifest;
    // Another generator draws the mouth elsewhere: learn its placement afresh.
    this.placement.reset();
    this.opening.reset();
    this.placementSince = this.frames;
  }

  get contract(): GeneratorManifest {
    return this.manifest;
  }

  /** Finds the face and cuts the crops. Returns null when there is no face (the frame passes through). */
  prepare(image: RgbaImage, timestampMs: number): PreparedFrame | null {
    const t0 = this.now();
    const landmarks = this.findFace(image, timestampMs);
    return this.prepareWithLandmarks(image, landmarks, timestampMs, this.now() - t0);
  }

  /** The face's landmarks in `image` with this pipeline's own landmarker (null: no face). */
  findFace(image: RgbaImage, timestampMs: number): FaceLandmarks | null {
    return this.landmarks.detect(image, timestampMs);
  }

  /**
   * Cuts the crops for landmarks found elsewhere (the live worker tracks faces on another thread).
   * `landmarksMs` is how long finding them took, for the stats. Null landmarks: no face, null result.
   */
  prepareWithLandmarks(image: RgbaImage, landmarks: FaceLandmarks | null, timestampMs: number, landmarksMs: number): PreparedFrame | null {
    if (!landmarks) {
      this.smoother?.reset();
      return null;
    }
    const t1 = this.now();
    const { cropSize: S, imageRange, maskRatio, maskFill } = this.manifest;
    const raw = templateTransform(this.manifest.cropTemplate, estimateCropTransform(landmarks, S), landmarks.points, this.mouthAnchor, S);
    const transform = this.smoother ? this.smoother.filter(raw, timestampMs) : raw;
    const crop = warpToCrop(image, transform, S, imageRange);
    const masked = maskLower(crop, maskRatio, maskFill);
    this.articulation.push(cropMouthOpening(landmarks.points, transform, S));
    const t2 = this.now();
    return {
      index: this.frames++,
      landmarks,
      transform,
      crop,
      masked,
      articulation: this.articulation.value(),
      cut: { maskRatio, maskFill, imageRange: [imageRange[0], imageRange[1]] },
      timings: { landmarksMs, cropMs: t2 - t1 },
    };
  }

  /** True when `frame` was cut for the running contract (crop size, mask, value range); false after a hot swap. */
  fitsContract(frame: PreparedFrame): boolean {
    const m = this.manifest;
    return (
      frame.crop.size === m.cropSize &&
      frame.masked.data.length === 3 * m.cropSize * m.cropSize &&
      frame.cut.maskRatio === m.maskRatio &&
      frame.cut.maskFill === m.maskFill &&
      frame.cut.imageRange[0] === m.imageRange[0] &&
      frame.cut.imageRange[1] === m.imageRange[1]
    );
  }

  /**
   * A frame prepared for the previous model, cut again from its image for the running one (same landmarks, no new
   * detection): a hot swap to another crop size never fails the frames already in flight.
   */
  recut(image: RgbaImage, frame: PreparedFrame): PreparedFrame {
    if (this.fitsContract(frame)) return frame;
    const { cropSize: S, imageRange, maskRatio, maskFill } = this.manifest;
    // The transform for the new size: the same face placement, scaled to S (the crop template is size-relative).
    const k = S / frame.crop.size;
    const t = frame.transform;
    const transform: Affine = [t[0] * k, t[1] * k, t[2] * k, t[3] * k, t[4] * k, t[5] * k];
    const crop = warpToCrop(image, transform, S, imageRange);
    return {
      ...frame,
      transform,
      crop,
      masked: maskLower(crop, maskRatio, maskFill),
      cut: { maskRatio, maskFill, imageRange: [imageRange[0], imageRange[1]] },
    };
  }

  /**
   * Runs the generator. `audio` is the [80, T] mel window the manifest asks for. `articulation` overrides the frame's
   * own (the evaluation takes it from frames more than 5 away, as training does); null = unknown, the prior.
   * `openingGain` overrides the one learnt from this pipeline's reads (observeOutput), for generators with that input.
   */
  async generate(
    frame: PreparedFrame,
    audio: Float32Array,
    articulation: Float32Array | null = frame.articulation,
    openingGain: number | undefined = this.manifest.inputs.openingGain ? this.opening.gainFor(frame.index) : undefined,
  ): Promise<PlanarImage> {
    const data = await this.generator.run({
      masked: frame.masked.data,
      reference: frame.crop.data,
      audio,
      ...(articulation ? { articulation } : {}),
      ...(openingGain === undefined ? {} : { openingGain }),
    });
    return { size: this.manifest.cropSize, data };
  }

  /**
   * Pastes the generated lower face into `image` in place, only over the paste area (see PasteArea), moved by `shift`:
   * by default the person's mouth placement learnt from observeOutput (none until outputs have been read).
   */
  paste(image: RgbaImage, frame: PreparedFrame, generated: PlanarImage, shift: CropShift = this.placement.shiftFor(frame.index)): void {
    const { imageRange: range, maskRatio } = this.manifest;
    const S = generated.size;
    const region = pasteRegionWeights(frame.landmarks.points, frame.transform, S, { area: this.pasteArea, fromRow: pasteTopRow(S, maskRatio) });
    pasteBack(image, generated, frame.transform, { range, maskRatio, region, shift });
  }

  /** True when `frame`'s output should be read back with the face mesh (observeOutput) after it is pasted. */
  wantsOutputLandmarks(frame: PreparedFrame): boolean {
    return this.placement.wants(frame.index);
  }

  /** The landmarks the face mesh found on `frame`'s pasted output (frame pixels): teaches the mouth placement. */
  observeOutput(frame: PreparedFrame, output: Float32Array): void {
    if (frame.index < this.placementSince) return;
    this.placement.observe(frame.index, output, frame.landmarks.points, frame.transform, frame.crop.size);
    this.opening.observe(frame.index, output, frame.landmarks.points, frame.transform, frame.crop.size);
  }

  /**
   * Reads `frame`'s pasted output with this pipeline's own landmarker and learns from it (observeOutput), when the
   * placement wants that frame read: for drivers without a face thread.
   */
  readOutput(image: RgbaImage, frame: PreparedFrame): void {
    if (!this.wantsOutputLandmarks(frame)) return;
    const found = this.readNear(image, frame.landmarks.points);
    if (found) this.observeOutput(frame, found.points);
  }

  /** The face near `near` in `image`, read by this pipeline's landmarker as the app reads its output (null: none). */
  readNear(image: RgbaImage, near: Float32Array): FaceLandmarks | null {
    return this.landmarks.readNear?.(image, near) ?? null;
  }

  /** The shift the last pasted frame was moved by (crop units), for the stats. */
  get mouthShift(): CropShift {
    return this.placement.lastShift;
  }

  /** The latest opening gain (1 = as trained; below 1 once this person is seen to open less than the generator). */
  get openingGain(): number {
    return this.opening.lastGain;
  }

  reset(): void {
    this.smoother?.reset();
    this.articulation.reset();
    this.mouthAnchor.reset();
    this.placement.reset();
    // Frame numbers go on across resets, so that a reading of the last session's output arriving late is not taken.
    this.placementSince = this.frames;
    this.landmarks.reset?.();
  }
}
