/**
 * The tenant portal (`#/tenants/<tenant>?month=YYYY-MM`): pick a tenant, then its apps (mode,
 * chain, namespace, access key, quotas with a form that changes them), each app's transaction
 * identities (public key, certificate subject and validity), usage over the last 30 UTC days
 * as charts with a CSV download, and the bill of a chosen month. All of it from the gateway's
 * admin API through the console server (/console-api/gateway/*).
 */
import { useState } from 'react';
import {
  ApiError,
  type GwApp,
  type GwAppDetail,
  type GwBill,
  type GwTenant,
  type GwUsageRow,
  gateway,
} from '../api.ts';
import { plural } from '../lib.ts';
import { go } from '../router.ts';
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
  Time,
  useAsync,
  useNow,
} from '../ui.tsx';
import { type CertInfo, parseCert } from '../x509.ts';
import { DailyChart } from './DailyChart.tsx';
import { GATEWAY_POLL_MS, GatewayGate } from './Gateway.tsx';
import {
  bytesText,
  dailySeries,
  lastDays,
  limitText,
  money,
  parseLimit,
  pemToHex,
  QUOTA_MAX,
  recentMonths,
  sumCounts,
  utcDay,
} from './gateway-lib.ts';

/** How many days the usage charts cover, today included. */
const USAGE_DAYS = 30;

export function TenantsPage({ tenant, month }: { tenant?: string; month?: string }) {
  return (
    <div className="page" data-testid="tenant-page">
      <h1>Tenant portal</h1>
      <GatewayGate>{() => <Portal want={tenant} month={month} />}</GatewayGate>
    </div>
  );
}

function Portal({ want, month }: { want?: string; month?: string }) {
  const tenants = useAsync(() => gateway.tenants(), []);
  return (
    <Show a={tenants} what="the tenants">
      {(list) => {
        if (list.length === 0) {
          return (
            <Empty title="No tenants yet">
              Create one with <code>archi tenant create NAME</code>, then its apps with{' '}
              <code>archi app create --tenant NAME --name APP</code>.
            </Empty>
          );
        }
        // The route names a tenant by id or name; none picks the first.
        const t = want ? list.find((x) => x.id === want || x.name === want) : list[0];
        return (
          <>
            <div className="row spaced" style={{ marginBottom: 16 }}>
              <label className="node-pick">
                <span>tenant</span>
                <select
                  data-testid="tenant-picker"
                  value={t?.id ?? ''}
                  onChange={(e) => go(`/tenants/${encodeURIComponent(e.target.value)}`)}
                >
                  {!t && <option value="">(pick one)</option>}
                  {list.map((x) => (
                    <option key={x.id} value={x.id}>
                      {x.name}
                    </option>
                  ))}
                </select>
              </label>
              <span className="spacer" />
              <button type="button" className="small secondary" onClick={tenants.reload}>
                Refresh
              </button>
            </div>
            {t ? (
              <TenantView key={t.id} tenant={t} month={month} />
            ) : (
              <Empty title={`No tenant ${want}`}>
                Pick one of the {plural(list.length, 'tenant')}.
              </Empty>
            )}
          </>
        );
      }}
    </Show>
  );
}

