import type { LossPoint } from './fineTuneStore.ts';

/** Train (thin) and validation (dots + line) loss over steps, as a small SVG. */
export function LossPlot({ train, val, steps }: { train: LossPoint[]; val: LossPoint[]; steps: number }) {
  const W = 320,
    H = 120,
    P = 24;
  const all = [...train, ...val].map((p) => p.loss).filter(Number.isFinite);
  if (!all.length) return <svg className="loss-plot" width={W} height={H} data-testid="loss-plot" />;
  const lo = Math.min(...all),
    hi = Math.max(...all);
  const x = (s: number) => P + ((W - 2 * P) * s) / Math.max(1, steps);
  const y = (v: number) => H - P - ((H - 2 * P) * (v - lo)) / Math.max(1e-9, hi - lo);
  const path = (pts: LossPoint[]) => pts.map((p, i) => `${i ? 'L' : 'M'}${x(p.step).toFixed(1)},${y(p.loss).toFixed(1)}`).join('');
  return (
    <svg className="loss-plot" width={W} height={H} data-testid="loss-plot" role="img" aria-label="Training and validation loss">
      <path d={path(train)} fill="none" stroke="#8aa" strokeWidth={1} />
      <path d={path(val)} fill="none" stroke="#e60" strokeWidth={2} />
      {val.map((p) => (
        <circle key={p.step} cx={x(p.step)} cy={y(p.loss)} r={2.5} fill="#e60" data-testid="val-point" data-step={p.step} data-loss={p.loss} />
      ))}
      <text x={P} y={12} fontSize={10}>
        {hi.toFixed(3)}
      </text>
      <text x={P} y={H - 6} fontSize={10}>
        {lo.toFixed(3)}
      </text>
      <text x={W - P} y={12} fontSize={10} textAnchor="end">
        train — val ●
      </text>
    </svg>
  );
}
