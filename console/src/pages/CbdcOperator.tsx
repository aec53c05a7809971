/**
 * One operator of the cbdc app (`#/cbdc/operator/ORG`): its reserves and allocation, the
 * limits it sets per class within the central bank's policy, today's flows through it, and
 * the wallets it opened (from the WalletOpened events) with what each holds.
 */
import { useCtx } from '../context.tsx';
import {
  type Agg,
  CBDC,
  dayText,
  type Flow,
  type Limits,
  type Report,
  type Roles,
  type WalletView,
  walletsOpened,
  yuan,
} from '../cbdc.ts';
import { Stat } from '../stat.tsx';
import { Table } from '../table.tsx';
import { Badge, Card, Empty, Show, Time, useAsync } from '../ui.tsx';
import { useCbdcHistory } from './CbdcScan.tsx';

interface PolicyAnswer {
  classes: Record<string, Limits>;
  alertThreshold: number;
  operators: Record<string, Record<string, Limits>>;
}

const limit = (v: number | null) => (v === null ? 'no limit' : yuan(v));

/** A wallet id as a link to its page. */
export function WalletLink({ id }: { id: string | null }) {
  if (!id) return <span className="muted">—</span>;
  return (
    <a href={`#/cbdc/wallet/${id}`} className="mono" title={id}>
      {id.slice(0, 10)}…
    </a>
  );
}

/** A page of flows: kind, amount, pseudonyms, memo, time, block. */
export function FlowTable({ flows, testId }: { flows: Flow[]; testId?: string }) {
  return (
    <Table columns={['Kind', 'Amount', 'From', 'To', 'Memo', 'Time', 'Block']} testId={testId}>
      {flows.map((f) => (
        <tr key={`${f.txId}-${f.kind}`} data-kind={f.kind}>
          <td data-col="kind">{f.kind}</td>
          <td data-col="amount">{yuan(f.amount)}</td>
          <td>
            <WalletLink id={f.from} />
          </td>
          <td>
            <WalletLink id={f.to} />
          </td>
          <td className="small">{f.memo ?? ''}</td>
          <td className="small">
            <Time ms={f.time} />
          </td>
          <td>
            <a href={`#/txs/${f.txId}`}>{f.height}</a>
          </td>
        </tr>
      ))}
    </Table>
  );
}

function Wallets({ org }: { org: string }) {
  const h = useCbdcHistory();
  return (
    <Card title="Wallets it opened">
      <Show a={h} what="the wallets it opened">
        {(d) => <WalletRows org={org} ids={(walletsOpened(d.txs).get(org) ?? []).slice(-100)} />}
      </Show>
    </Card>
  );
}

function WalletRows({ org, ids }: { org: string; ids: string[] }) {
  const { rpc } = useCtx();
  const views = useAsync(
    () =>
      Promise.all(
        ids.map(async (w) => (await rpc.query(CBDC, 'wallet', { wallet: w })).result as WalletView),
      ),
    [rpc, ids.join()],
  );
  if (ids.length === 0) {
    return (
      <Empty title="No wallets yet">
        <code>archi cbdc open-wallet --class 4 --phone ... --as {org}/client</code>
      </Empty>
    );
  }
  return (
    <Show a={views} what="its wallets">
      {(list) => (
        <Table
          columns={['Wallet', 'Class', 'Balance', 'Spent today', 'Status']}
          testId="operator-wallets"
        >
          {list.map((w) => (
            <tr key={w.wallet} data-wallet={w.wallet}>
              <td>
                <WalletLink id={w.wallet} /> {w.merchant && <Badge kind="info">{w.merchant}</Badge>}
                {w.parent && <span className="muted small"> sub-wallet</span>}
              </td>
              <td>{w.class}</td>
              <td data-col="balance">{yuan(w.balance)}</td>
              <td>{yuan(w.spentToday)}</td>
              <td>
                {w.frozen ? <Badge kind="error">frozen</Badge> : <Badge kind="ok">active</Badge>}
              </td>
            </tr>
          ))}
        </Table>
      )}
    </Show>
  );
}

