/**
 * The generator contract: what a generator ONNX file expects and produces, written next to it as
 * manifest.json. Crop, mask and mel code read their parameters from here so that a model trained
 * with one crop/mask/mel setup is never fed another.
 */
import { CodedError } from '../codedError.ts';
import { CROP_TEMPLATES, FACE_CROP_TEMPLATES } from '../face/mouthAnchor.ts';

export interface GeneratorTensorSpec {
  /** Name of the ONNX graph input/output. */
  name: string;
  shape: number[];
}

export interface ArticulationSpec extends GeneratorTensorSpec {
  /** (p50, p90) fed while the person's own range is unknown: the training people's typical one. */
  prior: [number, number];
}

export interface GeneratorManifest {
  name: string;
  version: string;
  /** ONNX file name, relative to the manifest. */
  model: string;
  /** Crop side S in pixels. */
  cropSize: number;
  /** Version id of the crop template (face alignment) the model was trained with. */
  cropTemplate: string;
  /** Fraction of crop rows blanked from the bottom in the masked input (0.5 = lower half). */
  maskRatio: number;
  /** Pixel value range [lo, hi] of image tensors. */
  imageRange: [number, number];
  /** Value written into the blanked area. */
  maskFill: number;
  inputs: {
    /** [1, 3, S, S] current crop with the lower part blanked. */
    masked: GeneratorTensorSpec;
    /** [1, 3, S, S] unmasked reference crop. */
    reference: GeneratorTensorSpec;
    /** [1, melBins, T] log-mel window, T = past + lookahead. */
    audio: GeneratorTensorSpec;
    /**
     * Optional [1, 2]: the person's own mouth-opening range (p50, p90 of the inner-lip gap as a fraction of the crop;
     * src/engine/contract.json `articulation`, face/articulation.ts), `prior` until the app has seen enough of them.
     */
    articulation?: ArticulationSpec;
    /**
     * Optional [1, 1]: how far the mouth opens, 1 = as trained (face/openingGain.ts learns it from the camera). The
     * generator moves its audio code towards silence's by this factor.
     */
    openingGain?: GeneratorTensorSpec;
  };
  /** [1, 3, S, S] generated crop. */
  output: GeneratorTensorSpec;
  /**
   * Mel window in 10 ms frames: columns centerIndex − past … centerIndex + lookahead − 1,
   * where centerIndex is the mel frame at the video frame's timestamp.
   */
  audioWindow: { past: number; lookahead: number };
  /** Mel feature settings; must equal the engine's MEL_CONFIG. */
  mel: Record<string, unknown>;
  /** Largest accepted ONNX file size in bytes. */
  maxBytes?: number;
  description?: string;
  license?: string;
  trainedOn?: string;
  /**
   * Other builds of the same generator, each a manifest.json path next to this one (same contract, other weights).
   * `cpu`: a cheaper network the app runs instead when the generator runs on wasm (like transformers.js picking a
   * quantized file for wasm).
   */
  variants?: { cpu?: string };
}

/** Runtimes a manifest may name a variant for. */
export const MANIFEST_VARIANTS = ['cpu'] as const;
export type ManifestVariant = (typeof MANIFEST_VARIANTS)[number];

export class ManifestError extends CodedError<'bad-manifest'> {
  override readonly name = 'ManifestError';
  constructor(
    message: string,
    /** Dotted path of the offending field, e.g. "inputs.audio.shape". */
    readonly field?: string,
  ) {
    super('bad-manifest', message);
  }
}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function describe(v: unknown): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array (${JSON.stringify(v).slice(0, 60)})`;
  if (typeof v === 'string') return `the string ${JSON.stringify(v.slice(0, 60))}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

function str(o: Obj, key: string, path: string, optional = false): string | undefined {
  const v = o[key];
  if (v === undefined && optional) return undefined;
  if (typeof v !== 'string' || v.trim() === '') throw new ManifestError(`"${path}" must be a non-empty string, but it is ${describe(v)}.`, path);
  return v;
}

function num(o: Obj, key: string, path: string, check?: (n: number) => string | null, optional = false): number | undefined {
  const v = o[key];
  if (v === undefined && optional) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ManifestError(`"${path}" must be a number, but it is ${describe(v)}.`, path);
  const problem = check?.(v);
  if (problem) throw new ManifestError(`"${path}" ${problem} (it is ${v}).`, path);
  return v;
}

