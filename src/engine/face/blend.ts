/**
 * Paste-back: the generated lower face goes into the frame through the crop transform, blended with
 * a feathered mask so there is no seam. Only the bounding box of the crop's lower region is visited;
 * pixels where the mask is 0 are not written (byte-identical).
 *
 * With a region (pasteRegionWeights, from the landmarks) only the part of the face that speech moves is
 * replaced: background, hair, neck and the static cheeks keep the camera's own pixels. That is what peers
 * do with a face-parsing or mouth mask (MuseTalk, LatentSync); on a turned head a third of the crop's
 * lower half can be background.
 */
import type { Affine, PlanarImage, RgbaImage } from '../types.ts';
import { applyAffine, invertAffine } from './align.ts';
import { CHIN, FACE_OVAL, LANDMARK_COUNT, MOUTH_CORNERS, NOSE_BOTTOM, OUTER_LIPS } from './meshIndices.ts';
import { maskStartRow } from './warp.ts';
import { CodedError } from '../codedError.ts';

export interface PasteOptions {
  range: [number, number];
  maskRatio: number;
  /** Width of the soft edge in crop pixels (default 0.08·S). */
  feather?: number;
  /** Weights in [0, 1] over the S×S crop (row-major) that further limit the paste: see pasteRegionWeights. */
  region?: Float32Array;
  /**
   * Moves the generated content by this much (crop units, S = 1; see face/mouthPlacement.ts) while the paste area
   * stays where the real face is: the generated mouth is drawn that far from where the generator put it.
   */
  shift?: readonly [number, number];
}

const smooth = (t: number) => (t <= 0 ? 0 : t >= 1 ? 1 : t * t * (3 - 2 * t));

/** How far below the jaw line the paste may reach, as a fraction of S: room for a generated mouth that opens wider than the camera's. */
export const JAW_DROP = 0.06;

/** Convex hull of 2-D points [x0, y0, x1, y1, …], with positive signed area (x·y′ − y·x′ summed), no collinear points. */
export function convexHull(xy: Float64Array): Float64Array {
  const n = xy.length / 2;
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => xy[2 * a] - xy[2 * b] || xy[2 * a + 1] - xy[2 * b + 1]);
  const cross = (o: number, a: number, b: number) =>
    (xy[2 * a] - xy[2 * o]) * (xy[2 * b + 1] - xy[2 * o + 1]) - (xy[2 * a + 1] - xy[2 * o + 1]) * (xy[2 * b] - xy[2 * o]);
  const lower: number[] = [];
  for (const i of idx) {
    while (lower.length >= 2 && cross(lower[lower.length - 2], lower[lower.length - 1], i) <= 0) lower.pop();
    lower.push(i);
  }
  const upper: number[] = [];
  for (let k = idx.length - 1; k >= 0; k--) {
    const i = idx[k];
    while (upper.length >= 2 && cross(upper[upper.length - 2], upper[upper.length - 1], i) <= 0) upper.pop();
    upper.push(i);
  }
  const hull = lower.slice(0, -1).concat(upper.slice(0, -1));
  const out = new Float64Array(hull.length * 2);
  hull.forEach((i, k) => {
    out[2 * k] = xy[2 * i];
    out[2 * k + 1] = xy[2 * i + 1];
  });
  return out;
}

/** The paste's default soft-edge width in crop pixels. */
export const defaultFeather = (S: number) => 0.08 * S;

/** First crop row the paste can touch: the top ramp is centred on the mask line. */
export function pasteTopRow(S: number, maskRatio: number, feather = defaultFeather(S)): number {
  return Math.max(0, Math.floor(maskStartRow(S, maskRatio) - Math.max(1, feather) / 2));
}

/**
 * Which part of the lower face the paste replaces.
 * - 'mouth' (default): the skin that moves in speech — lips, philtrum up to the nose, the cheeks beside the
 *   mouth corners (a third of a mouth width each side) and the chin (JAW_DROP below it) — inside the face's
 *   silhouette. Everything else keeps the camera's own pixels: the generator re-paints static skin
 *   softer than it is (at 128² it cannot copy a cheek exactly), and on the held-out clips the real
 *   cheek beats the repainted one by up to 5 dB.
 * - 'face': the whole face silhouette below the mask line (up to 0.3.x).
 */
export type PasteArea = 'mouth' | 'face';

/**
 * Cheek beside each mouth corner, in mouth widths (a corner moves ~15 % of the width between a spread and a
 * rounded mouth); above the lips, 0.6 of their height over the corners. The mouth area's soft edge is 0.06·S.
 */
const MOUTH_SIDE = 0.35;
const MOUTH_UP = 0.6;
const mouthFeather = (S: number) => 0.06 * S;

