import { useAppStore } from './store.ts';

/**
 * `?model=` pointing at another site: a link must not make the app download and run someone else's generator
 * without the user saying so. Shown until they choose; Start waits for the choice.
 */
export function ForeignModelPrompt() {
  const foreign = useAppStore((s) => s.foreignModel);
  const set = useAppStore((s) => s.set);
  if (!foreign || foreign.decision) return null;
  return (
    <section className="prompt warning" role="alertdialog" aria-label="Model from another site" data-testid="foreign-model">
      <p>
        This link asks the app to load a lip-sync model from <strong>{foreign.origin}</strong>, another site than this one. It runs on your device and sees your
        camera picture. Load it only if you trust that site.
      </p>
      <button type="button" data-testid="foreign-model-load" onClick={() => set({ foreignModel: { ...foreign, decision: 'load' } })}>
        Load the model from {foreign.origin}
      </button>
      <button type="button" data-testid="foreign-model-default" onClick={() => set({ foreignModel: { ...foreign, decision: 'default' } })}>
        Use the built-in model
      </button>
    </section>
  );
}
