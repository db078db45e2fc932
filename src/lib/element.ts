/**
 * <lipsync-avatar face="…" audio="…" model="…" backend="…" base-url="…" autoplay muted>
 *
 * A custom element on top of createLipsync(): shadow DOM with a <video> of the output stream and a
 * status line that shows loading, errors and hints. Attributes and properties reflect each other;
 * changing face, audio, backend or base-url restarts the avatar, changing model swaps it live.
 * Each element owns its own controller (worker, AudioContext): elements share nothing.
 */
import type {
  LipsyncAudio,
  LipsyncAvatarElement,
  LipsyncBackend,
  LipsyncController,
  LipsyncErrorDetail,
  LipsyncFace,
  LipsyncLandmarkBackend,
  LipsyncPasteArea,
  LipsyncModel,
  LipsyncProgress,
  LipsyncState,
  LipsyncStats,
} from './api.ts';
import { createLipsync } from './lipsync.ts';
import { describeProgress } from '../client/startProgress.ts';

const STYLE = `
:host { display: inline-block; position: relative; width: 320px; height: 320px; overflow: hidden;
  background: #111; color: #fff; font: 13px/1.35 system-ui, sans-serif; contain: content; }
:host([hidden]) { display: none; }
video { display: block; width: 100%; height: 100%; object-fit: var(--lipsync-object-fit, cover); }
.status { position: absolute; left: 0; right: 0; bottom: 0; margin: 0; padding: 6px 8px; background: rgba(0, 0, 0, 0.65); }
.status[hidden] { display: none; }
:host([data-state='error']) .status { background: rgba(140, 16, 16, 0.88); }
`;

const RESTART_ATTRIBUTES = ['face', 'audio', 'backend', 'landmarks', 'paste', 'base-url'];
const BACKENDS: readonly LipsyncBackend[] = ['auto', 'webgpu', 'wasm'];
const LANDMARK_BACKENDS: readonly LipsyncLandmarkBackend[] = ['auto', 'webgpu', 'webgl', 'wasm', 'cpu'];
const FORWARDED_EVENTS = ['ready', 'stats', 'error', 'statechange', 'progress'] as const;

export class LipsyncAvatar extends HTMLElement implements LipsyncAvatarElement {
  static readonly observedAttributes: readonly string[] = [...RESTART_ATTRIBUTES, 'model', 'autoplay', 'muted'];

  private readonly video: HTMLVideoElement;
  private readonly status: HTMLElement;
  private _controller: LipsyncController | null = null;
  /** Face/audio given as objects (a MediaStream, an AudioBuffer, …) rather than attribute strings. */
  private faceObject: Exclude<LipsyncFace, string> | null = null;
  private audioObject: Exclude<LipsyncAudio, string> | null = null;
  private _lastError: LipsyncErrorDetail | null = null;
  private soundBlocked = false;
  private restartQueued = false;

  constructor() {
    super();
    const root = this.attachShadow({ mode: 'open' });
    const style = document.createElement('style');
    style.textContent = STYLE;
    this.video = document.createElement('video');
    this.video.part.add('video');
    this.video.playsInline = true;
    this.video.autoplay = true;
    this.video.muted = true;
    this.status = document.createElement('p');
    this.status.className = 'status';
    this.status.part.add('status');
    this.status.setAttribute('role', 'status');
    this.status.setAttribute('aria-live', 'polite');
    this.status.hidden = true;
    root.append(style, this.video, this.status);
    // Browsers hold sound until the user interacts: a click on the avatar releases it.
    this.addEventListener('click', () => void this.unblockSound());
  }

  // ── reflected attributes ──────────────────────────────────────────────────────────────────────

  get face(): LipsyncFace | null {
    return this.faceObject ?? this.getAttribute('face');
  }
  set face(value: LipsyncFace | null) {
    this.setSource('face', value);
  }
  get audio(): LipsyncAudio | null {
    return this.audioObject ?? this.getAttribute('audio');
  }
  set audio(value: LipsyncAudio | null) {
    this.setSource('audio', value);
  }
  get model(): string | null {
    return this.getAttribute('model');
  }
  set model(value: string | null) {
    this.reflect('model', value);
  }
  get backend(): LipsyncBackend {
    const v = this.getAttribute('backend') as LipsyncBackend | null;
    return v && BACKENDS.includes(v) ? v : 'auto';
  }
  set backend(value: LipsyncBackend) {
    this.reflect('backend', value === 'auto' ? null : value);
  }
  get landmarks(): LipsyncLandmarkBackend {
    const v = this.getAttribute('landmarks') as LipsyncLandmarkBackend | null;
    return v && LANDMARK_BACKENDS.includes(v) ? v : 'auto';
  }
  set landmarks(value: LipsyncLandmarkBackend) {
    this.reflect('landmarks', value === 'auto' ? null : value);
  }
  /** What the output replaces: 'mouth' (default) or 'face' (the whole lower face). */
  get paste(): LipsyncPasteArea {
    return this.getAttribute('paste') === 'face' ? 'face' : 'mouth';
  }
  set paste(value: LipsyncPasteArea) {
    this.reflect('paste', value === 'mouth' ? null : value);
  }
  get baseUrl(): string | null {
    return this.getAttribute('base-url');
  }
  set baseUrl(value: string | null) {
    this.reflect('base-url', value);
  }
  get autoplay(): boolean {
    return this.hasAttribute('autoplay');
  }
  set autoplay(value: boolean) {
    this.toggleAttribute('autoplay', Boolean(value));
  }
  get muted(): boolean {
    return this.hasAttribute('muted');
  }
  set muted(value: boolean) {
    this.toggleAttribute('muted', Boolean(value));
  }

