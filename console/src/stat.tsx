/** The stat tile: one figure of a page's `.stats` row. */
import type { ReactNode } from 'react';

/** One tile of a page's `.stats` row; a value not known yet shows as a dash. */
export function Stat({
  label,
  value,
  sub,
  testId,
}: {
  label: string;
  value: ReactNode;
  sub: ReactNode;
  testId?: string;
}) {
  return (
    <div className="stat">
      <span className="stat-label">{label}</span>
      <span className="stat-value" data-testid={testId}>
        {value ?? '—'}
      </span>
      <span className="stat-sub">{sub}</span>
    </div>
  );
}