const finitePoint = (points: Float32Array, i: number) => Number.isFinite(points[3 * i]) && Number.isFinite(points[3 * i + 1]);

/** Inward half-planes (x, y, nx, ny) of a hull with positive signed area. */
function hullEdges(hull: Float64Array, into: number[]): void {
  const m = hull.length / 2;
  for (let k = 0; k < m; k++) {
    const ax = hull[2 * k],
      ay = hull[2 * k + 1];
    const bx = hull[(2 * k + 2) % (2 * m)],
      by = hull[(2 * k + 3) % (2 * m)];
    const len = Math.hypot(bx - ax, by - ay);
    if (len === 0) continue;
    // Positive signed area: the interior is on the side of the normal (-dy, dx).
    into.push(ax, ay, -(by - ay) / len, (bx - ax) / len);
  }
}

/**
 * Paste weights over the S×S crop from the face's landmarks (frame coordinates): 1 inside the area (see
 * PasteArea; the face's silhouette is extended JAW_DROP·S downward below the mouth corners, room for a
 * generated mouth that opens wider than the camera's), fading to 0 over `feather` pixels outside it (on a
 * turned head the far mouth corner sits right at the silhouette, and must be fully generated). Rows above
 * `fromRow` (pasteTopRow: never pasted) are left at 0 and not computed.
 */
export function pasteRegionWeights(
  points: Float32Array,
  frameToCrop: Affine,
  S: number,
  opts: { area?: PasteArea; fromRow?: number; feather?: number } = {},
): Float32Array {
  const { area = 'mouth', fromRow = 0 } = opts;
  if (area !== 'mouth' && area !== 'face') throw new BlendError(`Unknown paste area ${JSON.stringify(area)}: use "mouth" or "face"`);
  const feather = opts.feather ?? (area === 'mouth' ? mouthFeather(S) : defaultFeather(S));
  if (points.length < 3 * LANDMARK_COUNT) {
    throw new BlendError(`Paste region needs ${LANDMARK_COUNT} Face Mesh landmarks (${3 * LANDMARK_COUNT} values), got ${points.length} values`);
  }
  const used = area === 'mouth' ? [...FACE_OVAL, ...OUTER_LIPS, NOSE_BOTTOM] : FACE_OVAL;
  for (const i of used) {
    if (!finitePoint(points, i)) throw new BlendError(`Paste region: landmark ${i} is not a finite position`);
  }
  const toCrop = (i: number) => applyAffine(frameToCrop, points[3 * i], points[3 * i + 1]);
  const corners = MOUTH_CORNERS.map(toCrop);
  const mouthY = Math.max(corners[0][1], corners[1][1]);
  const drop = JAW_DROP * S;
  const face: number[] = [];
  for (const i of FACE_OVAL) {
    const [u, v] = toCrop(i);
    face.push(u, v);
    if (v > mouthY) face.push(u, v + drop);
  }
  // The mouth's edges (if any) then the face's: the distance inside both (both hulls are convex). The smaller hull
  // first, so that most pixels outside it leave the edge loop after a few edges.
  const edges: number[] = [];
  if (area === 'mouth') {
    const left = Math.min(corners[0][0], corners[1][0]);
    const right = Math.max(corners[0][0], corners[1][0]);
    const side = MOUTH_SIDE * Math.hypot(corners[1][0] - corners[0][0], corners[1][1] - corners[0][1]);
    const lips = OUTER_LIPS.map(toCrop);
    const lipTop = Math.min(...lips.map(([, v]) => v));
    const top = lipTop - MOUTH_UP * Math.max(0, mouthY - lipTop);
    const mouth: number[] = [left - side, top, right + side, top, left - side, mouthY, right + side, mouthY, ...toCrop(NOSE_BOTTOM)];
    for (const [u, v] of lips) mouth.push(u, v);
    for (const i of FACE_OVAL) {
      const [u, v] = toCrop(i);
      if (v > mouthY && u >= left - side && u <= right + side) mouth.push(u, v + drop);
    }
    const [cu, cv] = toCrop(CHIN);
    mouth.push(cu, cv + drop);
    hullEdges(convexHull(new Float64Array(mouth)), edges);
  }
  hullEdges(convexHull(new Float64Array(face)), edges);
  const f = Math.max(1, feather);
  const out = new Float32Array(S * S);
  for (let v = Math.max(0, fromRow); v < S; v++) {
    for (let u = 0; u < S; u++) {
      let d = Infinity;
      for (let e = 0; e < edges.length && d > -f; e += 4) d = Math.min(d, (u - edges[e]) * edges[e + 2] + (v - edges[e + 1]) * edges[e + 3]);
      out[v * S + u] = smooth(d / f + 1); // 0 once d ≤ −f: no more edges needed
    }
  }
  return out;
}

