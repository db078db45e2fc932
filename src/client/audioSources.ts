/**
 * Audio sources: everything a session can take its driving audio from, as an AudioNode in the
 * session's own AudioContext.
 *  - 'microphone' → the mic (raw: no echo cancellation, noise suppression or AGC);
 *  - MediaStream / MediaStreamTrack → its audio (the caller's tracks keep running when the session stops);
 *  - AudioBuffer, or a URL / Blob of an audio file (decoded here) → played in a loop.
 */
import type { LipsyncAudio } from './publicApi.ts';
import { LipsyncError } from './errors.ts';
import { fetchMedia, resolveUserUrl } from './fetchMedia.ts';
import { microphoneFeed } from './devices.ts';
import type { AudioFeed } from './session.ts';

/** Every audio source the library accepts (the public type, see src/lib/api.ts). */
export type AudioInput = LipsyncAudio;

/** The keyword that selects the microphone (`audio="microphone"`). */
export const MICROPHONE = 'microphone';

export async function openAudioSource(input: AudioInput | null | undefined, ctx: AudioContext, opts: { micId?: string } = {}): Promise<AudioFeed> {
  if (input === null || input === undefined || input === '') {
    throw new LipsyncError('audio-missing', 'No audio source was given. Set `audio` to an audio file URL, "microphone", a MediaStream or an AudioBuffer.');
  }
  if (typeof input === 'string' && input.trim().toLowerCase() === MICROPHONE) {
    return microphoneFeed(ctx, opts.micId);
  }
  if (input instanceof MediaStreamTrack) {
    if (input.kind !== 'audio') throw new LipsyncError('audio-unsupported', 'The audio MediaStreamTrack is a video track; give an audio track.');
    return fromStream(new MediaStream([input]), ctx);
  }
  if (input instanceof MediaStream) return fromStream(input, ctx);
  if (input instanceof AudioBuffer) return loopBuffer(input, ctx);
  if (input instanceof Blob) return loopBuffer(await decode(input, 'the audio file', ctx), ctx);
  if (typeof input === 'string' || input instanceof URL) {
    const url = resolveUserUrl(input, 'audio');
    return loopBuffer(await decode(await fetchMedia(url, 'audio'), url, ctx), ctx);
  }
  const kind = (input as object | null)?.constructor?.name ?? typeof input;
  throw new LipsyncError('audio-unsupported', `Unsupported audio source (${kind}). Use an audio file URL, "microphone", a MediaStream or an AudioBuffer.`);
}

function fromStream(stream: MediaStream, ctx: AudioContext): AudioFeed {
  if (!stream.getAudioTracks().some((t) => t.readyState === 'live')) {
    throw new LipsyncError('audio-unsupported', 'The audio MediaStream has no live audio track.');
  }
  const node = ctx.createMediaStreamSource(stream);
  // The node plays the stream's first audio track: that is the one watched for ending and silence.
  const track = stream.getAudioTracks()[0];
  return { node, track, label: 'audio stream', close: () => node.disconnect() };
}

async function decode(blob: Blob, label: string, ctx: AudioContext): Promise<AudioBuffer> {
  try {
    return await ctx.decodeAudioData(await blob.arrayBuffer());
  } catch (e) {
    const type = blob.type ? ` (${blob.type})` : '';
    throw new LipsyncError(
      'audio-decode',
      `The audio ${label}${type} is not an audio file this browser can decode: ${(e as Error).message || 'decoding failed'}.`,
    );
  }
}

function loopBuffer(buffer: AudioBuffer, ctx: AudioContext): AudioFeed {
  const node = ctx.createBufferSource();
  node.buffer = buffer;
  node.loop = true;
  node.start();
  return {
    node,
    close() {
      try {
        node.stop();
      } catch {
        /* already stopped */
      }
      node.disconnect();
    },
  };
}
