/**
 * ONNX GridSample (bilinear, border padding) in tfjs ops that all have gradients, so the fine-tune trains through a
 * warp: with respect to the image (through gather) and to the grid (through the bilinear weights).
 *
 * Border padding clamps the sampling position into the image before interpolating (as PyTorch's grid_sample does,
 * and as onnxruntime's result equals: both corners outside the image read the same edge pixel).
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * `image` [N,H,W,C] (NHWC), `grid` [N,Ho,Wo,2] holding (x, y) in [-1, 1] → [N,Ho,Wo,C]. With `alignCorners`, −1 and 1
 * are the centres of the corner pixels; without, their outer edges.
 */
export function gridSampleBilinearBorder(image: tf.Tensor4D, grid: tf.Tensor4D, alignCorners: boolean): tf.Tensor4D {
  return tf.tidy(() => {
    const [N, H, W, C] = image.shape;
    const [gn, Ho, Wo] = grid.shape;
    if (gn !== N) throw new Error(`GridSample: the grid's batch ${gn} differs from the image's ${N}.`);
    // Slices, not split: tfjs-core's gradient subset here (gradients.ts) has Slice.
    const gx = tf.slice(grid, [0, 0, 0, 0], [N, Ho, Wo, 1]);
    const gy = tf.slice(grid, [0, 0, 0, 1], [N, Ho, Wo, 1]);
    // Normalised → pixel position, clamped into the image (border padding).
    const toPixel = (g: tf.Tensor, size: number) =>
      tf.clipByValue(alignCorners ? tf.mul(tf.add(g, 1), (size - 1) / 2) : tf.div(tf.sub(tf.mul(tf.add(g, 1), size), 1), 2), 0, size - 1);
    const px = toPixel(gx, W);
    const py = toPixel(gy, H);
    const x0 = tf.floor(px);
    const y0 = tf.floor(py);
    const wx = tf.sub(px, x0); // floor has no gradient: d(wx)/d(px) = 1
    const wy = tf.sub(py, y0);
    const xi0 = tf.cast(x0, 'int32');
    const yi0 = tf.cast(y0, 'int32');
    const int = (v: number) => tf.scalar(v, 'int32'); // a plain number would make the index arithmetic float
    const xi1 = tf.minimum(tf.add(xi0, int(1)), int(W - 1));
    const yi1 = tf.minimum(tf.add(yi0, int(1)), int(H - 1));
    const flat = tf.reshape(image, [N * H * W, C]);
    const batchBase = tf.reshape(tf.mul(tf.range(0, N, 1, 'int32'), int(H * W)), [N, 1, 1, 1]);
    const at = (yi: tf.Tensor, xi: tf.Tensor) =>
      tf.reshape(tf.gather(flat, tf.reshape(tf.add(batchBase, tf.add(tf.mul(yi, int(W)), xi)), [-1])), [N, Ho, Wo, C]);
    const one = tf.scalar(1);
    const ux = tf.sub(one, wx);
    const uy = tf.sub(one, wy);
    // Chained adds, not addN: tfjs-core registers no gradient for AddN.
    const top = tf.add(tf.mul(at(yi0, xi0), ux), tf.mul(at(yi0, xi1), wx));
    const bottom = tf.add(tf.mul(at(yi1, xi0), ux), tf.mul(at(yi1, xi1), wx));
    return tf.add(tf.mul(top, uy), tf.mul(bottom, wy)) as tf.Tensor4D;
  });
}
