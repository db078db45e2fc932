import { useEffect, useRef } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { useAppStore } from './store.ts';
import { cancelStart, getSession, loadModelFiles, startLive, stopLive, toggleRecording } from './controller.ts';
import { OutputView } from './OutputView.tsx';
import { StartSteps } from './StartSteps.tsx';
import { Hud } from './Hud.tsx';
import { Messages } from './Messages.tsx';
import { ForeignModelPrompt } from './ForeignModelPrompt.tsx';
import { FineTuneView } from './finetune/FineTuneView.tsx';
import { RenderView } from './render/RenderView.tsx';

function StreamView({ stream, label, testId }: { stream?: MediaStream; label: string; testId: string }) {
  const ref = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    if (ref.current) ref.current.srcObject = stream ?? null;
  }, [stream]);
  return (
    <figure className="view">
      <video ref={ref} data-testid={testId} autoPlay playsInline muted />
      <figcaption>{label}</figcaption>
    </figure>
  );
}

export function App() {
  // Only what this view shows: the live stats (4 Hz) render the HUD alone, not the whole page.
  const s = useAppStore(
    useShallow((st) => ({
      phase: st.phase,
      cameras: st.cameras,
      mics: st.mics,
      cameraId: st.cameraId,
      micId: st.micId,
      generatorBackend: st.generatorBackend,
      recording: st.recording,
      recorded: st.recorded,
      modelBusy: st.modelBusy,
      fineTuneOpen: st.fineTuneOpen,
      renderOpen: st.renderOpen,
      set: st.set,
    })),
  );
  // While starting the camera already shows (in both views), so the wait is never a black screen.
  const session = s.phase === 'live' || s.phase === 'starting' ? getSession() : undefined;
  const live = s.phase === 'live';
  const busy = s.phase === 'starting' || s.phase === 'stopping';
  return (
    <main>
      <header>
        <h1>Lipsync Live</h1>
        <p className="tagline">Your mouth, re-synthesised from your voice in real time, on your own GPU.</p>
      </header>
      <section className="controls" aria-label="Controls">
        <button type="button" data-testid="start" disabled={busy} onClick={() => void (live ? stopLive() : startLive())}>
          {s.phase === 'starting' ? 'Starting…' : live ? 'Stop' : 'Start'}
        </button>
        {s.phase === 'starting' && (
          <button type="button" data-testid="cancel-start" onClick={() => void cancelStart()}>
            Cancel
          </button>
        )}
        <label>
          Camera
          <select value={s.cameraId ?? ''} disabled={live || busy} onChange={(e) => s.set({ cameraId: e.target.value || undefined })}>
            <option value="">Default camera</option>
            {s.cameras.map((d) => (
              <option key={d.deviceId} value={d.deviceId}>
                {d.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Microphone
          <select value={s.micId ?? ''} disabled={live || busy} onChange={(e) => s.set({ micId: e.target.value || undefined })}>
            <option value="">Default microphone</option>
            {s.mics.map((d) => (
              <option key={d.deviceId} value={d.deviceId}>
                {d.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Generator
          <select value={s.generatorBackend} disabled={live || busy} onChange={(e) => s.set({ generatorBackend: e.target.value as typeof s.generatorBackend })}>
            <option value="auto">Auto (WebGPU, else wasm)</option>
            <option value="webgpu">WebGPU</option>
            <option value="wasm">wasm (CPU)</option>
          </select>
        </label>
        <button type="button" data-testid="record" disabled={!live} onClick={() => void toggleRecording()}>
          {s.recording ? 'Stop recording' : 'Record'}
        </button>
        <label className="file">
          Load model…
          <input
            data-testid="model-file"
            type="file"
            accept=".onnx,.json"
            multiple
            disabled={!live || s.modelBusy}
            onChange={(e) => {
              if (e.target.files?.length) void loadModelFiles(e.target.files);
              e.target.value = '';
            }}
          />
        </label>
        <button type="button" data-testid="open-finetune" aria-pressed={s.fineTuneOpen} onClick={() => s.set({ fineTuneOpen: !s.fineTuneOpen })}>
          Fine-tune…
        </button>
        <button type="button" data-testid="open-render" aria-pressed={s.renderOpen} onClick={() => s.set({ renderOpen: !s.renderOpen })}>
          Render a file…
        </button>
        {s.recorded && (
          <a data-testid="download" href={s.recorded.url} download={s.recorded.fileName}>
            Download recording ({(s.recorded.bytes / 1e6).toFixed(1)} MB)
          </a>
        )}
      </section>
      <ForeignModelPrompt />
      <Messages />
      <StartSteps />
      <section className="views">
        <StreamView stream={session?.cameraStream} label="Camera" testId="camera-view" />
        <OutputView output={live ? session?.outputStream : undefined} camera={session?.cameraStream} />
      </section>
      <Hud />
      {s.fineTuneOpen && <FineTuneView />}
      {s.renderOpen && <RenderView />}
    </main>
  );
}
