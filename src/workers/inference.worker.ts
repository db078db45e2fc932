/// <reference lib="webworker" />
/**
 * Inference worker: camera frames in, lip-synced frames out, all off the main thread.
 *
 * Two stages:
 *  A. take the NEWEST camera frame (older ones are dropped and counted) and hand it to the face
 *     tracker (faceTracking.ts: a nested worker when there are cores to spare, else this thread):
 *     pixels + landmarks come back; cut the crops; queue the frame until its audio has arrived.
 *  B. when the mel window around a queued frame is complete (lookahead included), run the
 *     generator, paste the mouth back and write the frame to the output track.
 * A frame's audio arrives ~lookahead + one worklet block after the frame itself, so stage A of later
 * frames overlaps stage B's wait (and, on its own thread, stage B's work).
 *
 * Started under the name FACE_WORKER_NAME, this same script is that face tracker instead.
 */
import * as ort from 'onnxruntime-web';
import type { RgbaImage } from '../engine/types.ts';
import { wasmThreadCount, type GeneratorBackend, type GeneratorRunner } from '../engine/generator/runner.ts';
import type { MelWorkletMessage } from '../engine/audio/messages.ts';
import { LipsyncPipeline, type PreparedFrame } from '../engine/pipeline/lipsyncPipeline.ts';
import { LiveScheduler } from '../engine/live/scheduler.ts';
import { LatencyTracker } from '../engine/live/avSync.ts';
import { PipelineStats } from '../engine/live/stats.ts';
import { BufferPool } from '../engine/live/bufferPool.ts';
import { readRgba, rgbaFrame } from './frameIo.ts';
import { FACE_WORKER_NAME, serveFaceTracking, startFaceTracking, type FaceTracker, type TrackedFrame } from './faceTracking.ts';
import { chooseGeneratorBackends, planThreads, type BackendDecision, type ThreadPlan } from './gpuProbe.ts';
import { loadBuildFor, startGenerator } from './generatorStart.ts';
import { loadGeneratorFromBytes, ModelLoadError, type LoadedGenerator } from './modelLoader.ts';
import type { BackendInfo, FromWorker, StartProgress, ToWorker, WorkerConfig } from './protocol.ts';
import { RENDER_WORKER_NAME, serveRender } from './render.ts';
import { LiveRecorder } from './liveRecorder.ts';

const scope = self as unknown as DedicatedWorkerGlobalScope;
const epochNow = () => performance.timeOrigin + performance.now();
const post = (msg: FromWorker, transfer: Transferable[] = []) => scope.postMessage(msg, transfer);

interface Queued {
  image: RgbaImage;
  timestamp: number;
  duration: number | null;
  epochMs: number;
  prepared: PreparedFrame | null;
  captureMs: number;
  /** False when the frame is passed through unchanged (no face, no model): it needs no audio. */
  needsAudio: boolean;
  /** The generated mouth was pasted into `image` (it may be read back for the mouth placement). */
  painted?: boolean;
}

let config: WorkerConfig | undefined;
let initDone: Promise<void> | undefined;
let faces: FaceTracker | undefined;
let generatorSlow = false;
let runner: GeneratorRunner | undefined;
/** What the runner runs (for its label, and to reload the other build of it if the backend changes). */
let generatorLoaded: LoadedGenerator | undefined;
let pipeline: LipsyncPipeline | undefined;
let running = false;
let firstFrameOut = false;
/** The camera's frames: the stream until reading starts, then its reader (cancelled on stop). */
let cameraIn: ReadableStream<VideoFrame> | ReadableStreamDefaultReader<VideoFrame> | undefined;
/** Resolves when the read loop over the camera stream has ended. */
let cameraEnded: Promise<void> = Promise.resolve();
/** How long stop() waits for the camera stream to end before cancelling it. */
const DRAIN_MS = 1000;

// Which frame is generated with which audio, and what is dropped: src/engine/live/scheduler.ts.
const scheduler = new LiveScheduler<VideoFrame, Queued>({ now: epochNow, release: (f) => f.close() });
const latency = new LatencyTracker();
const stats = new PipelineStats({ now: epochNow });
let faceVisible = false;
/** The latest prepared face's articulation (the person's opening range), for the stats. */
let articulation: [number, number] | null = null;

