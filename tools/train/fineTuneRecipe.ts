/** The browser fine-tune's recipe as flags of the PyTorch trainer (train.py), read from the shared contract. */
import contract from '../../src/engine/contract.json' with { type: 'json' };

/** train.py flags for the browser fine-tune's recipe, from the contract: its loss terms on, the others off. */
export function fineTuneTrainerArgs(c: { losses: Record<string, unknown>; augment: { flip: number } } = contract): string[] {
  const args: string[] = [];
  for (const [term, spec] of Object.entries(c.losses)) {
    if (term.startsWith('$') || term === 'l1') continue;
    const { weight, fineTune, fineTuneWeight } = spec as { weight: number; fineTune: boolean; fineTuneWeight?: number };
    args.push(`--${term.replace(/[A-Z]/g, (ch) => `-${ch.toLowerCase()}`)}-weight`, String(fineTune ? (fineTuneWeight ?? weight) : 0));
  }
  return [...args, '--flip', String(c.augment.flip)];
}
