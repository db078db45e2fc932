import type { ReactNode } from 'react';
import { refinesLandmarksOn } from '../engine/face/meshChoice.ts';
import { useAppStore } from './store.ts';

const ms = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '–' : `${v.toFixed(1)} ms`);

/** A value that changes while live, in a fixed-size contained box (app.css): updating it lays out only the box. */
function Live({ children, num = false }: { children: ReactNode; num?: boolean }) {
  return <span className={num ? 'value num' : 'value'}>{children}</span>;
}

/** "learning…" until the person's range is known (25 faces with an opening mouth), then median / 90th percentile. */
function articulationText(a: [number, number] | null | undefined): string {
  if (a === undefined) return '–';
  if (a === null) return 'learning…';
  return `${(a[0] * 100).toFixed(1)} / ${(a[1] * 100).toFixed(1)} %`;
}

/** Where the generated mouth is moved to sit on the person's (engine/face/mouthPlacement.ts), % of the face crop. */
function mouthShiftText(s: [number, number] | null | undefined): string {
  if (!s) return '–';
  if (s[0] === 0 && s[1] === 0) return 'learning…';
  const part = (v: number, plus: string, minus: string) => `${v >= 0 ? plus : minus} ${Math.abs(v * 100).toFixed(1)} %`;
  return `${part(s[0], '→', '←')}  ${part(s[1], '↓', '↑')}`;
}

export function Hud() {
  const stats = useAppStore((s) => s.stats);
  const backend = useAppStore((s) => s.backend);
  const modelOrigin = useAppStore((s) => s.modelOrigin);
  if (!backend && !stats) return null;
  return (
    <section className="hud" data-testid="hud" aria-label="Performance">
      <dl>
        <dt>fps</dt>
        <dd data-testid="hud-fps">
          <Live>{stats ? stats.fps.toFixed(1) : '–'}</Live>
        </dd>
        <dt>audio → output latency</dt>
        <dd data-testid="hud-latency">
          <Live>{ms(stats?.audioDelayMs)}</Live>
        </dd>
        <dt>dropped frames</dt>
        <dd
          data-testid="hud-dropped"
          title={
            stats?.droppedBy ? [...Object.entries(stats.droppedBy).map(([why, n]) => `${why}: ${n}`), `in flight: ${stats.inFlight}`].join(', ') : undefined
          }
        >
          <Live>
            {stats?.dropped ?? 0}
            {stats?.framesOffered ? ` of ${stats.framesOffered}` : ''}
          </Live>
        </dd>
        {backend?.articulationInput && (
          <>
            <dt>mouth range</dt>
            <dd
              data-testid="hud-articulation"
              title="How far this person's mouth opens (median and 90th percentile, % of the face crop) over the last 10 s: this generator speaks with it instead of a typical person's (until it is known, with a typical person's)."
            >
              <Live>{articulationText(stats?.articulation)}</Live>
            </dd>
          </>
        )}
        <dt>mouth placed</dt>
        <dd
          data-testid="hud-mouth-shift"
          title="How far the generated mouth is moved so that it sits where this person's own mouth is (% of the face crop), learnt by reading the output back every few frames."
        >
          <Live>{mouthShiftText(stats?.mouthShift)}</Live>
        </dd>
        {stats?.openingGain != null && (
          <>
            <dt>mouth opening</dt>
            <dd
              data-testid="hud-opening-gain"
              title="How far the generated mouth opens against the model as trained: closed down to this person's own opening, learnt while the camera's mouth moves with the output's."
            >
              <Live>{stats.openingGain >= 0.995 ? 'as trained' : `× ${stats.openingGain.toFixed(2)}`}</Live>
            </dd>
          </>
        )}
        <dt>generator</dt>
        <dd data-testid="hud-backend" title={backend?.generatorReason}>
          {/* The runtime too: on CPUs the bench compares onnxruntime-web's wasm with tfjs-wasm (bench/runtimes.ts). */}
          {backend ? `onnxruntime ${backend.generator}${backend.generator === 'wasm' ? ` ×${backend.threads} threads` : ''}` : '–'}
        </dd>
        <dt>face tracking</dt>
        <dd data-testid="hud-landmarks" title={backend?.landmarksReason}>
          {backend
            ? `tfjs ${backend.landmarks}, ${refinesLandmarksOn(backend.landmarks) ? 'refined' : 'plain'} mesh${backend.landmarksOwnThread ? ', own thread' : ''}`
            : '–'}
        </dd>
        <dt>model</dt>
        <dd data-testid="hud-model">
          {backend?.modelName ?? '–'}
          {modelOrigin && (
            <span className="origin" data-testid="hud-model-origin">
              {' '}
              from {modelOrigin}
            </span>
          )}
        </dd>
      </dl>
      {stats && (
        <table className="stages">
          <thead>
            <tr>
              <th>stage</th>
              <th>mean</th>
              <th>p95</th>
            </tr>
          </thead>
          <tbody>
            {Object.entries(stats.stages).map(([name, st]) => (
              <tr key={name}>
                <td>{name}</td>
                <td>
                  <Live num>{ms(st.mean)}</Live>
                </td>
                <td>
                  <Live num>{ms(st.p95)}</Live>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
