/** The Render view's actions: pick files, record a voice, preview, render, cancel, download. */
import { runRender, type FaceThreadChoice } from '../../client/render.ts';
import { toErrorDetail } from '../../client/errors.ts';
import { openMicrophone } from '../../client/devices.ts';
import { useAppStore } from '../store.ts';
import { foreignOrigin } from '../controller.ts';
import { useRenderStore, type RenderOutput } from './renderStore.ts';

/** Seconds rendered by Preview. */
export const PREVIEW_SECONDS = 2;

let abort: AbortController | undefined;
let recorder: { rec: MediaRecorder; stream: MediaStream } | undefined;

const store = () => useRenderStore.getState();

function replaceUrl(old: string | undefined, blob: Blob | undefined): string | undefined {
  if (old) URL.revokeObjectURL(old);
  return blob ? URL.createObjectURL(blob) : undefined;
}

export function setFace(file: File | undefined): void {
  store().set({ face: file, faceUrl: replaceUrl(store().faceUrl, file), error: undefined });
}

export function setAudio(file: File | undefined): void {
  store().set({ audio: file, audioUrl: replaceUrl(store().audioUrl, file), error: undefined });
}

/** Records the voice from the microphone until stopRecordingVoice(). */
export async function recordVoice(): Promise<void> {
  if (recorder) return;
  try {
    const stream = await openMicrophone(useAppStore.getState().micId);
    const mime = ['audio/webm;codecs=opus', 'audio/webm', 'audio/ogg;codecs=opus'].find((m) => MediaRecorder.isTypeSupported(m)) ?? '';
    const rec = new MediaRecorder(stream, mime ? { mimeType: mime } : undefined);
    const chunks: Blob[] = [];
    rec.ondataavailable = (e) => e.data.size && chunks.push(e.data);
    rec.onstop = () => {
      stream.getTracks().forEach((t) => t.stop());
      recorder = undefined;
      const type = rec.mimeType || 'audio/webm';
      setAudio(new File(chunks, `voice.${type.includes('ogg') ? 'ogg' : 'webm'}`, { type }));
      store().set({ phase: 'idle' });
    };
    rec.start(250);
    recorder = { rec, stream };
    store().set({ phase: 'recording', error: undefined });
  } catch (e) {
    store().set({ phase: 'failed', error: toErrorDetail(e, 'record') });
  }
}

export function stopRecordingVoice(): void {
  recorder?.rec.stop();
}

export async function render(preview: boolean): Promise<void> {
  const s = store();
  if (!s.face || !s.audio) {
    s.set({
      phase: 'failed',
      error: { code: 'bad-option', message: !s.face ? 'Choose a face video or image first.' : 'Choose an audio file, or record your voice, first.' },
    });
    return;
  }
  abort?.abort();
  const controller = (abort = new AbortController());
  s.set({ phase: 'rendering', running: preview ? 'preview' : 'full', progress: undefined, error: undefined, startedAt: performance.now(), output: undefined });
  if (s.output) URL.revokeObjectURL(s.output.url);
  try {
    const result = await runRender({
      face: s.face,
      audio: s.audio,
      model: chosenModel(),
      backend: useAppStore.getState().generatorBackend,
      landmarks: useAppStore.getState().landmarkBackend,
      faceThread: (new URLSearchParams(location.search).get('faceThread') as FaceThreadChoice | null) ?? undefined,
      paste: (new URLSearchParams(location.search).get('paste') as 'mouth' | 'face' | null) ?? undefined, // checked by runRender
      tail: s.tail,
      maxSeconds: preview ? PREVIEW_SECONDS : undefined,
      signal: controller.signal,
      onProgress: (progress) => controller === abort && store().set({ progress }),
    });
    if (controller !== abort) return;
    const base = s.face.name.replace(/\.[^.]*$/, '') || 'face';
    const output: RenderOutput = {
      url: URL.createObjectURL(result.blob),
      fileName: `${base}-lipsync${preview ? '-preview' : ''}.${result.extension}`,
      bytes: result.blob.size,
      frames: result.frames,
      fps: result.fps,
      seconds: result.seconds,
      facesFound: result.facesFound,
      renderFps: result.renderFps,
      stages: result.stages,
      preview,
    };
    store().set({ phase: 'done', output });
  } catch (e) {
    if (controller !== abort) return;
    const error = toErrorDetail(e, 'render-failed');
    // A cancel is the user's own doing: back to idle, with a note rather than a failure.
    store().set(
      error.code === 'render-cancelled'
        ? { phase: 'idle', error: { code: error.code, message: 'Render cancelled: nothing was kept.' } }
        : { phase: 'failed', error },
    );
  } finally {
    if (controller === abort) abort = undefined;
  }
}

/** The page's `?model=` (as live mode uses it): same-origin, or another origin the user agreed to load. */
function chosenModel(): string | undefined {
  const url = new URLSearchParams(location.search).get('model');
  if (!url) return undefined;
  const app = useAppStore.getState();
  return !foreignOrigin(url, location.href) || app.foreignModel?.decision === 'load' ? url : undefined;
}

export function cancelRender(): void {
  abort?.abort();
}
