/** UI actions: owns the LiveSession and recording, and reports everything through the store. */
import { LiveSession } from '../client/liveSession.ts';
import { MediaAccessError } from '../client/mediaErrors.ts';
import { mutedMessage, silenceMessage } from '../client/deviceWatch.ts';
import type { Recording } from '../client/recorder.ts';
import { readModelFile } from '../client/modelFile.ts';
import { applyProgress, initialSteps } from '../client/startProgress.ts';
import { useAppStore, type DeviceOption } from './store.ts';

let session: LiveSession | undefined;
/** A generator manifest is a few kB; anything near this is the wrong file. */
const MAX_MANIFEST_BYTES = 1024 * 1024;
let recording: Recording | undefined;
/** A recording is being started (the worker prepares its encoders): a second click waits for it. */
let starting = false;
const store = () => useAppStore.getState();

/**
 * Query parameters let power users and tests pick a model or backend:
 * ?model=URL&backend=wasm&landmarks=wasm&faceThread=own|shared&paste=face|mouth
 */
function urlOptions() {
  const q = new URLSearchParams(location.search);
  return {
    manifestUrl: q.get('model') ?? undefined,
    generatorBackend: (q.get('backend') as 'auto' | 'webgpu' | 'wasm' | null) ?? undefined,
    landmarkBackend: (q.get('landmarks') as 'auto' | 'webgl' | 'webgpu' | 'wasm' | 'cpu' | null) ?? undefined,
    faceThread: (q.get('faceThread') as 'auto' | 'own' | 'shared' | null) ?? undefined,
    // Raw: a misspelt value is refused by the pipeline with a message, not quietly run as the default.
    pasteArea: (q.get('paste') as 'mouth' | 'face' | null) ?? undefined,
  };
}

/** The origin of a `?model=` URL when it is not this page's (undefined for same-origin or no model). */
export function foreignOrigin(manifestUrl: string | undefined, pageUrl: string): string | undefined {
  if (!manifestUrl) return undefined;
  let url: URL;
  try {
    url = new URL(manifestUrl, pageUrl);
  } catch {
    return undefined; // the worker reports an invalid URL with its own message
  }
  const origin = url.origin === 'null' ? `${url.protocol} URL` : url.origin;
  return url.origin === new URL(pageUrl).origin ? undefined : origin;
}

export function initFromUrl(): void {
  const o = urlOptions();
  const origin = foreignOrigin(o.manifestUrl, location.href);
  if (origin) store().set({ foreignModel: { url: o.manifestUrl!, origin } });
  store().set({
    ...(o.generatorBackend ? { generatorBackend: o.generatorBackend } : {}),
    ...(o.landmarkBackend ? { landmarkBackend: o.landmarkBackend } : {}),
  });
  navigator.mediaDevices?.addEventListener?.('devicechange', () => void refreshDevices());
  void refreshDevices();
}

export async function refreshDevices(): Promise<void> {
  if (!navigator.mediaDevices?.enumerateDevices) return;
  const devices = await navigator.mediaDevices.enumerateDevices();
  const pick = (kind: MediaDeviceKind, fallback: string): DeviceOption[] =>
    devices.filter((d) => d.kind === kind && d.deviceId).map((d, i) => ({ deviceId: d.deviceId, label: d.label || `${fallback} ${i + 1}` }));
  const cameras = pick('videoinput', 'Camera');
  const mics = pick('audioinput', 'Microphone');
  const { cameraId, micId } = store();
  // A chosen device that was unplugged cannot be reopened: Start falls back to the default one until it returns.
  const gone = (id: string | undefined, list: DeviceOption[]) => id !== undefined && list.length > 0 && !list.some((d) => d.deviceId === id);
  store().set({
    cameras,
    mics,
    ...(gone(cameraId, cameras) ? { cameraId: undefined } : {}),
    ...(gone(micId, mics) ? { micId: undefined } : {}),
  });
}

export function getSession(): LiveSession | undefined {
  return session;
}

