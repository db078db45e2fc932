/**
 * Errors of a lip-sync session that a user (or an embedding page) can act on. Every failure that
 * reaches the outside carries a stable `code` and a message that says what to do about it.
 */
import type { LipsyncErrorCode } from './publicApi.ts';
import type { MediaErrorCode } from './mediaErrors.ts';
import type { WorkerErrorCode } from '../workers/protocol.ts';
import type { RenderErrorCode } from '../engine/render/renderLoop.ts';
import { CodedError } from '../engine/codedError.ts';

/**
 * The codes are the public API's (src/lib/api.ts spells them out because it ships as a
 * self-contained .d.ts); the device and worker codes of the engine must be among them.
 */
export type { LipsyncErrorCode };
type Assert<T extends true> = T;
export type EngineCodesArePublic = Assert<[MediaErrorCode | WorkerErrorCode | RenderErrorCode] extends [LipsyncErrorCode] ? true : false>;

export class LipsyncError extends CodedError<LipsyncErrorCode> {
  override readonly name = 'LipsyncError';
  constructor(
    code: LipsyncErrorCode,
    message: string,
    /** Fatal: the session stopped. Not fatal: it keeps running (e.g. a rejected model swap). */
    readonly fatal = true,
  ) {
    super(code, message);
  }
}

export interface ErrorDetail {
  code: LipsyncErrorCode | string;
  message: string;
  fatal: boolean;
}

/** Any thrown value → code + message (unknown errors keep their message under 'pipeline'). */
export function toErrorDetail(err: unknown, fallbackCode = 'pipeline'): ErrorDetail {
  if (err instanceof LipsyncError) return { code: err.code, message: err.message, fatal: err.fatal };
  const e = err as { code?: unknown; message?: unknown; fatal?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : fallbackCode;
  const message = typeof e?.message === 'string' && e.message ? e.message : String(err);
  return { code, message, fatal: typeof e?.fatal === 'boolean' ? e.fatal : true };
}
