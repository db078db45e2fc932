/**
 * Dev server for the MediaPipe Tasks feasibility page (issue #11): `tools/compare-landmarkers.ts` starts it.
 * Serves, from our own origin, the tasks-vision wasm (`/mp-wasm/`), the built `.task` bundles
 * (`/face-task/`, from .cache/face-task, see tools/build-face-task.ts) and the app's vendored tfjs assets.
 */
import { defineConfig, type Plugin } from 'vite';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { ISOLATION_HEADERS, VENDORED_ASSETS } from '../../vite.config.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const MOUNTS: Record<string, string> = {
  '/mp-wasm/': resolve(ROOT, 'node_modules/@mediapipe/tasks-vision/wasm'),
  '/face-task/': resolve(ROOT, '.cache/face-task'),
};
for (const [prefix, { dir }] of Object.entries(VENDORED_ASSETS)) MOUNTS[`/${prefix}`] = dir;
const MIME: Record<string, string> = { '.wasm': 'application/wasm', '.js': 'text/javascript', '.json': 'application/json' };

function mounts(): Plugin {
  return {
    name: 'face-task-mounts',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const url = decodeURIComponent((req.url ?? '').split('?')[0]);
        const prefix = Object.keys(MOUNTS).find((p) => url.startsWith(p));
        if (!prefix) return next();
        const file = resolve(MOUNTS[prefix], url.slice(prefix.length));
        if (!file.startsWith(MOUNTS[prefix]) || !existsSync(file) || !statSync(file).isFile()) return next();
        res.setHeader('Content-Type', MIME[extname(file)] ?? 'application/octet-stream');
        res.setHeader('Content-Length', statSync(file).size);
        for (const [k, v] of Object.entries(ISOLATION_HEADERS)) res.setHeader(k, v);
        createReadStream(file).pipe(res);
      });
    },
  };
}

export default defineConfig({
  root: import.meta.dirname,
  cacheDir: resolve(ROOT, '.cache/face-task/vite'),
  plugins: [mounts()],
  server: { headers: ISOLATION_HEADERS, port: 4290, strictPort: true, host: '127.0.0.1', fs: { allow: [ROOT] }, watch: { ignored: ['**/*'] } },
  worker: { format: 'es' },
  optimizeDeps: {
    include: [
      '@tensorflow/tfjs-core',
      '@tensorflow/tfjs-converter',
      '@tensorflow/tfjs-backend-cpu',
      '@tensorflow/tfjs-backend-wasm',
      '@mediapipe/tasks-vision',
    ],
  },
});
