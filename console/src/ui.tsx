/** Small building blocks every page uses: async state, ids you can copy, the three states. */
import { type ReactNode, useCallback, useEffect, useRef, useState } from 'react';
import { ApiError } from './api.ts';

export interface Async<T> {
  data: T | undefined;
  error: Error | undefined;
  loading: boolean;
  reload: () => void;
}

/** Run `fn` when `deps` change; stale answers from an earlier run are dropped. */
export function useAsync<T>(fn: () => Promise<T>, deps: unknown[]): Async<T> {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({
    loading: true,
  });
  const [tick, setTick] = useState(0);
  const run = useRef(0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: deps are the caller's
  useEffect(() => {
    const id = ++run.current;
    setState((s) => ({ data: s.data, loading: true }));
    fn().then(
      (data) => id === run.current && setState({ data, loading: false }),
      (error: Error) => id === run.current && setState({ error, loading: false }),
    );
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

/** Re-render every `ms` (relative times, charts). */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}

async function copyText(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // Clipboard API refused (permissions, old browser): fall back to a hidden selection.
    const ta = document.createElement('textarea');
    ta.value = text;
    ta.style.position = 'fixed';
    ta.style.opacity = '0';
    document.body.appendChild(ta);
    ta.select();
    document.execCommand('copy');
    ta.remove();
  }
}

export function CopyButton({ text, label }: { text: string; label?: string }) {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      className="copy"
      title={done ? 'copied' : `copy ${label ?? 'value'}`}
      aria-label={`copy ${label ?? 'value'}`}
      onClick={(e) => {
        e.preventDefault();
        e.stopPropagation();
        void copyText(text).then(() => {
          setDone(true);
          setTimeout(() => setDone(false), 1200);
        });
      }}
    >
      {done ? (
        <svg viewBox="0 0 16 16" aria-hidden="true">
          <path d="M3 8.5 6.5 12 13 4" fill="none" stroke="currentColor" strokeWidth="2" />
        </svg>
      ) : (
        <svg viewBox="0 0 16 16" aria-hidden="true">
          <rect x="5" y="5" width="8.5" height="9" rx="1.5" fill="none" stroke="currentColor" />
          <path d="M3 11V3.5A1.5 1.5 0 0 1 4.5 2H10" fill="none" stroke="currentColor" />
        </svg>
      )}
    </button>
  );
}

export function shorten(s: string, keep = 8): string {
  return s.length <= keep * 2 + 1 ? s : `${s.slice(0, keep)}…${s.slice(-keep)}`;
}

/** A hash or id: shortened unless `full`, the whole value in its title, a copy button. */
export function Hash({
  value,
  href,
  full,
  keep,
  label,
}: {
  value: string;
  href?: string;
  full?: boolean;
  keep?: number;
  label?: string;
}) {
  if (!value) return <span className="muted">—</span>;
  const text = full ? value : shorten(value, keep);
  return (
    <span className={`hash${full ? ' full' : ''}`} title={value}>
      {href ? (
        <a className="hash-text" href={href}>
          {text}
        </a>
      ) : (
        <span className="hash-text">{text}</span>
      )}
      <CopyButton text={value} label={label} />
    </span>
  );
}

export function Loading({ what }: { what?: string }) {
  return (
    <div className="state loading" role="status">
      <span className="spinner" aria-hidden="true" />
      Loading{what ? ` ${what}` : ''}…
    </div>
  );
}

export function ErrorBox({ error, retry }: { error: Error; retry?: () => void }) {
  const code = error instanceof ApiError ? error.code : undefined;
  return (
    <div className="state error" role="alert">
      <strong>{code ?? 'Error'}</strong>
      <span>{error.message}</span>
      {retry && (
        <button type="button" className="small" onClick={retry}>
          Retry
        </button>
      )}
    </div>
  );
}

/** The notice a list shows when it has nothing to list. */
export function Empty({
  title,
  children,
  testId,
}: {
  title: string;
  children?: ReactNode;
  testId?: string;
}) {
  return (
    <div className="state empty" data-testid={testId}>
      <strong>{title}</strong>
      {children && <div>{children}</div>}
    </div>
  );
}

/** Loading / error / content for one async value. */
export function Show<T>({
  a,
  what,
  children,
}: {
  a: Async<T>;
  what?: string;
  children: (data: T) => ReactNode;
}) {
  if (a.error && !a.data) return <ErrorBox error={a.error} retry={a.reload} />;
  if (a.data === undefined) return <Loading what={what} />;
  return <>{children(a.data)}</>;
}

export function Card({
  title,
  actions,
  children,
  className,
  testId,
}: {
  title?: ReactNode;
  actions?: ReactNode;
  children: ReactNode;
  className?: string;
  testId?: string;
}) {
  return (
    <section className={`card${className ? ` ${className}` : ''}`} data-testid={testId}>
      {(title || actions) && (
        <header className="card-head">
          {title && <h2>{title}</h2>}
          {actions && <div className="actions">{actions}</div>}
        </header>
      )}
      {children}
    </section>
  );
}

/** A definition list of label / value rows. */
export function Fields({ rows }: { rows: Array<[string, ReactNode] | false | null | undefined> }) {
  return (
    <dl className="fields">
      {rows
        .filter((r): r is [string, ReactNode] => !!r)
        .map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </div>
        ))}
    </dl>
  );
}

export function Badge({
  kind,
  children,
}: {
  kind: 'ok' | 'error' | 'warn' | 'info' | 'muted';
  children: ReactNode;
}) {
  return <span className={`badge ${kind}`}>{children}</span>;
}

export function Json({ value }: { value: unknown }) {
  const text = value === undefined ? 'undefined' : JSON.stringify(value, null, 2);
  return <pre className="json">{text}</pre>;
}

export function ago(ms: number, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

export function Time({ ms, now }: { ms: number; now?: number }) {
  const d = new Date(ms);
  return (
    <time dateTime={d.toISOString()} title={d.toISOString()}>
      {d.toLocaleString()} <span className="muted">({ago(ms, now)})</span>
    </time>
  );
}

/** Decode hex bytes for display: JSON when they parse, text when printable, else hex. */
export function describeBytes(hexValue: string | null): { kind: string; text: string } {
  if (hexValue === null) return { kind: 'absent', text: '(absent)' };
  const bytes = new Uint8Array(hexValue.length / 2);
  for (let i = 0; i < bytes.length; i++)
    bytes[i] = Number.parseInt(hexValue.slice(2 * i, 2 * i + 2), 16);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { kind: 'hex', text: hexValue };
  }
  try {
    return { kind: 'json', text: JSON.stringify(JSON.parse(text)) };
  } catch {
    return { kind: 'text', text };
  }
}

/** Parse a JSON text field; returns [value] or an error message. */
export function parseArgs(
  text: string,
): { ok: true; value: unknown } | { ok: false; error: string } {
  if (text.trim() === '') return { ok: true, value: null };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    return { ok: false, error: `args are not valid JSON: ${(e as Error).message}` };
  }
}
