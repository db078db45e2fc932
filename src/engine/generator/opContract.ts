/**
 * The op set of the generator contract (src/engine/contract.json, read by the Python trainer too): per ONNX op,
 * what it may be used for. Export, stats, validation and the fine-tune reader all ask here, and refuse an op
 * with the same message (tools/train/contract.py words it identically).
 */
import contract from '../contract.json' with { type: 'json' };

export type OpCapability = 'export' | 'webgpu' | 'fineTune';

const CAPABILITY_TEXT: Record<OpCapability, string> = {
  export: 'exportable by the trainer',
  webgpu: 'native on WebGPU',
  fineTune: 'readable by the browser fine-tune',
};

const OPS = contract.ops as Record<string, readonly string[]>;

/** Every op the contract knows, with any capability. */
export const CONTRACT_OPS: ReadonlySet<string> = new Set(Object.keys(OPS));

/** The ops with `capability`. */
export function opsWith(capability: OpCapability): ReadonlySet<string> {
  return new Set(
    Object.entries(OPS)
      .filter(([, caps]) => caps.includes(capability))
      .map(([op]) => op),
  );
}

/**
 * The refusal, worded once: ops missing from the contract first ("uses the op X, which is not in the generator
 * contract …": every consumer says exactly this), then ops the contract has without `capability`. Undefined
 * when all are allowed. Custom-domain ops come as "domain.Op" and are never in the contract.
 */
export function opsRefusedMessage(ops: Iterable<string>, capability?: OpCapability): string | undefined {
  const list = [...new Set(ops)].sort();
  const unknown = list.filter((op) => !CONTRACT_OPS.has(op));
  if (unknown.length) {
    return `uses the op${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}, which ${unknown.length > 1 ? 'are' : 'is'} not in the generator contract (src/engine/contract.json)`;
  }
  if (!capability) return undefined;
  const allowed = opsWith(capability);
  const lacking = list.filter((op) => !allowed.has(op));
  if (!lacking.length) return undefined;
  return `uses the op${lacking.length > 1 ? 's' : ''} ${lacking.join(', ')}, which the generator contract (src/engine/contract.json) does not list as ${CAPABILITY_TEXT[capability]}`;
}

/** A node's op as the contract names it: custom domains are spelled out (and so never match a contract op). */
export function opName(n: { opType: string; domain?: string }): string {
  return n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.${n.opType}` : n.opType;
}
