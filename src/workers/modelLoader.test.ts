import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildTestGenerator } from '../engine/generator/testGenerator.ts';
import { MEL_CONFIG } from '../engine/audio/melConfig.ts';
import { loadGeneratorFromUrl, ModelLoadError } from './modelLoader.ts';

const { bytes, manifest } = buildTestGenerator({ mel: MEL_CONFIG });
const INDEX_HTML = '<!doctype html><html><body>app</body></html>';

/** A real HTTP server on loopback that behaves like a single-page-app host: unknown paths get index.html. */
function startServer(routes: Record<string, (res: import('node:http').ServerResponse) => void>, log: string[]): Promise<Server> {
  const server = createServer((req, res) => {
    log.push(req.url ?? '');
    const route = routes[req.url ?? ''];
    if (route) return route(res);
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(INDEX_HTML);
  });
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r(server)));
}

const json = (body: unknown) => (res: import('node:http').ServerResponse) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

describe('loadGeneratorFromUrl against a real HTTP server', () => {
  const log: string[] = [];
  const otherLog: string[] = [];
  let server: Server;
  let other: Server;
  let base: string;
  let otherBase: string;

  beforeAll(async () => {
    other = await startServer({ '/cors/generator.onnx': (res) => res.end(Buffer.from(bytes)) }, otherLog);
    otherBase = `127.0.0.1:${(other.address() as AddressInfo).port}`;
    server = await startServer(
      {
        '/models/manifest.json': json(manifest),
        [`/models/${manifest.model}`]: (res) => res.end(Buffer.from(bytes)),
        '/missing-model/manifest.json': json(manifest),
        '/small/manifest.json': json({ ...manifest, maxBytes: 1000 }),
        [`/small/${manifest.model}`]: (res) => {
          // No Content-Length (chunked): only the streamed read can notice the size.
          res.writeHead(200, { 'content-type': 'application/octet-stream' });
          res.write(Buffer.from(bytes.subarray(0, 800)));
          setTimeout(() => res.end(Buffer.from(bytes.subarray(800))), 10);
        },
        '/huge/manifest.json': json(manifest),
        [`/huge/${manifest.model}`]: (res) => {
          res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(300 * 1024 * 1024) });
          res.write(Buffer.alloc(1024));
          // Never sends the rest: the loader must refuse on the header alone.
        },
        '/unc/manifest.json': json({ ...manifest, model: `\\\\${otherBase}\\cors\\generator.onnx` }),
        '/space/manifest.json': json({ ...manifest, model: ` http://${otherBase}/cors/generator.onnx` }),
        '/tab/manifest.json': json({ ...manifest, model: `ht\ttp://${otherBase}/cors/generator.onnx` }),
        '/dots/manifest.json': json({ ...manifest, model: '%2e%2e/%2e%2e/models/generator.onnx' }),
      },
      log,
    );
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server?.close();
    other?.close();
  });

  it('loads a manifest and its model', async () => {
    const loaded = await loadGeneratorFromUrl(`${base}/models/manifest.json`);
    expect(loaded.bytes).toEqual(bytes);
    expect(loaded.label).toBe(manifest.name);
  });

  it('reports the download as bytes received of the total, ending at the model size', async () => {
    const seen: [number, number | undefined][] = [];
    await loadGeneratorFromUrl(`${base}/models/manifest.json`, (loaded, total) => seen.push([loaded, total]));
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.at(-1)).toEqual([bytes.byteLength, bytes.byteLength]);
    for (let i = 1; i < seen.length; i++) expect(seen[i][0]).toBeGreaterThan(seen[i - 1][0]);
  });

  it('says "missing" when an SPA host answers a missing model or manifest with its web page', async () => {
    await expect(loadGeneratorFromUrl(`${base}/missing-model/manifest.json`)).rejects.toThrow(/generator model .*missing \(the server returned a web page/);
    await expect(loadGeneratorFromUrl(`${base}/nowhere/manifest.json`)).rejects.toThrow(/model manifest .*missing \(the server returned a web page/);
  });

  it('refuses a model over the size limit before reading it (Content-Length) and while streaming (no length)', async () => {
    const t0 = Date.now();
    const huge = await loadGeneratorFromUrl(`${base}/huge/manifest.json`).catch((e) => e);
    expect(huge).toBeInstanceOf(ModelLoadError);
    expect(huge.message).toMatch(/300\.0 MB, over the 256\.0 MB limit/);
    expect(Date.now() - t0).toBeLessThan(5000);
    await expect(loadGeneratorFromUrl(`${base}/small/manifest.json`)).rejects.toThrow(
      /generator model .* is larger than the 1\.0 kB limit for a generator model/,
    );
  });

  for (const [name, folder] of [
    ['a UNC path', 'unc'],
    ['a leading space', 'space'],
    ['a tab inside the scheme', 'tab'],
    ['percent-encoded dots', 'dots'],
  ]) {
    it(`refuses a manifest whose "model" uses ${name}, and fetches nothing`, async () => {
      const before = log.length;
      const err = await loadGeneratorFromUrl(`${base}/${folder}/manifest.json`).catch((e) => e);
      expect(err).toBeInstanceOf(ModelLoadError);
      expect(err.code).toBe('bad-model');
      expect(err.message).toMatch(/"model" must be a file name next to the manifest/);
      expect(log.slice(before)).toEqual([`/${folder}/manifest.json`]);
      expect(otherLog).toEqual([]);
    });
  }
});
