/** Page side of the feasibility bench: owns the module worker, exposes `window.bench` to Playwright. */
import type { Req } from './bench.worker.ts';

const logEl = document.getElementById('log')!;
let worker = new Worker(new URL('./bench.worker.ts', import.meta.url), { type: 'module' });
let nextId = 1;
const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
const listen = (w: Worker) => {
  w.onmessage = (e: MessageEvent<{ id: number; ok: boolean; result?: unknown; error?: string }>) => {
    const p = pending.get(e.data.id);
    pending.delete(e.data.id);
    if (e.data.ok) p?.resolve(e.data.result);
    else p?.reject(new Error(e.data.error));
  };
  w.onerror = (e) => {
    for (const p of pending.values()) p.reject(new Error(`worker error: ${e.message}`));
    pending.clear();
  };
};
listen(worker);

function call(req: Req, transfer: Transferable[] = []): Promise<unknown> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    worker.postMessage({ id, req }, transfer);
  });
}

const bench = {
  call,
  newWorker() {
    worker.terminate();
    worker = new Worker(new URL('./bench.worker.ts', import.meta.url), { type: 'module' });
    listen(worker);
  },
  /** Fetches a raw RGBA frame (served by Playwright's route) and runs the landmarkers on it in the worker. */
  async frame(url: string, width: number, height: number, t: number, run: ('tfjs' | 'tasks')[]) {
    const data = await (await fetch(url)).arrayBuffer();
    const r = (await call({ type: 'frame', width, height, data, t, run }, [data])) as Record<string, { ms: number; points: Float32Array | null }>;
    // Float32Array survives structured clone into page.evaluate's return as an object: send plain arrays.
    return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, { ...v, points: v.points ? Array.from(v.points) : null }]));
  },
  log(s: string) {
    logEl.textContent += `\n${s}`;
  },
};
(window as unknown as { bench: typeof bench }).bench = bench;
logEl.textContent = 'ready';
