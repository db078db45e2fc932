/**
 * demo.html: two avatars with their own face and audio, plus a webcam one behind a button.
 * Sources come from the query string (?face1=&audio1=&face2=&audio2=&model=&backend=&landmarks=),
 * defaulting to files in demo/ next to the page (public/demo/ in the source tree; see README).
 */
import type { LipsyncAvatarElement, LipsyncBackend, LipsyncErrorDetail, LipsyncLandmarkBackend, LipsyncStats } from './index.ts';
import './index.ts';

const DEFAULTS = { face1: 'demo/face1.mp4', audio1: 'demo/audio1.wav', face2: 'demo/face2.jpg', audio2: 'demo/audio2.wav' } as const;
const query = new URLSearchParams(location.search);
const param = (name: keyof typeof DEFAULTS) => query.get(name) ?? DEFAULTS[name];

function configure(el: LipsyncAvatarElement): void {
  const model = query.get('model');
  if (model) el.model = model;
  const backend = query.get('backend');
  if (backend) el.backend = backend as LipsyncBackend;
  const landmarks = query.get('landmarks');
  if (landmarks) el.landmarks = landmarks as LipsyncLandmarkBackend;
}

function showStats(el: LipsyncAvatarElement, out: HTMLElement): void {
  el.addEventListener('stats', (e) => {
    const s: LipsyncStats = e.detail;
    const backend = el.controller?.backend;
    out.textContent = `${s.fps.toFixed(1)} fps · audio delay ${Math.round(s.audioDelayMs)} ms · ${s.faceVisible ? 'face' : 'no face'}${backend ? ` · ${backend.generator}` : ''}`;
  });
  el.addEventListener('error', (e) => {
    const d: LipsyncErrorDetail = e.detail;
    if (!d.fatal) return;
    out.textContent = d.message;
    out.className = 'hint';
  });
}

for (const n of [1, 2] as const) {
  const el = document.getElementById(`avatar${n}`) as LipsyncAvatarElement;
  const figure = el.closest('figure')!;
  const face = param(`face${n}`);
  const audio = param(`audio${n}`);
  figure.querySelector('[data-role=source]')!.textContent = `face: ${face} · audio: ${audio}`;
  showStats(el, figure.querySelector('[data-role=stats]') as HTMLElement);
  el.addEventListener('error', (e) => {
    const missingDefault = (e.detail.code === 'face-fetch' && !query.has(`face${n}`)) || (e.detail.code === 'audio-fetch' && !query.has(`audio${n}`));
    if (missingDefault) {
      figure.querySelector('[data-role=stats]')!.textContent =
        `Put a face video or image and an audio file in public/demo/ (see README, "Embedding"), or pass ?face${n}=URL&audio${n}=URL.`;
    }
  });
  el.addEventListener('click', () => (el.muted = !el.muted));
  configure(el);
  el.face = face;
  el.audio = audio;
  el.autoplay = true;
}

const toggle = document.getElementById('webcam-toggle') as HTMLButtonElement;
const slot = document.getElementById('webcam-slot')!;
toggle.addEventListener('click', () => {
  const existing = slot.querySelector('figure');
  if (existing) {
    existing.remove(); // disconnecting the element stops it and releases camera and microphone
    toggle.textContent = 'Start webcam avatar';
    return;
  }
  const figure = document.createElement('figure');
  const el = document.createElement('lipsync-avatar');
  el.id = 'webcam-avatar';
  const caption = document.createElement('figcaption');
  const stats = document.createElement('span');
  stats.className = 'stats';
  stats.textContent = 'asking for camera and microphone…';
  caption.append('face: camera · audio: microphone', document.createElement('br'), stats);
  figure.append(el, caption);
  showStats(el, stats);
  configure(el);
  el.face = 'camera';
  el.audio = 'microphone';
  el.muted = true;
  el.autoplay = true;
  slot.append(figure);
  toggle.textContent = 'Stop webcam avatar';
});
