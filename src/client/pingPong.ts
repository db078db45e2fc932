/**
 * MuseTalk's avatar loop: a face video plays forward, then backward, then forward again, so the loop
 * has no jump at either end. Pure timing logic, shared by the video face source and its tests.
 */

/** Position (s) in a clip of length `span` after `elapsed` seconds of ping-pong playback. */
export function pingPongTime(elapsed: number, span: number): number {
  if (!(span > 0) || !(elapsed > 0)) return 0;
  const m = elapsed % (2 * span);
  return m <= span ? m : 2 * span - m;
}

/**
 * Index of the frame to show: `times` are the frames' media times (s, ascending), `elapsed` the
 * playback time since the first frame. Picks the frame whose time is nearest to the position.
 */
export function pingPongIndex(times: readonly number[], elapsed: number): number {
  const n = times.length;
  if (n <= 1) return 0;
  const t = times[0] + pingPongTime(elapsed, times[n - 1] - times[0]);
  // Binary search for the first time ≥ t, then take the nearer neighbour.
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo > 0 && t - times[lo - 1] <= times[lo] - t ? lo - 1 : lo;
}
