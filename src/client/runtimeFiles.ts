/**
 * Where the inference worker and the mel AudioWorklet come from, in the app build (and the dev
 * server): Vite bundles them next to the page's scripts and rewrites these URLs.
 * The library build swaps this module for runtimeFiles.lib.ts (see vite.lib.config.ts), which loads
 * fixed file names from the configurable base URL instead. Both export the same functions.
 */
import melWorkletUrl from '../workers/melWorklet.ts?worker&url';

/** Directory that models/, ort/ and tfjs/ are served from when no baseUrl is given: the page's. */
export function defaultBaseUrl(): string {
  return new URL('./', globalThis.document?.baseURI ?? globalThis.location?.href).href;
}

/** `name` picks the worker's role: live inference (default) or render mode ('lipsync-render'). */
export function createInferenceWorker(_baseUrl: string, name: 'lipsync-inference' | 'lipsync-render' = 'lipsync-inference'): Worker {
  // Vite wants literal worker options, hence one call per name (both bundle the same script once).
  if (name === 'lipsync-render') return new Worker(new URL('../workers/inference.worker.ts', import.meta.url), { type: 'module', name: 'lipsync-render' });
  return new Worker(new URL('../workers/inference.worker.ts', import.meta.url), { type: 'module', name: 'lipsync-inference' });
}

export function melWorkletModuleUrl(_baseUrl: string): string {
  return melWorkletUrl;
}
