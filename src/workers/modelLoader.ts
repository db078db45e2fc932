/** Fetches a generator (manifest + ONNX) and validates it against the contract before anything runs it. */
import { parseManifest, type GeneratorManifest } from '../engine/generator/manifest.ts';
import { validateGenerator, GeneratorValidationError } from '../engine/generator/validate.ts';
import { MEL_CONFIG } from '../engine/audio/melConfig.ts';

export interface LoadedGenerator {
  manifest: GeneratorManifest;
  bytes: Uint8Array;
  label: string;
}

export class ModelLoadError extends Error {
  constructor(
    readonly code: 'model-fetch' | 'bad-model',
    message: string,
  ) {
    super(message);
    this.name = 'ModelLoadError';
  }
}

async function fetchOk(url: string, what: string): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new ModelLoadError('model-fetch', `Could not download the ${what} from ${url}: ${(e as Error).message}`);
  }
  if (!res.ok) throw new ModelLoadError('model-fetch', `Could not download the ${what} from ${url}: HTTP ${res.status}`);
  return res;
}

export async function loadGeneratorFromUrl(manifestUrl: string): Promise<LoadedGenerator> {
  const res = await fetchOk(manifestUrl, 'model manifest');
  let json: unknown;
  try {
    json = await res.json();
  } catch {
    throw new ModelLoadError('bad-model', `The model manifest at ${manifestUrl} is not valid JSON.`);
  }
  const manifest = checkManifest(json);
  const modelUrl = new URL(manifest.model, manifestUrl).href;
  const bytes = new Uint8Array(await (await fetchOk(modelUrl, 'generator model')).arrayBuffer());
  return checkModel(bytes, manifest, manifest.name);
}

/** Bytes from a user's file; with no manifest of its own it must fit the running contract. */
export function loadGeneratorFromBytes(bytes: Uint8Array, manifestJson: unknown, label: string): LoadedGenerator {
  return checkModel(bytes, checkManifest(manifestJson), label);
}

function checkManifest(json: unknown): GeneratorManifest {
  try {
    return parseManifest(json);
  } catch (e) {
    throw new ModelLoadError('bad-model', `The model manifest is invalid: ${(e as Error).message}`);
  }
}

function checkModel(bytes: Uint8Array, manifest: GeneratorManifest, label: string): LoadedGenerator {
  try {
    validateGenerator(bytes, manifest, { expectedMel: MEL_CONFIG });
  } catch (e) {
    if (e instanceof GeneratorValidationError) throw new ModelLoadError('bad-model', `The model "${label}" cannot be used: ${e.message}`);
    throw e;
  }
  return { manifest, bytes, label };
}
