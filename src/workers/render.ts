/**
 * Render mode in a worker: a face video (or image) + a speech track in, a lip-synced video file out,
 * every frame at the source's frame rate, as fast as this machine goes (not in real time).
 *
 * Runs in the inference worker's script started under RENDER_WORKER_NAME (one worker file serves the app
 * and the library). Decoding and encoding: mediaFiles.ts (mediabunny); the frames: engine/render.
 */
import * as ort from 'onnxruntime-web';
import { wasmThreadCount, type GeneratorRunner } from '../engine/generator/runner.ts';
import { LipsyncPipeline, type LandmarkSource } from '../engine/pipeline/lipsyncPipeline.ts';
import { planRender } from '../engine/render/renderPlan.ts';
import { RenderError, renderAudioFrom, renderFrames, throwIfCancelled } from '../engine/render/renderLoop.ts';
import { startFaceTracking, type FaceTracker } from './faceTracking.ts';
import { chooseGeneratorBackends, planThreads } from './gpuProbe.ts';
import { createVideoOutput, openFaceMedia, openSpeech, type FaceMedia, type SpeechTrack, type VideoOutput } from './mediaFiles.ts';
import { loadGeneratorFromBytes, ModelLoadError } from './modelLoader.ts';
import { loadBuildFor, startGenerator } from './generatorStart.ts';
import type { FromRenderWorker, RenderConfig, RenderJob, RenderProgressMessage, ToRenderWorker } from './protocol.ts';

export const RENDER_WORKER_NAME = 'lipsync-render';

/** The pipeline finds no faces itself in a render: every frame's landmarks come from the face tracker. */
const TRACKED_ELSEWHERE: LandmarkSource = {
  detect() {
    throw new Error('render mode: landmarks come from the face tracker');
  },
};

export function serveRender(scope: DedicatedWorkerGlobalScope): void {
  const post = (msg: FromRenderWorker) => scope.postMessage(msg);
  let abort: AbortController | undefined;
  scope.onmessage = (e: MessageEvent<ToRenderWorker>) => {
    const msg = e.data;
    if (msg.type === 'cancel') abort?.abort();
    else if (msg.type === 'render') {
      if (abort) return post({ type: 'render-error', code: 'render-failed', message: 'A render is already running in this worker.' });
      abort = new AbortController();
      render(msg.config, msg.job, abort.signal, (p) => post({ type: 'render-progress', progress: p }))
        .then((result) => post({ type: 'render-done', result }))
        .catch((err) => {
          const code = err instanceof RenderError || err instanceof ModelLoadError ? err.code : 'render-failed';
          post({ type: 'render-error', code, message: (err as Error).message || String(err) });
        })
        .finally(() => (abort = undefined));
    }
  };
}

async function render(config: RenderConfig, job: RenderJob, signal: AbortSignal, progress: (p: RenderProgressMessage) => void) {
  const report = (stage: RenderProgressMessage['stage'], done = 0, total = 0, etaMs = NaN, facesFound = 0) =>
    progress({ stage, done, total, etaMs, facesFound });
  report('loading');
  let face: FaceMedia | undefined;
  let speech: SpeechTrack | undefined;
  let output: VideoOutput | undefined;
  let runner: GeneratorRunner | undefined;
  let faces: FaceTracker | undefined;
  try {
    // Inputs first: a wrong file is reported before any model is downloaded.
    face = await openFaceMedia(job.face);
    throwIfCancelled(signal);
    report('decoding-audio');
    speech = await openSpeech(job.audio, signal);
    const audio = renderAudioFrom(speech.samples16k, 16000);
    const plan = planRender({ sourceFrames: face.frameCount, fps: face.fps, audioSeconds: audio.seconds, tail: job.tail, maxSeconds: job.maxSeconds });
    report('loading', 0, plan.outputFrames);

    ort.env.wasm.wasmPaths = config.ortWasmBaseUrl;
    // With cores to spare, face tracking gets a thread of its own and finds frame n+1 while the generator paints
    // frame n. Not on 2 cores: the video encoder and decoder already use the second one (measured 7.2 frames/s
    // split vs 8.1 shared there, landmarks taking 129 ms instead of 53), so 'auto' splits from 4 cores, as live.
    const threads = planThreads(config.faceThread, navigator.hardwareConcurrency ?? 1, wasmThreadCount());
    const faceConfig = { faceModelBaseUrl: config.faceModelBaseUrl, tfWasmBaseUrl: config.tfWasmBaseUrl, landmarkBackend: config.landmarkBackend };
    // The backend first, so that only the build of the generator it runs is downloaded.
    const decision = await chooseGeneratorBackends(config.generatorBackend);
    const [downloaded, tracker] = await Promise.all([
      config.manifestUrl
        ? loadBuildFor(config.manifestUrl, decision.order[0])
        : Promise.resolve(loadGeneratorFromBytes(new Uint8Array(config.modelBytes!), config.manifest, config.modelLabel ?? 'custom model')),
      startFaceTracking(faceConfig, threads.faceOwnThread ? self.location.href : undefined, () => {}),
    ]);
    faces = tracker;
    throwIfCancelled(signal);
    const started = await startGenerator(downloaded, {
      ort,
      preferredBackends: decision.order,
      wasmThreads: tracker.ownThread ? threads.generatorThreads : undefined,
    });
    runner = started.runner;
    const loaded = started.loaded;
    const pipeline = new LipsyncPipeline(TRACKED_ELSEWHERE, runner, loaded.manifest, { smooth: face.kind === 'video', pasteArea: config.pasteArea });

    output = await createVideoOutput(face.width, face.height, plan.fps);
    const summary = await renderFrames({
      pipeline,
      source: face,
      sink: output,
      audio,
      plan,
      tracker: {
        offThread: tracker.ownThread,
        track: (image, timestampMs) => tracker.trackImage(image, timestampMs),
        readOutput: (image, near) => tracker.readOutput(image, near),
      },
      signal,
      onProgress: (p) => report('rendering', p.done, p.total, p.etaMs, p.facesFound),
    });
    report('encoding-audio', summary.frames, plan.outputFrames, 0, summary.facesFound);
    const seconds = plan.outputFrames / plan.fps;
    const file = await output.finish(speech, Math.min(seconds, audio.seconds), signal);
    return {
      ...file,
      frames: summary.frames,
      fps: plan.fps,
      seconds,
      facesFound: summary.facesFound,
      renderFps: summary.fps,
      stages: summary.stages,
      backend: { generator: runner.backend, landmarks: tracker.backend, modelName: loaded.label },
      faceThread: tracker.ownThread,
    };
  } catch (e) {
    await output?.cancel(); // nothing half-written is offered
    throw e;
  } finally {
    face?.close();
    speech?.close();
    await runner?.dispose();
    await faces?.close();
  }
}