function TenantView({ tenant, month }: { tenant: GwTenant; month?: string }) {
  const tick = useNow(GATEWAY_POLL_MS);
  const today = utcDay(Date.now());
  const days = lastDays(today, USAGE_DAYS);
  // One list of the tenant's apps with each one's identities and today's usage.
  const [version, setVersion] = useState(0);
  const apps = useAsync(async () => {
    const list = await gateway.apps(tenant.id);
    return Promise.all(list.map((a) => gateway.app(a.id)));
  }, [tenant.id, version]);
  const usage = useAsync(
    () => gateway.usage({ tenant: tenant.id, from: days[0], to: today }),
    [tenant.id, today, tick],
  );
  const total = usage.data ? sumCounts(usage.data.rows) : undefined;
  const names = new Map((apps.data ?? []).map((d) => [d.app.id, d.app.name]));
  return (
    <>
      <div className="stats">
        <Stat label="Apps" value={apps.data?.length} sub={tenant.name} testId="stat-apps" />
        <Stat label="Txs" value={total?.txs} sub="last 30 days" testId="stat-txs" />
        <Stat label="Queries" value={total?.queries} sub="last 30 days" testId="stat-queries" />
        <Stat label="Gas" value={total?.gas} sub="last 30 days" />
        <Stat
          label="Written"
          value={total && bytesText(total.bytesWritten)}
          sub="on chain, last 30 days"
        />
        <Stat label="Rejected" value={total?.rejected} sub="last 30 days" />
      </div>

      <Card title="Apps" testId="apps-card">
        <Show a={apps} what="the apps">
          {(list) =>
            list.length === 0 ? (
              <Empty title="No apps yet">
                Create one with{' '}
                <code>archi app create --tenant {tenant.name} --name APP --chain CHAIN</code>.
              </Empty>
            ) : (
              <AppsTable list={list} />
            )
          }
        </Show>
      </Card>

      {(apps.data ?? []).map((d) => (
        <AppCard key={d.app.id} detail={d} onSaved={() => setVersion((v) => v + 1)} />
      ))}

      <Card
        title="Usage, last 30 days (UTC)"
        testId="usage-card"
        actions={
          <a
            className="button small secondary"
            data-testid="usage-csv"
            href={gateway.usageCsvUrl({ tenant: tenant.id, from: days[0], to: today })}
            download={`usage-${tenant.name}-${days[0]}_${today}.csv`}
          >
            Download CSV
          </a>
        }
      >
        <Show a={usage} what="the usage">
          {(u) => <Usage rows={u.rows} days={days} names={names} />}
        </Show>
      </Card>

      <BillCard tenant={tenant} month={month ?? today.slice(0, 7)} today={today} names={names} />
    </>
  );
}

function quotaText(v: number | null, per: string): string {
  return v === null ? `unlimited ${per}` : `${v.toLocaleString('en-US')} ${per}`;
}

function AppsTable({ list }: { list: GwAppDetail[] }) {
  return (
    <Table
      columns={[
        'App',
        'Mode',
        'Chain',
        'Namespace',
        ['Tx/s', 'num'],
        ['Tx/day', 'num'],
        ['Txs today', 'num'],
      ]}
      testId="apps-table"
    >
      {list.map(({ app, usageToday }) => (
        <tr key={app.id} data-app={app.name}>
          <td>
            <a href={`#app-${app.id}`}>
              <strong>{app.name}</strong>
            </a>
            <div>
              <Hash value={app.id} keep={8} label="app id" />
            </div>
          </td>
          <td>
            <ModeBadge mode={app.mode} />
          </td>
          <td className="mono">
            {app.chainId} <span className="muted">({app.crypto})</span>
          </td>
          <td className="mono">{app.namespace}</td>
          <td className="num" data-col="tps">
            {app.tps ?? '—'}
          </td>
          <td className="num" data-col="tpd">
            {app.tpd ?? '—'}
          </td>
          <td className="num" data-col="txs-today">
            {usageToday.txs}
          </td>
        </tr>
      ))}
    </Table>
  );
}

function ModeBadge({ mode }: { mode: GwApp['mode'] }) {
  return mode === 'trust' ? (
    <Badge kind="warn">key trust</Badge>
  ) : (
    <Badge kind="info">key upload</Badge>
  );
}

