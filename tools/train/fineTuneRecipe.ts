/** The browser fine-tune's recipe as flags of the PyTorch trainer (train.py), read from the shared contract. */
import contract from '../../src/engine/contract.json' with { type: 'json' };
import { fineTuneWeightOf, type ContractLoss } from '../../src/engine/training/losses.ts';

/** train.py flags for the browser fine-tune's recipe, from the contract: its loss terms on, the others off, its frozen layers. */
export function fineTuneTrainerArgs(
  c: { losses: Record<string, unknown>; augment: { flip: number }; fineTune: { frozen: readonly string[] } } = contract,
): string[] {
  const args: string[] = [];
  for (const [term, spec] of Object.entries(c.losses)) {
    if (term.startsWith('$') || term === 'l1') continue;
    args.push(`--${term.replace(/[A-Z]/g, (ch) => `-${ch.toLowerCase()}`)}-weight`, String(fineTuneWeightOf(spec as ContractLoss)));
  }
  return [...args, '--flip', String(c.augment.flip), '--freeze', c.fineTune.frozen.join(',')];
}