const positiveInt = (n: number) => (Number.isInteger(n) && n > 0 ? null : 'must be a positive whole number');
const nonNegativeInt = (n: number) => (Number.isInteger(n) && n >= 0 ? null : 'must be a whole number ≥ 0');

function obj(o: Obj, key: string, path: string): Obj {
  const v = o[key];
  if (!isObj(v)) throw new ManifestError(`"${path}" must be an object, but it is ${describe(v)}.`, path);
  return v;
}

function tensorSpec(o: Obj, key: string, path: string): GeneratorTensorSpec {
  const t = obj(o, key, path);
  const name = str(t, 'name', `${path}.name`)!;
  const shape = t.shape;
  if (!Array.isArray(shape) || shape.length === 0 || !shape.every((d) => typeof d === 'number' && Number.isInteger(d) && d > 0)) {
    throw new ManifestError(`"${path}.shape" must be a list of positive whole numbers, but it is ${describe(shape)}.`, `${path}.shape`);
  }
  return { name, shape: [...(shape as number[])] };
}

const fmt = (s: readonly number[]) => `[${s.join(',')}]`;

function expectShape(spec: GeneratorTensorSpec, want: number[], path: string, why: string): void {
  if (spec.shape.length !== want.length || spec.shape.some((d, i) => d !== want[i])) {
    throw new ManifestError(`"${path}.shape" is ${fmt(spec.shape)} but must be ${fmt(want)} (${why}).`, `${path}.shape`);
  }
}

export type GeneratorInputRole = keyof GeneratorManifest['inputs'];

/** The inputs a generator is fed, in graph order: masked, reference, audio and, when declared, articulation and openingGain. */
export function generatorInputs(m: Pick<GeneratorManifest, 'inputs'>): [GeneratorInputRole, GeneratorTensorSpec][] {
  const { masked, reference, audio, articulation, openingGain } = m.inputs;
  const out: [GeneratorInputRole, GeneratorTensorSpec][] = [
    ['masked', masked],
    ['reference', reference],
    ['audio', audio],
  ];
  if (articulation) out.push(['articulation', articulation]);
  if (openingGain) out.push(['openingGain', openingGain]);
  return out;
}

/** Keys under which a mel config may state its number of mel bins. */
const MEL_BIN_KEYS = ['nMels', 'numMels', 'melBins', 'n_mels', 'bins'];

