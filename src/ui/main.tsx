import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';
import { initFromUrl } from './controller.ts';

import { useAppStore } from './store.ts';

initFromUrl();
// Read-only diagnostics for benchmarks and bug reports: the latest stats and backend.
(globalThis as unknown as { lipsyncDebug: unknown }).lipsyncDebug = {
  stats: () => useAppStore.getState().stats,
  backend: () => useAppStore.getState().backend,
};
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
