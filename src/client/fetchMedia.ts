/** Downloads a face, audio or model file with messages that say what went wrong and what to do. */
import { LipsyncError } from './errors.ts';

export type MediaRole = 'face' | 'audio' | 'model';

const fetchCode = (role: MediaRole) => (role === 'face' ? 'face-fetch' : role === 'audio' ? 'audio-fetch' : 'model-fetch');

/** Resolves a user-given URL the way an HTML attribute would: against the document. */
export function resolveUserUrl(url: string | URL, role: MediaRole): string {
  try {
    return new URL(String(url), globalThis.document?.baseURI ?? globalThis.location?.href).href;
  } catch {
    throw new LipsyncError(fetchCode(role), `The ${role} URL ${JSON.stringify(String(url))} is not a valid URL.`, role !== 'model');
  }
}

/** `maxBytes`: refuse from the Content-Length header, before the body is downloaded. */
export async function fetchMedia(url: string, role: MediaRole, signal?: AbortSignal, maxBytes = Infinity): Promise<Blob> {
  const code = fetchCode(role);
  let res: Response;
  try {
    res = await fetch(url, { mode: 'cors', credentials: 'same-origin', signal });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    const crossOrigin = new URL(url).origin !== globalThis.location?.origin;
    throw new LipsyncError(
      code,
      `Could not download the ${role} from ${url} (${(e as Error).message}).` +
        (crossOrigin
          ? ' It is on another site: that server must allow cross-origin requests (Access-Control-Allow-Origin).'
          : ' Check that the server is running.'),
    );
  }
  if (!res.ok) {
    throw new LipsyncError(
      code,
      `Could not load the ${role} from ${url}: HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}. Check the URL (relative URLs resolve against the page).`,
    );
  }
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    void res.body?.cancel();
    throw new LipsyncError(code, `The ${role} at ${url} is ${(declared / 2 ** 20).toFixed(1)} MB, over the ${(maxBytes / 2 ** 20).toFixed(1)} MB limit.`);
  }
  const blob = await res.blob();
  // A missing file on a single-page-app host comes back as the app's index.html with status 200.
  if (blob.type.startsWith('text/html')) {
    throw new LipsyncError(code, `Could not load the ${role} from ${url}: the server sent an HTML page, not a media file. The file is probably missing.`);
  }
  if (blob.size === 0) throw new LipsyncError(code, `The ${role} file at ${url} is empty.`);
  return blob;
}

/** The MIME type without parameters, lower case ('' when the server sent none). */
export function mimeOf(blob: Blob): string {
  return blob.type.split(';')[0].trim().toLowerCase();
}