/** Checks a parsed manifest.json and returns it typed. Throws ManifestError naming the bad field. */
export function parseManifest(json: unknown): GeneratorManifest {
  if (!isObj(json)) throw new ManifestError(`The manifest must be a JSON object, but it is ${describe(json)}.`);
  const name = str(json, 'name', 'name')!;
  const version = str(json, 'version', 'version')!;
  const model = str(json, 'model', 'model')!;
  if (!isPlainModelPath(model)) {
    throw new ManifestError(
      `"model" must be a file name next to the manifest (like "generator.onnx": letters, digits, ".", "_", "-" and "/" for a sub-folder), not ${JSON.stringify(model)}.`,
      'model',
    );
  }
  const cropSize = num(json, 'cropSize', 'cropSize', (n) =>
    Number.isInteger(n) && n >= 16 && n <= 1024 ? null : 'must be a whole number between 16 and 1024',
  )!;
  const cropTemplate = str(json, 'cropTemplate', 'cropTemplate')!;
  if (!CROP_TEMPLATES.includes(cropTemplate)) {
    // Cut with another template, the face would sit elsewhere in the crop than where the model learnt to paint it.
    throw new ManifestError(
      `"cropTemplate" ${JSON.stringify(cropTemplate)} is not a crop this version of Lipsync Live can cut (it knows ${FACE_CROP_TEMPLATES.map((t) => JSON.stringify(t)).join(', ')}): the model was made for another version, or its training data had no crop template. Export it again from data prepared by this version.`,
      'cropTemplate',
    );
  }
  const maskRatio = num(json, 'maskRatio', 'maskRatio', (n) => (n > 0 && n <= 1 ? null : 'must be a fraction in (0, 1] — 0.5 blanks the lower half'))!;
  const range = json.imageRange;
  if (!Array.isArray(range) || range.length !== 2 || !range.every((v) => typeof v === 'number' && Number.isFinite(v)) || !(range[0] < range[1])) {
    throw new ManifestError(`"imageRange" must be [low, high] with low < high, like [0, 1] or [-1, 1], but it is ${describe(range)}.`, 'imageRange');
  }
  const imageRange: [number, number] = [range[0] as number, range[1] as number];
  const maskFill = num(json, 'maskFill', 'maskFill')!;

  const inputsObj = obj(json, 'inputs', 'inputs');
  const inputs = {
    masked: tensorSpec(inputsObj, 'masked', 'inputs.masked'),
    reference: tensorSpec(inputsObj, 'reference', 'inputs.reference'),
    audio: tensorSpec(inputsObj, 'audio', 'inputs.audio'),
    ...(inputsObj.articulation === undefined ? {} : { articulation: articulationSpec(inputsObj) }),
    ...(inputsObj.openingGain === undefined ? {} : { openingGain: openingGainSpec(inputsObj) }),
  };
  const output = tensorSpec(json, 'output', 'output');

  const aw = obj(json, 'audioWindow', 'audioWindow');
  const past = num(aw, 'past', 'audioWindow.past', nonNegativeInt)!;
  const lookahead = num(aw, 'lookahead', 'audioWindow.lookahead', nonNegativeInt)!;
  if (past + lookahead === 0) throw new ManifestError('"audioWindow" must cover at least one mel frame (past + lookahead > 0).', 'audioWindow');

  const mel = obj(json, 'mel', 'mel');
  const maxBytes = num(json, 'maxBytes', 'maxBytes', positiveInt, true);
  const description = str(json, 'description', 'description', true);
  const license = str(json, 'license', 'license', true);
  const trainedOn = str(json, 'trainedOn', 'trainedOn', true);
  const variants = parseVariants(json.variants);

  // Internal consistency: image tensors are [1,3,S,S]; audio is [1, bins, past + lookahead].
  const S = cropSize;
  const imageWhy = `batch 1, 3 colour channels, cropSize ${S}`;
  expectShape(inputs.masked, [1, 3, S, S], 'inputs.masked', imageWhy);
  expectShape(inputs.reference, [1, 3, S, S], 'inputs.reference', imageWhy);
  expectShape(output, [1, 3, S, S], 'output', imageWhy);
  const T = past + lookahead;
  const melBinsKey = MEL_BIN_KEYS.find((k) => typeof mel[k] === 'number');
  const bins = melBinsKey ? (mel[melBinsKey] as number) : inputs.audio.shape[1];
  expectShape(
    inputs.audio,
    [1, bins, T],
    'inputs.audio',
    `batch 1, ${bins} mel bins${melBinsKey ? ` (mel.${melBinsKey})` : ''}, ${T} frames = audioWindow.past ${past} + lookahead ${lookahead}`,
  );
  const names = generatorInputs({ inputs }).map(([, spec]) => spec.name);
  if (new Set(names).size !== names.length)
    throw new ManifestError(`The ${names.length} inputs need distinct names, but they are ${names.map((n) => `"${n}"`).join(', ')}.`, 'inputs');
  if (names.includes(output.name)) throw new ManifestError(`The output name "${output.name}" is also used by an input.`, 'output.name');

  const m: GeneratorManifest = {
    name,
    version,
    model,
    cropSize,
    cropTemplate,
    maskRatio,
    imageRange,
    maskFill,
    inputs,
    output,
    audioWindow: { past, lookahead },
    mel: { ...mel },
  };
  if (maxBytes !== undefined) m.maxBytes = maxBytes;
  if (description !== undefined) m.description = description;
  if (license !== undefined) m.license = license;
  if (trainedOn !== undefined) m.trainedOn = trainedOn;
  if (variants !== undefined) m.variants = variants;
  return m;
}

function articulationSpec(inputsObj: Obj): ArticulationSpec {
  const path = 'inputs.articulation';
  const spec = tensorSpec(inputsObj, 'articulation', path);
  expectShape(spec, [1, 2], path, "batch 1, the person's median and 90th-percentile mouth opening");
  const prior = obj(inputsObj, 'articulation', path).prior;
  if (!Array.isArray(prior) || prior.length !== 2 || !prior.every((v) => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v < 1)) {
    throw new ManifestError(
      `"${path}.prior" must be the typical [median, 90th-percentile] mouth opening as fractions of the crop, like [0.039, 0.07], but it is ${describe(prior)}.`,
      `${path}.prior`,
    );
  }
  return { ...spec, prior: [prior[0], prior[1]] };
}

