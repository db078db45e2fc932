import { describe, expect, it } from 'vitest';
import { useAppStore } from './store.ts';

describe('app store', () => {
  it('clearing messages that are not there leaves the state as it is (no re-render on every stats report)', () => {
    const st = useAppStore.getState();
    st.clearMessages();
    st.addMessage('warning', 'no-face', 'No face in view.');
    st.addMessage('info', 'backend', 'Running on wasm.');
    const before = useAppStore.getState();
    let notified = 0;
    const unsubscribe = useAppStore.subscribe(() => notified++);
    before.clearMessages(['webgpu-lost']);
    expect(useAppStore.getState()).toBe(before);
    expect(notified).toBe(0);
    // Clearing one that is there removes only it.
    before.clearMessages(['no-face']);
    expect(useAppStore.getState().messages.map((m) => m.code)).toEqual(['backend']);
    expect(notified).toBe(1);
    unsubscribe();
  });
});
