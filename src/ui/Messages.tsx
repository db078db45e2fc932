import { useAppStore } from './store.ts';

export function Messages() {
  const messages = useAppStore((s) => s.messages);
  const dismiss = useAppStore((s) => s.dismiss);
  if (!messages.length) return null;
  return (
    <ul className="messages" aria-live="polite">
      {messages.map((m) => (
        <li key={m.id} className={`msg ${m.level}`} data-testid={`msg-${m.code}`} role={m.level === 'error' ? 'alert' : 'status'}>
          <span>{m.text}</span>
          <button type="button" aria-label="Dismiss" onClick={() => dismiss(m.id)}>
            ×
          </button>
        </li>
      ))}
    </ul>
  );
}
