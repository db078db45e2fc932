import { describe, expect, it } from 'vitest';
import { contractDifference, ManifestError, parseManifest, resolveModelUrl } from './manifest.ts';
import { buildTestGenerator } from './testGenerator.ts';

/** A manifest as it would be read from manifest.json. */
// biome-ignore lint/suspicious/noExplicitAny: the tests break arbitrary fields of it on purpose
function json(): Record<string, any> {
  return JSON.parse(JSON.stringify(buildTestGenerator({ size: 32, melFrames: 20 }).manifest));
}

describe('parseManifest', () => {
  it('accepts a consistent manifest and keeps every field', () => {
    const raw = json();
    const m = parseManifest(raw);
    expect(m).toEqual(raw);
    expect(m.inputs.audio.shape).toEqual([1, 80, m.audioWindow.past + m.audioWindow.lookahead]);
  });

  it('names a missing or mistyped field', () => {
    const raw = json();
    delete raw.cropSize;
    expect(() => parseManifest(raw)).toThrow(/"cropSize" must be a number, but it is missing/);
    const raw2 = json();
    raw2.imageRange = [1, 0];
    expect(() => parseManifest(raw2)).toThrow(/"imageRange" must be \[low, high\] with low < high/);
    const raw3 = json();
    raw3.maskRatio = 50;
    expect(() => parseManifest(raw3)).toThrow(/"maskRatio" must be a fraction/);
    expect(() => parseManifest('generator.onnx')).toThrow(ManifestError);
  });

  it('refuses a crop template it cannot cut, naming the ones it can', () => {
    for (const known of ['facemesh-sim-v1', 'facemesh-sim-mouth-v1']) expect(parseManifest({ ...json(), cropTemplate: known }).cropTemplate).toBe(known);
    const raw = json();
    raw.cropTemplate = 'facemesh-sim-v2';
    expect(() => parseManifest(raw)).toThrow(
      /"cropTemplate" "facemesh-sim-v2" is not a crop this version of Lipsync Live can cut \(it knows "facemesh-sim-v1", "facemesh-sim-mouth-v1"/,
    );
  });

  it('rejects an audio shape that disagrees with the audio window', () => {
    const raw = json();
    raw.audioWindow = { past: 8, lookahead: 8 };
    let err: unknown;
    try {
      parseManifest(raw);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ManifestError);
    expect((err as ManifestError).field).toBe('inputs.audio.shape');
    expect((err as Error).message).toMatch(/"inputs\.audio\.shape" is \[1,80,20\] but must be \[1,80,16\].*past 8 \+ lookahead 8/);
  });

  it('rejects image shapes that disagree with cropSize, and mel bins that disagree with mel config', () => {
    const raw = json();
    raw.cropSize = 64;
    expect(() => parseManifest(raw)).toThrow(/"inputs\.masked\.shape" is \[1,3,32,32\] but must be \[1,3,64,64\]/);
    const raw2 = json();
    raw2.mel = { nMels: 64 };
    expect(() => parseManifest(raw2)).toThrow(/must be \[1,64,20\].*64 mel bins \(mel\.nMels\)/);
  });

  it('rejects a model path that leaves the manifest folder, and duplicate tensor names', () => {
    const raw = json();
    raw.model = '../secret/model.onnx';
    expect(() => parseManifest(raw)).toThrow(/"model" must be a file name next to the manifest/);
    const raw2 = json();
    raw2.inputs.reference.name = raw2.inputs.masked.name;
    expect(() => parseManifest(raw2)).toThrow(/distinct names/);
  });

  it('keeps an articulation input with its prior and refuses a wrong shape, a bad prior or a name clash', () => {
    const raw = json();
    raw.inputs.articulation = { name: 'articulation', shape: [1, 2], prior: [0.039, 0.07] };
    expect(parseManifest(raw).inputs.articulation).toEqual({ name: 'articulation', shape: [1, 2], prior: [0.039, 0.07] });
    expect(parseManifest(json()).inputs.articulation).toBeUndefined();
    const shape = json();
    shape.inputs.articulation = { name: 'articulation', shape: [1, 3], prior: [0.039, 0.07] };
    expect(() => parseManifest(shape)).toThrow(/"inputs.articulation.shape" is \[1,3\] but must be \[1,2\]/);
    for (const prior of [undefined, [0.04], [0.04, 'wide'], [-0.1, 0.07], [40, 70]]) {
      const bad = json();
      bad.inputs.articulation = { name: 'articulation', shape: [1, 2], prior };
      expect(() => parseManifest(bad)).toThrow(/"inputs.articulation.prior" must be the typical \[median, 90th-percentile\] mouth opening/);
    }
    const clash = json();
    clash.inputs.articulation = { name: clash.inputs.audio.name, shape: [1, 2], prior: [0.039, 0.07] };
    expect(() => parseManifest(clash)).toThrow(/The 4 inputs need distinct names/);
  });

  it('keeps an openingGain input and refuses a wrong shape or a name clash', () => {
    const raw = json();
    raw.inputs.openingGain = { name: 'openingGain', shape: [1, 1] };
    expect(parseManifest(raw).inputs.openingGain).toEqual({ name: 'openingGain', shape: [1, 1] });
    expect(parseManifest(json()).inputs.openingGain).toBeUndefined();
    const shape = json();
    shape.inputs.openingGain = { name: 'openingGain', shape: [1, 2] };
    expect(() => parseManifest(shape)).toThrow(/"inputs.openingGain.shape" is \[1,2\] but must be \[1,1\]/);
    const clash = json();
    clash.inputs.openingGain = { name: clash.inputs.masked.name, shape: [1, 1] };
    expect(() => parseManifest(clash)).toThrow(/The 4 inputs need distinct names/);
  });

  it('keeps a cpu variant and refuses unknown variants or paths that leave the folder', () => {
    const raw = json();
    raw.variants = { cpu: 'cpu/manifest.json' };
    expect(parseManifest(raw).variants).toEqual({ cpu: 'cpu/manifest.json' });
    raw.variants = { gpu: 'gpu/manifest.json' };
    expect(() => parseManifest(raw)).toThrow(/"variants\.gpu" is not a known variant \(known: cpu\)/);
    raw.variants = { cpu: '../other/manifest.json' };
    expect(() => parseManifest(raw)).toThrow(/"variants\.cpu" must be the path of a manifest\.json next to this one/);
    raw.variants = 'cpu/manifest.json';
    expect(() => parseManifest(raw)).toThrow(/"variants" must be an object/);
  });
});

describe('contractDifference', () => {
  it('ignores the weights, names and key order, and names the first field a frame would be fed differently', () => {
    const a = parseManifest(json());
    const b = parseManifest({ ...json(), name: 'other', version: '9', model: 'x.onnx', mel: Object.fromEntries(Object.entries(json().mel).reverse()) });
    expect(contractDifference(a, b)).toBeNull();
    expect(contractDifference(a, { ...b, maskFill: 0.5 })).toMatch(/^maskFill is 0 in one and 0\.5 in the other$/);
    expect(contractDifference(a, { ...b, mel: { ...b.mel, fMin: 0 } })).toMatch(/^mel is /);
  });
});

describe('the manifest\'s "model" cannot point anywhere else', () => {
  // Each of these made the app fetch and run a generator from another origin or folder (issue #12).
  const bypasses = [
    '\\\\127.0.0.1:4274\\cors\\generator.onnx',
    ' http://127.0.0.1:4274/cors/generator.onnx',
    'ht\ttp://127.0.0.1:4274/cors/generator.onnx',
    'http://127.0.0.1:4274/generator.onnx',
    '//127.0.0.1:4274/generator.onnx',
    '%2e%2e/%2e%2e/models/generator.onnx',
    '..%2fgenerator.onnx',
    '../../etc/passwd',
    '/models/generator.onnx',
    'generator.onnx\n',
    './generator.onnx',
    'sub//generator.onnx',
  ];
  for (const model of bypasses) {
    it(`refuses ${JSON.stringify(model)} in parseManifest and resolveModelUrl`, () => {
      const raw = json();
      raw.model = model;
      expect(() => parseManifest(raw)).toThrow(ManifestError);
      expect(() => resolveModelUrl('http://127.0.0.1:5173/models/manifest.json', model)).toThrow(ManifestError);
    });
  }

  it('resolves a plain name (or a sub-folder) next to the manifest', () => {
    expect(resolveModelUrl('http://127.0.0.1:5173/models/manifest.json', 'generator.onnx').href).toBe('http://127.0.0.1:5173/models/generator.onnx');
    expect(resolveModelUrl('http://127.0.0.1:5173/models/v2/manifest.json?x=1', 'w/gen-0.4_a.onnx').href).toBe(
      'http://127.0.0.1:5173/models/v2/w/gen-0.4_a.onnx',
    );
  });
});
