import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as ort from 'onnxruntime-web';
import { buildTestGenerator } from '../engine/generator/testGenerator.ts';
import { MEL_CONFIG } from '../engine/audio/melConfig.ts';
import { loadGeneratorFromBytes, loadGeneratorFromUrl, ModelLoadError, variantFor } from './modelLoader.ts';
import { loadBuildFor, startGenerator } from './generatorStart.ts';

ort.env.wasm.numThreads = 1;

// Two builds of one generator: same contract, different weights (seeds), so which one ran shows in the output.
const main = buildTestGenerator({ mel: MEL_CONFIG, seed: 1 });
const cpu = buildTestGenerator({ mel: MEL_CONFIG, seed: 2 });
const mainManifest = { ...main.manifest, name: 'demo', variants: { cpu: 'cpu/manifest.json' } };
const cpuManifest = { ...cpu.manifest, name: 'demo-cpu', model: 'generator-cpu.onnx' };
const other = buildTestGenerator({ mel: MEL_CONFIG, seed: 2, past: 4 });

/** A real HTTP server on loopback; unknown paths are 404. */
function serve(routes: Record<string, (res: ServerResponse) => void>, log: string[]): Promise<Server> {
  const server = createServer((req, res) => {
    log.push(req.url ?? '');
    const route = routes[req.url ?? ''];
    if (route) return route(res);
    res.writeHead(404).end();
  });
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r(server)));
}
const json = (body: unknown) => (res: ServerResponse) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
const file = (b: Uint8Array) => (res: ServerResponse) => res.end(Buffer.from(b));

describe('a generator with a cpu variant', () => {
  const log: string[] = [];
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = await serve(
      {
        '/m/manifest.json': json(mainManifest),
        [`/m/${main.manifest.model}`]: file(main.bytes),
        '/m/cpu/manifest.json': json(cpuManifest),
        '/m/cpu/generator-cpu.onnx': file(cpu.bytes),
        '/bad/manifest.json': json(mainManifest),
        '/bad/cpu/manifest.json': json({ ...other.manifest, name: 'demo-cpu' }),
        [`/bad/cpu/${other.manifest.model}`]: file(other.bytes),
        '/broken/manifest.json': json(mainManifest),
        [`/broken/${main.manifest.model}`]: file(main.bytes),
        '/broken/cpu/manifest.json': json(cpuManifest), // its ONNX file is missing (404)
        '/plain/manifest.json': json(main.manifest),
        [`/plain/${main.manifest.model}`]: file(main.bytes),
      },
      log,
    );
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => server?.close());

  it('wasm runs the cpu build and WebGPU the main one', () => {
    expect(variantFor('wasm')).toBe('cpu');
    expect(variantFor('webgpu')).toBeUndefined();
  });

  it('loads only the cpu build when asked for it, and only the main build otherwise', async () => {
    log.length = 0;
    const c = await loadGeneratorFromUrl(`${base}/m/manifest.json`, undefined, 'cpu');
    expect(c.bytes).toEqual(cpu.bytes);
    expect(c.label).toBe('demo-cpu');
    expect(c.source).toEqual({ manifestUrl: `${base}/m/manifest.json`, variant: 'cpu', offers: ['cpu'] });
    expect(log).toEqual(['/m/manifest.json', '/m/cpu/manifest.json', '/m/cpu/generator-cpu.onnx']);
    log.length = 0;
    const m = await loadGeneratorFromUrl(`${base}/m/manifest.json`);
    expect(m.bytes).toEqual(main.bytes);
    expect(m.source?.variant).toBeUndefined();
    expect(log).toEqual(['/m/manifest.json', `/m/${main.manifest.model}`]);
  });

  it('a manifest without variants loads its own model for wasm too', async () => {
    const p = await loadGeneratorFromUrl(`${base}/plain/manifest.json`, undefined, 'cpu');
    expect(p.bytes).toEqual(main.bytes);
    expect(p.source).toEqual({ manifestUrl: `${base}/plain/manifest.json`, offers: [] });
  });

  it('refuses a variant whose contract differs from its main manifest, naming the field', async () => {
    const err = await loadGeneratorFromUrl(`${base}/bad/manifest.json`, undefined, 'cpu').catch((e) => e);
    expect(err).toBeInstanceOf(ModelLoadError);
    expect(err.code).toBe('bad-model');
    expect(err.message).toMatch(
      /cpu variant .*\/bad\/cpu\/manifest\.json does not fit its main manifest .*: audioWindow is \{"lookahead":12,"past":8\} in one and \{"lookahead":16,"past":4\} in the other/,
    );
  });

  it('started on wasm from the main build, it switches to the cpu build (and runs its weights)', async () => {
    const loaded = await loadGeneratorFromUrl(`${base}/m/manifest.json`);
    const { runner, loaded: running } = await startGenerator(loaded, { ort, preferredBackends: ['wasm'] });
    try {
      expect(runner.backend).toBe('wasm');
      expect(running.label).toBe('demo-cpu');
      expect(running.source?.variant).toBe('cpu');
      expect(runner.modelBytes).toEqual(cpu.bytes);
    } finally {
      await runner.dispose();
    }
  });

  it('a cpu build that cannot be downloaded never stops the generator: the main build runs on wasm, and says why', async () => {
    const loaded = await loadBuildFor(`${base}/broken/manifest.json`, 'wasm');
    expect(loaded.bytes).toEqual(main.bytes);
    expect(loaded.note).toMatch(
      /its cpu build could not be loaded \(Could not download the generator model .*generator-cpu\.onnx: HTTP 404\); running the main build/,
    );
    const { runner, loaded: running } = await startGenerator(loaded, { ort, preferredBackends: ['wasm'] });
    try {
      expect(running).toBe(loaded); // no second attempt at the broken build
      expect(runner.fallbackReason).toContain('its cpu build could not be loaded');
    } finally {
      await runner.dispose();
    }
    // Loaded for WebGPU, started on wasm: the swap to the broken cpu build fails and the main build keeps running.
    const forGpu = await loadBuildFor(`${base}/broken/manifest.json`, 'webgpu');
    const started = await startGenerator(forGpu, { ort, preferredBackends: ['wasm'] });
    try {
      expect(started.runner.modelBytes).toEqual(main.bytes);
      expect(started.runner.fallbackReason).toMatch(/its cpu build could not be loaded .*HTTP 404/);
    } finally {
      await started.runner.dispose();
    }
  });

  it("a user's own file (no manifest URL) runs as it is", async () => {
    const loaded = loadGeneratorFromBytes(main.bytes, mainManifest, 'mine.onnx');
    const { runner, loaded: running } = await startGenerator(loaded, { ort, preferredBackends: ['wasm'] });
    try {
      expect(running).toBe(loaded);
      expect(runner.modelBytes).toEqual(main.bytes);
    } finally {
      await runner.dispose();
    }
  });
});
