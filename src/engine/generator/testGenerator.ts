/**
 * A small deterministic generator that honours the full contract, for tests and e2e until a trained
 * model ships. It keeps the upper part of the reference crop and rewrites the masked part:
 *
 *   h      = Relu(Conv3×3(Concat(masked, reference)))                 [1,8,S,S]
 *   a      = Gemm(ReduceMean_T(audio))                                 [1,3] audio-dependent bias
 *   delta  = Tanh(Conv3×3(h) + a) · mask · amplitude                   mask = 1 in the blanked rows
 *   output = Clip(reference + delta, lo, hi)
 *
 * So the output equals the reference above the mask line and changes with the audio below it.
 */
import { buildOnnxModel, type OnnxTensorSpec } from './onnx.ts';
import type { GeneratorManifest } from './manifest.ts';
import { mulberry32 } from '../training/rng.ts';
import { CROP_TEMPLATE } from '../face/align.ts';

export interface TestGeneratorOptions {
  /** Crop size S (default 128). */
  size?: number;
  /** Mel frames T in the window (default 20). */
  melFrames?: number;
  /** Mel bins (default 80). */
  melBins?: number;
  /** Seed for the weights (default 1). */
  seed?: number;
  /** Past frames of the window (default 40% of T); lookahead = T − past. */
  past?: number;
  /** Mel settings recorded in the manifest (pass the engine's MEL_CONFIG). */
  mel?: Record<string, unknown>;
  /** Crop template id recorded in the manifest (default the plain face crop, align.ts CROP_TEMPLATE). */
  cropTemplate?: string;
  imageRange?: [number, number];
  maskRatio?: number;
  /**
   * Add the person-articulation input ([1,2], manifest.inputs.articulation with this prior): as the trainer's graph,
   * (articulation − prior) × 50 through a Gemm joins the audio bias, so a wider-opening person shifts the lower half.
   */
  articulationPrior?: [number, number];
  /** How far the audio may move the lower half, as a share of the image range (default 0.5; 0 = copy the reference). */
  amplitude?: number;
}

/** The project's one seeded PRNG; a zero seed maps to a fixed non-zero one, as before. */
function rng(seed: number): () => number {
  return mulberry32(seed >>> 0 || 0x9e3779b9);
}

function randn(rand: () => number, n: number, std: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(rand(), 1e-12);
    out[i] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand()) * std;
  }
  return out;
}

/**
 * Audio → colour-bias weights [M, 3]: cosine bases 1…3 over the mel bins (plus a little seeded noise).
 * They sum to ~0, so a flat spectrum (silence, at any floor level or normalisation) gives ~no bias,
 * while speech — louder in the low bins — tilts the spectrum and moves the bias by ~3 per unit of tilt.
 */
function audioWeights(M: number, rand: () => number): Float32Array {
  const w = new Float32Array(M * 3);
  const noise = randn(rand, M * 3, 0.1);
  for (let m = 0; m < M; m++) for (let c = 0; c < 3; c++) w[m * 3 + c] = (6 / M) * (Math.cos((Math.PI * (m + 0.5) * (c + 1)) / M) + noise[m * 3 + c]);
  return w;
}

/** The generator contract's graph inputs and output for crop size S and an [M, T] audio window. */
function contractIO(S: number, M: number, T: number, articulation = false) {
  return {
    inputs: [
      { name: 'masked', dims: [1, 3, S, S] },
      { name: 'reference', dims: [1, 3, S, S] },
      { name: 'audio', dims: [1, M, T] },
      ...(articulation ? [{ name: 'articulation', dims: [1, 2] }] : []),
    ],
    outputs: [{ name: 'output', dims: [1, 3, S, S] }],
  };
}

/** The manifest of a test generator: the contract for crop size S and an [M, T] audio window. */
function testManifest(o: {
  S: number;
  M: number;
  T: number;
  past: number;
  maskRatio: number;
  range: [number, number];
  cropTemplate: string;
  mel?: GeneratorManifest['mel'];
}): GeneratorManifest {
  const { S, M, T } = o;
  return {
    name: 'test-generator',
    version: '0.0.1',
    model: 'test-generator.onnx',
    cropSize: S,
    cropTemplate: o.cropTemplate,
    maskRatio: o.maskRatio,
    imageRange: o.range,
    maskFill: o.range[0],
    inputs: {
      masked: { name: 'masked', shape: [1, 3, S, S] },
      reference: { name: 'reference', shape: [1, 3, S, S] },
      audio: { name: 'audio', shape: [1, M, T] },
    },
    output: { name: 'output', shape: [1, 3, S, S] },
    audioWindow: { past: o.past, lookahead: T - o.past },
    mel: { ...(o.mel ?? { nMels: M }) },
    description: 'Deterministic stand-in generator (random conv weights); not trained.',
    license: 'MIT',
  };
}

