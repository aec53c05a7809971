/**
 * The regulator's view of the cbdc app (`#/cbdc/regulator[/YYYY-MM-DD]`): a UTC day's
 * aggregates per operator, the payments per day around it, every flow of the day (amounts,
 * pseudonyms, times; 100 at a time), the large-value alerts at the contract's threshold, and the audit trail
 * of resolutions. Only that a resolution exists shows: opening the link needs the regulator's
 * private key, which stays with the regulator (`archi cbdc resolve`).
 */
import { useState } from 'react';
import {
  type Agg,
  CBDC,
  dayFromText,
  daysEnding,
  dayText,
  type Flow,
  type Resolution,
  type Roles,
  sumAggs,
  yuan,
} from '../cbdc.ts';
import { useCtx } from '../context.tsx';
import { plural } from '../lib.ts';
import { go } from '../router.ts';
import { Stat } from '../stat.tsx';
import { Table } from '../table.tsx';
import { Card, Empty, ErrorBox, Show, useAsync } from '../ui.tsx';
import { FlowTable } from './CbdcOperator.tsx';
import { ResolutionTable } from './CbdcWallet.tsx';
import { DailyChart } from './DailyChart.tsx';

/** Days the payments chart shows, ending with the chosen one. */
const CHART_DAYS = 14;

type AggAnswer = { day: number; operators: Record<string, Agg> };

type FlowPage = { operator: string; total: number; flows: Flow[] };