export class BlendError extends CodedError<'bad-paste'> {
  override readonly name = 'BlendError';
  constructor(message: string) {
    super('bad-paste', message);
  }
}

/**
 * Mask weight at crop coordinates (u, v): 0 above the masked half and at the crop's left/right/bottom
 * borders (inset by 1 px so edge-clamped samples never show), rising smoothly to 1 over `f` pixels.
 * The top ramp is centred on the mask line: the generator reproduces the unmasked rows above it.
 */
export function pasteMaskWeight(u: number, v: number, S: number, y0: number, f: number): number {
  const inset = 1;
  const top = (v - (y0 - f / 2)) / f;
  const left = (u - inset) / f;
  const right = (S - 1 - inset - u) / f;
  const bottom = (S - 1 - inset - v) / f;
  return smooth(Math.min(top, left, right, bottom));
}

export function pasteBack(image: RgbaImage, generated: PlanarImage, frameToCrop: Affine, opts: PasteOptions): void {
  const S = generated.size;
  if (generated.data.length !== 3 * S * S) throw new BlendError(`Generated image must hold 3×${S}×${S} values, got ${generated.data.length}`);
  if (image.data.length < image.width * image.height * 4) throw new BlendError(`Frame ${image.width}×${image.height} has too few bytes`);
  const f = Math.max(1, opts.feather ?? defaultFeather(S));
  const y0 = maskStartRow(S, opts.maskRatio);
  const region = opts.region;
  if (region && region.length !== S * S) throw new BlendError(`Paste region must hold ${S}×${S} weights, got ${region.length}`);
  const vTop = Math.max(0, y0 - f / 2);

  // Frame bounding box of the crop region that can have weight > 0.
  const cropToFrame = invertAffine(frameToCrop);
  let minX = Infinity,
    minY = Infinity,
    maxX = -Infinity,
    maxY = -Infinity;
  for (const [u, v] of [
    [0, vTop],
    [S - 1, vTop],
    [0, S - 1],
    [S - 1, S - 1],
  ]) {
    const [x, y] = applyAffine(cropToFrame, u, v);
    minX = Math.min(minX, x);
    maxX = Math.max(maxX, x);
    minY = Math.min(minY, y);
    maxY = Math.max(maxY, y);
  }
  const x0 = Math.max(0, Math.floor(minX));
  const x1 = Math.min(image.width - 1, Math.ceil(maxX));
  const yA = Math.max(0, Math.floor(minY));
  const yB = Math.min(image.height - 1, Math.ceil(maxY));
  if (x0 > x1 || yA > yB) return;

  const [a, b, c, d, e, g] = frameToCrop;
  const k = 255 / (opts.range[1] - opts.range[0]);
  const r0 = opts.range[0];
  const plane = S * S;
  const src = generated.data;
  const out = image.data;
  const W = image.width;
  const su = (opts.shift?.[0] ?? 0) * S;
  const sv = (opts.shift?.[1] ?? 0) * S;
  for (let y = yA; y <= yB; y++) {
    let u = a * x0 + b * y + c;
    let v = d * x0 + e * y + g;
    for (let x = x0; x <= x1; x++, u += a, v += d) {
      if (u < 0 || v < vTop || u > S - 1 || v > S - 1) continue;
      let w = pasteMaskWeight(u, v, S, y0, f);
      if (region && w > 0) w *= region[Math.round(v) * S + Math.round(u)];
      if (w <= 0) continue;
      // The generated pixel: at (u, v) less the shift, edges repeated.
      const gu = Math.min(S - 1, Math.max(0, u - su));
      const gv = Math.min(S - 1, Math.max(0, v - sv));
      let ui = gu | 0;
      let vi = gv | 0;
      if (ui >= S - 1) ui = S - 2;
      if (vi >= S - 1) vi = S - 2;
      const fu = gu - ui;
      const fv = gv - vi;
      const i00 = vi * S + ui;
      const w00 = (1 - fu) * (1 - fv),
        w01 = fu * (1 - fv),
        w10 = (1 - fu) * fv,
        w11 = fu * fv;
      const p = (y * W + x) * 4;
      for (let ch = 0; ch < 3; ch++) {
        const o = ch * plane + i00;
        const gen = (src[o] * w00 + src[o + 1] * w01 + src[o + S] * w10 + src[o + S + 1] * w11 - r0) * k;
        out[p + ch] = out[p + ch] + (gen - out[p + ch]) * w; // Uint8ClampedArray rounds and clamps
      }
    }
  }
}
