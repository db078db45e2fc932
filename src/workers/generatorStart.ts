/**
 * Starts a generator on the first backend that works, as the build of it that suits that backend: a manifest may
 * list a cheaper `cpu` variant (same contract, a narrower network) that runs instead on wasm.
 */
import type * as OrtModule from 'onnxruntime-web';
import { GeneratorRunner, type GeneratorBackend } from '../engine/generator/runner.ts';
import { loadGeneratorFromUrl, variantFor, type LoadedGenerator } from './modelLoader.ts';

export interface StartedGenerator {
  runner: GeneratorRunner;
  /** What runs: `loaded`, or the other build of it when the backend that started wants that one. */
  loaded: LoadedGenerator;
}

export async function startGenerator(
  loaded: LoadedGenerator,
  opts: { ort: typeof OrtModule; preferredBackends: GeneratorBackend[]; wasmThreads?: number },
): Promise<StartedGenerator> {
  const create = (g: LoadedGenerator, backends: GeneratorBackend[]) =>
    GeneratorRunner.create({ modelBytes: g.bytes, manifest: g.manifest, ort: opts.ort, preferredBackends: backends, wasmThreads: opts.wasmThreads });
  const runner = await create(loaded, opts.preferredBackends);
  const want = variantFor(runner.backend);
  const source = loaded.source;
  // Downloaded for a backend that did not start (WebGPU failed at session creation, or was lost): switch builds.
  if (!source || source.variant === want || (want && !source.offers.includes(want))) return { runner, loaded };
  const reason = runner.fallbackReason;
  await runner.dispose();
  const other = await loadGeneratorFromUrl(source.manifestUrl, undefined, want);
  const swapped = await create(other, [runner.backend]);
  if (reason && !swapped.fallbackReason) swapped.fallbackReason = reason;
  return { runner: swapped, loaded: other };
}
