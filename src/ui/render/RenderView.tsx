import { useRenderStore } from './renderStore.ts';
import { fmtTime } from '../../engine/formatTime.ts';
import { cancelRender, PREVIEW_SECONDS, recordVoice, render, setAudio, setFace, stopRecordingVoice } from './renderController.ts';

const clock = (ms: number) => fmtTime(ms / 1000);

const STAGES: Record<string, string> = {
  loading: 'Loading the files and the models…',
  'decoding-audio': 'Reading the audio…',
  rendering: 'Rendering',
  'encoding-audio': 'Adding the sound…',
};

/** Dub a video file: face (video or image) + speech → lip-synced video, frame by frame in a worker. */
export function RenderView() {
  const s = useRenderStore();
  const rendering = s.phase === 'rendering';
  const p = s.progress;
  const isImage = s.face?.type.startsWith('image/');
  return (
    <section className="render" aria-label="Render a video" data-testid="render" data-phase={s.phase}>
      <h2>Render: dub a video file</h2>
      <p className="hint">Every frame of the face video at its own frame rate, driven by the audio; not in real time, so no frame is dropped.</p>
      <div className="controls">
        <label className="file">
          Face video or image…
          <input data-testid="render-face" type="file" accept="video/*,image/*" disabled={rendering} onChange={(e) => setFace(e.target.files?.[0])} />
        </label>
        <span data-testid="render-face-name">{s.face?.name ?? 'no face chosen'}</span>
        <label className="file">
          Audio…
          <input
            data-testid="render-audio"
            type="file"
            accept="audio/*,video/*"
            disabled={rendering || s.phase === 'recording'}
            onChange={(e) => setAudio(e.target.files?.[0])}
          />
        </label>
        {s.phase === 'recording' ? (
          <button type="button" data-testid="render-record-stop" onClick={() => stopRecordingVoice()}>
            Stop recording
          </button>
        ) : (
          <button type="button" data-testid="render-record" disabled={rendering} onClick={() => void recordVoice()}>
            Record voice
          </button>
        )}
        <span data-testid="render-audio-name">{s.audio?.name ?? 'no audio chosen'}</span>
        <label>
          Video longer than the audio
          <select value={s.tail} disabled={rendering} onChange={(e) => s.set({ tail: e.target.value as 'stop' | 'keep' })}>
            <option value="stop">stop with the audio</option>
            <option value="keep">keep the rest unchanged</option>
          </select>
        </label>
      </div>
      {(s.faceUrl || s.audioUrl) && (
        <div className="render-inputs">
          {s.faceUrl &&
            (isImage ? (
              <img src={s.faceUrl} alt="Face" className="render-face" />
            ) : (
              <video src={s.faceUrl} className="render-face" controls muted playsInline />
            ))}
          {s.audioUrl && <audio src={s.audioUrl} controls data-testid="render-audio-player" />}
        </div>
      )}
      <div className="controls">
        <button type="button" data-testid="render-preview" disabled={rendering || !s.face || !s.audio} onClick={() => void render(true)}>
          Preview {PREVIEW_SECONDS} s
        </button>
        <button type="button" data-testid="render-start" disabled={rendering || !s.face || !s.audio} onClick={() => void render(false)}>
          Render
        </button>
        {rendering && (
          <button type="button" data-testid="render-cancel" onClick={() => cancelRender()}>
            Cancel
          </button>
        )}
      </div>
      {rendering && (
        <div className="render-progress" data-testid="render-progress">
          <progress max={p?.total || 1} value={p?.stage === 'rendering' ? p.done : 0} />
          <span>
            {p?.stage === 'rendering'
              ? `${s.running === 'preview' ? 'Preview: ' : ''}frame ${p.done} / ${p.total} · ${clock(p.etaMs)} left`
              : STAGES[p?.stage ?? 'loading']}
          </span>
        </div>
      )}
      {s.error && (
        <p className={s.phase === 'failed' ? 'error' : 'note'} role="alert" data-testid="render-error" data-code={s.error.code}>
          {s.error.message}
        </p>
      )}
      {s.output && (
        <div
          className="render-result"
          data-testid="render-result"
          data-frames={s.output.frames}
          data-render-fps={s.output.renderFps}
          data-stages={JSON.stringify(s.output.stages)}
        >
          <div className="views">
            <figure className="view">
              {isImage ? <img src={s.faceUrl} alt="Input face" /> : <video src={s.faceUrl} controls muted playsInline />}
              <figcaption>Input</figcaption>
            </figure>
            <figure className="view">
              <video data-testid="render-output" src={s.output.url} controls playsInline />
              <figcaption>{s.output.preview ? `Preview (first ${PREVIEW_SECONDS} s)` : 'Lip-synced'}</figcaption>
            </figure>
          </div>
          <p>
            {s.output.frames} frames at {s.output.fps} fps ({s.output.seconds.toFixed(2)} s), a face in {s.output.facesFound}; rendered at{' '}
            {s.output.renderFps.toFixed(1)} frames/s.{' '}
            <a data-testid="render-download" href={s.output.url} download={s.output.fileName}>
              Download {s.output.fileName} ({(s.output.bytes / 1e6).toFixed(1)} MB)
            </a>
          </p>
        </div>
      )}
    </section>
  );
}
