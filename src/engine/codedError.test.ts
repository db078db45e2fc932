import { describe, expect, it } from 'vitest';
import { CodedError } from './codedError.ts';
import { AudioError } from './audio/errors.ts';
import { ManifestError, parseManifest } from './generator/manifest.ts';
import { WarpError } from './face/warp.ts';
import { GeneratorRunError } from './generator/runner.ts';

describe('CodedError subclasses', () => {
  it('carry their own name, the code first and the message, and stay Errors', () => {
    const cases: [CodedError<string>, string, string][] = [
      [new AudioError('bad-mel-block', 'short block'), 'AudioError', 'bad-mel-block'],
      [new WarpError('no pixels'), 'WarpError', 'bad-image'],
      [new GeneratorRunError('disposed', 'gone'), 'GeneratorRunError', 'disposed'],
    ];
    for (const [e, name, code] of cases) {
      expect(e).toBeInstanceOf(Error);
      expect(e).toBeInstanceOf(CodedError);
      expect(e.name).toBe(name);
      expect(e.code).toBe(code);
      expect(String(e)).toMatch(new RegExp(`^${name}: `));
    }
  });

  it('a real failure reports its code and field: a manifest without a model file', () => {
    let caught: unknown;
    try {
      parseManifest({ name: 'x' });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ManifestError);
    expect((caught as ManifestError).code).toBe('bad-manifest');
    expect((caught as ManifestError).name).toBe('ManifestError');
  });
});
