import { describe, expect, it } from 'vitest';
import { buildOnnxModel, OnnxDataType, type OnnxModelSpec } from './onnx.ts';
import type { GeneratorManifest } from './manifest.ts';
import { buildTestGenerator } from './testGenerator.ts';
import { GeneratorValidationError, validateGenerator, WEBGPU_NATIVE_OPS, type GeneratorValidationCode } from './validate.ts';

const MEL = { sampleRate: 16000, nFft: 400, hopLength: 160, nMels: 80 };
const S = 32;

function generator(melFrames = 20) {
  return buildTestGenerator({ size: S, melFrames, mel: MEL });
}

function failure(fn: () => unknown): GeneratorValidationError {
  try {
    fn();
  } catch (e) {
    if (e instanceof GeneratorValidationError) return e;
    throw e;
  }
  throw new Error('expected a GeneratorValidationError');
}

function expectCode(fn: () => unknown, code: GeneratorValidationCode, message: RegExp): void {
  const e = failure(fn);
  expect(e.code).toBe(code);
  expect(e.message).toMatch(message);
}

/** A simple model with the contract's inputs and outputs, overridable per test. */
function contractModel(manifest: GeneratorManifest, patch: Partial<OnnxModelSpec> = {}): Uint8Array {
  const { masked, reference, audio } = manifest.inputs;
  return buildOnnxModel({
    inputs: [
      { name: masked.name, dims: masked.shape },
      { name: reference.name, dims: reference.shape },
      { name: audio.name, dims: audio.shape },
    ],
    outputs: [{ name: manifest.output.name, dims: manifest.output.shape }],
    nodes: [{ opType: 'Add', inputs: [masked.name, reference.name], outputs: [manifest.output.name] }],
    ...patch,
  });
}

