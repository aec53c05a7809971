/**
 * Governance: proposals, approvals and what they change, read from the chain's governance
 * contract. Chains without one get an honest empty state, never sample data.
 */
import type { ContractInfo } from '../api.ts';
import { useCtx } from '../context.tsx';
import { Badge, Card, Empty, Fields, Json, Show, useAsync } from '../ui.tsx';

/** Contract names the governance work may land under. */
const GOVERNANCE_NAMES = ['governance', 'gov'];
const LIST_METHODS = ['list', 'proposals', 'listProposals'];

function Proposals({ gov }: { gov: ContractInfo }) {
  const { rpc } = useCtx();
  const lister = gov.methods.find((m) => !m.write && LIST_METHODS.includes(m.name));
  const list = useAsync(
    () => (lister ? rpc.query(gov.name, lister.name, {}) : Promise.resolve(null)),
    [rpc, gov.name, lister?.name],
  );
  if (!lister) {
    return (
      <Empty title="The governance contract has no proposal list method">
        Its methods: {gov.methods.map((m) => m.name).join(', ')}
      </Empty>
    );
  }
  return (
    <Show a={list} what="proposals">
      {(a) => {
        const rows = Array.isArray(a?.result) ? (a.result as Array<Record<string, any>>) : null;
        if (!rows) return <Json value={a?.result} />;
        if (rows.length === 0) return <Empty title="No proposals yet" />;
        return (
          <div className="proposals">
            {rows.map((p, i) => (
              <Card
                key={String(p.id ?? i)}
                title={`Proposal ${p.id ?? i + 1}${p.title ? `: ${p.title}` : ''}`}
                actions={
                  p.status && (
                    <Badge
                      kind={
                        p.status === 'executed' || p.status === 'approved'
                          ? 'ok'
                          : p.status === 'rejected'
                            ? 'error'
                            : 'warn'
                      }
                    >
                      {String(p.status)}
                    </Badge>
                  )
                }
              >
                <Fields
                  rows={[
                    p.proposer ? ['Proposed by', String(p.proposer)] : null,
                    p.approvals
                      ? [
                          'Approvals',
                          Array.isArray(p.approvals)
                            ? p.approvals.join(', ') || 'none yet'
                            : String(p.approvals),
                        ]
                      : null,
                    p.policy ? ['Needs', String(p.policy)] : null,
                    ['Changes', <Json key="c" value={p.changes ?? p.change ?? p.action ?? p} />],
                  ]}
                />
              </Card>
            ))}
          </div>
        );
      }}
    </Show>
  );
}

export function GovernancePage() {
  const { rpc, config } = useCtx();
  const contracts = useAsync(() => rpc.contracts(), [rpc]);
  return (
    <div className="page" data-testid="governance-page">
      <h1>Governance</h1>
      <Show a={contracts} what="contracts">
        {(list) => {
          const gov = list.find((c) => GOVERNANCE_NAMES.includes(c.name));
          if (!gov) {
            return (
              <Card>
                <Empty title="No governance contract on this chain yet">
                  Proposals and approvals will show here once the chain runs a governance contract.
                  Until then the chain config below is fixed at genesis.
                </Empty>
                {config.data && <h3>Current policies</h3>}
                {config.data && (
                  <Fields
                    rows={[
                      ['Governance policy', config.data.governancePolicy || '—'],
                      ['Lifecycle policy', config.data.lifecyclePolicy || '—'],
                      ['Member organizations', config.data.orgs.map((o) => o.id).join(', ')],
                    ]}
                  />
                )}
              </Card>
            );
          }
          return (
            <>
              <Card title="Policy">
                <Fields
                  rows={[
                    ['Contract', <code key="c">{gov.name}</code>],
                    ['Governance policy', config.data?.governancePolicy ?? '—'],
                    ['Organizations', config.data?.orgs.map((o) => o.id).join(', ') ?? '—'],
                  ]}
                />
              </Card>
              <Card title="Proposals">
                <Proposals gov={gov} />
              </Card>
            </>
          );
        }}
      </Show>
    </div>
  );
}
