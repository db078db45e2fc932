/**
 * VideoFrame ⇄ RGBA pixels for the inference worker, without a canvas on the hot path: VideoFrame.copyTo
 * converts to RGBA straight into a pooled buffer, and the output frame is built from the buffer. Browsers
 * whose copyTo cannot convert (it throws NotSupportedError) fall back to an OffscreenCanvas, once and for all.
 */
import type { RgbaImage } from '../engine/types.ts';

let copyToConverts: boolean | undefined;
let canvas: OffscreenCanvas | undefined;
let ctx2d: OffscreenCanvasRenderingContext2D | undefined;

/** The frame's visible pixels as sRGB RGBA, in a buffer from `acquire` (e.g. a BufferPool's). */
export async function readRgba(frame: VideoFrame, acquire: (bytes: number) => Uint8ClampedArray<ArrayBuffer>): Promise<RgbaImage> {
  const rect = frame.visibleRect;
  const width = rect?.width ?? frame.displayWidth;
  const height = rect?.height ?? frame.displayHeight;
  const data = acquire(width * height * 4);
  if (copyToConverts !== false) {
    try {
      await frame.copyTo(data, { format: 'RGBA', colorSpace: 'srgb' } as VideoFrameCopyToOptions);
      copyToConverts = true;
      return { width, height, data };
    } catch (e) {
      if (copyToConverts === true) throw e; // it worked before: this is a real failure, not a missing feature
      copyToConverts = false;
    }
  }
  const ctx = context(width, height);
  ctx.drawImage(frame, 0, 0, width, height);
  data.set(ctx.getImageData(0, 0, width, height).data);
  return { width, height, data };
}

/** An output frame holding `image`'s pixels (copied: the buffer can go back to the pool). */
export function rgbaFrame(image: RgbaImage, timestamp: number, duration?: number): VideoFrame {
  return new VideoFrame(image.data, { format: 'RGBA', codedWidth: image.width, codedHeight: image.height, timestamp, duration });
}

function context(w: number, h: number): OffscreenCanvasRenderingContext2D {
  if (!canvas || canvas.width !== w || canvas.height !== h) {
    canvas = new OffscreenCanvas(w, h);
    ctx2d = canvas.getContext('2d', { willReadFrequently: true })!;
  }
  return ctx2d!;
}
