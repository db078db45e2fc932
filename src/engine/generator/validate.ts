/**
 * Checks a generator ONNX file against its manifest before anything tries to run it, so a user who
 * drops in the wrong file gets a sentence that says what is wrong instead of a runtime crash.
 */
import { generatorInputs, type GeneratorManifest, type GeneratorTensorSpec } from './manifest.ts';
import { OnnxDataType, OnnxFormatError, dataTypeName, readOnnxModel, type OnnxModelInfo, type OnnxValueInfo } from './onnx.ts';
import { CodedError } from '../codedError.ts';
import { opName, opsRefusedMessage, opsWith } from './opContract.ts';

export type GeneratorValidationCode =
  | 'not-onnx'
  | 'too-large'
  | 'missing-input'
  | 'missing-output'
  | 'wrong-shape'
  | 'wrong-type'
  | 'manifest-mismatch'
  | 'unsupported-op';

export class GeneratorValidationError extends CodedError<GeneratorValidationCode> {
  override readonly name = 'GeneratorValidationError';
}

/**
 * Ops the generator may use (the contract's webgpu set, src/engine/contract.json): those with a WebGPU kernel in onnxruntime-web 1.30
 * (node_modules/onnxruntime-web/docs/webgpu-operators.md) that make sense in a conv image generator.
 * Anything else would run on the CPU with GPU↔CPU copies every frame. Reshape/Flatten/Squeeze/Unsqueeze
 * have "no GPU kernel" because they only relabel the buffer — no copy. Constant and Identity are
 * folded away when the session is created. Shape/Gather are left out on purpose: they only appear in
 * graphs that were exported with dynamic shapes — constant-fold them (onnxsim) instead.
 * ConvTranspose runs on WebGPU but has had correctness bugs there; it is allowed, Resize + Conv is preferred.
 */
export const WEBGPU_NATIVE_OPS: ReadonlySet<string> = opsWith('webgpu');

export interface ValidateOptions {
  /** The engine's MEL_CONFIG; the manifest's `mel` must deep-equal it. Skipped when undefined. */
  expectedMel?: unknown;
  /** Size limit when the manifest has no maxBytes (default 256 MB). */
  maxBytes?: number;
}

export const DEFAULT_MAX_MODEL_BYTES = 256 * 1024 * 1024;

const fmtShape = (dims: readonly (number | string | null)[]) => `[${dims.map((d) => (d === null ? '?' : d)).join(',')}]`;
const mb = (n: number) => (n >= 1024 * 1024 ? `${(n / (1024 * 1024)).toFixed(1)} MB` : `${(n / 1024).toFixed(1)} kB`);

/** First difference between two JSON-like values, as "path: a vs b", or null when they are equal. */
function firstDifference(a: unknown, b: unknown, path: string): string | null {
  if (Object.is(a, b)) return null;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return `${path} has ${a.length} entries but the engine uses ${b.length}`;
    for (let i = 0; i < a.length; i++) {
      const d = firstDifference(a[i], b[i], `${path}[${i}]`);
      if (d) return d;
    }
    return null;
  }
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const ao = a as Record<string, unknown>;
    const bo = b as Record<string, unknown>;
    for (const k of new Set([...Object.keys(bo), ...Object.keys(ao)])) {
      if (!(k in ao)) return `${path}.${k} is missing (the engine uses ${JSON.stringify(bo[k])})`;
      if (!(k in bo)) return `${path}.${k} is not a setting the engine knows`;
      const d = firstDifference(ao[k], bo[k], `${path}.${k}`);
      if (d) return d;
    }
    return null;
  }
  return `${path} is ${JSON.stringify(a)} but the engine uses ${JSON.stringify(b)}`;
}

