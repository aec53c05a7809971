/** Hand-drawn SVG charts sized to their container (no chart library). */
import { useEffect, useRef, useState } from 'react';
import { noun, plural } from './lib.ts';

export function useWidth<T extends HTMLElement>(): [React.RefObject<T | null>, number] {
  const ref = useRef<T>(null);
  const [w, setW] = useState(0);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setW(el.clientWidth));
    ro.observe(el);
    setW(el.clientWidth);
    return () => ro.disconnect();
  }, []);
  return [ref, w];
}

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function fmt(v: number): string {
  if (v === 0) return '0';
  if (v >= 100) return Math.round(v).toString();
  if (v >= 10) return v.toFixed(0);
  return Number(v.toFixed(2)).toString();
}

/** Bars over time; `values[i]` at `times[i]` (ms); `unit` for 1, `units` for other values. */
export function BarChart({
  values,
  times,
  unit,
  units,
  color,
  label,
}: {
  values: number[];
  times: number[];
  unit: string;
  units?: string;
  color: string;
  label: string;
}) {
  const [ref, width] = useWidth<HTMLDivElement>();
  const height = 150;
  const left = 36;
  const bottom = 20;
  const top = 8;
  const max = niceMax(Math.max(...values, 0));
  const plotW = Math.max(0, width - left - 4);
  const plotH = height - top - bottom;
  const bw = values.length ? plotW / values.length : 0;
  const y = (v: number) => top + plotH - (v / max) * plotH;
  const tickEvery = Math.max(1, Math.ceil(values.length / Math.max(1, Math.floor(plotW / 70))));
  return (
    <div className="chart" ref={ref}>
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
          {values.map((v, i) => (
            <rect
              // biome-ignore lint/suspicious/noArrayIndexKey: bars are positional
              key={i}
              x={left + i * bw + 1}
              y={y(v)}
              width={Math.max(1, bw - 2)}
              height={Math.max(0, top + plotH - y(v))}
              fill={color}
              rx={1.5}
            >
              <title>{`${fmt(v)} ${noun(v, unit, units)} at ${new Date(times[i]).toLocaleTimeString()}`}</title>
            </rect>
          ))}
          {times.map((t, i) =>
            i % tickEvery === tickEvery - 1 || i === times.length - 1 ? (
              <text
                // biome-ignore lint/suspicious/noArrayIndexKey: ticks are positional
                key={i}
                x={left + (i + 0.5) * bw}
                y={height - 5}
                textAnchor="middle"
                className="axis"
              >
                {i === times.length - 1
                  ? 'now'
                  : `-${Math.round((times[times.length - 1] - t) / 1000)}s`}
              </text>
            ) : null,
          )}
        </svg>
      )}
    </div>
  );
}

export interface TopoNode {
  name: string;
  label: string;
  up: boolean;
  power: number;
  peers: string[];
}

/** Nodes on a circle, an edge for every peer link a node reports. */
export function Topology({ nodes }: { nodes: TopoNode[] }) {
  const [ref, width] = useWidth<HTMLDivElement>();
  // One node needs no room for edges; a ring of many needs room for labels between them.
  const size = Math.min(Math.max(width, 200), nodes.length === 1 ? 180 : 420);
  const r = nodes.length === 1 ? 0 : size / 2 - 56;
  const c = size / 2;
  const pos = new Map(
    nodes.map((n, i) => {
      const a = (2 * Math.PI * i) / nodes.length - Math.PI / 2;
      return [n.name, { x: c + r * Math.cos(a), y: c + r * Math.sin(a) }];
    }),
  );
  const edges: Array<[string, string]> = [];
  const seen = new Set<string>();
  for (const n of nodes) {
    for (const p of n.peers) {
      if (!pos.has(p) || p === n.name) continue;
      const k = [n.name, p].sort().join('|');
      if (seen.has(k)) continue;
      seen.add(k);
      edges.push([n.name, p]);
    }
  }
  const maxPower = Math.max(1, ...nodes.map((n) => n.power));
  return (
    <div className="topology" ref={ref}>
      {width > 0 && (
        <svg
          width={size}
          height={size}
          role="img"
          aria-label={`${plural(nodes.length, 'node')}, ${plural(edges.length, 'connection')}`}
        >
          {edges.map(([a, b]) => (
            <line
              key={`${a}|${b}`}
              x1={pos.get(a)!.x}
              y1={pos.get(a)!.y}
              x2={pos.get(b)!.x}
              y2={pos.get(b)!.y}
              className="edge"
            />
          ))}
          {nodes.map((n) => {
            const p = pos.get(n.name)!;
            const rad = 16 + (n.power / maxPower) * 10;
            return (
              <g key={n.name} className={`topo-node ${n.up ? 'up' : 'down'}`}>
                <circle cx={p.x} cy={p.y} r={rad} />
                <text x={p.x} y={p.y + 4} textAnchor="middle" className="topo-name">
                  {n.name}
                </text>
                <text x={p.x} y={p.y + rad + 15} textAnchor="middle" className="topo-label">
                  {n.label}
                </text>
              </g>
            );
          })}
        </svg>
      )}
    </div>
  );
}