function openingGainSpec(inputsObj: Obj): GeneratorTensorSpec {
  const spec = tensorSpec(inputsObj, 'openingGain', 'inputs.openingGain');
  expectShape(spec, [1, 1], 'inputs.openingGain', 'batch 1, one gain');
  return spec;
}

function parseVariants(v: unknown): GeneratorManifest['variants'] {
  if (v === undefined) return undefined;
  if (!isObj(v)) throw new ManifestError(`"variants" must be an object like {"cpu": "cpu/manifest.json"}, but it is ${describe(v)}.`, 'variants');
  const out: NonNullable<GeneratorManifest['variants']> = {};
  for (const [key, path] of Object.entries(v)) {
    if (!(MANIFEST_VARIANTS as readonly string[]).includes(key)) {
      throw new ManifestError(`"variants.${key}" is not a known variant (known: ${MANIFEST_VARIANTS.join(', ')}).`, `variants.${key}`);
    }
    if (typeof path !== 'string' || !isPlainModelPath(path)) {
      throw new ManifestError(
        `"variants.${key}" must be the path of a manifest.json next to this one (like "cpu/manifest.json"), not ${describe(path)}.`,
        `variants.${key}`,
      );
    }
    out[key as ManifestVariant] = path;
  }
  return out;
}

/**
 * Where two manifests' contracts differ (crop, mask, tensors, audio window, mel), or null when a generator of one
 * can take the other's place frame for frame. A variant must match its main manifest this way.
 */
export function contractDifference(a: GeneratorManifest, b: GeneratorManifest): string | null {
  const fields = ['cropSize', 'cropTemplate', 'maskRatio', 'imageRange', 'maskFill', 'inputs', 'output', 'audioWindow', 'mel'] as const;
  for (const f of fields) {
    const [x, y] = [canonical(a[f]), canonical(b[f])];
    if (x !== y) return `${f} is ${x.slice(0, 80)} in one and ${y.slice(0, 80)} in the other`;
  }
  return null;
}

/** JSON with object keys sorted, so that key order never counts as a difference. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isObj(v))
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

/** Number of mel frames T in the audio window. */
export function audioWindowFrames(m: Pick<GeneratorManifest, 'audioWindow'>): number {
  return m.audioWindow.past + m.audioWindow.lookahead;
}

/**
 * A model path the manifest may name: a relative file path in the manifest's folder or below it, spelled with
 * letters, digits, ".", "_", "-" and "/" only. Anything else — a scheme, a leading slash, backslashes (UNC paths),
 * "." / ".." segments, percent-escapes (which decode to dots or slashes), whitespace or control characters (which
 * URL parsing strips, so "ht\ttp://…" or " http://…" would point elsewhere) — is refused.
 */
export function isPlainModelPath(model: string): boolean {
  if (!/^[A-Za-z0-9._\-/]+$/.test(model) || model.startsWith('/')) return false;
  return model.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..');
}

/**
 * The model's URL from the manifest's URL: only a plain path (isPlainModelPath) that resolves to the same origin,
 * inside the manifest's folder once decoded. Throws ManifestError otherwise, before anything is fetched.
 */
export function resolveModelUrl(manifestUrl: string, model: string): URL {
  if (!isPlainModelPath(model)) {
    throw new ManifestError(`"model" must be a file name next to the manifest (like "generator.onnx"), not ${JSON.stringify(model)}.`, 'model');
  }
  const base = new URL(manifestUrl);
  const url = new URL(model, base);
  const folder = decodeURIComponent(base.pathname.slice(0, base.pathname.lastIndexOf('/') + 1));
  if (url.origin !== base.origin || !decodeURIComponent(url.pathname).startsWith(folder)) {
    throw new ManifestError(`"model" ${JSON.stringify(model)} resolves to ${url.href}, outside the manifest's folder ${base.origin}${folder}.`, 'model');
  }
  return url;
}
