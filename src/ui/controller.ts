/** UI actions: owns the LiveSession and recording, and reports everything through the store. */
import { LiveSession } from '../client/liveSession.ts';
import { MediaAccessError } from '../client/mediaErrors.ts';
import { startRecording, type Recording } from '../client/recorder.ts';
import { useAppStore, type DeviceOption } from './store.ts';

let session: LiveSession | undefined;
let recording: Recording | undefined;
const store = () => useAppStore.getState();

/** Query parameters let power users and tests pick a model or backend: ?model=URL&backend=wasm&landmarks=wasm */
function urlOptions() {
  const q = new URLSearchParams(location.search);
  return {
    manifestUrl: q.get('model') ?? undefined,
    generatorBackend: (q.get('backend') as 'auto' | 'webgpu' | 'wasm' | null) ?? undefined,
    landmarkBackend: (q.get('landmarks') as 'auto' | 'webgl' | 'webgpu' | 'wasm' | 'cpu' | null) ?? undefined,
  };
}

export function initFromUrl(): void {
  const o = urlOptions();
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
    devices
      .filter((d) => d.kind === kind && d.deviceId)
      .map((d, i) => ({ deviceId: d.deviceId, label: d.label || `${fallback} ${i + 1}` }));
  store().set({ cameras: pick('videoinput', 'Camera'), mics: pick('audioinput', 'Microphone') });
}

export function getSession(): LiveSession | undefined {
  return session;
}

export async function startLive(): Promise<void> {
  const s = store();
  if (s.phase !== 'idle') return;
  s.set({ phase: 'starting', stats: undefined });
  s.clearMessages();
  const o = urlOptions();
  const live = new LiveSession({
    manifestUrl: o.manifestUrl,
    generatorBackend: s.generatorBackend,
    landmarkBackend: s.landmarkBackend,
  });
  session = live;
  live.on('stats', (stats) => {
    store().set({ stats });
    if (!stats.faceVisible && stats.framesIn > 0) {
      store().addMessage('warning', 'no-face', 'No face in view: the output shows the camera unchanged. Face the camera in good light.');
    } else if (stats.faceVisible) store().clearMessages(['no-face']);
    if (stats.audioStalled) store().addMessage('warning', 'audio-stalled', 'No sound is arriving from the microphone; lips are driven by silence. Check the microphone and its mute switch.');
    else store().clearMessages(['audio-stalled']);
  });
  live.on('error', (e) => store().addMessage(e.fatal ? 'error' : 'warning', e.code, e.message));
  live.on('model-changed', (backend) => store().set({ backend }));
  try {
    await live.start({ cameraId: s.cameraId, micId: s.micId });
    const backend = live.backend;
    store().set({ phase: 'live', backend });
    if (backend?.generatorReason) store().addMessage('info', 'backend', `Generator runs on ${backend.generator}: ${backend.generatorReason}.`);
    await refreshDevices(); // labels become available once permission is granted
  } catch (err) {
    session = undefined;
    const code = err instanceof MediaAccessError ? err.code : ((err as { code?: string }).code ?? 'start-failed');
    store().addMessage('error', code, (err as Error).message);
    store().set({ phase: 'idle', backend: undefined });
  }
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
  const stream = session?.outputStream;
  if (!stream) return;
  try {
    recording = startRecording(stream);
    store().set({ recording: true });
  } catch (e) {
    store().addMessage('error', 'record', (e as Error).message);
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
    try {
      manifest = JSON.parse(await manifestFile.text());
    } catch {
      store().addMessage('error', 'bad-model', `${manifestFile.name} is not valid JSON.`);
      return;
    }
  }
  store().set({ modelBusy: true });
  try {
    const backend = await session.setModel({ modelBytes: await onnx.arrayBuffer(), manifest, label: onnx.name });
    store().set({ backend });
    store().clearMessages(['bad-model']);
    store().addMessage('info', 'model', `Now using ${onnx.name}.`);
  } catch (e) {
    store().addMessage('error', 'bad-model', `${(e as Error).message} The previous model is still running.`);
  } finally {
    store().set({ modelBusy: false });
  }
}