  // ── state ─────────────────────────────────────────────────────────────────────────────────────

  get controller(): LipsyncController | null {
    return this._controller;
  }
  get state(): LipsyncState {
    return this._controller?.state ?? 'idle';
  }
  get stats(): LipsyncStats | null {
    return this._controller?.stats ?? null;
  }
  get outputStream(): MediaStream | null {
    return this._controller?.outputStream ?? null;
  }
  get lastError(): LipsyncErrorDetail | null {
    return this._lastError;
  }

  // ── lifecycle ─────────────────────────────────────────────────────────────────────────────────

  connectedCallback(): void {
    this.video.muted = this.muted;
    if (this.autoplay) this.queueRestart();
  }

  disconnectedCallback(): void {
    // Moving the element within the page reconnects it in the same task: only tear down if it stays out.
    queueMicrotask(() => {
      if (!this.isConnected) void this.teardown();
    });
  }

  attributeChangedCallback(name: string, oldValue: string | null, newValue: string | null): void {
    if (oldValue === newValue) return;
    if (name === 'muted') {
      this.video.muted = this.muted;
      if (!this.muted) void this.playVideo();
      return;
    }
    if (name === 'autoplay') {
      if (this.autoplay && this.isConnected && this.state === 'idle') this.queueRestart();
      return;
    }
    if (name === 'model') {
      const c = this._controller;
      // A new model is swapped in live (a rejected one leaves the current running); removing it restarts with the default.
      if (c && c.state !== 'idle' && newValue) void c.setModel(newValue).catch(() => undefined);
      else this.sourcesChanged();
      return;
    }
    if (RESTART_ATTRIBUTES.includes(name)) {
      if (name === 'face' && newValue !== null) this.faceObject = null;
      if (name === 'audio' && newValue !== null) this.audioObject = null;
      this.sourcesChanged();
    }
  }

  // ── actions ───────────────────────────────────────────────────────────────────────────────────

  start(): Promise<void> {
    const controller = this.ensureController();
    if (controller.state === 'idle') {
      this._lastError = null;
      this.showStatus('Loading…');
    }
    return controller.start();
  }

  async stop(): Promise<void> {
    await this._controller?.stop();
  }

  setModel(model: LipsyncModel): Promise<void> {
    return this.ensureController().setModel(model);
  }

  record(durationMs?: number): Promise<Blob> {
    return this.ensureController().record(durationMs);
  }

  stopRecording(): void {
    this._controller?.stopRecording();
  }

  // ── internals ─────────────────────────────────────────────────────────────────────────────────

  private reflect(name: string, value: string | null): void {
    if (value === null || value === undefined) this.removeAttribute(name);
    else this.setAttribute(name, String(value));
  }

  private setSource(kind: 'face' | 'audio', value: LipsyncFace | LipsyncAudio | null): void {
    if (value === null || value === undefined || typeof value === 'string') {
      if (kind === 'face') this.faceObject = null;
      else this.audioObject = null;
      const before = this.getAttribute(kind);
      this.reflect(kind, value ?? null);
      if (before === (value ?? null)) this.sourcesChanged(); // the attribute did not change, the object did
      return;
    }
    if (kind === 'face') this.faceObject = value as Exclude<LipsyncFace, string>;
    else this.audioObject = value as Exclude<LipsyncAudio, string>;
    // An object has no attribute form: drop a stale attribute without a second restart.
    if (this.hasAttribute(kind)) this.reflect(kind, null);
    else this.sourcesChanged();
  }

  /** Face, audio or where files come from changed: the running avatar is replaced. */
  private sourcesChanged(): void {
    // Stopped because its camera or microphone ended: a new face/audio is the way back, so it starts again.
    const deviceEnded = this._lastError?.fatal === true && (this._lastError.code === 'camera-ended' || this._lastError.code === 'mic-ended');
    const wasActive = this._controller !== null && (this._controller.state !== 'idle' || deviceEnded);
    if (this._controller) void this.teardown();
    if (this.isConnected && (wasActive || this.autoplay)) this.queueRestart();
  }

