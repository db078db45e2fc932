/**
 * `npm run build:lib`: the embeddable library in dist-lib/ (or `--outDir`):
 *
 *   lipsync.js               ES module: createLipsync() + <lipsync-avatar> (main thread only)
 *   lipsync.d.ts, api.d.ts   its types (emitted by tsc from src/lib/, checked by a strict consumer)
 *   lipsync-worker.js        the inference worker (+ assets/ chunks)
 *   lipsync-mel-worklet.js   the mel AudioWorklet
 *   models/, ort/, tfjs/     shipped generator, Face Mesh networks, onnxruntime-web and tfjs wasm
 *
 * Everything resolves from one base URL (default: the folder of lipsync.js), so the folder can be
 * served from any path or origin. The app build (vite.config.ts) is unaffected.
 */
import { defineConfig, build, type Plugin, type UserConfig } from 'vite';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { VENDORED_ASSETS } from './vite.config.ts';

const root = import.meta.dirname;
const WORKER_FILE = 'lipsync-worker.js';
const WORKLET_FILE = 'lipsync-mel-worklet.js';

/** A plain (non-library) build of one script into outDir, for the worker and the worklet. */
function scriptBuild(entry: string, fileName: string, outDir: string): UserConfig {
  return {
    configFile: false,
    root,
    base: './',
    publicDir: false,
    logLevel: 'warn',
    build: {
      outDir,
      emptyOutDir: false,
      target: 'es2022',
      copyPublicDir: false,
      modulePreload: false,
      rollupOptions: {
        input: { [fileName.replace(/\.js$/, '')]: resolve(root, entry) },
        preserveEntrySignatures: false,
        output: { format: 'es', entryFileNames: '[name].js', chunkFileNames: 'assets/[name]-[hash].js', assetFileNames: 'assets/[name]-[hash][extname]' },
      },
    },
  };
}

/** tsc emits declarations for src/lib/index.ts; the two public files (index, and the public types it re-exports) are copied with .js specifiers. */
function emitTypes(outDir: string): void {
  const tmp = resolve(root, '.cache/lib-types');
  rmSync(tmp, { recursive: true, force: true });
  execFileSync(resolve(root, 'node_modules/.bin/tsc'), ['-p', resolve(root, 'tsconfig.lib.json')], { stdio: 'inherit' });
  const rewrite = (src: string) => readFileSync(src, 'utf8').replace(/(from\s+'\.\/[\w-]+)\.ts'/g, "$1.js'");
  writeFileSync(resolve(outDir, 'lipsync.d.ts'), rewrite(resolve(tmp, 'lib/index.d.ts')));
  writeFileSync(resolve(outDir, 'api.d.ts'), rewrite(resolve(tmp, 'client/publicApi.d.ts'))); // lib/api.ts only re-exports it
  // The shipped types must stand alone for a strict consumer that knows nothing of this repo.
  const check = resolve(root, '.cache/lib-consumer');
  mkdirSync(check, { recursive: true });
  writeFileSync(
    resolve(check, 'consumer.ts'),
    `import { createLipsync, LipsyncError, type LipsyncAvatarElement, type LipsyncStats } from ${JSON.stringify(resolve(outDir, 'lipsync.js'))};
const c = createLipsync({ face: 'face.mp4', audio: new MediaStream(), backend: 'wasm' });
c.addEventListener('stats', (e) => { const s: LipsyncStats = e.detail; console.log(s.fps); });
c.addEventListener('error', (e) => console.log(e.detail.code, e.detail.message));
const el: LipsyncAvatarElement = document.createElement('lipsync-avatar');
el.addEventListener('ready', (e) => console.log(e.detail.generator));
void c.start().catch((e: unknown) => e instanceof LipsyncError && console.log(e.code));
`,
  );
  writeFileSync(
    resolve(check, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'ESNext',
        moduleResolution: 'bundler',
        lib: ['ES2023', 'DOM', 'DOM.Iterable'],
        strict: true,
        noEmit: true,
        types: [],
      },
      files: ['consumer.ts'],
    }),
  );
  execFileSync(resolve(root, 'node_modules/.bin/tsc'), ['-p', resolve(check, 'tsconfig.json')], { stdio: 'inherit' });
}

function libraryFiles(): Plugin {
  let outDir = resolve(root, 'dist-lib');
  return {
    name: 'lipsync-library-files',
    apply: 'build',
    configResolved(config) {
      outDir = resolve(config.root, config.build.outDir);
    },
    generateBundle() {
      for (const [prefix, { dir, files }] of Object.entries(VENDORED_ASSETS)) {
        for (const f of files) this.emitFile({ type: 'asset', fileName: prefix + f, source: readFileSync(resolve(dir, f)) });
      }
    },
    async closeBundle() {
      await build(scriptBuild('src/workers/inference.worker.ts', WORKER_FILE, outDir));
      await build(scriptBuild('src/workers/melWorklet.ts', WORKLET_FILE, outDir));
      // onnxruntime-web references its wasm next to its own bundle as a fallback; the worker always
      // sets wasmPaths to ort/ under the base URL, so that copy is never fetched.
      for (const f of readdirSync(resolve(outDir, 'assets'))) if (f.endsWith('.wasm')) rmSync(resolve(outDir, 'assets', f));
      // The shipped generator (public/models/), when present.
      const models = resolve(root, 'public/models');
      // Candidates (models/candidates/) are for trying in the app, not part of what an embedding site ships.
      if (existsSync(models))
        cpSync(models, resolve(outDir, 'models'), { recursive: true, filter: (src) => !src.includes(`${resolve(models, 'candidates')}`) });
      emitTypes(outDir);
    },
  };
}

export default defineConfig({
  root,
  base: './',
  publicDir: false,
  logLevel: 'warn',
  resolve: {
    // The library loads worker and worklet from the base URL instead of Vite-bundled URLs.
    alias: [{ find: /^\.\/runtimeFiles\.ts$/, replacement: resolve(root, 'src/client/runtimeFiles.lib.ts') }],
  },
  plugins: [libraryFiles()],
  build: {
    outDir: 'dist-lib',
    emptyOutDir: true,
    target: 'es2022',
    copyPublicDir: false,
    lib: { entry: resolve(root, 'src/lib/index.ts'), formats: ['es'], fileName: () => 'lipsync.js' },
  },
});
