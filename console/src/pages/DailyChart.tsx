/**
 * Bars per UTC day (the gateway's usage), drawn like charts.tsx's BarChart and sized with its
 * useWidth; the axis names days rather than seconds ago.
 */
import { useWidth } from '../charts.tsx';
import { noun } from '../lib.ts';

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function fmt(v: number): string {
  if (v === 0) return '0';
  if (v >= 1_000_000) return `${Number((v / 1_000_000).toFixed(1))}M`;
  if (v >= 10_000) return `${Number((v / 1000).toFixed(0))}k`;
  if (v >= 10 || Number.isInteger(v)) return Math.round(v).toString();
  return Number(v.toFixed(2)).toString();
}

/** `values[i]` on `days[i]` (YYYY-MM-DD, oldest first); `unit` for 1, `units` for others. */
export function DailyChart({
  days,
  values,
  unit,
  units,
  color,
  label,
  testId,
}: {
  days: string[];
  values: number[];
  unit: string;
  units?: string;
  color: string;
  label: string;
  testId?: string;
}) {
  const [ref, width] = useWidth<HTMLDivElement>();
  const height = 150;
  const left = 40;
  const bottom = 20;
  const top = 8;
  const max = niceMax(Math.max(...values, 0));
  const plotW = Math.max(0, width - left - 4);
  const plotH = height - top - bottom;
  const bw = values.length ? plotW / values.length : 0;
  const y = (v: number) => top + plotH - (v / max) * plotH;
  const tickEvery = Math.max(1, Math.ceil(values.length / Math.max(1, Math.floor(plotW / 56))));
  const total = values.reduce((s, v) => s + v, 0);
  return (
    <div className="chart" ref={ref} data-testid={testId} data-total={total}>
      {width > 0 && (
        <svg width={width} height={height} role="img" aria-label={label}>
          {[0, 0.5, 1].map((f) => (
            <g key={f}>
              <line x1={left} x2={width - 4} y1={y(max * f)} y2={y(max * f)} className="grid" />
              <text x={left - 6} y={y(max * f) + 4} textAnchor="end" className="axis">
                {fmt(max * f)}
              </text>
            </g>
          ))}
          {values.map((v, i) =>
            v > 0 ? (
              <rect
                key={days[i]}
                data-day={days[i]}
                data-value={v}
                x={left + i * bw + 1}
                y={y(v)}
                width={Math.max(1, bw - 2)}
                height={Math.max(1, top + plotH - y(v))}
                fill={color}
                rx={1.5}
              >
                <title>{`${v.toLocaleString('en-US')} ${noun(v, unit, units)} on ${days[i]}`}</title>
              </rect>
            ) : null,
          )}
          {days.map((d, i) =>
            (days.length - 1 - i) % tickEvery === 0 ? (
              <text
                key={d}
                x={i === days.length - 1 ? left + plotW : left + (i + 0.5) * bw}
                y={height - 5}
                textAnchor={i === days.length - 1 ? 'end' : 'middle'}
                className="axis"
              >
                {i === days.length - 1 ? 'today' : d.slice(5)}
              </text>
            ) : null,
          )}
        </svg>
      )}
    </div>
  );
}
