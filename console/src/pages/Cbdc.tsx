/**
 * Digital currency: the cbdc reference app's pages (docs/apps/cbdc.md), read-only, in four
 * tabs: the central bank (`#/cbdc/central`: M0 by bucket, issuance per operator, M0 over
 * heights and days), an operator (`#/cbdc/operator/ORG`), a wallet (`#/cbdc/wallet/W`) and
 * the regulator (`#/cbdc/regulator`: flows, aggregates, alerts, resolutions).
 */
import { CBDC, dailyM0, type Report, type Roles, yuan } from '../cbdc.ts';
import { useCtx } from '../context.tsx';
import { plural } from '../lib.ts';
import { Stat } from '../stat.tsx';
import { Table } from '../table.tsx';
import { Badge, Card, Empty, Loading, Show, useAsync } from '../ui.tsx';
import { M0Chart } from './CbdcChart.tsx';
import { CbdcOperator } from './CbdcOperator.tsx';
import { CbdcRegulator } from './CbdcRegulator.tsx';
import { useCbdcHistory } from './CbdcScan.tsx';
import { CbdcWallet } from './CbdcWallet.tsx';
import { DailyChart } from './DailyChart.tsx';

const TABS: Array<{ id: string; label: string }> = [
  { id: 'central', label: 'Central bank' },
  { id: 'operator', label: 'Operator' },
  { id: 'wallet', label: 'Wallet' },
  { id: 'regulator', label: 'Regulator' },
];

/** The central bank's view: M0 now, per operator, and over heights and days. */
function Central() {
  const h = useCbdcHistory();
  return (
    <Show a={h} what="M0 and the cbdc history">
      {({ report, history, txs, complete }) => {
        const daily = dailyM0(history.points);
        return (
          <>
            <div className="stats money" data-testid="cbdc-m0">
              <Stat
                label="Issued"
                value={yuan(report.issued)}
                sub={`redeemed ${yuan(report.redeemed)}`}
                testId="m0-issued"
              />
              <Stat
                label="Outstanding"
                value={yuan(report.outstanding)}
                sub={
                  <Badge kind={report.conserved ? 'ok' : 'error'}>
                    {report.conserved ? 'buckets add up' : 'buckets do NOT add up'}
                  </Badge>
                }
                testId="m0-outstanding"
              />
              <Stat
                label="Central bank"
                value={yuan(report.central)}
                sub="issued, not allocated"
                testId="m0-central"
              />
              <Stat
                label="Operators"
                value={yuan(report.operators)}
                sub="allocated, not exchanged"
                testId="m0-operators"
              />
              <Stat
                label="Wallets"
                value={yuan(report.wallets)}
                sub={`escrowed ${yuan(report.escrowed)}`}
                testId="m0-wallets"
              />
              <Stat
                label="Abroad"
                value={yuan((report.inTransit ?? 0) + (report.abroad ?? 0))}
                sub={`in transit ${yuan(report.inTransit ?? 0)}, held ${yuan(report.abroad ?? 0)}`}
                testId="m0-abroad"
              />
            </div>
            <Card title="Issuance per operator">
              <PerOperator report={report} />
            </Card>
            <Card title="M0 over heights">
              <p className="muted small" data-testid="m0-history-note">
                Rebuilt from the events of {plural(txs.length, 'cbdc tx', 'cbdc txs')} back from the
                report at block {report.height}
                {complete
                  ? history.consistent
                    ? ': it starts from zero, so the events account for all of M0 ✓'
                    : ': the events do NOT account for M0 (it does not start from zero)'
                  : ` (the newest ${txs.length}; older ones are left out)`}
                .
              </p>
              <M0Chart points={history.points} testId="m0-chart" />
            </Card>
            <div className="grid two">
              <Card title="Issued per day (yuan)">
                <DailyChart
                  days={daily.days}
                  values={daily.issued.map((f) => f / 100)}
                  unit="yuan"
                  units="yuan"
                  color="#5b6bd5"
                  label="yuan issued per UTC day"
                  testId="m0-issued-daily"
                />
              </Card>
              <Card title="Redeemed per day (yuan)">
                <DailyChart
                  days={daily.days}
                  values={daily.redeemed.map((f) => f / 100)}
                  unit="yuan"
                  units="yuan"
                  color="#d0604a"
                  label="yuan redeemed per UTC day"
                  testId="m0-redeemed-daily"
                />
              </Card>
            </div>
          </>
        );
      }}
    </Show>
  );
}

