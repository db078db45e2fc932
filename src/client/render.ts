/**
 * Render mode from the page: a face video (or image) + a speech track → a lip-synced video file, made in
 * a worker at the face's frame rate (not in real time). What the library's renderLipsync() and the app's
 * Render view call.
 */
import type { LipsyncModel, LipsyncRenderOptions } from './publicApi.ts';
import { DEFAULT_MAX_MODEL_BYTES } from '../engine/generator/validate.ts';
import type { FaceThreadChoice } from '../workers/gpuProbe.ts';
import type { FromRenderWorker, RenderConfig, RenderJob, RenderProgressMessage, RenderResult, ToRenderWorker } from '../workers/protocol.ts';
import { LipsyncError } from './errors.ts';
import { fetchMedia, resolveUserUrl } from './fetchMedia.ts';
import { readModelFile } from './modelFile.ts';
import { createInferenceWorker, defaultBaseUrl } from './runtimeFiles.ts';

export type { FaceThreadChoice, RenderProgressMessage, RenderResult };

/**
 * The public options (src/lib/api.ts): the app's Render view and renderLipsync() ask for the same thing, plus
 * the app's power-user thread choice (?faceThread=own|shared, for measuring).
 */
export type RenderRequest = LipsyncRenderOptions & { faceThread?: FaceThreadChoice };

/** How long a cancelled worker gets to clean up (close its encoder) before it is terminated. */
const CANCEL_GRACE_MS = 2000;

const cancelled = () => new LipsyncError('render-cancelled', 'The render was cancelled.');

export async function runRender(req: RenderRequest): Promise<RenderResult> {
  if (req.signal?.aborted) throw cancelled();
  if (req.maxSeconds !== undefined && !(req.maxSeconds > 0)) throw new LipsyncError('bad-option', `maxSeconds must be above 0 (got ${req.maxSeconds}).`);
  if (req.paste !== undefined && req.paste !== 'mouth' && req.paste !== 'face')
    throw new LipsyncError('bad-option', `paste must be "mouth" or "face" (got ${JSON.stringify(req.paste)}).`);
  if (req.tail !== undefined && req.tail !== 'stop' && req.tail !== 'keep')
    throw new LipsyncError('bad-option', `tail must be "stop" or "keep" (got ${JSON.stringify(req.tail)}).`);
  const baseUrl = req.baseUrl === undefined ? defaultBaseUrl() : new URL(String(req.baseUrl), globalThis.document?.baseURI ?? globalThis.location?.href).href;
  const [face, audio, model] = await Promise.all([
    asBlob(req.face, 'face', req.signal),
    asBlob(req.audio, 'audio', req.signal),
    modelConfig(req.model, baseUrl),
  ]);
  if (req.signal?.aborted) throw cancelled();
  const config: RenderConfig = {
    ...model,
    faceModelBaseUrl: new URL('models/face/', baseUrl).href,
    ortWasmBaseUrl: new URL('ort/', baseUrl).href,
    tfWasmBaseUrl: new URL('tfjs/', baseUrl).href,
    generatorBackend: req.backend ?? 'auto',
    landmarkBackend: req.landmarks ?? 'auto',
    faceThread: req.faceThread ?? 'auto',
    pasteArea: req.paste ?? 'mouth',
  };
  const job: RenderJob = { face, audio, tail: req.tail, maxSeconds: req.maxSeconds };
  let worker: Worker;
  try {
    worker = createInferenceWorker(baseUrl, 'lipsync-render');
  } catch (e) {
    throw new LipsyncError('runtime-files', `The render worker could not be started from ${baseUrl}: ${(e as Error).message}`);
  }
  return new Promise<RenderResult>((resolve, reject) => {
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      req.signal?.removeEventListener('abort', onAbort);
      worker.terminate();
      fn();
    };
    const onAbort = () => {
      worker.postMessage({ type: 'cancel' } satisfies ToRenderWorker);
      setTimeout(() => finish(() => reject(cancelled())), CANCEL_GRACE_MS);
    };
    req.signal?.addEventListener('abort', onAbort, { once: true });
    worker.onmessage = (e: MessageEvent<FromRenderWorker>) => {
      const msg = e.data;
      if (msg.type === 'render-progress') req.onProgress?.(msg.progress);
      else if (msg.type === 'render-done') finish(() => (req.signal?.aborted ? reject(cancelled()) : resolve(msg.result)));
      else if (msg.type === 'render-error') finish(() => reject(new LipsyncError(msg.code as LipsyncError['code'], msg.message)));
    };
    worker.onerror = (e) => {
      e.preventDefault();
      finish(() => reject(new LipsyncError('runtime-files', `The render worker failed to load from ${baseUrl} (${e.message || 'script error'}).`)));
    };
    worker.postMessage({ type: 'render', config, job } satisfies ToRenderWorker);
  });
}

async function asBlob(input: Blob | string | URL, role: 'face' | 'audio', signal?: AbortSignal): Promise<Blob> {
  if (typeof Blob !== 'undefined' && input instanceof Blob) return input;
  if (typeof input === 'string' || input instanceof URL) return fetchMedia(resolveUserUrl(input, role), role, signal);
  throw new LipsyncError('bad-option', `The ${role} to render must be a File/Blob or a URL (got ${input === null ? 'null' : typeof input}).`);
}

/** The model as the worker takes it: a manifest URL, or ONNX bytes with a manifest (the shipped one by default). */
async function modelConfig(
  model: LipsyncModel | undefined,
  baseUrl: string,
): Promise<Pick<RenderConfig, 'manifestUrl' | 'modelBytes' | 'manifest' | 'modelLabel'>> {
  const defaultManifest = new URL('models/manifest.json', baseUrl).href;
  if (model === undefined) return { manifestUrl: defaultManifest };
  if (typeof model === 'string' || model instanceof URL) {
    const url = resolveUserUrl(model, 'model');
    if (!/\.onnx$/i.test(new URL(url).pathname)) return { manifestUrl: url };
    const blob = await fetchMedia(url, 'model', undefined, DEFAULT_MAX_MODEL_BYTES);
    return {
      modelBytes: await readModelFile(blob, url),
      manifest: await shippedManifest(defaultManifest),
      modelLabel: decodeURIComponent(new URL(url).pathname.split('/').pop() ?? 'model.onnx'),
    };
  }
  const bytes = (b: ArrayBuffer | Uint8Array) => (b instanceof Uint8Array ? (b.slice().buffer as ArrayBuffer) : b);
  if (model instanceof ArrayBuffer || model instanceof Uint8Array)
    return { modelBytes: bytes(model), manifest: await shippedManifest(defaultManifest), modelLabel: 'custom model' };
  if (model && typeof model === 'object' && 'onnx' in model) {
    return { modelBytes: bytes(model.onnx), manifest: model.manifest ?? (await shippedManifest(defaultManifest)), modelLabel: model.label ?? 'custom model' };
  }
  throw new LipsyncError('bad-model', 'Unsupported model: give the URL of a manifest.json or .onnx file, or the ONNX bytes (ArrayBuffer/Uint8Array).');
}

/** ONNX bytes without a manifest must fit the shipped model's contract (crop, mask, audio window). */
async function shippedManifest(url: string): Promise<unknown> {
  const blob = await fetchMedia(url, 'model', undefined, 1024 * 1024);
  try {
    return JSON.parse(await blob.text());
  } catch {
    throw new LipsyncError('bad-model', `The model manifest at ${url} is not valid JSON.`);
  }
}
