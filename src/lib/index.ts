/**
 * Lipsync Live as a library: `createLipsync({ face, audio, model?, backend?, baseUrl? })`, `renderLipsync()` and the
 * `<lipsync-avatar>` element (registered when this module is imported). Every export is typed by
 * ./api.ts, which is what the library build ships as its .d.ts.
 */
import type {
  LipsyncAvatarElement as AvatarElement,
  LipsyncAvatarElementConstructor,
  LipsyncController,
  LipsyncError as LipsyncErrorInstance,
  LipsyncErrorConstructor,
  LipsyncOptions,
  LipsyncRenderOptions,
} from './api.ts';
import { LipsyncError as LipsyncErrorImpl } from '../client/errors.ts';
import { defineLipsyncAvatar as define, LipsyncAvatar } from './element.ts';
import { createLipsync as create } from './lipsync.ts';
import { runRender } from '../client/render.ts';

export type {
  LipsyncAudio,
  LipsyncAvatarElementConstructor,
  LipsyncAvatarEventMap,
  LipsyncBackend,
  LipsyncBackendInfo,
  LipsyncController,
  LipsyncErrorCode,
  LipsyncErrorConstructor,
  LipsyncErrorDetail,
  LipsyncEventMap,
  LipsyncFace,
  LipsyncLandmarkBackend,
  LipsyncPasteArea,
  LipsyncModel,
  LipsyncOptions,
  LipsyncProgress,
  LipsyncRenderOptions,
  LipsyncRenderProgress,
  LipsyncProgressStep,
  LipsyncStageTiming,
  LipsyncState,
  LipsyncStats,
} from './api.ts';

/** Creates an avatar controller; nothing starts until start(). Bad inputs are reported by start() and the `error` event. */
export const createLipsync: (options: LipsyncOptions) => LipsyncController = create;

/**
 * Dubs a video file: `renderLipsync({ face, audio })` resolves with the lip-synced video (MP4 where the browser
 * encodes H.264 + AAC, else WebM), made in a worker at the face's frame rate. Rejects with a LipsyncError.
 */
export const renderLipsync: (options: LipsyncRenderOptions) => Promise<Blob> = async (options) => (await runRender(options)).blob;

/** The `<lipsync-avatar>` element class (already registered under that name). */
export const LipsyncAvatarElement: LipsyncAvatarElementConstructor = LipsyncAvatar;
export type LipsyncAvatarElement = AvatarElement;

/** The class of errors start(), setModel() and record() reject with. */
export const LipsyncError: LipsyncErrorConstructor = LipsyncErrorImpl;
export type LipsyncError = LipsyncErrorInstance;

/** Registers the element under another tag name (`<my-avatar>`), e.g. to run two versions side by side. */
export function defineLipsyncAvatar(name = 'lipsync-avatar'): void {
  define(name);
}

define();
