/** Errors raised by the audio feature pipeline; `code` lets callers react without parsing messages. */
import { CodedError } from '../codedError.ts';
export type AudioErrorCode =
  | 'bad-wav' // a WAV file that cannot be read
  | 'unsupported-wav' // a readable WAV in an encoding we do not decode
  | 'bad-sample-rate' // a sample rate the resampler cannot handle
  | 'bad-mel-block' // mel frames whose length is not a multiple of nMels, or a bad index
  | 'bad-window'; // a mel window request with invalid past/lookahead

export class AudioError extends CodedError<AudioErrorCode> {
  override readonly name = 'AudioError';
}