export function buildTestGenerator(opts: TestGeneratorOptions = {}): { bytes: Uint8Array; manifest: GeneratorManifest } {
  const S = opts.size ?? 128;
  const T = opts.melFrames ?? 20;
  const M = opts.melBins ?? 80;
  const past = opts.past ?? Math.floor((T * 2) / 5);
  const [lo, hi] = opts.imageRange ?? [0, 1];
  const maskRatio = opts.maskRatio ?? 0.5;
  const rand = rng(opts.seed ?? 1);
  const H = 8;
  const prior = opts.articulationPrior;

  const maskRows = Math.round(S * maskRatio);
  const mask = new Float32Array(S * S);
  mask.fill(1, (S - maskRows) * S);

  const inits: OnnxTensorSpec[] = [
    { name: 'w1', dims: [H, 6, 3, 3], data: randn(rand, H * 6 * 9, Math.sqrt(2 / (6 * 9))) },
    { name: 'b1', dims: [H], data: randn(rand, H, 0.1) },
    { name: 'w2', dims: [3, H, 3, 3], data: randn(rand, 3 * H * 9, Math.sqrt(1 / (H * 9))) },
    { name: 'b2', dims: [3], data: randn(rand, 3, 0.1) },
    { name: 'wa', dims: [M, 3], data: audioWeights(M, rand) },
    { name: 'ba', dims: [3], data: new Float32Array(3) },
    { name: 'bias_shape', dims: [4], int64: [1, 3, 1, 1] },
    { name: 'mask', dims: [1, 1, S, S], data: mask },
    { name: 'amplitude', dims: [], data: Float32Array.of((hi - lo) * (opts.amplitude ?? 0.5)) },
    { name: 'lo', dims: [], data: Float32Array.of(lo) },
    { name: 'hi', dims: [], data: Float32Array.of(hi) },
    ...(prior
      ? [
          { name: 'art_prior', dims: [1, 2], data: Float32Array.from(prior) },
          { name: 'art_scale', dims: [], data: Float32Array.of(50) },
          { name: 'w_art', dims: [2, 3], data: randn(rand, 6, 0.5) },
          { name: 'b_art', dims: [3], data: new Float32Array(3) },
        ]
      : []),
  ];
  // The articulation path (when asked for) adds to the audio bias: a = Gemm(audio) + Gemm((art − prior) · 50).
  const articulationNodes = prior
    ? [
        { opType: 'Sub', inputs: ['articulation', 'art_prior'], outputs: ['art_d'] },
        { opType: 'Mul', inputs: ['art_d', 'art_scale'], outputs: ['art_n'] },
        { opType: 'Gemm', inputs: ['art_n', 'w_art', 'b_art'], outputs: ['art_a'] },
        { opType: 'Add', inputs: ['a_audio', 'art_a'], outputs: ['a'] },
      ]
    : [];
  const conv = { kernel_shape: [3, 3], pads: [1, 1, 1, 1] };
  const bytes = buildOnnxModel({
    graphName: 'test_generator',
    opset: 17,
    ...contractIO(S, M, T, Boolean(prior)),
    initializers: inits,
    nodes: [
      { opType: 'Concat', inputs: ['masked', 'reference'], outputs: ['x'], attributes: { axis: 1 } },
      { opType: 'Conv', inputs: ['x', 'w1', 'b1'], outputs: ['h_pre'], attributes: conv },
      { opType: 'Relu', inputs: ['h_pre'], outputs: ['h'] },
      { opType: 'Conv', inputs: ['h', 'w2', 'b2'], outputs: ['y'], attributes: conv },
      { opType: 'ReduceMean', inputs: ['audio'], outputs: ['audio_mean'], attributes: { axes: [2], keepdims: 0 } },
      { opType: 'Gemm', inputs: ['audio_mean', 'wa', 'ba'], outputs: [prior ? 'a_audio' : 'a'] },
      ...articulationNodes,
      { opType: 'Reshape', inputs: ['a', 'bias_shape'], outputs: ['a4'] },
      { opType: 'Add', inputs: ['y', 'a4'], outputs: ['ya'] },
      { opType: 'Tanh', inputs: ['ya'], outputs: ['t'] },
      { opType: 'Mul', inputs: ['t', 'mask'], outputs: ['tm'] },
      { opType: 'Mul', inputs: ['tm', 'amplitude'], outputs: ['delta'] },
      { opType: 'Add', inputs: ['reference', 'delta'], outputs: ['sum'] },
      { opType: 'Clip', inputs: ['sum', 'lo', 'hi'], outputs: ['output'] },
    ],
  });
  const manifest = testManifest({ S, M, T, past, maskRatio, range: [lo, hi], cropTemplate: opts.cropTemplate ?? CROP_TEMPLATE, mel: opts.mel });
  if (prior) manifest.inputs.articulation = { name: 'articulation', shape: [1, 2], prior: [prior[0], prior[1]] };
  return { bytes, manifest };
}