describe('validateGenerator', () => {
  it('accepts the test generator and returns its graph', () => {
    const { bytes, manifest } = generator();
    const info = validateGenerator(bytes, manifest, { expectedMel: { ...MEL } });
    expect(info.inputs.map((i) => i.name)).toEqual(['masked', 'reference', 'audio']);
    expect(info.nodes.every((n) => WEBGPU_NATIVE_OPS.has(n.opType))).toBe(true);
  });

  it('not-onnx: random bytes, an HTML error page, a truncated download', () => {
    const { bytes, manifest } = generator();
    let s = 7;
    const random = Uint8Array.from({ length: 4096 }, () => (s = (s * 1103515245 + 12345) >>> 0) >>> 24);
    expectCode(() => validateGenerator(random, manifest), 'not-onnx', /not a valid ONNX model/);
    const html = new TextEncoder().encode('<!DOCTYPE html><html><body>404 Not Found</body></html>');
    expectCode(() => validateGenerator(html, manifest), 'not-onnx', /not a valid ONNX model/);
    expectCode(() => validateGenerator(bytes.subarray(0, Math.floor(bytes.length * 0.6)), manifest), 'not-onnx', /truncated/);
    expectCode(() => validateGenerator(new Uint8Array(), manifest), 'not-onnx', /empty/);
  });

  it('too-large: over the manifest limit, with both sizes in the message', () => {
    const { bytes, manifest } = generator();
    expect(bytes.length).toBeGreaterThan(2048);
    expectCode(
      () => validateGenerator(bytes, { ...manifest, maxBytes: 2048 }),
      'too-large',
      new RegExp(`\\(${bytes.length} bytes\\), more than the 2\\.0 kB limit set by the manifest \\(maxBytes\\)`),
    );
    expectCode(() => validateGenerator(bytes, manifest, { maxBytes: 1000 }), 'too-large', /more than the/);
  });

  it('missing-input / missing-output: names the expected tensor and lists what the model has', () => {
    const { manifest } = generator();
    const renamed = contractModel(manifest, {
      inputs: [
        { name: 'masked', dims: [1, 3, S, S] },
        { name: 'reference', dims: [1, 3, S, S] },
        { name: 'mel', dims: [1, 80, 20] },
      ],
    });
    expectCode(() => validateGenerator(renamed, manifest), 'missing-input', /no input named "audio".*"masked", "reference", "mel"/);
    const noOut = contractModel(manifest, {
      outputs: [{ name: 'image', dims: [1, 3, S, S] }],
      nodes: [{ opType: 'Add', inputs: ['masked', 'reference'], outputs: ['image'] }],
    });
    expectCode(() => validateGenerator(noOut, manifest), 'missing-output', /no output named "output".*"image"/);
  });

  it('wrong-shape: a model built for a shorter audio window', () => {
    const { bytes: bytes16 } = generator(16);
    const { manifest: manifest20 } = generator(20);
    expectCode(() => validateGenerator(bytes16, manifest20), 'wrong-shape', /^Model input "audio" has shape \[1,80,16\] but the manifest says \[1,80,20\]\.$/);
    const { bytes: big } = buildTestGenerator({ size: 64, melFrames: 20, mel: MEL });
    expectCode(() => validateGenerator(big, manifest20), 'wrong-shape', /Model input "masked" has shape \[1,3,64,64\] but the manifest says \[1,3,32,32\]/);
  });

  it('accepts a symbolic batch dimension', () => {
    const { manifest } = generator();
    const dynamic = contractModel(manifest, {
      inputs: [
        { name: 'masked', dims: ['N', 3, S, S] },
        { name: 'reference', dims: ['N', 3, S, S] },
        { name: 'audio', dims: ['N', 80, 20] },
      ],
    });
    expect(() => validateGenerator(dynamic, manifest)).not.toThrow();
  });

  it('wrong-type: a model exported in float16', () => {
    const { manifest } = generator();
    const fp16 = contractModel(manifest, {
      inputs: [
        { name: 'masked', dims: [1, 3, S, S], elemType: OnnxDataType.FLOAT16 },
        { name: 'reference', dims: [1, 3, S, S], elemType: OnnxDataType.FLOAT16 },
        { name: 'audio', dims: [1, 80, 20], elemType: OnnxDataType.FLOAT16 },
      ],
    });
    expectCode(() => validateGenerator(fp16, manifest), 'wrong-type', /Model input "masked" holds float16 values but the generator contract needs float32/);
  });

  it('manifest-mismatch: different mel settings, or an input the manifest does not describe', () => {
    const { bytes, manifest } = generator();
    expectCode(
      () => validateGenerator(bytes, manifest, { expectedMel: { ...MEL, hopLength: 200 } }),
      'manifest-mismatch',
      /different audio features.*mel\.hopLength is 160 but the engine uses 200/,
    );
    const extra = contractModel(manifest, {
      inputs: [
        { name: 'masked', dims: [1, 3, S, S] },
        { name: 'reference', dims: [1, 3, S, S] },
        { name: 'audio', dims: [1, 80, 20] },
        { name: 'speaker_id', dims: [1, 16] },
      ],
    });
    expectCode(() => validateGenerator(extra, manifest), 'manifest-mismatch', /needs input "speaker_id", which the manifest does not describe/);
  });

  it('unsupported-op: names ops without a WebGPU kernel and custom-domain ops', () => {
    const { manifest } = generator();
    const withLstm = contractModel(manifest, {
      nodes: [
        { opType: 'Add', inputs: ['masked', 'reference'], outputs: ['output'] },
        { opType: 'LSTM', inputs: ['audio', 'W', 'R'], outputs: ['h'], attributes: { hidden_size: 8 } },
        { opType: 'NonZero', inputs: ['h'], outputs: ['nz'] },
        { opType: 'FusedMatMul', domain: 'com.microsoft', inputs: ['h', 'h'], outputs: ['z'] },
      ],
    });
    expectCode(() => validateGenerator(withLstm, manifest), 'unsupported-op', /LSTM, NonZero, com\.microsoft\.FusedMatMul/);
  });
});
