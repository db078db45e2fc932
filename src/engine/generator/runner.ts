/**
 * Runs a validated generator with onnxruntime-web: WebGPU when the browser has a real adapter,
 * otherwise wasm. The ort module is passed in so Node tests and the browser worker share this code
 * (the browser passes the default `onnxruntime-web` bundle; `onnxruntime-web/webgpu` has computed
 * wrong convolutions with 6 input channels).
 */
import type * as OrtModule from 'onnxruntime-web';
import { generatorInputs, type GeneratorManifest, type GeneratorTensorSpec } from './manifest.ts';
import type { OnnxModelInfo } from './onnx.ts';
import { validateGenerator } from './validate.ts';
import { CodedError } from '../codedError.ts';

export type GeneratorBackend = 'webgpu' | 'wasm';
export type Ort = Pick<typeof OrtModule, 'InferenceSession' | 'Tensor' | 'env'>;
type Session = OrtModule.InferenceSession;
type Tensor = OrtModule.Tensor;

export interface GeneratorInputs {
  masked: Float32Array;
  reference: Float32Array;
  audio: Float32Array;
  /**
   * [p50, p90] of the person's mouth opening (face/articulation.ts), for a generator whose manifest declares the
   * articulation input; left out, the manifest's prior (a typical person) is fed. Ignored by generators without it.
   */
  articulation?: Float32Array;
  /**
   * How far the mouth opens (face/openingGain.ts), for a generator whose manifest declares the openingGain input;
   * left out, 1 (the network as trained). Ignored by generators without it.
   */
  openingGain?: number;
}

export interface GeneratorRunnerOptions {
  modelBytes: Uint8Array;
  manifest: GeneratorManifest;
  ort: Ort;
  /** Backends to try in order (default ['webgpu', 'wasm']). */
  preferredBackends?: GeneratorBackend[];
  /** wasm threads; default wasmThreadCount(). Applied by the first runner only (ort reads it once). */
  wasmThreads?: number;
  /** Progress messages for the UI ("Trying WebGPU…"). */
  onStatus?: (message: string) => void;
  /** When given, the manifest's mel settings must equal these (see validateGenerator). */
  expectedMel?: unknown;
}

export class GeneratorRunError extends CodedError<'bad-input' | 'no-backend' | 'disposed' | 'run-failed'> {
  override readonly name = 'GeneratorRunError';
}

interface GpuLike {
  requestAdapter(): Promise<unknown>;
}

/** Why WebGPU cannot be used here, or null when an adapter is available. */
async function webGpuUnavailableReason(): Promise<string | null> {
  const gpu = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator?.gpu;
  if (!gpu) return 'navigator.gpu missing';
  try {
    const adapter = await gpu.requestAdapter();
    return adapter ? null : 'no WebGPU adapter available';
  } catch (e) {
    return `requestAdapter failed: ${(e as Error).message}`;
  }
}

/**
 * wasm threads for this environment: min(4, cores) on cross-origin-isolated pages (threads need
 * SharedArrayBuffer, which only exists there), otherwise 1.
 */
export function wasmThreadCount(g: { crossOriginIsolated?: boolean; navigator?: { hardwareConcurrency?: number } } = globalThis as never): number {
  if (!g.crossOriginIsolated) return 1;
  return Math.max(1, Math.min(4, g.navigator?.hardwareConcurrency ?? 1));
}

/** onnxruntime reads numThreads once, when its wasm starts; later changes would only misreport. */
let wasmThreadsSet = false;

/** Symbolic dims of the graph inputs, pinned to the manifest's sizes (static shapes are faster on WebGPU). */
function freeDimensionOverrides(info: OnnxModelInfo, manifest: GeneratorManifest): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [, spec] of generatorInputs(manifest)) {
    const dims = info.inputs.find((i) => i.name === spec.name)?.dims ?? [];
    dims.forEach((d, i) => {
      if (typeof d === 'string' && d) out[d] = spec.shape[i];
    });
  }
  return out;
}

export class GeneratorRunner {
  /** Why the preferred backend was not used (human-readable), if it was not. Callers may add to it. */
  fallbackReason?: string;
  private queue: Promise<unknown> = Promise.resolve();
  private disposed = false;

  private constructor(
    private readonly ort: Ort,
    private readonly session: Session,
    readonly backend: GeneratorBackend,
    readonly manifest: GeneratorManifest,
    readonly modelBytes: Uint8Array,
    readonly model: OnnxModelInfo,
    fallbackReason: string | undefined,
  ) {
    this.fallbackReason = fallbackReason;
  }

