/**
 * Starts a generator on the first backend that works, as the build of it that suits that backend: a manifest may
 * list a cheaper `cpu` variant (same contract, a narrower network) that runs instead on wasm. A build that cannot be
 * loaded never stops the generator: the other one runs, and the reason says why.
 */
import type * as OrtModule from 'onnxruntime-web';
import { GeneratorRunner, type GeneratorBackend } from '../engine/generator/runner.ts';
import { loadGeneratorFromUrl, ModelLoadError, variantFor, type LoadedGenerator } from './modelLoader.ts';

export interface StartedGenerator {
  runner: GeneratorRunner;
  /** What runs: `loaded`, or the other build of it when the backend that started wants that one. */
  loaded: LoadedGenerator;
}

/** The build of the manifest's generator that `backend` runs; its main build if that variant fails to load. */
export async function loadBuildFor(
  manifestUrl: string,
  backend: GeneratorBackend,
  onBytes?: (loaded: number, total?: number) => void,
): Promise<LoadedGenerator> {
  const variant = variantFor(backend);
  try {
    return await loadGeneratorFromUrl(manifestUrl, onBytes, variant);
  } catch (e) {
    if (!variant || !(e instanceof ModelLoadError)) throw e;
    const main = await loadGeneratorFromUrl(manifestUrl, onBytes); // fails too if the manifest itself is the problem
    return { ...main, note: `its ${variant} build could not be loaded (${e.message}); running the main build` };
  }
}

export async function startGenerator(
  loaded: LoadedGenerator,
  opts: { ort: typeof OrtModule; preferredBackends: GeneratorBackend[]; wasmThreads?: number },
): Promise<StartedGenerator> {
  const create = async (g: LoadedGenerator, backends: GeneratorBackend[]) => {
    const r = await GeneratorRunner.create({
      modelBytes: g.bytes,
      manifest: g.manifest,
      ort: opts.ort,
      preferredBackends: backends,
      wasmThreads: opts.wasmThreads,
    });
    r.fallbackReason = [r.fallbackReason, g.note].filter(Boolean).join('; ') || undefined;
    return r;
  };
  const runner = await create(loaded, opts.preferredBackends);
  const want = variantFor(runner.backend);
  const source = loaded.source;
  // Downloaded for a backend that did not start (WebGPU failed at session creation, or was lost): switch builds.
  if (!source || loaded.note || source.variant === want || (want && !source.offers.includes(want))) return { runner, loaded };
  let other: LoadedGenerator;
  try {
    other = await loadGeneratorFromUrl(source.manifestUrl, undefined, want);
  } catch (e) {
    if (!(e instanceof ModelLoadError)) throw e;
    runner.fallbackReason = [runner.fallbackReason, `its ${want ?? 'main'} build could not be loaded (${e.message})`].filter(Boolean).join('; ');
    return { runner, loaded };
  }
  const reason = runner.fallbackReason;
  await runner.dispose();
  const swapped = await create(other, [runner.backend]);
  if (reason && !swapped.fallbackReason) swapped.fallbackReason = reason;
  return { runner: swapped, loaded: other };
}
