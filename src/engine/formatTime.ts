/** Seconds → "m:ss" for progress lines (ETA, elapsed); "–" when unknown. Shared by the UI and the tools. */
export function fmtTime(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '–';
  const m = Math.floor(s / 60);
  const sec = Math.round(s % 60);
  return sec === 60 ? `${m + 1}:00` : `${m}:${String(sec).padStart(2, '0')}`;
}
