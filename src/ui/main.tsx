import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';
import { initFromUrl } from './controller.ts';
import { loseTrainingGpu } from './finetune/fineTuneController.ts';

import { useAppStore } from './store.ts';

initFromUrl();
// Diagnostics for benchmarks, bug reports and tests: the latest stats and backend; loseTrainingGpu() makes
// the browser really lose the fine-tuning GPU (WebGL context / WebGPU device) to exercise the recovery.
(globalThis as unknown as { lipsyncDebug: unknown }).lipsyncDebug = {
  stats: () => useAppStore.getState().stats,
  backend: () => useAppStore.getState().backend,
  loseTrainingGpu: () => loseTrainingGpu(),
};
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
