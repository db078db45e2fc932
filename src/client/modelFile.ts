/** A generator file the user picked (or a Blob handed to the library), refused by its size before any byte is read. */
import { DEFAULT_MAX_MODEL_BYTES } from '../engine/generator/validate.ts';
import { formatBytes } from '../workers/modelLoader.ts';
import { LipsyncError } from './errors.ts';

export async function readModelFile(file: Blob, name = (file as File).name ?? 'model.onnx', limit = DEFAULT_MAX_MODEL_BYTES): Promise<ArrayBuffer> {
  // Blob.size is known without reading: a 300 MB pick must not cost 300 MB of memory to refuse.
  if (file.size > limit) {
    throw new LipsyncError(
      'bad-model',
      `${name} is ${formatBytes(file.size)}, over the ${formatBytes(limit)} limit for a generator model. Pick the generator's .onnx file.`,
      false,
    );
  }
  if (file.size === 0) throw new LipsyncError('bad-model', `${name} is empty. Pick the generator's .onnx file.`, false);
  return file.arrayBuffer();
}