function checkTensor(kind: 'input' | 'output', role: string, spec: GeneratorTensorSpec, actual: OnnxValueInfo | undefined, available: OnnxValueInfo[]): void {
  if (!actual) {
    const names = available.map((v) => `"${v.name}"`).join(', ') || 'none';
    throw new GeneratorValidationError(
      kind === 'input' ? 'missing-input' : 'missing-output',
      `The model has no ${kind} named "${spec.name}" (the manifest's ${role} ${kind}); its ${kind}s are ${names}.`,
    );
  }
  if (actual.elemType !== OnnxDataType.FLOAT) {
    throw new GeneratorValidationError(
      'wrong-type',
      `Model ${kind} "${spec.name}" holds ${dataTypeName(actual.elemType)} values but the generator contract needs float32.`,
    );
  }
  const dims = actual.dims;
  // Symbolic dims (e.g. a batch "N") are fine: the runner pins them to the manifest's sizes.
  if (!dims) return;
  const mismatch = dims.length !== spec.shape.length || dims.some((d, i) => typeof d === 'number' && d !== spec.shape[i]);
  if (mismatch) {
    throw new GeneratorValidationError(
      'wrong-shape',
      `Model ${kind} "${spec.name}" has shape ${fmtShape(dims)} but the manifest says ${fmtShape(spec.shape)}.`,
    );
  }
}

/** Validates ONNX bytes against the manifest; returns the parsed model or throws GeneratorValidationError. */
export function validateGenerator(bytes: Uint8Array, manifest: GeneratorManifest, opts: ValidateOptions = {}): OnnxModelInfo {
  const limit = manifest.maxBytes ?? opts.maxBytes ?? DEFAULT_MAX_MODEL_BYTES;
  if (bytes.length > limit) {
    throw new GeneratorValidationError(
      'too-large',
      `The model file is ${mb(bytes.length)} (${bytes.length} bytes), more than the ${mb(limit)} limit${manifest.maxBytes !== undefined ? ' set by the manifest (maxBytes)' : ''}.`,
    );
  }
  if (opts.expectedMel !== undefined) {
    const diff = firstDifference(manifest.mel, opts.expectedMel, 'mel');
    if (diff) {
      throw new GeneratorValidationError('manifest-mismatch', `The model was made for different audio features than this app computes: ${diff}.`);
    }
  }

  let info: OnnxModelInfo;
  try {
    info = readOnnxModel(bytes);
  } catch (e) {
    if (e instanceof OnnxFormatError) {
      throw new GeneratorValidationError('not-onnx', `The file is not a valid ONNX model (${e.message.replace(/^not a readable ONNX model: /, '')}).`);
    }
    throw e;
  }
  if (info.opset <= 0) throw new GeneratorValidationError('not-onnx', 'The file is not a valid ONNX model (it declares no ai.onnx opset).');
  const external = info.initializers.filter((t) => t.external);
  if (external.length) {
    throw new GeneratorValidationError(
      'not-onnx',
      `The model keeps ${external.length} weight tensor(s) (e.g. "${external[0].name}") in a separate data file; export it as a single .onnx file.`,
    );
  }

  const roles = generatorInputs(manifest);
  for (const [role, spec] of roles) {
    checkTensor(
      'input',
      role,
      spec,
      info.inputs.find((i) => i.name === spec.name),
      info.inputs,
    );
  }
  checkTensor(
    'output',
    'generated-image',
    manifest.output,
    info.outputs.find((o) => o.name === manifest.output.name),
    info.outputs,
  );
  const known = new Set(roles.map(([, s]) => s.name));
  const extra = info.inputs.filter((i) => !known.has(i.name));
  if (extra.length) {
    throw new GeneratorValidationError(
      'manifest-mismatch',
      `The model needs input ${extra.map((i) => `"${i.name}"`).join(', ')}, which the manifest does not describe (only ${roles.map(([role]) => role).join(', ')} ${roles.length === 1 ? 'is' : 'are'} fed).`,
    );
  }

  const refused = opsRefusedMessage(info.nodes.map(opName), 'webgpu');
  if (refused) throw new GeneratorValidationError('unsupported-op', `The model ${refused} (it would run on the CPU).`);
  return info;
}
