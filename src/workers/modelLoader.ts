/** Fetches a generator (manifest + ONNX) and validates it against the contract before anything runs it. */
import {
  contractDifference,
  ManifestError,
  parseManifest,
  resolveModelUrl,
  type GeneratorManifest,
  type ManifestVariant,
} from '../engine/generator/manifest.ts';
import { DEFAULT_MAX_MODEL_BYTES, validateGenerator, GeneratorValidationError } from '../engine/generator/validate.ts';
import { MEL_CONFIG } from '../engine/audio/melConfig.ts';
import { CodedError } from '../engine/codedError.ts';
import type { GeneratorBackend } from '../engine/generator/runner.ts';

export interface LoadedGenerator {
  manifest: GeneratorManifest;
  bytes: Uint8Array;
  label: string;
  /** Where it came from, so that a change of runtime can load the matching variant of the same generator. */
  source?: { manifestUrl: string; variant?: ManifestVariant; offers: ManifestVariant[] };
  /** Why this is not the build that was asked for (see generatorStart.ts loadBuildFor). */
  note?: string;
}

/** The build of a generator a backend runs: the manifest's cpu variant on wasm, else the main model. */
export const variantFor = (backend: GeneratorBackend): ManifestVariant | undefined => (backend === 'wasm' ? 'cpu' : undefined);

export class ModelLoadError extends CodedError<'model-fetch' | 'bad-model'> {
  override readonly name = 'ModelLoadError';
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

export const formatBytes = (n: number): string => (n >= 1024 * 1024 ? `${(n / (1024 * 1024)).toFixed(1)} MB` : `${(n / 1024).toFixed(1)} kB`);

/**
 * Single-page-app hosts (vite preview, most static hosts) answer a missing file with index.html and status 200:
 * say "missing" instead of "not valid JSON" / "not a valid ONNX model".
 */
function refuseWebPage(res: Response, head: Uint8Array, url: string, what: string): void {
  const type = res.headers.get('content-type') ?? '';
  const text = new TextDecoder().decode(head.subarray(0, 64)).trimStart().toLowerCase();
  if (type.includes('text/html') || text.startsWith('<!doctype html') || text.startsWith('<html')) {
    throw new ModelLoadError('model-fetch', `The ${what} ${url} is missing (the server returned a web page instead).`);
  }
}

/**
 * The body, refused before reading when Content-Length says it is over `limit`, and read as a stream that stops
 * as soon as it passes `limit` (a server that lies or sends no length never makes us hold more than that).
 */
export async function readLimited(
  res: Response,
  limit: number,
  url: string,
  what: string,
  onBytes?: (loaded: number, total?: number) => void,
): Promise<Uint8Array> {
  const declared = Number(res.headers.get('content-length'));
  const tooLarge = (n?: number) =>
    new ModelLoadError(
      'bad-model',
      `The ${what} ${url} is ${n === undefined ? 'larger than' : `${formatBytes(n)}, over`} the ${formatBytes(limit)} limit for a ${what}.`,
    );
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(declared);
  const expected = Number.isFinite(declared) && declared > 0 ? declared : undefined;
  if (!res.body) {
    const all = new Uint8Array(await res.arrayBuffer());
    onBytes?.(all.byteLength, expected ?? all.byteLength);
    return all;
  }
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
    onBytes?.(total, expected);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

/**
 * `onBytes` follows the ONNX download (the manifest is tiny). With `variant`, a manifest that lists that variant
 * (`"variants": {"cpu": "cpu/manifest.json"}`) is followed to it, and its contract must equal the main one's; a
 * manifest without it loads its own model.
 */
export async function loadGeneratorFromUrl(
  manifestUrl: string,
  onBytes?: (loaded: number, total?: number) => void,
  variant?: ManifestVariant,
): Promise<LoadedGenerator> {
  const main = await fetchManifest(manifestUrl);
  let manifest = main;
  let url = manifestUrl;
  const variantPath = variant ? main.variants?.[variant] : undefined;
  if (variant && variantPath) {
    url = resolveInFolder(manifestUrl, variantPath);
    manifest = await fetchManifest(url);
    const diff = contractDifference(main, manifest);
    if (diff) throw new ModelLoadError('bad-model', `The ${variant} variant ${url} does not fit its main manifest ${manifestUrl}: ${diff}.`);
  }
  const modelUrl = resolveInFolder(url, manifest.model);
  const modelRes = await fetchOk(modelUrl, 'generator model');
  const bytes = await readLimited(modelRes, manifest.maxBytes ?? DEFAULT_MAX_MODEL_BYTES, modelUrl, 'generator model', onBytes);
  refuseWebPage(modelRes, bytes, modelUrl, 'generator model');
  const offers = Object.keys(main.variants ?? {}) as ManifestVariant[];
  return { ...checkModel(bytes, manifest, manifest.name), source: { manifestUrl, offers, ...(variantPath ? { variant } : {}) } };
}

async function fetchManifest(manifestUrl: string): Promise<GeneratorManifest> {
  const res = await fetchOk(manifestUrl, 'model manifest');
  const text = await readLimited(res, 1024 * 1024, manifestUrl, 'model manifest');
  refuseWebPage(res, text, manifestUrl, 'model manifest');
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(text));
  } catch {
    throw new ModelLoadError('bad-model', `The model manifest at ${manifestUrl} is not valid JSON.`);
  }
  return checkManifest(json);
}

function resolveInFolder(manifestUrl: string, path: string): string {
  try {
    return resolveModelUrl(manifestUrl, path).href;
  } catch (e) {
    if (e instanceof ManifestError) throw new ModelLoadError('bad-model', `The model manifest is invalid: ${e.message}`);
    throw e;
  }
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