/** The frames' RGBA copies, reused once written out (no per-frame megabytes for the GC). */
const pixelPool = new BufferPool();
let writer: WritableStreamDefaultWriter<VideoFrame> | undefined;
let wakeGenerate: (() => void) | undefined;
let statsTimer: ReturnType<typeof setInterval> | undefined;

if (scope.name === FACE_WORKER_NAME) serveFaceTracking(scope);
else if (scope.name === RENDER_WORKER_NAME) serveRender(scope);
else
  scope.onmessage = (e: MessageEvent<ToWorker>) => {
    const msg = e.data;
    switch (msg.type) {
      case 'init':
        config = msg.config;
        initDone = init(msg.config).catch((err) => {
          const code = err instanceof ModelLoadError ? err.code : 'pipeline';
          post({ type: 'error', code, message: (err as Error).message, fatal: true });
          throw err;
        });
        // Reported above; the page may never send 'start' after a failed init, so nobody else awaits this.
        initDone.catch(() => {});
        break;
      case 'start':
        void start(msg.readable, msg.writable, msg.melPort);
        break;
      case 'clock':
        scheduler.addClockPair(msg.contextTime, msg.epochMs);
        break;
      case 'set-model':
        void setModel(msg);
        break;
      case 'record-start':
        void startRecording(msg.requestId);
        break;
      case 'record-stop':
        void finishRecording(msg.requestId);
        break;
      case 'stop':
        void stop();
        break;
    }
  };

/** Who gets the cores (face thread or not, generator threads): see planThreads. */
let threads: ThreadPlan = planThreads('auto', 1, 1);

async function init(cfg: WorkerConfig): Promise<void> {
  threads = planThreads(cfg.faceThread ?? 'auto', navigator.hardwareConcurrency ?? 1, wasmThreadCount());
  ort.env.wasm.wasmPaths = cfg.ortWasmBaseUrl;
  progress({ step: 'model', status: 'start', detail: cfg.manifestUrl.split('/').slice(-2).join('/') });
  // The backend first, so that only the build of the generator it runs is downloaded.
  const decision = await chooseGeneratorBackends(cfg.generatorBackend);
  const download = loadBuildFor(
    cfg.manifestUrl,
    decision.order[0],
    throttled((loaded, total) => progress({ step: 'model', status: 'progress', loaded, total })),
  );
  const [loaded] = await Promise.all([
    download.then((g) => (progress({ step: 'model', status: 'done', loaded: g.bytes.byteLength, total: g.bytes.byteLength }), g)),
    initLandmarks(cfg),
  ]);
  await activateGenerator(loaded, true, decision);
  post({ type: 'ready', backend: backendInfo() });
}

const progress = (p: StartProgress) => post({ type: 'progress', progress: p });

/** Download progress at most every 100 ms: a fast local download would otherwise flood the page. */
function throttled(fn: (loaded: number, total?: number) => void): (loaded: number, total?: number) => void {
  let last = 0;
  return (loaded, total) => {
    const now = performance.now();
    if (now - last < 100) return;
    last = now;
    fn(loaded, total);
  };
}

async function initLandmarks(cfg: WorkerConfig): Promise<void> {
  try {
    faces = await startFaceTracking(
      { faceModelBaseUrl: cfg.faceModelBaseUrl, tfWasmBaseUrl: cfg.tfWasmBaseUrl, landmarkBackend: cfg.landmarkBackend },
      threads.faceOwnThread ? scope.location.href : undefined,
      progress,
    );
  } catch (e) {
    throw Object.assign(new Error((e as Error).message), { code: 'face-model' });
  }
}

/** The pipeline's landmark source: landmarks arrive with each tracked frame, so only reset is forwarded. */
const trackedElsewhere = {
  detect(): never {
    throw new Error('Landmarks are tracked on the face thread; use prepareWithLandmarks.');
  },
  reset: () => faces?.reset(),
};