function AppCard({ detail, onSaved }: { detail: GwAppDetail; onSaved: () => void }) {
  const { app, identities, usageToday } = detail;
  return (
    <div id={`app-${app.id}`}>
      <Card
        title={
          <>
            {app.name} <ModeBadge mode={app.mode} />
          </>
        }
        testId={`app-${app.name}`}
      >
        <div className="grid two">
          <div>
            <Fields
              rows={[
                ['Id', <Hash key="id" value={app.id} full label="app id" />],
                [
                  'Key mode',
                  app.mode === 'trust'
                    ? 'key trust: the gateway keeps the keys (sealed) and signs for the app'
                    : 'public-key upload: the app keeps its keys and signs its own txs',
                ],
                [
                  'Chain',
                  <span key="c" className="mono">
                    {app.chainId} ({app.crypto})
                  </span>,
                ],
                [
                  'Namespace',
                  <span key="n" className="mono" data-testid="namespace">
                    {app.namespace}
                  </span>,
                ],
                [
                  'Quota',
                  <span key="q" data-testid="quota-now">
                    {quotaText(app.tps, 'tx/s')}, {quotaText(app.tpd, 'tx/day')}
                  </span>,
                ],
                [
                  'Today',
                  `${plural(usageToday.txs, 'tx')}, ${plural(usageToday.queries, 'query', 'queries')}, ${plural(usageToday.rejected, 'rejected', 'rejected')}`,
                ],
                ['Created', <Time key="t" ms={app.createdMs} />],
              ]}
            />
            <details>
              <summary className="small">Access public key</summary>
              <pre className="json" data-testid="access-key">
                {app.accessPublicKey.trim()}
              </pre>
            </details>
          </div>
          <QuotaForm app={app} onSaved={onSaved} />
        </div>
        <h3>Transaction identities</h3>
        <Identities app={app} identities={identities} />
      </Card>
    </div>
  );
}

function QuotaForm({ app, onSaved }: { app: GwApp; onSaved: () => void }) {
  const [tps, setTps] = useState(limitText(app.tps));
  const [tpd, setTpd] = useState(limitText(app.tpd));
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; text: string } | undefined>();
  const ptps = parseLimit(tps, QUOTA_MAX.tps);
  const ptpd = parseLimit(tpd, QUOTA_MAX.tpd);
  const changed =
    (ptps.ok && ptps.value !== app.tps) || (ptpd.ok && ptpd.value !== app.tpd) || false;
  const submit = async () => {
    if (!ptps.ok || !ptpd.ok) return;
    setBusy(true);
    setResult(undefined);
    try {
      const a = await gateway.setQuota(app.id, { tps: ptps.value, tpd: ptpd.value });
      setResult({
        ok: true,
        text: `saved: ${quotaText(a.tps, 'tx/s')}, ${quotaText(a.tpd, 'tx/day')}`,
      });
      onSaved();
    } catch (e) {
      const err = e as Error;
      setResult({
        ok: false,
        text: `${err instanceof ApiError ? `${err.code}: ` : ''}${err.message}`,
      });
    } finally {
      setBusy(false);
    }
  };
  return (
    <form
      className="form"
      data-testid="quota-form"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <h3 style={{ margin: 0 }}>Quotas</h3>
      <div className="row" style={{ alignItems: 'flex-start' }}>
        <label className="narrow">
          Transactions per second
          <input
            data-testid="quota-tps"
            inputMode="numeric"
            placeholder="no limit"
            value={tps}
            onChange={(e) => setTps(e.target.value)}
          />
          {!ptps.ok && <span className="form-error">{ptps.error}</span>}
        </label>
        <label className="narrow">
          Transactions per UTC day
          <input
            data-testid="quota-tpd"
            inputMode="numeric"
            placeholder="no limit"
            value={tpd}
            onChange={(e) => setTpd(e.target.value)}
          />
          {!ptpd.ok && <span className="form-error">{ptpd.error}</span>}
        </label>
      </div>
      <span className="hint">
        Empty is no limit. Every gateway on this database applies a change at once; over quota an
        app gets 429 QUOTA_TPS or QUOTA_TPD.
      </span>
      <div className="row">
        <button
          type="submit"
          data-testid="quota-save"
          disabled={busy || !ptps.ok || !ptpd.ok || !changed}
        >
          {busy ? 'Saving…' : 'Save quotas'}
        </button>
        {result && (
          <span
            className={result.ok ? 'ok-text' : 'form-error'}
            data-testid={result.ok ? 'quota-saved' : 'quota-error'}
            role={result.ok ? 'status' : 'alert'}
          >
            {result.text}
          </span>
        )}
      </div>
    </form>
  );
}

function certOf(pem: string): CertInfo | Error {
  try {
    return parseCert(pemToHex(pem));
  } catch (e) {
    return e as Error;
  }
}

const dn = (n: Record<string, string>) =>
  Object.entries(n)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');

