/**
 * Sessions on one page start their workers one after another. Chromium fails the second of two
 * concurrent downloads of one large file while the first is still being written to its cache
 * (net::ERR_CACHE_WRITE_FAILURE, seen with the generator ONNX when two avatars start together), and
 * on few cores one start finishing first beats two starts sharing the CPU. This queue is the only
 * thing sessions share; a slot is released when the worker is ready, fails, or after a timeout.
 */
let tail: Promise<void> = Promise.resolve();

/** Waits for the previous holder (at most `timeoutMs`) and returns the function that releases this slot. */
export async function acquireStartSlot(timeoutMs = 60_000): Promise<() => void> {
  let release!: () => void;
  const mine = new Promise<void>((r) => (release = r));
  const previous = tail;
  tail = previous.then(() => mine);
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([previous, new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
  clearTimeout(timer);
  const auto = setTimeout(release, timeoutMs);
  return () => {
    clearTimeout(auto);
    release();
  };
}