/** `starting`: report the steps and run the generator once before the first frame needs it. */
async function activateGenerator(loaded: LoadedGenerator, starting = false, decision?: BackendDecision<GeneratorBackend>): Promise<void> {
  decision ??= await chooseGeneratorBackends(config!.generatorBackend);
  if (starting) progress({ step: 'generator', status: 'start', detail: `on ${decision.order[0]}` });
  const started = await startGenerator(loaded, {
    ort,
    preferredBackends: decision.order,
    // With face tracking on a core of its own, the generator's wasm threads take the rest (more would make
    // the two fight over cores).
    wasmThreads: faces?.ownThread ? threads.generatorThreads : undefined,
  });
  const next = started.runner;
  if (decision.reason && !next.fallbackReason) next.fallbackReason = decision.reason;
  generatorSlow = Boolean(decision.slow) && next.backend === 'webgpu';
  if (starting) {
    progress({ step: 'generator', status: 'done', detail: `on ${next.backend}` });
    progress({ step: 'warmup', status: 'start', detail: `on ${next.backend}` });
    await next.warmUp();
    progress({ step: 'warmup', status: 'done', detail: `on ${next.backend}` });
  }
  const previous = runner;
  runner = next;
  generatorLoaded = started.loaded;
  if (pipeline) pipeline.setGenerator(next, started.loaded.manifest);
  else pipeline = new LipsyncPipeline(trackedElsewhere, next, started.loaded.manifest, { pasteArea: config?.pasteArea });
  await previous?.dispose();
}

function backendInfo(): BackendInfo {
  return {
    generator: runner!.backend,
    generatorReason: runner!.fallbackReason,
    generatorSlow,
    landmarks: faces?.backend ?? 'cpu',
    landmarksReason: [faces?.reason, threads.reason].filter(Boolean).join('; '),
    landmarksOwnThread: faces?.ownThread ?? false,
    modelName: generatorLoaded?.label ?? '',
    threads: ort.env.wasm.numThreads ?? 1,
    articulationInput: Boolean(runner!.manifest.inputs.articulation),
  };
}

async function setModel(msg: Extract<ToWorker, { type: 'set-model' }>): Promise<void> {
  try {
    await initDone;
    const loaded = msg.manifestUrl
      ? await loadBuildFor(msg.manifestUrl, runner?.backend ?? 'webgpu')
      : loadGeneratorFromBytes(new Uint8Array(msg.modelBytes!), msg.manifest ?? pipeline!.contract, msg.label ?? 'custom model');
    await activateGenerator(loaded);
    post({ type: 'model-changed', requestId: msg.requestId, backend: backendInfo() });
  } catch (e) {
    const code = e instanceof ModelLoadError ? e.code : 'bad-model';
    // The running model stays active: nothing is lost.
    post({ type: 'error', code, message: (e as Error).message, fatal: false, requestId: msg.requestId });
  }
}

async function start(readable: ReadableStream<VideoFrame>, writable: WritableStream<VideoFrame>, melPort: MessagePort): Promise<void> {
  running = true;
  cameraIn = readable;
  writer = writable.getWriter();
  melPort.onmessage = (e: MessageEvent<MelWorkletMessage>) => onMel(e.data);
  statsTimer = setInterval(postStats, 250);
  try {
    await initDone;
  } catch {
    // Without a model we still show the camera, unchanged, so the user is never left with a frozen output.
  }
  void generateLoop();
  if (!running) return; // stopped (Cancel) while the model was loading
  const reader = readable.getReader();
  cameraIn = reader;
  void prepareLoop();
  let ended: () => void = () => undefined;
  cameraEnded = new Promise<void>((r) => (ended = r));
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done || !value) {
        // The track ended under us (unplugged, taken, stopped): say so instead of freezing on the last frame.
        if (running) post({ type: 'error', code: 'camera-ended', message: 'The camera stopped: its video track ended.', fatal: true });
        break;
      }
      if (!running) {
        // Stopping: the page has ended the source; close what is still on its way until the stream ends.
        value.close();
        continue;
      }
      stats.count('framesIn');
      scheduler.offerFrame(value, epochNow(), value.timestamp);
      wakePrepare?.();
    }
  } catch (e) {
    if (running) post({ type: 'error', code: 'camera-ended', message: `The camera stopped: reading its video failed (${(e as Error).message}).`, fatal: true });
  } finally {
    reader.releaseLock();
    ended();
  }
}

/**
 * Closes every frame still travelling from the page (a transferred stream holds some in the page's realm: a
 * cancel() would drop those unclosed, for the garbage collector to find) by reading until the stream ends,
 * which it does once the page stops the source; cancels whatever is left after DRAIN_MS.
 */
