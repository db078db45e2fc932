/**
 * Library build of runtimeFiles.ts (vite.lib.config.ts aliases it in): the worker and the worklet
 * are fixed files next to lipsync.js and, like models and wasm, resolve from the base URL, so the
 * whole dist-lib/ folder can be served from any path or origin.
 */

/** File names written by vite.lib.config.ts. */
export const WORKER_FILE = 'lipsync-worker.js';
export const WORKLET_FILE = 'lipsync-mel-worklet.js';

/** The folder lipsync.js was loaded from (the library is one file, so this is its own URL). */
export function defaultBaseUrl(): string {
  return new URL(/* @vite-ignore */ './', import.meta.url).href;
}

export function createInferenceWorker(baseUrl: string, name: 'lipsync-inference' | 'lipsync-render' = 'lipsync-inference'): Worker {
  const url = new URL(WORKER_FILE, baseUrl);
  if (url.origin === globalThis.location?.origin) return new Worker(url, { type: 'module', name });
  // Workers must be same-origin; a same-origin module that imports the cross-origin one is allowed
  // (the host of baseUrl must then send CORS headers, which a cross-origin baseUrl needs anyway).
  const shim = URL.createObjectURL(new Blob([`import ${JSON.stringify(url.href)};`], { type: 'text/javascript' }));
  const worker = new Worker(shim, { type: 'module', name });
  setTimeout(() => URL.revokeObjectURL(shim), 60_000);
  return worker;
}

export function melWorkletModuleUrl(baseUrl: string): string {
  return new URL(WORKLET_FILE, baseUrl).href;
}
