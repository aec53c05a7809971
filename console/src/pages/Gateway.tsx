/**
 * The service gateway's operator view: its health, every tenant with its app count and usage
 * totals, and the load per chain today (docs/GATEWAY.md, admin endpoints). Everything comes
 * through the console server, which adds the operator's token (/console-api/gateway/*).
 * Also the gate both gateway pages use: without a gateway they say so plainly.
 */
import type { ReactNode } from 'react';
import { type GwStatus, gateway } from '../api.ts';
import { plural } from '../lib.ts';
import {
  Badge,
  Card,
  Empty,
  ErrorBox,
  Fields,
  Hash,
  Loading,
  Show,
  useAsync,
  useNow,
} from '../ui.tsx';
import { bytesText } from './gateway-lib.ts';

/** How often the gateway pages read again while they show (ms). */
export const GATEWAY_POLL_MS = 5000;

/**
 * Renders `children` once a gateway is recorded and answers; until then a plain notice (and
 * it keeps asking, so a gateway started later shows up without a reload).
 */
export function GatewayGate({ children }: { children: (status: GwStatus) => ReactNode }) {
  const tick = useNow(GATEWAY_POLL_MS);
  const status = useAsync(() => gateway.status(), [tick]);
  if (status.error && !status.data) return <ErrorBox error={status.error} retry={status.reload} />;
  const s = status.data;
  if (!s) return <Loading what="the gateway" />;
  if (!s.recorded) {
    return (
      <div data-testid="no-gateway">
        <Empty title="No gateway">
          This network has no service gateway: network.json records none. Start one with{' '}
          <code>archi gateway start --dir DIR</code> (<code>archi up</code> starts one unless it is
          given <code>--no-gateway</code>); this page finds it as soon as it serves.
        </Empty>
      </div>
    );
  }
  if (s.problem || !s.health) {
    return (
      <div data-testid="no-gateway">
        <Empty title="The gateway does not answer">
          {s.problem ?? `no health answer from ${s.url}`}. This page asks again every{' '}
          {GATEWAY_POLL_MS / 1000} s.
        </Empty>
      </div>
    );
  }
  return <>{children(s)}</>;
}

export function GatewayPage() {
  return (
    <div className="page" data-testid="gateway-page">
      <h1>Gateway</h1>
      <GatewayGate>{(s) => <Operator status={s} />}</GatewayGate>
    </div>
  );
}

function Operator({ status }: { status: GwStatus }) {
  const tick = useNow(GATEWAY_POLL_MS);
  const tenants = useAsync(() => gateway.tenants(), [tick]);
  const load = useAsync(() => gateway.load(), [tick]);
  const today = load.data?.reduce(
    (s, l) => ({
      txs: s.txs + l.txsToday,
      queries: s.queries + l.queriesToday,
      rejected: s.rejected + l.rejectedToday,
    }),
    { txs: 0, queries: 0, rejected: 0 },
  );
  const apps = tenants.data?.reduce((s, t) => s + t.apps, 0);
  const stat = (label: string, value: ReactNode, sub: string, testId?: string) => (
    <div className="stat">
      <span className="stat-label">{label}</span>
      <span className="stat-value" data-testid={testId}>
        {value ?? '—'}
      </span>
      <span className="stat-sub">{sub}</span>
    </div>
  );
  return (
    <>
      <div className="stats">
        {stat('Tenants', tenants.data?.length, 'on this gateway', 'stat-tenants')}
        {stat('Apps', apps, 'of every tenant', 'stat-apps')}
        {stat('Txs today', today?.txs, 'accepted, UTC day', 'stat-txs-today')}
        {stat('Queries today', today?.queries, 'UTC day')}
        {stat('Rejected today', today?.rejected, 'bad requests, over quota')}
        {stat(
          'Health',
          status.health?.ok ? <Badge kind="ok">ok</Badge> : <Badge kind="error">down</Badge>,
          status.id ?? '',
          'gateway-health',
        )}
      </div>

      <div className="grid two wide-left">
        <Card title="Load per chain" testId="load-card">
          <Show a={load} what="the load per chain">
            {(rows) =>
              rows.length === 0 ? (
                <Empty title="No apps on any chain yet">
                  Create one with <code>archi app create --tenant T --name A</code>.
                </Empty>
              ) : (
                <div className="table-wrap">
                  <table data-testid="load-table">
                    <thead>
                      <tr>
                        <th>Chain</th>
                        <th className="num">Apps</th>
                        <th className="num">Txs today</th>
                        <th className="num">Queries today</th>
                        <th className="num">Rejected today</th>
                      </tr>
                    </thead>
                    <tbody>
                      {rows.map((l) => (
                        <tr key={l.chain} data-chain={l.chain}>
                          <td className="mono">{l.chain}</td>
                          <td className="num" data-col="apps">
                            {l.apps}
                          </td>
                          <td className="num" data-col="txs">
                            {l.txsToday}
                          </td>
                          <td className="num" data-col="queries">
                            {l.queriesToday}
                          </td>
                          <td className="num" data-col="rejected">
                            {l.rejectedToday}
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              )
            }
          </Show>
        </Card>
        <Card title="Gateway" testId="gateway-card">
          <Fields
            rows={[
              [
                'Id',
                <span key="id" className="mono">
                  {status.health?.id ?? status.id}
                </span>,
              ],
              ['Organization', status.health?.org ?? status.org],
              ['URL', status.url && <Hash key="url" value={status.url} full label="URL" />],
              ['Database', status.db === 'pglite' ? 'embedded (PGlite)' : (status.db ?? '—')],
            ]}
          />
        </Card>
      </div>

      <Card title="Tenants" testId="tenants-card">
        <Show a={tenants} what="the tenants">
          {(list) =>
            list.length === 0 ? (
              <Empty title="No tenants yet">
                Create one with <code>archi tenant create NAME</code>.
              </Empty>
            ) : (
              <div className="table-wrap">
                <table data-testid="tenants-table" className="clickable">
                  <thead>
                    <tr>
                      <th>Tenant</th>
                      <th className="hide-narrow">Id</th>
                      <th className="num">Apps</th>
                      <th className="num">Txs</th>
                      <th className="num">Queries</th>
                      <th className="num hide-narrow">Gas</th>
                      <th className="num hide-narrow">Written</th>
                      <th className="num">Rejected</th>
                    </tr>
                  </thead>
                  <tbody>
                    {list.map((t) => (
                      <tr
                        key={t.id}
                        data-tenant={t.name}
                        onClick={() => {
                          location.hash = `#/tenants/${encodeURIComponent(t.id)}`;
                        }}
                      >
                        <td>
                          <a href={`#/tenants/${encodeURIComponent(t.id)}`}>
                            <strong>{t.name}</strong>
                          </a>
                        </td>
                        <td className="hide-narrow">
                          <Hash value={t.id} keep={6} label="tenant id" />
                        </td>
                        <td className="num" data-col="apps">
                          {t.apps}
                        </td>
                        <td className="num" data-col="txs">
                          {t.total.txs}
                        </td>
                        <td className="num" data-col="queries">
                          {t.total.queries}
                        </td>
                        <td className="num hide-narrow">{t.total.gas}</td>
                        <td
                          className="num hide-narrow"
                          title={plural(t.total.bytesWritten, 'byte')}
                        >
                          {bytesText(t.total.bytesWritten)}
                        </td>
                        <td className="num" data-col="rejected">
                          {t.total.rejected}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )
          }
        </Show>
        <p className="muted small">Usage over all time; click a tenant for its portal.</p>
      </Card>
    </>
  );
}