async function drainCamera(camera: typeof cameraIn): Promise<void> {
  if (!camera) return;
  const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), DRAIN_MS));
  if (camera instanceof ReadableStream) {
    // Stopped before the read loop began (a model still loading): drain here.
    const reader = camera.getReader();
    const drain = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        value?.close();
        if (done) return;
      }
    })().catch(() => undefined);
    if ((await Promise.race([drain, timeout])) === 'timeout') await reader.cancel().catch(() => undefined);
    return;
  }
  if ((await Promise.race([cameraEnded, timeout])) === 'timeout') await camera.cancel().catch(() => undefined);
}

function onMel(msg: MelWorkletMessage): void {
  if (msg.type === 'pcm') {
    recorder?.addAudio(msg.startContextTime, msg.samples, msg.sampleRate);
    return;
  }
  if (msg.type !== 'mel') return;
  scheduler.pushMel(msg);
  wakeGenerate?.();
}

let wakePrepare: (() => void) | undefined;
/** Frames between the scheduler and the output (for the honest in-flight count). */
let preparing = 0;
let generating = 0;

/**
 * A frame's pixels (in a pooled buffer) and landmarks, from the face thread; without a face tracker (its
 * model failed to load) just the pixels, so the camera still shows.
 */
async function track(frame: VideoFrame, epochMs: number): Promise<TrackedFrame> {
  const rect = frame.visibleRect;
  const buffer = pixelPool.acquire((rect?.width ?? frame.displayWidth) * (rect?.height ?? frame.displayHeight) * 4);
  if (faces) return faces.track(frame, buffer, epochMs);
  const t0 = epochNow();
  try {
    const image = await readRgba(frame, (bytes) => (bytes === buffer.byteLength ? buffer : new Uint8ClampedArray(bytes)));
    return { image, landmarks: null, captureMs: epochNow() - t0, landmarksMs: 0 };
  } finally {
    frame.close();
  }
}

/** Stage A: newest camera frame → pixels + landmarks (face thread) → crops. */
async function prepareLoop(): Promise<void> {
  while (running) {
    const item = scheduler.takeFrame();
    if (!item) {
      await new Promise<void>((r) => (wakePrepare = r));
      wakePrepare = undefined;
      continue;
    }
    const frame = item.captured;
    preparing = 1;
    // Read before the frame moves to the face thread (a transferred frame is closed here).
    const { timestamp, duration } = frame;
    try {
      const tracked = await track(frame, item.epochMs);
      const queued: Queued = {
        image: tracked.image,
        timestamp,
        duration,
        epochMs: item.epochMs,
        prepared: null,
        captureMs: tracked.captureMs,
        needsAudio: false,
      };
      if (pipeline && faces) {
        queued.prepared = pipeline.prepareWithLandmarks(tracked.image, tracked.landmarks, item.epochMs, tracked.landmarksMs);
        stats.record('landmarks', tracked.landmarksMs);
        if (queued.prepared) stats.record('crop', queued.prepared.timings.cropMs);
        else stats.count('noFace');
        faceVisible = queued.prepared !== null;
        if (queued.prepared) articulation = queued.prepared.articulation ? [queued.prepared.articulation[0], queued.prepared.articulation[1]] : null;
      }
      queued.needsAudio = queued.prepared !== null;
      stats.record('capture', queued.captureMs);
      scheduler.enqueue(queued);
      stats.dropped = scheduler.droppedTotal;
      wakeGenerate?.();
    } catch (e) {
      frame.close();
      scheduler.countFailed();
      post({ type: 'error', code: 'pipeline', message: `Frame processing failed: ${(e as Error).message}`, fatal: false });
    } finally {
      preparing = 0;
    }
    // The camera's next frame is a frame time away: room for an output read on this thread.
    readOutputInLine();
    // Yield so messages (mel blocks, clock) are handled between frames.
    await new Promise((r) => setTimeout(r, 0));
  }
}

