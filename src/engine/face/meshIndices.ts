/**
 * Named landmark indices of the 478-point MediaPipe Face Mesh (refined: 468 mesh + 10 iris points).
 * "Left"/"right" are the subject's: RIGHT_EYE is on the image's left in an unmirrored frame.
 */

export const LANDMARK_COUNT = 478;

/** Outer lip contour, clockwise from the right mouth corner (61). */
export const OUTER_LIPS = [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185] as const;
/** Inner lip contour (the mouth opening), from the right inner corner (78). */
export const INNER_LIPS = [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 415, 310, 311, 312, 13, 82, 81, 80, 191] as const;
/** Upper/lower inner-lip points facing each other across the opening (same order). */
export const UPPER_INNER_LIP = [81, 82, 13, 312, 311] as const;
export const LOWER_INNER_LIP = [178, 87, 14, 317, 402] as const;
export const MOUTH_CORNERS = [61, 291] as const;

/** Eye corners: [outer, inner]. */
export const RIGHT_EYE = [33, 133] as const;
export const LEFT_EYE = [263, 362] as const;
export const RIGHT_IRIS = 468;
export const LEFT_IRIS = 473;

export const NOSE_TIP = 1;
export const NOSE_BRIDGE = [168, 6, 197, 195, 5] as const;
export const NOSE_BOTTOM = 2;
export const CHIN = 152;
export const FOREHEAD = [10, 151, 9] as const;
export const FACE_SIDES = [234, 454] as const;
/** The face's silhouette (Face Mesh's FACE_OVAL contour), clockwise from the forehead. */
// biome-ignore format: a table, one row per line
export const FACE_OVAL = [
  10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
  152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
] as const;

/**
 * Points that stay put when the mouth opens or the jaw drops: eye corners, nose bridge and tip,
 * nostrils, forehead, temples and the face sides at eye/cheekbone height.
 */
// biome-ignore format: a table, one row per line
export const STABLE_POINTS = [
  33, 133, 362, 263, // eye corners
  168, 6, 197, 195, 5, 4, 1, // nose bridge → tip
  98, 327, // nostril wings
  10, 151, 9, // forehead
  54, 284, 103, 332, // upper forehead sides / temples
  234, 454, 127, 356, 93, 323, // face sides at eye/cheekbone height
] as const;

export function point(points: Float32Array, i: number): [number, number] {
  return [points[3 * i], points[3 * i + 1]];
}

function mean(points: Float32Array, idx: readonly number[]): [number, number] {
  let x = 0;
  let y = 0;
  for (const i of idx) {
    x += points[3 * i];
    y += points[3 * i + 1];
  }
  return [x / idx.length, y / idx.length];
}

export function rightEyeCentre(points: Float32Array): [number, number] {
  return mean(points, RIGHT_EYE);
}
export function leftEyeCentre(points: Float32Array): [number, number] {
  return mean(points, LEFT_EYE);
}
export function mouthCentre(points: Float32Array): [number, number] {
  return mean(points, OUTER_LIPS);
}

/** Distance between the two eye centres (mean of each eye's corners), in the points' units. */
export function interOcularDistance(points: Float32Array): number {
  const [rx, ry] = rightEyeCentre(points);
  const [lx, ly] = leftEyeCentre(points);
  return Math.hypot(lx - rx, ly - ry);
}

/** Mouth opening: mean inner-lip gap divided by the inter-ocular distance (scale-free; ~0 closed). */
export function mouthOpening(points: Float32Array): number {
  let gap = 0;
  for (let k = 0; k < UPPER_INNER_LIP.length; k++) {
    const [ux, uy] = point(points, UPPER_INNER_LIP[k]);
    const [lx, ly] = point(points, LOWER_INNER_LIP[k]);
    gap += Math.hypot(lx - ux, ly - uy);
  }
  const iod = interOcularDistance(points);
  return iod > 0 ? gap / UPPER_INNER_LIP.length / iod : 0;
}

/** The lip points (outer then inner contour) as x, y pairs. */
export function mouthPoints(points: Float32Array): Float32Array {
  const idx = [...OUTER_LIPS, ...INNER_LIPS];
  const out = new Float32Array(idx.length * 2);
  idx.forEach((i, k) => {
    out[2 * k] = points[3 * i];
    out[2 * k + 1] = points[3 * i + 1];
  });
  return out;
}
