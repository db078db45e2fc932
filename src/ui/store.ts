/** The app's one store. Only plain data lives here; the running session lives in controller.ts. */
import { create } from 'zustand';
import { initialSteps, type StepState } from '../client/startProgress.ts';
import type { BackendChoice, BackendInfo, GeneratorBackend, LandmarkBackend, LiveStatus } from '../workers/protocol.ts';

export type Phase = 'idle' | 'starting' | 'live' | 'stopping';

export interface DeviceOption {
  deviceId: string;
  label: string;
}

export interface UserMessage {
  id: number;
  level: 'error' | 'warning' | 'info';
  code: string;
  text: string;
}

export interface Recorded {
  url: string;
  bytes: number;
  fileName: string;
}

/** A `?model=` on another origin, and what the user chose to do with it. */
export interface ForeignModel {
  url: string;
  origin: string;
  decision?: 'load' | 'default';
}

export interface AppState {
  phase: Phase;
  foreignModel?: ForeignModel;
  /** The origin the running model came from, when it is not this app's. */
  modelOrigin?: string;
  cameras: DeviceOption[];
  mics: DeviceOption[];
  cameraId?: string;
  micId?: string;
  generatorBackend: BackendChoice<GeneratorBackend>;
  landmarkBackend: BackendChoice<LandmarkBackend>;
  backend?: BackendInfo;
  stats?: LiveStatus;
  messages: UserMessage[];
  recording: boolean;
  recorded?: Recorded;
  modelBusy: boolean;
  /** The Fine-tune panel is open. */
  fineTuneOpen: boolean;
  /** The Render view (dub a video file) is shown. */
  renderOpen: boolean;
  /** Start steps of the current (or last) start, in order. */
  startSteps: StepState[];
  set(patch: Partial<AppState>): void;
  addMessage(level: UserMessage['level'], code: string, text: string): void;
  dismiss(id: number): void;
  clearMessages(codes?: string[]): void;
}

let nextId = 1;

export const useAppStore = create<AppState>((set) => ({
  phase: 'idle',
  cameras: [],
  mics: [],
  generatorBackend: 'auto',
  landmarkBackend: 'auto',
  messages: [],
  recording: false,
  modelBusy: false,
  fineTuneOpen: false,
  renderOpen: new URLSearchParams(globalThis.location?.search ?? '').get('view') === 'render',
  startSteps: initialSteps(),
  set: (patch) => set(patch),
  addMessage: (level, code, text) =>
    set((s) => ({
      // One message per code: a repeated problem updates its message instead of stacking copies.
      messages: [...s.messages.filter((m) => m.code !== code), { id: nextId++, level, code, text }],
    })),
  dismiss: (id) => set((s) => ({ messages: s.messages.filter((m) => m.id !== id) })),
  // Called on every stats report (4 Hz): nothing to clear must leave the store as it is, or every view subscribed to
  // the messages renders again.
  clearMessages: (codes) =>
    set((s) => {
      const kept = codes ? s.messages.filter((m) => !codes.includes(m.code)) : [];
      return kept.length === s.messages.length ? s : { messages: kept };
    }),
}));