  /** Starts once after the current task, so several attributes set together cause one start. */
  private queueRestart(): void {
    if (this.restartQueued) return;
    this.restartQueued = true;
    queueMicrotask(() => {
      this.restartQueued = false;
      if (this.isConnected) this.start().catch(() => undefined); // shown by the 'error' handler
    });
  }

  private resolvedBase(): string | undefined {
    return this.baseUrl ?? undefined;
  }

  private ensureController(): LipsyncController {
    if (this._controller && this._controller.state !== 'closed') return this._controller;
    const controller = createLipsync({
      face: this.face as LipsyncFace,
      audio: this.audio as LipsyncAudio,
      model: this.model ?? undefined,
      // The raw attributes: a misspelt backend is reported (bad-option) rather than quietly run as auto.
      backend: (this.getAttribute('backend') ?? undefined) as LipsyncBackend | undefined,
      landmarks: (this.getAttribute('landmarks') ?? undefined) as LipsyncLandmarkBackend | undefined,
      paste: (this.getAttribute('paste') ?? undefined) as LipsyncPasteArea | undefined,
      baseUrl: this.resolvedBase(),
    });
    this._controller = controller;
    for (const type of FORWARDED_EVENTS) {
      controller.addEventListener(type, (e) => {
        if (this._controller !== controller) return;
        const detail = (e as CustomEvent<unknown>).detail;
        if (type === 'error') this.onError(detail as LipsyncErrorDetail);
        if (type === 'statechange') this.onState(detail as LipsyncState);
        // While loading, the status line says which step runs ("Downloading the generator… 3.1 / 7.0 MB (44 %)").
        if (type === 'progress' && controller.state === 'starting' && !this._lastError) this.showStatus(describeProgress(detail as LipsyncProgress));
        this.dispatchEvent(new CustomEvent(type, { detail }));
      });
    }
    return controller;
  }

  private onState(state: LipsyncState): void {
    this.dataset.state = this._lastError?.fatal && state === 'idle' ? 'error' : state;
    if (state === 'running') {
      this._lastError = null;
      this.dataset.state = 'running';
      this.video.srcObject = this._controller?.outputStream ?? null;
      this.video.muted = this.muted;
      this.hideStatus();
      void this.playVideo();
    } else if (state === 'idle' || state === 'closed') {
      this.video.srcObject = null;
      if (!this._lastError?.fatal) this.hideStatus();
    }
  }

  private onError(detail: LipsyncErrorDetail): void {
    if (detail.code === 'audio-blocked') {
      this.soundBlocked = true;
      this.showStatus('Click the avatar to turn on sound.');
      return;
    }
    this._lastError = detail;
    if (detail.fatal) this.dataset.state = 'error';
    this.showStatus(detail.message);
    if (!detail.fatal) setTimeout(() => this._lastError === detail && this.state === 'running' && this.hideStatus(), 8000);
  }

  private async playVideo(): Promise<void> {
    try {
      await this.video.play();
    } catch (e) {
      // Interrupted because the avatar stopped meanwhile (srcObject cleared): not a sound problem, keep the status.
      if ((e as DOMException | null)?.name === 'AbortError' || !this.video.srcObject) return;
      // Unmuted autoplay without a user gesture: play muted and ask for a click.
      if (!this.video.muted) {
        this.video.muted = true;
        this.soundBlocked = true;
        this.showStatus('Click the avatar to turn on sound.');
        await this.video.play().catch(() => undefined);
      }
    }
  }

  private async unblockSound(): Promise<void> {
    if (!this.soundBlocked) return;
    this.soundBlocked = false;
    await this._controller?.resumeAudio();
    this.video.muted = this.muted;
    await this.video.play().catch(() => undefined);
    if (!this._lastError) this.hideStatus();
  }

  private showStatus(text: string): void {
    this.status.textContent = text;
    this.status.hidden = false;
  }

  private hideStatus(): void {
    this.status.hidden = true;
    this.status.textContent = '';
  }

  private async teardown(): Promise<void> {
    const c = this._controller;
    this._controller = null;
    this.video.srcObject = null;
    if (c) await c.close();
  }
}

/** Registers the element (idempotent); the library calls it on import with the default name. */
export function defineLipsyncAvatar(name = 'lipsync-avatar'): void {
  if (typeof customElements === 'undefined' || customElements.get(name)) return;
  // A subclass per extra name: one constructor cannot be registered twice.
  customElements.define(name, name === 'lipsync-avatar' ? LipsyncAvatar : class extends LipsyncAvatar {});
}