/** Stage B: frames whose audio is complete → generator → paste → output track. */
async function generateLoop(): Promise<void> {
  while (running) {
    const manifest = pipeline?.contract;
    const next = scheduler.takeReady(manifest?.audioWindow.past ?? 0, manifest?.audioWindow.lookahead ?? 1);
    stats.dropped = scheduler.droppedTotal;
    if (!next) {
      await new Promise<void>((r) => {
        wakeGenerate = r;
        setTimeout(r, 20); // re-check audio timeouts even when no new audio arrives
      });
      wakeGenerate = undefined;
      continue;
    }
    const { item, audio } = next;
    // From capture until the generator takes the frame: the wait for its audio lookahead, with preparing the frame
    // running alongside it, or for the generator to finish the previous frame (the bench's latency budget reads it).
    stats.record('to generator', epochNow() - item.epochMs);
    generating = 1;
    try {
      if (item.prepared && pipeline && audio) {
        // Prepared before a hot swap to a model with another crop: cut again for the running one.
        item.prepared = pipeline.recut(item.image, item.prepared);
        const t0 = epochNow();
        const generated = await pipeline.generate(item.prepared, audio);
        const t1 = epochNow();
        pipeline.paste(item.image, item.prepared, generated);
        item.painted = true;
        stats.record('inference', t1 - t0);
        stats.record('blend', epochNow() - t1);
      }
      const tw = epochNow();
      await writeFrame(item);
      stats.record('output', epochNow() - tw);
      if (!firstFrameOut) {
        firstFrameOut = true;
        progress({ step: 'first-frame', status: 'done', detail: item.prepared ? 'lip-synced' : 'camera passed through' });
      }
      const now = epochNow();
      latency.add(item.epochMs, now);
      stats.record('total', now - item.epochMs);
      stats.frameOut(now);
    } catch (e) {
      scheduler.countFailed();
      await handleGeneratorFailure(e as Error);
    } finally {
      generating = 0;
    }
  }
}

async function writeFrame(item: Queued): Promise<void> {
  // After Stop the writer is closing: a frame written now would be refused and left to the garbage collector.
  if (!writer || !running) return;
  const out = rgbaFrame(item.image, item.timestamp, item.duration ?? undefined);
  outputWidth = item.image.width;
  outputHeight = item.image.height;
  const audioS = recorder && scheduler.audioTimeFor(item.epochMs);
  if (recorder && audioS !== undefined) recorder.addFrame(out.clone(), audioS);
  try {
    await writer.write(out);
  } finally {
    // Ours to close either way: a refused frame, and an accepted one too where the transferred writable hands the
    // track a clone (close() is a no-op if the track already closed it). Left open, the garbage collector finds it.
    out.close();
    // After the frame is out: a read on this thread (no face thread) then never delays it.
    releasePixels(item);
  }
}

/**
 * The output's pixels go back to the pool, after a detour through the face tracker when the mouth placement wants this
 * output read (one frame in PLACEMENT_EVERY; face/mouthPlacement.ts): where the generator drew the mouth on it, against
 * the person's own, moves the mouths pasted from the next frames on. On a face thread the read runs beside the next
 * frames. Without one it waits for the prepare loop (readOutputInLine), which runs it just after taking a camera frame:
 * read here, it held up the camera's next frame (bench: camera drops 3 % -> 8 %).
 */
function releasePixels(item: Queued): void {
  const pixels = item.image.data as Uint8ClampedArray<ArrayBuffer>;
  const p = pipeline;
  const prepared = item.prepared;
  if (!item.painted || !prepared || !p || !faces || !p.wantsOutputLandmarks(prepared)) {
    pixelPool.release(pixels);
    return;
  }
  if (faces.ownThread) readOutput(faces, { image: item.image, prepared, pipeline: p });
  else {
    if (waitingRead) pixelPool.release(waitingRead.image.data as Uint8ClampedArray<ArrayBuffer>); // superseded by a newer output
    waitingRead = { image: item.image, prepared, pipeline: p };
  }
}

interface OutputRead {
  image: RgbaImage;
  prepared: PreparedFrame;
  pipeline: LipsyncPipeline;
}
/** Without a face thread: the newest output waiting to be read by the prepare loop. */
let waitingRead: OutputRead | undefined;

function readOutputInLine(): void {
  const r = waitingRead;
  waitingRead = undefined;
  if (r && faces) readOutput(faces, r);
}