/** The operator tab. */
export function CbdcOperator({ roles, org }: { roles: Roles; org: string }) {
  const { rpc } = useCtx();
  const data = useAsync(async () => {
    const [report, policy, aggs, flows] = await Promise.all([
      rpc.query(CBDC, 'report', null).then((a) => a.result as Report),
      rpc.query(CBDC, 'getPolicy', null).then((a) => a.result as PolicyAnswer),
      rpc
        .query(CBDC, 'aggregates', null)
        .then((a) => a.result as { day: number; operators: Record<string, Agg> }),
      roles.operators.includes(org)
        ? rpc
            .query(CBDC, 'flows', { operator: org })
            .then((a) => a.result as { total: number; flows: Flow[] })
        : Promise.resolve(null),
    ]);
    return { report, policy, aggs, flows };
  }, [rpc, org]);
  return (
    <>
      <nav className="tabs-inline" aria-label="operators">
        {roles.operators.map((o) => (
          <a
            key={o}
            href={`#/cbdc/operator/${encodeURIComponent(o)}`}
            className={o === org ? 'active' : undefined}
            aria-current={o === org ? 'page' : undefined}
          >
            {o}
          </a>
        ))}
      </nav>
      {!roles.operators.includes(org) ? (
        <Empty title={`${org} is not an operator`} testId="operator-unknown">
          The operators are {roles.operators.join(', ')}.
        </Empty>
      ) : (
        <Show a={data} what={`${org}'s figures`}>
          {({ report, policy, aggs, flows }) => {
            const op = report.perOperator.find((o) => o.org === org);
            const today = aggs.operators[org];
            const own = policy.operators[org] ?? {};
            return (
              <div data-testid="cbdc-operator" data-org={org}>
                <div className="stats money">
                  <Stat
                    label="Reserves"
                    value={yuan(op?.reserves ?? 0)}
                    sub="at the central bank: its ceiling"
                    testId="op-reserves"
                  />
                  <Stat
                    label="Allocated"
                    value={yuan(op?.allocated ?? 0)}
                    sub={`${yuan(op?.vault ?? 0)} left in its vault`}
                    testId="op-allocated"
                  />
                  <Stat
                    label="Exchanged"
                    value={yuan(op?.exchanged ?? 0)}
                    sub={`redeemed ${yuan(op?.redeemed ?? 0)}`}
                    testId="op-exchanged"
                  />
                  <Stat
                    label="Wallets"
                    value={op?.wallets ?? 0}
                    sub={`today: ${today?.flows ?? 0} flows`}
                    testId="op-wallets"
                  />
                </div>
                <div className="grid two">
                  <Card title="Limits per class">
                    <Table columns={['Class', 'Balance', 'Per payment', 'Per day', 'Set by']}>
                      {Object.entries(policy.classes).map(([cls, pol]) => {
                        const mine = own[cls];
                        const show = (k: keyof Limits) =>
                          limit(
                            mine && mine[k] !== null && (pol[k] === null || mine[k]! < pol[k]!)
                              ? mine[k]
                              : pol[k],
                          );
                        return (
                          <tr key={cls}>
                            <td>{cls}</td>
                            <td>{show('balance')}</td>
                            <td>{show('perPayment')}</td>
                            <td>{show('perDay')}</td>
                            <td className="muted small">
                              {mine ? `${org}, within policy` : 'policy'}
                            </td>
                          </tr>
                        );
                      })}
                    </Table>
                  </Card>
                  <Card title={`Today (${dayText(aggs.day)})`}>
                    {today ? (
                      <dl className="fields" data-testid="op-today">
                        <div>
                          <dt>Exchanged</dt>
                          <dd>{yuan(today.exchanged)}</dd>
                        </div>
                        <div>
                          <dt>Payments</dt>
                          <dd>
                            {today.payments} ({yuan(today.paid)})
                          </dd>
                        </div>
                        <div>
                          <dt>Redeemed</dt>
                          <dd>{yuan(today.redeemed)}</dd>
                        </div>
                        <div>
                          <dt>Large-value alerts</dt>
                          <dd>{today.alerts}</dd>
                        </div>
                      </dl>
                    ) : (
                      <Empty title="No flows today" />
                    )}
                  </Card>
                </div>
                <Card title={`Today's flows (${flows?.total ?? 0})`}>
                  {flows && flows.flows.length > 0 ? (
                    <FlowTable flows={flows.flows} testId="op-flows" />
                  ) : (
                    <Empty title="No flows today" />
                  )}
                </Card>
                <Wallets org={org} />
              </div>
            );
          }}
        </Show>
      )}
    </>
  );
}