function PerOperator({ report }: { report: Report }) {
  if (report.perOperator.length === 0) return <Empty title="No operators" />;
  return (
    <Table
      columns={['Operator', 'Reserves', 'Allocated', 'Vault', 'Exchanged', 'Redeemed', 'Wallets']}
      testId="cbdc-per-operator"
    >
      {report.perOperator.map((o) => (
        <tr key={o.org} data-org={o.org}>
          <td>
            <a href={`#/cbdc/operator/${encodeURIComponent(o.org)}`}>{o.org}</a>
          </td>
          <td data-col="reserves">{yuan(o.reserves)}</td>
          <td data-col="allocated">{yuan(o.allocated)}</td>
          <td data-col="vault">{yuan(o.vault)}</td>
          <td data-col="exchanged">{yuan(o.exchanged)}</td>
          <td data-col="redeemed">{yuan(o.redeemed)}</td>
          <td data-col="wallets">{o.wallets}</td>
        </tr>
      ))}
    </Table>
  );
}

export function CbdcPage({ parts }: { parts: string[] }) {
  const { rpc } = useCtx();
  const tab = TABS.some((t) => t.id === parts[0]) ? parts[0] : 'central';
  const state = useAsync(async () => {
    const list = await rpc.contracts();
    if (!list.some((c) => c.name === CBDC)) return { deployed: false as const };
    const roles = (await rpc.query(CBDC, 'getRoles', null)).result as Roles | null;
    return { deployed: true as const, roles };
  }, [rpc]);
  const head = (
    <>
      <h1>Digital currency</h1>
      <p className="lead">
        The two-tier e-CNY design: the central bank issues against operators' reserves and allocates
        to them, operators exchange deposits into pseudonymous wallets, the regulator sees every
        flow. Amounts in yuan. Read-only: the CLI (<code>archi cbdc</code>) acts.
      </p>
    </>
  );
  if (!state.data) {
    return (
      <div className="page">
        {head}
        <Show a={state} what="the cbdc contract">
          {() => <Loading />}
        </Show>
      </div>
    );
  }
  if (!state.data.deployed) {
    return (
      <div className="page">
        {head}
        <Empty title="The cbdc app is not deployed on this chain" testId="cbdc-missing">
          Deploy it with <code>archi apps deploy cbdc</code> (or start with{' '}
          <code>archi up --apps</code>).
        </Empty>
      </div>
    );
  }
  const roles = state.data.roles;
  return (
    <div className="page" data-testid="cbdc-page">
      {head}
      {roles === null ? (
        <Empty title="No roles yet" testId="cbdc-not-set-up">
          Governance names the central bank, the operators and the regulator:{' '}
          <code>archi cbdc setup --central org1 --operators org2 --regulator org3</code>
        </Empty>
      ) : (
        <>
          <p className="muted small" data-testid="cbdc-roles">
            Central bank <strong>{roles.central}</strong> · operators{' '}
            <strong>{roles.operators.join(', ')}</strong> · regulator{' '}
            <strong>{roles.regulator}</strong>
          </p>
          <div className="contract-tabs" role="tablist">
            {TABS.map((t) => (
              <a
                key={t.id}
                role="tab"
                aria-selected={t.id === tab}
                className={t.id === tab ? 'active' : undefined}
                href={`#/cbdc/${t.id}`}
                data-testid={`cbdc-tab-${t.id}`}
              >
                <strong className="tab-name">{t.label}</strong>
              </a>
            ))}
          </div>
          {tab === 'central' && <Central />}
          {tab === 'operator' && (
            <CbdcOperator key={parts[1] ?? ''} roles={roles} org={parts[1] ?? roles.operators[0]} />
          )}
          {tab === 'wallet' && <CbdcWallet key={parts[1] ?? ''} wallet={parts[1]} />}
          {tab === 'regulator' && <CbdcRegulator roles={roles} day={parts[1]} />}
        </>
      )}
    </div>
  );
}