function readOutput(tracker: FaceTracker, { image, prepared, pipeline: p }: OutputRead): void {
  tracker.readOutput(image, prepared.landmarks.points).then(
    (read) => {
      // A swap or restart meanwhile is ignored by the pipeline itself (observeOutput: frames before it do not count).
      if (read.landmarks) p.observeOutput(prepared, read.landmarks.points);
      stats.record('mouth read', read.landmarksMs);
      pixelPool.release(read.image.data as Uint8ClampedArray<ArrayBuffer>);
    },
    () => undefined, // a failed read loses one reading (and one pooled buffer), never a frame
  );
}

async function handleGeneratorFailure(err: Error): Promise<void> {
  if (!running) return;
  if (runner?.backend === 'webgpu') {
    post({
      type: 'error',
      code: 'webgpu-lost',
      message: `The GPU stopped responding (${err.message}). Switched to the wasm backend; live mode continues, slower.`,
      fatal: false,
    });
    try {
      config = { ...config!, generatorBackend: 'wasm' };
      // On wasm now: the generator's cpu build, if its manifest has one.
      await activateGenerator(generatorLoaded!);
      post({ type: 'model-changed', requestId: -1, backend: backendInfo() });
      return;
    } catch (e) {
      err = e as Error;
    }
  }
  post({ type: 'error', code: 'pipeline', message: `Generating a frame failed: ${err.message}`, fatal: false });
}

function postStats(): void {
  const snap = stats.snapshot();
  post({
    type: 'stats',
    stats: {
      ...snap,
      framesOffered: scheduler.framesOffered,
      droppedBy: { ...scheduler.dropped },
      inFlight: scheduler.heldCount + preparing + generating,
      audioDelayMs: latency.audioDelaySeconds * 1000,
      faceVisible,
      articulation,
      mouthShift: pipeline ? [pipeline.mouthShift[0], pipeline.mouthShift[1]] : null,
      openingGain: pipeline && runner?.manifest.inputs.openingGain ? pipeline.openingGain : null,
      audioStalled: scheduler.audioStalled,
    },
  });
}

/** The recording in progress (see liveRecorder.ts), and the size of the frames written out, which it encodes. */
let recorder: LiveRecorder | undefined;
let outputWidth = 0;
let outputHeight = 0;
let recorderStarting = false;
let recorderFinishing = false;

async function startRecording(requestId: number): Promise<void> {
  const fail = (message: string) => post({ type: 'error', code: 'record', message, fatal: false, requestId });
  const startS = scheduler.audioTimeNow();
  if (recorder || recorderStarting) return fail('Already recording.');
  if (!running || outputWidth === 0 || startS === undefined) return fail('Nothing to record yet: wait for the first output frame.');
  recorderStarting = true;
  try {
    recorder = await LiveRecorder.start(startS, outputWidth, outputHeight);
    post({ type: 'recording', requestId });
  } catch (e) {
    fail((e as Error).message);
  } finally {
    recorderStarting = false;
  }
}

async function finishRecording(requestId: number): Promise<void> {
  const r = recorder;
  if (!r || recorderFinishing) return post({ type: 'error', code: 'record', message: 'Not recording.', fatal: false, requestId });
  recorderFinishing = true;
  try {
    // The recorder keeps taking frames and audio until it has everything generated from audio before now.
    const bytes = await r.finish(scheduler.audioTimeNow() ?? Infinity);
    post({ type: 'recorded', requestId, bytes, frames: r.framesWritten, framesSkipped: r.framesSkipped }, [bytes]);
  } catch (e) {
    post({ type: 'error', code: 'record', message: (e as Error).message, fatal: false, requestId });
  } finally {
    if (recorder === r) recorder = undefined;
    recorderFinishing = false;
  }
}

async function stop(): Promise<void> {
  running = false;
  // A recording still running here was not finished by the page (it finishes one before stopping): drop it.
  void recorder?.cancel();
  recorder = undefined;
  if (statsTimer) clearInterval(statsTimer);
  scheduler.clear();
  waitingRead = undefined;
  // The page ends the face source when it reads this, and the frames still on their way are closed as they come.
  post({ type: 'stopping' });
  const camera = cameraIn;
  cameraIn = undefined;
  await drainCamera(camera);
  wakePrepare?.();
  wakeGenerate?.();
  try {
    await writer?.close();
  } catch {
    /* the track may already be gone */
  }
  // The face thread first: a frame it holds must be closed there before the session's stop grace runs out.
  await Promise.all([faces?.close(), runner?.dispose()]);
  post({ type: 'stopped' });
}
