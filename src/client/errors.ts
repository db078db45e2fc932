/**
 * Errors of a lip-sync session that a user (or an embedding page) can act on. Every failure that
 * reaches the outside carries a stable `code` and a message that says what to do about it.
 */
import type { MediaErrorCode } from './mediaErrors.ts';
import type { WorkerErrorCode } from '../workers/protocol.ts';

export type SourceErrorCode =
  /** No face source was given. */
  | 'face-missing'
  /** The face source is of a kind the library cannot read (or a MediaStream without video). */
  | 'face-unsupported'
  /** The face URL could not be downloaded (HTTP error, network, CORS). */
  | 'face-fetch'
  /** The face file is neither an image nor a video this browser can decode. */
  | 'face-decode'
  /** The face video/image is cross-origin without CORS: its pixels cannot be read. */
  | 'face-tainted'
  | 'audio-missing'
  | 'audio-unsupported'
  | 'audio-fetch'
  | 'audio-decode'
  /** The browser keeps audio suspended until the user interacts with the page. */
  | 'audio-blocked'
  /** The worker or worklet script could not be loaded from the base URL. */
  | 'runtime-files'
  | 'record'
  | 'closed';

export type LipsyncErrorCode = SourceErrorCode | MediaErrorCode | WorkerErrorCode;

export class LipsyncError extends Error {
  constructor(
    readonly code: LipsyncErrorCode,
    message: string,
    /** Fatal: the session stopped. Not fatal: it keeps running (e.g. a rejected model swap). */
    readonly fatal = true,
  ) {
    super(message);
    this.name = 'LipsyncError';
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