/**
 * A test generator that warps the reference like the trainer's "warp" output: a conv predicts a flow from the two
 * crops (biased by the audio), Transpose makes it a grid over the pixel centres, and GridSample (bilinear, border)
 * samples the reference there for the lower half. For checking GridSample on every runtime (WebGPU EP, fine-tune).
 */
export function buildWarpTestGenerator(opts: { size?: number; past?: number; mel?: GeneratorManifest['mel']; seed?: number } = {}): {
  bytes: Uint8Array;
  manifest: GeneratorManifest;
} {
  const S = opts.size ?? 128;
  const past = opts.past ?? 8;
  const T = past + 8;
  const M = 80;
  const rand = rng(opts.seed ?? 3);
  const H = 8;
  const mask = new Float32Array(S * S).fill(1, (S / 2) * S);
  const keep = mask.map((v) => 1 - v);
  const centres = new Float32Array(S * S * 2);
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++) {
      centres[(y * S + x) * 2] = (2 * x + 1) / S - 1;
      centres[(y * S + x) * 2 + 1] = (2 * y + 1) / S - 1;
    }
  const conv = { kernel_shape: [3, 3], pads: [1, 1, 1, 1] };
  const bytes = buildOnnxModel({
    graphName: 'warp_test_generator',
    opset: 17,
    ...contractIO(S, M, T),
    initializers: [
      { name: 'w1', dims: [H, 6, 3, 3], data: randn(rand, H * 6 * 9, Math.sqrt(2 / (6 * 9))) },
      { name: 'b1', dims: [H], data: randn(rand, H, 0.1) },
      { name: 'w2', dims: [2, H, 3, 3], data: randn(rand, 2 * H * 9, Math.sqrt(1 / (H * 9))) },
      { name: 'b2', dims: [2], data: randn(rand, 2, 0.1) },
      { name: 'wa', dims: [M, 2], data: randn(rand, M * 2, 0.3) },
      { name: 'ba', dims: [2], data: new Float32Array(2) },
      { name: 'bias_shape', dims: [4], int64: [1, 2, 1, 1] },
      { name: 'range', dims: [], data: Float32Array.of(0.25) },
      { name: 'centres', dims: [1, S, S, 2], data: centres },
      { name: 'mask', dims: [1, 1, S, S], data: mask },
      { name: 'keep', dims: [1, 1, S, S], data: keep },
    ],
    nodes: [
      { opType: 'Concat', inputs: ['masked', 'reference'], outputs: ['x'], attributes: { axis: 1 } },
      { opType: 'Conv', inputs: ['x', 'w1', 'b1'], outputs: ['h_pre'], attributes: conv },
      { opType: 'Relu', inputs: ['h_pre'], outputs: ['h'] },
      { opType: 'Conv', inputs: ['h', 'w2', 'b2'], outputs: ['f'], attributes: conv },
      { opType: 'ReduceMean', inputs: ['audio'], outputs: ['audio_mean'], attributes: { axes: [2], keepdims: 0 } },
      { opType: 'Gemm', inputs: ['audio_mean', 'wa', 'ba'], outputs: ['a'] },
      { opType: 'Reshape', inputs: ['a', 'bias_shape'], outputs: ['a4'] },
      { opType: 'Add', inputs: ['f', 'a4'], outputs: ['fa'] },
      { opType: 'Tanh', inputs: ['fa'], outputs: ['ft'] },
      { opType: 'Mul', inputs: ['ft', 'range'], outputs: ['flow'] },
      { opType: 'Transpose', inputs: ['flow'], outputs: ['flow_hw'], attributes: { perm: [0, 2, 3, 1] } },
      { opType: 'Add', inputs: ['flow_hw', 'centres'], outputs: ['grid'] },
      {
        opType: 'GridSample',
        inputs: ['reference', 'grid'],
        outputs: ['warped'],
        attributes: { mode: 'bilinear', padding_mode: 'border', align_corners: 0 },
      },
      { opType: 'Mul', inputs: ['warped', 'mask'], outputs: ['lower'] },
      { opType: 'Mul', inputs: ['reference', 'keep'], outputs: ['upper'] },
      { opType: 'Add', inputs: ['upper', 'lower'], outputs: ['output'] },
    ],
  });
  const manifest: GeneratorManifest = {
    ...testManifest({ S, M, T, past, maskRatio: 0.5, range: [0, 1], cropTemplate: 'facemesh-sim-v1', mel: opts.mel }),
    name: 'warp-test-generator',
    model: 'warp-test-generator.onnx',
    description: 'Test generator whose lower half is the reference warped by a predicted flow (GridSample); not trained.',
  };
  return { bytes, manifest };
}

