import { describe, expect, it } from 'vitest';
import type { LipsyncErrorDetail, LipsyncOptions } from './api.ts';
import { createLipsync } from './lipsync.ts';

/** Bad options are caught before anything is opened, so these run without a browser. */
async function startError(options: LipsyncOptions) {
  const c = createLipsync(options);
  let event: LipsyncErrorDetail | undefined;
  c.addEventListener('error', (e) => (event ??= e.detail));
  const rejected = await c.start().then(
    () => undefined,
    (e: { code?: string; message?: string }) => e,
  );
  return { event, rejected, state: c.state };
}

describe('createLipsync: bad options', () => {
  const base = { face: 'face.png', audio: 'speech.wav' };
  it.each([
    ['an unknown backend', { ...base, backend: 'gpu' as never }, 'bad-option', /Unknown backend "gpu".*"wasm"/],
    ['an unknown landmarks backend', { ...base, landmarks: 'tpu' as never }, 'bad-option', /Unknown landmarks backend "tpu"/],
    ['an unknown paste area', { ...base, paste: 'jaw' as never }, 'bad-option', /Unknown paste area "jaw": use "mouth".*or "face"/],
    ['fps 0', { ...base, fps: 0 }, 'bad-option', /fps must be a number above 0/],
    ['fps as a string', { ...base, fps: '25' as never }, 'bad-option', /fps must be a number/],
    ['an unparsable baseUrl', { ...base, baseUrl: 'http://[' }, 'bad-option', /baseUrl "http:\/\/\[" is not a valid URL/],
    ['an unparsable model URL', { ...base, model: 'http://[' }, 'model-fetch', /model URL "http:\/\/\[" is not a valid URL/],
    ['no options at all', undefined as never, 'bad-option', /needs an options object/],
  ])('%s fails start() with a message and fires error once', async (_name, options, code, message) => {
    const { event, rejected, state } = await startError(options);
    expect(event?.code).toBe(code);
    expect(event?.message).toMatch(message);
    expect(event?.fatal).toBe(true);
    expect(rejected?.code).toBe(code);
    expect(rejected?.message).toBe(event?.message);
    expect(state).toBe('idle');
  });
});
