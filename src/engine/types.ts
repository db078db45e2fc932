/**
 * Types shared across engine modules. Every module boundary speaks these.
 * Pixel buffers are ImageData-compatible so the same code runs in Node, workers and tests.
 */

/** An RGBA8 image, row-major, 4 bytes per pixel (same layout as ImageData). */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8ClampedArray;
}

/** 2×3 affine matrix [a, b, c, d, e, f] mapping (x, y) → (a·x + b·y + c, d·x + e·y + f). */
export type Affine = [number, number, number, number, number, number];

/** 478 face-mesh landmarks in frame pixel coordinates: x, y, z interleaved (z in pixel-ish units). */
export interface FaceLandmarks {
  points: Float32Array; // length 478 * 3
  /** Face presence confidence in [0, 1]. */
  score: number;
}

/** Planar float image [3, S, S] (CHW, RGB), values in the generator's range. */
export interface PlanarImage {
  size: number;
  data: Float32Array;
}
