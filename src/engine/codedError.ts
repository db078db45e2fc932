/**
 * The one base of the project's coded errors: `code` is the stable, machine-readable reason (what the UI and
 * tests switch on), `message` the human one. Subclasses only name themselves:
 *
 *   export class AudioError extends CodedError<AudioErrorCode> {
 *     override readonly name = 'AudioError';
 *   }
 *
 * (The name is spelled out, not taken from the constructor: the production build renames classes.)
 */
export class CodedError<Code extends string> extends Error {
  constructor(
    readonly code: Code,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'CodedError';
  }
}