export async function startLive(): Promise<void> {
  const s = store();
  if (s.phase !== 'idle') return;
  if (s.foreignModel && !s.foreignModel.decision) {
    s.addMessage('warning', 'foreign-model', `First choose above whether to load the model from ${s.foreignModel.origin} or use the built-in one.`);
    return;
  }
  s.set({ phase: 'starting', stats: undefined, startSteps: initialSteps() });
  s.clearMessages();
  const o = urlOptions();
  const manifestUrl = s.foreignModel?.decision === 'default' ? undefined : o.manifestUrl;
  s.set({ modelOrigin: s.foreignModel?.decision === 'load' ? s.foreignModel.origin : undefined });
  const live = new LiveSession({
    manifestUrl,
    generatorBackend: s.generatorBackend,
    landmarkBackend: s.landmarkBackend,
    faceThread: o.faceThread,
    pasteArea: o.pasteArea,
  });
  session = live;
  live.on('stats', (stats) => {
    store().set({ stats });
    if (!stats.faceVisible && stats.framesIn > 0) {
      store().addMessage(
        'warning',
        'no-face',
        'No face found: the output shows the camera unchanged. Face the camera in good light, close enough that your face fills about a fifth of the picture or more (the face finder misses small, distant faces).',
      );
    } else if (stats.faceVisible) store().clearMessages(['no-face']);
  });
  // Measured on the audio thread (a busy page cannot raise it); cleared on the first sound.
  live.on('audio-health', (h) => {
    if (session !== live) return;
    if (h.state === 'ok') store().clearMessages(['audio-silent']);
    else store().addMessage('warning', 'audio-silent', silenceMessage(h.label, h));
  });
  live.on('device-muted', (m) => {
    if (session !== live) return;
    const code = m.kind === 'camera' ? 'camera-muted' : 'mic-muted';
    if (m.muted) store().addMessage('warning', code, mutedMessage(m.kind, m.label));
    else store().clearMessages([code]);
  });
  live.on('error', (e) => {
    if (session !== live) return;
    const wasRecording = recording !== undefined;
    store().addMessage(e.fatal ? 'error' : 'warning', e.code, withAction(e.code, e.message, wasRecording));
    // Fatal: the session cannot go on (its camera or mic ended, the worker died). Stop cleanly: a recording in
    // progress is finished and offered for download, the settings stay, Start tries again.
    if (e.fatal && store().phase === 'live') void stopLive();
  });
  live.on('progress', (p) => {
    if (session === live) store().set({ startSteps: applyProgress(store().startSteps, p) });
  });
  // The app swaps in local files only: after a swap the model is no longer the other site's.
  live.on('model-changed', (backend) => store().set({ backend, modelOrigin: undefined }));
  try {
    await live.start({ cameraId: s.cameraId, micId: s.micId });
    const backend = live.backend;
    store().set({ phase: 'live', backend });
    if (backend?.generatorReason)
      store().addMessage(backend.generatorSlow ? 'warning' : 'info', 'backend', `Generator runs on ${backend.generator}: ${backend.generatorReason}.`);
    await refreshDevices(); // labels become available once permission is granted
  } catch (err) {
    session = undefined;
    if (cancelling === live) {
      // Whatever the cancel interrupted (a closed AudioContext, a terminated worker) is not the user's problem.
      cancelling = undefined;
      store().addMessage('info', 'start-cancelled', 'Start cancelled: the camera, microphone and generator were released. Press Start to try again.');
      store().set({ phase: 'idle', backend: undefined });
      return;
    }
    const code = err instanceof MediaAccessError ? err.code : ((err as { code?: string }).code ?? 'start-failed');
    store().addMessage('error', code, withAction(code, (err as Error).message, false));
    store().set({ phase: 'idle', backend: undefined });
  }
}

let cancelling: LiveSession | undefined;

/** A camera or microphone that ended: what the app does about it and what the user can do next. */
function withAction(code: string, message: string, recordingSaved: boolean): string {
  const saved = recordingSaved ? ' The recording in progress was saved: see Download recording.' : '';
  if (code === 'camera-ended') return `${message}${saved} Plug the camera back in or pick another in the Camera list, then press Start.`;
  if (code === 'mic-ended') return `${message}${saved} Plug the microphone back in or pick another in the Microphone list, then press Start.`;
  return message;
}

/** Cancel while starting: terminates the worker and releases camera, microphone and audio (startLive then goes idle). */
export async function cancelStart(): Promise<void> {
  if (!session || store().phase !== 'starting') return;
  cancelling = session;
  await session.stop();
}

export async function stopLive(): Promise<void> {
  if (!session) return;
  store().set({ phase: 'stopping' });
  if (recording) await toggleRecording();
  await session.stop();
  session = undefined;
  store().set({ phase: 'idle', stats: undefined });
}

export async function toggleRecording(): Promise<void> {
  if (recording) {
    const r = recording;
    recording = undefined;
    const blob = await r.stop();
    const prev = store().recorded;
    if (prev) URL.revokeObjectURL(prev.url);
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    store().set({ recording: false, recorded: { url: URL.createObjectURL(blob), bytes: blob.size, fileName: `lipsync-${stamp}.webm` } });
    return;
  }
  const live = session;
  if (!live || starting) return;
  starting = true;
  try {
    recording = await live.record();
    store().set({ recording: true });
  } catch (e) {
    store().addMessage('error', 'record', (e as Error).message);
  } finally {
    starting = false;
  }
}

/**
 * Loads a user's generator: an .onnx file, optionally with its manifest.json. Without a manifest
 * the model must fit the running contract (same input names and shapes).
 */
export async function loadModelFiles(files: FileList | File[]): Promise<void> {
  const list = Array.from(files);
  const onnx = list.find((f) => f.name.toLowerCase().endsWith('.onnx'));
  const manifestFile = list.find((f) => f.name.toLowerCase().endsWith('.json'));
  if (!onnx) {
    store().addMessage('error', 'bad-model', 'Choose an .onnx generator file (and optionally its manifest.json).');
    return;
  }
  if (!session) {
    store().addMessage('error', 'bad-model', 'Start live mode first, then load a model to swap it in.');
    return;
  }
  let manifest: unknown;
  if (manifestFile) {
    if (manifestFile.size > MAX_MANIFEST_BYTES) {
      store().addMessage(
        'error',
        'bad-model',
        `${manifestFile.name} is ${(manifestFile.size / 2 ** 20).toFixed(1)} MB: that is not a generator manifest (they are a few kB).`,
      );
      return;
    }
    try {
      manifest = JSON.parse(await manifestFile.text());
    } catch {
      store().addMessage('error', 'bad-model', `${manifestFile.name} is not valid JSON.`);
      return;
    }
  }
  store().set({ modelBusy: true });
  try {
    const backend = await session.setModel({ modelBytes: await readModelFile(onnx), manifest, label: onnx.name });
    store().set({ backend });
    store().clearMessages(['bad-model']);
    store().addMessage('info', 'model', `Now using ${onnx.name}.`);
  } catch (e) {
    // Stopped while the model was loading: nothing runs, so "the previous model is still running" would be false.
    if ((e as { code?: string }).code === 'closed' || session === undefined) {
      store().addMessage('info', 'model', `Live mode stopped before ${onnx.name} was swapped in. Start again, then load it.`);
      return;
    }
    store().addMessage('error', 'bad-model', `${(e as Error).message} The previous model is still running.`);
  } finally {
    store().set({ modelBusy: false });
  }
}