/** One operator's flows of the day: the first page, then 100 more per click. */
function OperatorFlows({ day, first }: { day: number; first: FlowPage }) {
  const { rpc } = useCtx();
  const [rows, setRows] = useState(first.flows);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | null>(null);
  const more = async () => {
    setBusy(true);
    try {
      const page = Math.ceil(rows.length / 100);
      const a = await rpc.query(CBDC, 'flows', { day, operator: first.operator, page });
      setRows((r) => [...r, ...(a.result as FlowPage).flows]);
      setError(null);
    } catch (e) {
      setError(e as Error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Card title={`Flows through ${first.operator} (${first.total})`}>
      {rows.length === 0 ? (
        <Empty title="No flows this day" />
      ) : (
        <FlowTable flows={rows} testId={`reg-flows-${first.operator}`} />
      )}
      {error && <ErrorBox error={error} />}
      {rows.length < first.total && (
        <button
          type="button"
          className="secondary small"
          onClick={() => void more()}
          disabled={busy}
        >
          {plural(first.total - rows.length, 'more flow')}
        </button>
      )}
    </Card>
  );
}

export function CbdcRegulator({ roles, day: dayPart }: { roles: Roles; day?: string }) {
  const { rpc } = useCtx();
  const asked = dayPart === undefined ? undefined : dayFromText(dayPart);
  const data = useAsync(async () => {
    const q = <T,>(method: string, args: unknown) =>
      rpc.query(CBDC, method, args).then((a) => a.result as T);
    // Without a day in the route, the day is the chain's today (the block time's), not the browser's.
    const first = await q<AggAnswer>('aggregates', asked === undefined ? null : { day: asked });
    const day = first.day;
    const [alerts, flows, trail, around] = await Promise.all([
      q<{ threshold: number; alerts: Flow[] }>('alerts', { day }),
      Promise.all(
        roles.operators.map((operator) =>
          q<{ operator: string; total: number; flows: Flow[] }>('flows', { day, operator }),
        ),
      ),
      q<{ total: number; entries: Resolution[] }>('resolutions', null),
      Promise.all(daysEnding(day, CHART_DAYS).map((d) => q<AggAnswer>('aggregates', { day: d }))),
    ]);
    let entries = trail.entries;
    for (let p = 1; p * 100 < trail.total && p < 20; p++) {
      entries = entries.concat(
        (await q<{ entries: Resolution[] }>('resolutions', { page: p })).entries,
      );
    }
    return { day, aggs: first.operators, alerts, flows, trail: { ...trail, entries }, around };
  }, [rpc, asked, roles.operators.join()]);
  if (dayPart !== undefined && asked === undefined) {
    return (
      <Empty title="Not a day" testId="regulator-bad-day">
        Days are written YYYY-MM-DD (UTC).
      </Empty>
    );
  }
  return (
    <Show a={data} what="the regulator's view">
      {({ day, aggs, alerts, flows, trail, around }) => {
        const total = sumAggs(Object.values(aggs));
        const link = (d: number) => `#/cbdc/regulator/${dayText(d)}`;
        return (
          <div data-testid="cbdc-regulator" data-day={dayText(day)}>
            <div className="day-nav">
              <a href={link(day - 1)} data-testid="regulator-prev">
                ← {dayText(day - 1)}
              </a>
              <input
                type="date"
                value={dayText(day)}
                onChange={(e) => {
                  const d = dayFromText(e.target.value);
                  if (d !== undefined) go(link(d));
                }}
                aria-label="UTC day"
                data-testid="regulator-day"
              />
              <a href={link(day + 1)}>{dayText(day + 1)} →</a>
            </div>
            <div className="stats money">
              <Stat
                label="Flows"
                value={total.flows}
                sub={`on ${dayText(day)} (UTC)`}
                testId="reg-flows"
              />
              <Stat
                label="Paid"
                value={yuan(total.paid)}
                sub={`${total.payments} payments`}
                testId="reg-paid"
              />
              <Stat
                label="Exchanged"
                value={yuan(total.exchanged)}
                sub={`redeemed ${yuan(total.redeemed)}`}
                testId="reg-exchanged"
              />
              <Stat
                label="Alerts"
                value={alerts.alerts.length}
                sub={`payments of ${yuan(alerts.threshold)} or more`}
                testId="reg-alerts"
              />
            </div>
            <Card title="Per operator">
              <Table
                columns={[
                  'Operator',
                  'Flows',
                  'Payments',
                  'Paid',
                  'Exchanged',
                  'Redeemed',
                  'Alerts',
                ]}
                testId="reg-aggregates"
              >
                {roles.operators.map((o) => {
                  const a = aggs[o];
                  return (
                    <tr key={o} data-org={o}>
                      <td>
                        <a href={`#/cbdc/operator/${encodeURIComponent(o)}`}>{o}</a>
                      </td>
                      <td data-col="flows">{a?.flows ?? 0}</td>
                      <td data-col="payments">{a?.payments ?? 0}</td>
                      <td data-col="paid">{yuan(a?.paid ?? 0)}</td>
                      <td data-col="exchanged">{yuan(a?.exchanged ?? 0)}</td>
                      <td data-col="redeemed">{yuan(a?.redeemed ?? 0)}</td>
                      <td data-col="alerts">{a?.alerts ?? 0}</td>
                    </tr>
                  );
                })}
              </Table>
            </Card>
            <Card title={`Paid per day, the ${CHART_DAYS} days to ${dayText(day)} (yuan)`}>
              <DailyChart
                days={around.map((a) => dayText(a.day))}
                values={around.map((a) => sumAggs(Object.values(a.operators)).paid / 100)}
                unit="yuan"
                units="yuan"
                color="#2f9e8f"
                label="yuan paid per UTC day"
                testId="reg-paid-daily"
              />
            </Card>
            <Card
              title={`Large-value alerts (${alerts.alerts.length}, threshold ${yuan(alerts.threshold)})`}
            >
              {alerts.alerts.length === 0 ? (
                <Empty title="No alerts this day" />
              ) : (
                <FlowTable flows={alerts.alerts} testId="reg-alert-list" />
              )}
            </Card>
            {flows.map((f) => (
              <OperatorFlows key={f.operator} day={day} first={f} />
            ))}
            <Card title={`Resolution audit trail (${trail.total})`}>
              <p className="muted small">
                Each look at a wallet's KYC link, recorded on chain before it is decrypted. The link
                opens only with the looker's private key, which the console does not hold.
              </p>
              {trail.entries.length === 0 ? (
                <Empty title="No resolutions yet" />
              ) : (
                <ResolutionTable entries={[...trail.entries].reverse()} testId="reg-resolutions" />
              )}
            </Card>
          </div>
        );
      }}
    </Show>
  );
}