function Identities({ app, identities }: { app: GwApp; identities: GwAppDetail['identities'] }) {
  if (identities.length === 0) return <Empty title="No identities" />;
  const now = Date.now();
  return (
    <Table
      columns={['Name', 'Public key', 'Certificate subject', 'Validity']}
      testId="identities-table"
    >
      {identities.map((i) => {
        const cert = i.cert ? certOf(i.cert) : null;
        return (
          <tr key={i.name} data-identity={i.name}>
            <td>
              <strong>{i.name}</strong>
              <div className="muted small">{i.org}</div>
            </td>
            <td>
              <Hash value={i.publicKey} keep={10} label="public key" />
              <div className="muted small">{app.crypto === 'gm' ? 'SM2' : 'P-256'}</div>
            </td>
            {cert instanceof Error ? (
              <td colSpan={2}>
                <span className="form-error">unreadable certificate: {cert.message}</span>
              </td>
            ) : cert ? (
              <>
                <td className="wrap-any" data-testid="cert-subject">
                  {dn(cert.subject)}
                  <div className="muted small">issuer {dn(cert.issuer)}</div>
                </td>
                <td data-testid="cert-validity">
                  {now < cert.notBefore.getTime() ? (
                    <Badge kind="error">not yet valid</Badge>
                  ) : now > cert.notAfter.getTime() ? (
                    <Badge kind="error">expired</Badge>
                  ) : (
                    <Badge kind="ok">valid</Badge>
                  )}{' '}
                  <span className="small nowrap">
                    {cert.notBefore.toISOString().slice(0, 10)} →{' '}
                    {cert.notAfter.toISOString().slice(0, 10)}
                  </span>
                </td>
              </>
            ) : (
              <td colSpan={2}>
                <Badge kind="info">key registered on chain</Badge>{' '}
                <span className="muted small">(a key-mode chain: no certificate)</span>
              </td>
            )}
          </tr>
        );
      })}
    </Table>
  );
}

function Usage({
  rows,
  days,
  names,
}: {
  rows: GwUsageRow[];
  days: string[];
  names: Map<string, string>;
}) {
  const [app, setApp] = useState('');
  const of = app || undefined;
  const mine = of ? rows.filter((r) => r.appId === of) : rows;
  const total = sumCounts(mine);
  // The days with any usage, newest first, each summed over the apps shown.
  const byDay = new Map<string, GwUsageRow[]>();
  for (const r of mine) byDay.set(r.day, [...(byDay.get(r.day) ?? []), r]);
  const listed = [...byDay.keys()].sort().reverse();
  return (
    <>
      <div className="row" style={{ marginBottom: 8 }}>
        <label className="node-pick">
          <span>app</span>
          <select data-testid="usage-app" value={app} onChange={(e) => setApp(e.target.value)}>
            <option value="">every app</option>
            {[...names].map(([id, name]) => (
              <option key={id} value={id}>
                {name}
              </option>
            ))}
          </select>
        </label>
      </div>
      <div className="grid two">
        <div>
          <h3>Transactions per day</h3>
          <DailyChart
            days={days}
            values={dailySeries(rows, days, 'txs', of)}
            unit="tx"
            color="var(--accent)"
            label="transactions per UTC day over the last 30 days"
            testId="chart-txs"
          />
        </div>
        <div>
          <h3>Queries per day</h3>
          <DailyChart
            days={days}
            values={dailySeries(rows, days, 'queries', of)}
            unit="query"
            units="queries"
            color="var(--accent-2)"
            label="queries per UTC day over the last 30 days"
            testId="chart-queries"
          />
        </div>
      </div>
      {listed.length === 0 ? (
        <Empty title="No usage in the last 30 days" />
      ) : (
        <Table
          columns={[
            'Day',
            ['Txs', 'num'],
            ['Queries', 'num'],
            ['Gas', 'num'],
            ['Bytes written', 'num'],
            ['Rejected', 'num'],
          ]}
          testId="usage-table"
        >
          {listed.map((d) => {
            const c = sumCounts(byDay.get(d) ?? []);
            return (
              <tr key={d} data-day={d}>
                <td className="mono">{d}</td>
                <td className="num">{c.txs}</td>
                <td className="num">{c.queries}</td>
                <td className="num">{c.gas}</td>
                <td className="num">{c.bytesWritten}</td>
                <td className="num">{c.rejected}</td>
              </tr>
            );
          })}
          <tr data-testid="usage-total">
            <td>
              <strong>total</strong>
            </td>
            <td className="num" data-col="txs">
              <strong>{total.txs}</strong>
            </td>
            <td className="num" data-col="queries">
              <strong>{total.queries}</strong>
            </td>
            <td className="num" data-col="gas">
              <strong>{total.gas}</strong>
            </td>
            <td className="num" data-col="bytesWritten">
              <strong>{total.bytesWritten}</strong>
            </td>
            <td className="num" data-col="rejected">
              <strong>{total.rejected}</strong>
            </td>
          </tr>
        </Table>
      )}
    </>
  );
}

