/**
 * M0 over heights: one stacked bar per point (central bank, operators, wallets, escrowed, in
 * transit and held abroad),
 * whose height is M0 outstanding then, drawn like charts.tsx's charts and sized with its
 * useWidth.
 */
import { useWidth } from '../charts.tsx';
import { type M0, type M0Point, yuan } from '../cbdc.ts';

/** The buckets in stacking order, with their colours. */
export const BUCKETS: Array<{ key: keyof M0; label: string; color: string }> = [
  { key: 'central', label: 'Central bank', color: '#5b6bd5' },
  { key: 'operators', label: 'Operators', color: '#2f9e8f' },
  { key: 'wallets', label: 'Wallets', color: '#e0a030' },
  { key: 'escrowed', label: 'Escrowed', color: '#b05cc4' },
  { key: 'inTransit', label: 'In transit abroad', color: '#8a94a6' },
  { key: 'abroad', label: 'Held abroad', color: '#d0604a' },
];

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** Fen as a short yuan figure for an axis (`12.5k`, `3M`). */
function short(fen: number): string {
  const y = fen / 100;
  if (y >= 1_000_000) return `${Number((y / 1_000_000).toFixed(1))}M`;
  if (y >= 1000) return `${Number((y / 1000).toFixed(1))}k`;
  return String(Math.round(y));
}

/** Stacked M0 buckets after each tx that moved money, oldest first. */
export function M0Chart({ points, testId }: { points: M0Point[]; testId?: string }) {
  const [ref, width] = useWidth<HTMLDivElement>();
  const height = 170;
  const left = 44;
  const bottom = 20;
  const top = 8;
  const total = (p: M0Point) => BUCKETS.reduce((s, b) => s + Math.max(0, p[b.key]), 0);
  const max = niceMax(Math.max(0, ...points.map(total)));
  const plotW = Math.max(0, width - left - 4);
  const plotH = height - top - bottom;
  const bw = points.length ? plotW / points.length : 0;
  const y = (v: number) => top + plotH - (v / max) * plotH;
  const tickEvery = Math.max(1, Math.ceil(points.length / Math.max(1, Math.floor(plotW / 56))));
  const last = points[points.length - 1];
  return (
    <div>
      <div
        className="chart"
        ref={ref}
        data-testid={testId}
        data-points={points.length}
        data-outstanding={last ? last.issued - last.redeemed : 0}
      >
        {width > 0 && (
          <svg width={width} height={height} role="img" aria-label="M0 by bucket over heights">
            {[0, 0.5, 1].map((f) => (
              <g key={f}>
                <line x1={left} x2={width - 4} y1={y(max * f)} y2={y(max * f)} className="grid" />
                <text x={left - 6} y={y(max * f) + 4} textAnchor="end" className="axis">
                  {short(max * f)}
                </text>
              </g>
            ))}
            {points.map((p, i) => {
              let base = 0;
              return (
                // biome-ignore lint/suspicious/noArrayIndexKey: points are positional
                <g key={i}>
                  <title>
                    {`height ${p.height}: ${BUCKETS.map((b) => `${b.label.toLowerCase()} ${yuan(p[b.key])}`).join(', ')}; issued ${yuan(p.issued)}, redeemed ${yuan(p.redeemed)}`}
                  </title>
                  {BUCKETS.map((b) => {
                    const v = Math.max(0, p[b.key]);
                    const y0 = y(base);
                    base += v;
                    return v > 0 ? (
                      <rect
                        key={b.key}
                        x={left + i * bw + 1}
                        y={y(base)}
                        width={Math.max(1, bw - 2)}
                        height={Math.max(1, y0 - y(base))}
                        fill={b.color}
                      />
                    ) : null;
                  })}
                </g>
              );
            })}
            {points.map((p, i) =>
              (points.length - 1 - i) % tickEvery === 0 ? (
                <text
                  // biome-ignore lint/suspicious/noArrayIndexKey: ticks are positional
                  key={i}
                  x={i === points.length - 1 ? left + plotW : left + (i + 0.5) * bw}
                  y={height - 5}
                  textAnchor={i === points.length - 1 ? 'end' : 'middle'}
                  className="axis"
                >
                  {`#${p.height}`}
                </text>
              ) : null,
            )}
          </svg>
        )}
      </div>
      <div className="legend">
        {BUCKETS.map((b) => (
          <span key={b.key}>
            <span className="swatch" style={{ background: b.color }} aria-hidden="true" />
            {b.label}
          </span>
        ))}
      </div>
    </div>
  );
}
