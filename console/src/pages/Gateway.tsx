/**
 * The service gateway's operator view: its health, every tenant with its app count and usage
 * totals, and the load per chain today (docs/GATEWAY.md, admin endpoints). Everything comes
 * through the console server, which adds the operator's token (/console-api/gateway/*).
 * Also the gate both gateway pages use: without a gateway they say so plainly.
 */
import type { ReactNode } from 'react';
import { type GwStatus, gateway } from '../api.ts';
import { plural } from '../lib.ts';
import { Stat } from '../stat.tsx';
import { Table } from '../table.tsx';
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
      <Empty title="No gateway" testId="no-gateway">
        This network has no service gateway: network.json records none. Start one with{' '}
        <code>archi gateway start --dir DIR</code> (<code>archi up</code> starts one unless it is
        given <code>--no-gateway</code>); this page finds it as soon as it serves.
      </Empty>
    );
  }
  if (s.problem || !s.health) {
    return (
      <Empty title="The gateway does not answer" testId="no-gateway">
        {s.problem ?? `no health answer from ${s.url}`}. This page asks again every{' '}
        {GATEWAY_POLL_MS / 1000} s.
      </Empty>
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
  return (
    <>
      <div className="stats">
        <Stat
          label="Tenants"
          value={tenants.data?.length}
          sub="on this gateway"
          testId="stat-tenants"
        />
        <Stat label="Apps" value={apps} sub="of every tenant" testId="stat-apps" />
        <Stat
          label="Txs today"
          value={today?.txs}
          sub="accepted, UTC day"
          testId="stat-txs-today"
        />
        <Stat label="Queries today" value={today?.queries} sub="UTC day" />
        <Stat label="Rejected today" value={today?.rejected} sub="bad requests, over quota" />
        <Stat
          label="Health"
          value={status.health?.ok ? <Badge kind="ok">ok</Badge> : <Badge kind="error">down</Badge>}
          sub={status.id ?? ''}
          testId="gateway-health"
        />
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
                <Table
                  columns={[
                    'Chain',
                    ['Apps', 'num'],
                    ['Txs today', 'num'],
                    ['Queries today', 'num'],
                    ['Rejected today', 'num'],
                  ]}
                  testId="load-table"
                >
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
                </Table>
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
              <Table
                columns={[
                  'Tenant',
                  ['Id', 'hide-narrow'],
                  ['Apps', 'num'],
                  ['Txs', 'num'],
                  ['Queries', 'num'],
                  ['Gas', 'num hide-narrow'],
                  ['Written', 'num hide-narrow'],
                  ['Rejected', 'num'],
                ]}
                testId="tenants-table"
                className="clickable"
              >
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
                    <td className="num hide-narrow" title={plural(t.total.bytesWritten, 'byte')}>
                      {bytesText(t.total.bytesWritten)}
                    </td>
                    <td className="num" data-col="rejected">
                      {t.total.rejected}
                    </td>
                  </tr>
                ))}
              </Table>
            )
          }
        </Show>
        <p className="muted small">Usage over all time; click a tenant for its portal.</p>
      </Card>
    </>
  );
}