function BillCard({
  tenant,
  month,
  today,
  names,
}: {
  tenant: GwTenant;
  month: string;
  today: string;
  names: Map<string, string>;
}) {
  const bill = useAsync(() => gateway.bill({ tenant: tenant.id, month }), [tenant.id, month]);
  const months = recentMonths(today, 12);
  if (!months.includes(month)) months.push(month);
  return (
    <Card
      title="Bill"
      testId="bill-card"
      actions={
        <label className="node-pick">
          <span>month</span>
          <select
            data-testid="bill-month"
            value={month}
            onChange={(e) =>
              go(
                `/tenants/${encodeURIComponent(tenant.id)}?month=${encodeURIComponent(e.target.value)}`,
              )
            }
          >
            {months.map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>
        </label>
      }
    >
      {bill.error ? (
        <ErrorBox error={bill.error} retry={bill.reload} />
      ) : !bill.data || bill.data.month !== month ? (
        <Loading what={`the bill for ${month}`} />
      ) : (
        <BillTable bill={bill.data} tenantId={tenant.id} names={names} />
      )}
    </Card>
  );
}

function BillTable({
  bill,
  tenantId,
  names,
}: {
  bill: GwBill;
  tenantId: string;
  names: Map<string, string>;
}) {
  const t = bill.tenants.find((x) => x.tenantId === tenantId);
  const m = (v: number) => money(v, bill.minorDigits);
  return (
    <>
      <p className="lead" data-testid="bill-total">
        {bill.month}: <strong>{m(t?.total ?? 0)}</strong> {bill.currency}
      </p>
      {!t || t.apps.length === 0 ? (
        <Empty title={`No usage billed in ${bill.month}`} />
      ) : (
        <Table
          columns={[
            'App',
            ['Txs', 'num'],
            ['Queries', 'num'],
            ['GB-months', 'num'],
            [`Txs (${bill.currency})`, 'num'],
            [`Queries (${bill.currency})`, 'num'],
            [`Storage (${bill.currency})`, 'num'],
            [`Total (${bill.currency})`, 'num'],
          ]}
          testId="bill-table"
        >
          {[...t.apps, { ...t, appId: '' }].map((a) => (
            <tr
              key={a.appId || 'total'}
              data-app={a.appId ? (names.get(a.appId) ?? a.appId) : undefined}
              data-testid={a.appId ? undefined : 'bill-tenant-total'}
            >
              <td>
                {a.appId ? (
                  (names.get(a.appId) ?? <Hash value={a.appId} keep={8} />)
                ) : (
                  <strong>total</strong>
                )}
              </td>
              <td className="num" data-col="txs">
                {a.txs}
              </td>
              <td className="num" data-col="queries">
                {a.queries}
              </td>
              <td className="num" title={String(a.gbMonths)}>
                {a.gbMonths.toFixed(6)}
              </td>
              <td className="num" data-col="txAmount">
                {m(a.txAmount)}
              </td>
              <td className="num" data-col="queryAmount">
                {m(a.queryAmount)}
              </td>
              <td className="num" data-col="storageAmount">
                {m(a.storageAmount)}
              </td>
              <td className="num" data-col="total">
                {a.appId ? m(a.total) : <strong>{m(a.total)}</strong>}
              </td>
            </tr>
          ))}
        </Table>
      )}
      <p className="muted small">
        {bill.days} days; amounts from the gateway's price table (D/gateway/prices.json), each
        rounded once to the currency's minor unit.
      </p>
    </>
  );
}