  /** Validates the model (throws GeneratorValidationError) and opens a session on the first backend that works. */
  static async create(opts: GeneratorRunnerOptions): Promise<GeneratorRunner> {
    const { ort, manifest, modelBytes } = opts;
    const status = opts.onStatus ?? (() => {});
    const info = validateGenerator(modelBytes, manifest, { expectedMel: opts.expectedMel });
    if (!wasmThreadsSet) {
      ort.env.wasm.numThreads = opts.wasmThreads ?? wasmThreadCount();
      wasmThreadsSet = true;
    }

    const order = opts.preferredBackends?.length ? opts.preferredBackends : (['webgpu', 'wasm'] as GeneratorBackend[]);
    const reasons: string[] = [];
    const base: OrtModule.InferenceSession.SessionOptions = {
      graphOptimizationLevel: 'all',
      freeDimensionOverrides: freeDimensionOverrides(info, manifest),
    };
    for (const backend of order) {
      if (backend === 'webgpu') {
        const why = await webGpuUnavailableReason();
        if (why) {
          reasons.push(`WebGPU unavailable: ${why}`);
          continue;
        }
      }
      status(`Starting the generator on ${backend === 'webgpu' ? 'WebGPU' : 'wasm'}…`);
      try {
        const session = await ort.InferenceSession.create(modelBytes, {
          ...base,
          executionProviders: [backend],
          ...(backend === 'webgpu' ? { preferredOutputLocation: 'gpu-buffer' as const } : {}),
        });
        const reason = backend === order[0] ? undefined : reasons.join('; ') || undefined;
        status(`Generator running on ${backend}${reason ? ` (${reason})` : ''}.`);
        return new GeneratorRunner(ort, session, backend, manifest, modelBytes, info, reason);
      } catch (e) {
        reasons.push(`${backend === 'webgpu' ? 'WebGPU' : 'wasm'} session failed: ${(e as Error).message}`);
      }
    }
    throw new GeneratorRunError('no-backend', `The generator could not be started on any backend: ${reasons.join('; ')}.`);
  }

  private tensor(role: string, spec: GeneratorTensorSpec, data: Float32Array): Tensor {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    if (!(data instanceof Float32Array) || data.length !== n) {
      throw new GeneratorRunError(
        'bad-input',
        `The ${role} input needs ${n} float32 values (shape [${spec.shape.join(',')}]) but got ${data instanceof Float32Array ? data.length : 'a non-Float32Array'}.`,
      );
    }
    return new this.ort.Tensor('float32', data, spec.shape);
  }

  /**
   * Runs one frame and returns the output tensor where the backend left it (GPU buffer on WebGPU).
   * The caller owns it and must call `dispose()`. Runs are serialised.
   */
  runToTensor(inputs: GeneratorInputs): Promise<Tensor> {
    if (this.disposed) return Promise.reject(new GeneratorRunError('disposed', 'The generator was already closed.'));
    const { masked, reference, audio, articulation, openingGain } = this.manifest.inputs;
    const feeds: Record<string, Tensor> = {
      [masked.name]: this.tensor('masked', masked, inputs.masked),
      [reference.name]: this.tensor('reference', reference, inputs.reference),
      [audio.name]: this.tensor('audio', audio, inputs.audio),
    };
    if (articulation) {
      feeds[articulation.name] = this.tensor('articulation', articulation, inputs.articulation ?? Float32Array.from(articulation.prior));
    }
    if (openingGain) feeds[openingGain.name] = this.tensor('openingGain', openingGain, Float32Array.of(inputs.openingGain ?? 1));
    const outName = this.manifest.output.name;
    const job = this.queue.then(async () => {
      if (this.disposed) throw new GeneratorRunError('disposed', 'The generator was closed while a frame was waiting.');
      const result = await this.session.run(feeds, [outName]);
      return result[outName];
    });
    this.queue = job.catch(() => undefined);
    return job;
  }

  /** Runs one frame and returns the output [1,3,S,S] as a CPU Float32Array the caller owns. */
  async run(inputs: GeneratorInputs): Promise<Float32Array> {
    const t = await this.runToTensor(inputs);
    if (t.location === 'cpu') {
      // onnxruntime-web already copied the output out of the wasm heap; this array is ours.
      return t.data as Float32Array;
    }
    return (await t.getData(true)) as Float32Array;
  }

  /**
   * One run on blank inputs. The first run of a session compiles its kernels (WebGPU shaders, wasm code
   * paths) and takes seconds: done at start, it keeps the first live frames from waiting on it.
   */
  async warmUp(): Promise<void> {
    const blank = (spec: GeneratorTensorSpec) => new Float32Array(spec.shape.reduce((a, b) => a * b, 1));
    const { masked, reference, audio } = this.manifest.inputs;
    await this.run({ masked: blank(masked), reference: blank(reference), audio: blank(audio) });
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.queue;
    await this.session.release();
  }
}
