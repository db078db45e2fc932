import type { StoredModelMeta } from '../../engine/training/modelStore.ts';
import { deleteSavedModel, downloadSavedModel, applySavedModel } from './fineTuneController.ts';

export function ModelList({ models, activeId }: { models: StoredModelMeta[]; activeId?: string }) {
  if (!models.length)
    return (
      <p className="hint" data-testid="no-saved-models">
        No fine-tuned models saved yet.
      </p>
    );
  return (
    <ul className="model-list" data-testid="saved-models">
      {models.map((m) => (
        <li key={m.id} data-testid="saved-model" data-name={m.name}>
          <strong>{m.name}</strong>
          {m.id === activeId && <em> (in use)</em>}
          <span className="meta">
            {' '}
            {new Date(m.date).toLocaleString()} · {m.steps} steps · val loss {Number.isFinite(m.valLoss) ? m.valLoss.toFixed(4) : '–'} ·{' '}
            {m.clipSeconds.toFixed(1)} s clip · {(m.byteLength / 1e6).toFixed(1)} MB
          </span>{' '}
          <button type="button" data-testid="use-model" onClick={() => void applySavedModel(m)}>
            Use
          </button>{' '}
          <button type="button" onClick={() => void downloadSavedModel(m)}>
            Download .onnx
          </button>{' '}
          <button type="button" data-testid="delete-model" onClick={() => void deleteSavedModel(m)}>
            Delete
          </button>
        </li>
      ))}
    </ul>
  );
}
