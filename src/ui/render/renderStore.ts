/** State of the Render view (dub a video file): inputs, progress, result, error. */
import { create } from 'zustand';
import type { RenderProgressMessage } from '../../client/render.ts';

export type RenderPhase = 'idle' | 'recording' | 'rendering' | 'done' | 'failed';

export interface RenderOutput {
  url: string;
  fileName: string;
  bytes: number;
  frames: number;
  fps: number;
  seconds: number;
  facesFound: number;
  renderFps: number;
  stages: Record<string, number>;
  /** A preview (first seconds) rather than the whole render. */
  preview: boolean;
}

export interface RenderState {
  face?: File;
  faceUrl?: string;
  audio?: File;
  audioUrl?: string;
  tail: 'stop' | 'keep';
  phase: RenderPhase;
  /** What runs now: a preview of the first seconds or the whole file. */
  running?: 'preview' | 'full';
  progress?: RenderProgressMessage;
  startedAt?: number;
  output?: RenderOutput;
  error?: { code: string; message: string };
  set(patch: Partial<RenderState>): void;
}

export const useRenderStore = create<RenderState>((set) => ({
  tail: 'stop',
  phase: 'idle',
  set: (patch) => set(patch),
}));