/**
 * A "clapper" generator for end-to-end A/V timing: its generated lower half is one flat grey whose brightness
 * follows the loudness of the mel frame at the centre of its audio window (sigmoid(k·mean_bins(audio[:, :, past]) + b):
 * digital silence → near black, a tone burst → near white); the upper half is the reference. Recording the output
 * and correlating that brightness with the recorded audio's envelope measures the end-to-end A/V offset.
 */
export function buildClapperGenerator(opts: { size?: number; past?: number; lookahead?: number; mel?: GeneratorManifest['mel'] } = {}): {
  bytes: Uint8Array;
  manifest: GeneratorManifest;
} {
  const S = opts.size ?? 128;
  const past = opts.past ?? 8;
  const T = past + (opts.lookahead ?? 8);
  const M = 80;
  const mask = new Float32Array(S * S).fill(1, (S / 2) * S);
  const keep = mask.map((v) => 1 - v);
  const bytes = buildOnnxModel({
    graphName: 'clapper_generator',
    opset: 17,
    ...contractIO(S, M, T),
    initializers: [
      { name: 'starts', dims: [1], int64: [past] },
      { name: 'ends', dims: [1], int64: [past + 1] },
      { name: 'axes', dims: [1], int64: [2] },
      { name: 'k', dims: [], data: Float32Array.of(10) },
      { name: 'b', dims: [], data: Float32Array.of(6) },
      { name: 'shape4', dims: [4], int64: [1, 1, 1, 1] },
      { name: 'mask', dims: [1, 1, S, S], data: mask },
      { name: 'keep', dims: [1, 1, S, S], data: keep },
    ],
    nodes: [
      { opType: 'Slice', inputs: ['audio', 'starts', 'ends', 'axes'], outputs: ['centre'] },
      { opType: 'ReduceMean', inputs: ['centre'], outputs: ['level'], attributes: { axes: [1, 2], keepdims: 1 } },
      { opType: 'Mul', inputs: ['level', 'k'], outputs: ['scaled'] },
      { opType: 'Add', inputs: ['scaled', 'b'], outputs: ['logit'] },
      { opType: 'Sigmoid', inputs: ['logit'], outputs: ['v'] },
      { opType: 'Reshape', inputs: ['v', 'shape4'], outputs: ['v4'] },
      { opType: 'Mul', inputs: ['v4', 'mask'], outputs: ['lower'] },
      { opType: 'Mul', inputs: ['reference', 'keep'], outputs: ['upper'] },
      { opType: 'Add', inputs: ['upper', 'lower'], outputs: ['output'] },
    ],
  });
  const manifest: GeneratorManifest = {
    ...testManifest({ S, M, T, past, maskRatio: 0.5, range: [0, 1], cropTemplate: 'facemesh-sim-v1', mel: opts.mel }),
    name: 'clapper-generator',
    model: 'clapper-generator.onnx',
    description: 'Test generator for A/V timing: lower-half brightness = loudness at the window centre.',
  };
  return { bytes, manifest };
}
