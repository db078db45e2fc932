/**
 * Module worker running both face landmarkers on the same frames (issue #11 feasibility):
 * the app's tfjs Face Mesh (src/engine/face/landmarker.ts, wasm backend as in the inference worker) and
 * MediaPipe Tasks' FaceLandmarker loaded from a locally built .task (tools/build-face-task.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
// @ts-expect-error -- the package's exports map names a missing ./vision_.d.ts; its types are in vision.d.ts (below).
import { FaceLandmarker as TasksLandmarkerImpl, FilesetResolver as FilesetResolverImpl } from '@mediapipe/tasks-vision';
import type { FaceLandmarker as TasksLandmarker, FilesetResolver as FilesetResolverT } from '../../node_modules/@mediapipe/tasks-vision/vision.d.ts';

const TasksLandmarkerCls = TasksLandmarkerImpl as typeof TasksLandmarker;
const FilesetResolver = FilesetResolverImpl as typeof FilesetResolverT;
import { FaceLandmarker as TfLandmarker } from '../../src/engine/face/landmarker.ts';

export type Req =
  | { type: 'init-tasks'; taskUrl: string; loader: 'importScripts' | 'eval'; mode: 'VIDEO' | 'IMAGE'; numFaces?: number }
  | { type: 'init-tfjs' }
  | { type: 'reset' }
  | { type: 'frame'; width: number; height: number; data: ArrayBuffer; t: number; run: ('tfjs' | 'tasks')[] };

let tasks: TasksLandmarker | null = null;
let tasksOpts: { taskUrl: string; mode: 'VIDEO' | 'IMAGE'; numFaces: number } | null = null;
let tfl: TfLandmarker | null = null;
let lastT = 0;

async function createTasks(taskUrl: string, mode: 'VIDEO' | 'IMAGE', numFaces: number): Promise<TasksLandmarker> {
  const fileset = await FilesetResolver.forVisionTasks(new URL('/mp-wasm', self.location.href).href);
  if (loaderMode === 'eval') {
    // tasks-vision clears self.ModuleFactory after each instantiation: set it again for every landmarker.
    (self as unknown as { ModuleFactory: unknown }).ModuleFactory = moduleFactory;
    fileset.wasmLoaderPath = '';
  }
  return TasksLandmarkerCls.createFromOptions(fileset, {
    baseOptions: { modelAssetPath: taskUrl, delegate: 'CPU' },
    runningMode: mode,
    numFaces,
  });
}
let loaderMode: 'importScripts' | 'eval' = 'importScripts';
let moduleFactory: unknown = null;

async function handle(req: Req): Promise<unknown> {
  switch (req.type) {
    case 'init-tasks': {
      loaderMode = req.loader;
      if (req.loader === 'eval' && !moduleFactory) {
        // A module worker cannot importScripts() the classic emscripten loader ("Module scripts don't support
        // importScripts()"): fetch it from our origin and evaluate it, keeping the factory it defines.
        const fileset = await FilesetResolver.forVisionTasks(new URL('/mp-wasm', self.location.href).href);
        const src = await (await fetch(fileset.wasmLoaderPath)).text();
        moduleFactory = new Function(`${src}\nreturn ModuleFactory;`)();
      }
      const t0 = performance.now();
      tasks = await createTasks(req.taskUrl, req.mode, req.numFaces ?? 1);
      tasksOpts = { taskUrl: req.taskUrl, mode: req.mode, numFaces: req.numFaces ?? 1 };
      return { ms: performance.now() - t0 };
    }
    case 'init-tfjs': {
      setWasmPaths(new URL('/tfjs/', self.location.href).href);
      await import('@tensorflow/tfjs-backend-wasm');
      tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
      if (!(await tf.setBackend('wasm'))) throw new Error('tfjs wasm backend failed');
      await tf.ready();
      const t0 = performance.now();
      tfl = await TfLandmarker.create({ modelBaseUrl: new URL('/models/face/', self.location.href).href });
      tfl.warmUp();
      return { ms: performance.now() - t0, backend: tf.getBackend() };
    }
    case 'reset': {
      tfl?.reset();
      if (tasks && tasksOpts) {
        tasks.close();
        tasks = await createTasks(tasksOpts.taskUrl, tasksOpts.mode, tasksOpts.numFaces);
      }
      return {};
    }
    case 'frame': {
      const out: Record<string, { ms: number; points: Float32Array | null; score?: number }> = {};
      const pixels = new Uint8ClampedArray(req.data);
      if (req.run.includes('tfjs') && tfl) {
        const t0 = performance.now();
        const r = tfl.detect({ width: req.width, height: req.height, data: pixels }, req.t);
        out.tfjs = { ms: performance.now() - t0, points: r ? r.points : null, score: r?.score };
      }
      if (req.run.includes('tasks') && tasks) {
        const t0 = performance.now();
        const image = new ImageData(pixels, req.width, req.height);
        const ts = Math.max(req.t, lastT + 1);
        lastT = ts;
        // VIDEO: tracking + MediaPipe's landmark smoothing (always on for numFaces 1); IMAGE: detector every frame.
        const r = tasksOpts?.mode === 'IMAGE' ? tasks.detect(image) : tasks.detectForVideo(image, ts);
        const ms = performance.now() - t0;
        const lm = r.faceLandmarks[0];
        let points: Float32Array | null = null;
        if (lm) {
          points = new Float32Array(lm.length * 3);
          lm.forEach((p, i) => {
            points![3 * i] = p.x * req.width;
            points![3 * i + 1] = p.y * req.height;
            points![3 * i + 2] = p.z * req.width;
          });
        }
        out.tasks = { ms, points };
      }
      return out;
    }
  }
}

self.onmessage = async (e: MessageEvent<{ id: number; req: Req }>) => {
  const { id, req } = e.data;
  try {
    const result = await handle(req);
    (self as unknown as Worker).postMessage({ id, ok: true, result });
  } catch (err) {
    const error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    (self as unknown as Worker).postMessage({ id, ok: false, error });
  }
};
