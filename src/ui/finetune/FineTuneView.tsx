import { useEffect, useRef, useState } from 'react';
import { useFineTuneStore } from './fineTuneStore.ts';
import {
  cancelFineTune,
  downloadResult,
  importAndTrain,
  pauseTraining,
  recordAndTrain,
  refreshSavedModels,
  resumeTraining,
  saveResult,
} from './fineTuneController.ts';
import { LossPlot } from './LossPlot.tsx';
import { trainRateText } from './trainRate.ts';
import { PreviewGrid } from './PreviewGrid.tsx';
import { ModelList } from './ModelList.tsx';

/** Read aloud while recording: covers open/closed, rounded/spread lips, teeth and tongue shapes. */
const READING_TEXT =
  'Peter bought a big blue balloon. Five fresh fish swam through the wavy water. She sells sea shells, ' +
  'while the cheerful child chews cheese. Oh, how odd! You knew the youth would move to Ohio. ' +
  'Thank you, I think they thought the same thing.';

function CameraPreview({ stream }: { stream?: MediaStream }) {
  const ref = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    if (ref.current) ref.current.srcObject = stream ?? null;
  }, [stream]);
  return stream ? <video ref={ref} className="record-preview" autoPlay playsInline muted /> : null;
}

export function FineTuneView() {
  const s = useFineTuneStore();
  const [name, setName] = useState('My voice');
  useEffect(() => void refreshSavedModels(), []);
  const busy = !['idle', 'done', 'failed'].includes(s.phase);
  const training = s.phase === 'training' || s.phase === 'paused';
  return (
    <section className="finetune" aria-label="Fine-tune" data-testid="finetune" data-phase={s.phase}>
      <h2>Fine-tune the generator on your face</h2>
      <div className="controls">
        <label>
          Record
          <input
            type="number"
            min={3}
            max={120}
            value={s.recordSeconds}
            disabled={busy}
            data-testid="record-seconds"
            onChange={(e) => s.set({ recordSeconds: Number(e.target.value) })}
          />{' '}
          s
        </label>
        <label>
          Steps
          <input
            type="number"
            min={1}
            max={100000}
            value={s.steps}
            disabled={busy}
            data-testid="train-steps"
            onChange={(e) => s.set({ steps: Number(e.target.value) })}
          />
        </label>
        <label>
          Batch
          <input type="number" min={1} max={32} value={s.batchSize} disabled={busy} onChange={(e) => s.set({ batchSize: Number(e.target.value) })} />
        </label>
        <button type="button" data-testid="record-train" disabled={busy} onClick={() => void recordAndTrain()}>
          Record &amp; train
        </button>
        <label className="file">
          Import video…
          <input
            data-testid="import-clip"
            type="file"
            accept="video/*,.mp4,.webm"
            disabled={busy}
            onChange={(e) => {
              const f = e.target.files?.[0];
              if (f) void importAndTrain(f);
              e.target.value = '';
            }}
          />
        </label>
        {training && (
          <button type="button" data-testid="pause" onClick={() => (s.phase === 'paused' ? resumeTraining() : pauseTraining())}>
            {s.phase === 'paused' ? 'Resume' : 'Pause'}
          </button>
        )}
        {busy && (
          <button type="button" data-testid="cancel" disabled={s.cancelling} onClick={cancelFineTune}>
            {s.cancelling ? 'Cancelling…' : 'Cancel'}
          </button>
        )}
      </div>

      {(s.phase === 'countdown' || s.phase === 'recording') && (
        <div className="recording" data-testid="recording">
          <CameraPreview stream={s.cameraStream} />
          <p className="countdown">{s.phase === 'countdown' ? `Starting in ${s.countdown}…` : `Recording ${s.elapsed.toFixed(0)} / ${s.recordSeconds} s`}</p>
          <meter min={0} max={1} value={s.level} data-testid="level-meter" aria-label="Microphone level" />
          <blockquote className="reading-text">{READING_TEXT}</blockquote>
        </div>
      )}

      {s.stage && (
        <p className="stage" data-testid="finetune-stage">
          {s.stage}
        </p>
      )}
      {busy && (
        <div className="progress">
          <progress max={1} value={s.progress} data-testid="finetune-progress" />
          {training && <span data-testid="train-rate"> {trainRateText(s)}</span>}
        </div>
      )}
      {s.backend && (
        <p className="hint" data-testid="train-backend">
          Training on {s.backend}
          {s.backendReason ? ` (${s.backendReason})` : ''}
        </p>
      )}
      {(s.train.length > 0 || s.val.length > 0) && <LossPlot train={s.train} val={s.val} steps={s.steps} />}
      <PreviewGrid preview={s.preview} />

      {s.result && (
        <div className="save">
          <input value={name} onChange={(e) => setName(e.target.value)} data-testid="model-name" aria-label="Model name" />
          <button type="button" data-testid="save-model" onClick={() => void saveResult(name.trim() || 'Fine-tuned')}>
            Save model
          </button>
          <button type="button" data-testid="download-result" onClick={() => downloadResult(name.trim() || 'Fine-tuned')}>
            Download .onnx
          </button>
        </div>
      )}

      <h3>Saved models</h3>
      <ModelList models={s.saved} activeId={s.activeModelId} />
    </section>
  );
}
