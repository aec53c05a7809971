/** Network page: which node hosts which chain, with each chain's height, round and role there. */
import type { NodeView } from '../chains.ts';
import { useCtx } from '../context.tsx';
import { plural } from '../lib.ts';
import { Badge, Card } from '../ui.tsx';

function Cell({ view, node, chain }: { view?: NodeView; node: string; chain: string }) {
  const testId = `chain-cell-${node}-${chain}`;
  const c = view?.chains?.find((x) => x.id === chain);
  if (!view || (!view.chains && !view.error)) {
    return (
      <td className="muted" data-testid={testId} data-hosted="unknown">
        …
      </td>
    );
  }
  if (!c) {
    return (
      <td className="not-hosted" data-testid={testId} data-hosted="false">
        {view.chains ? (
          <span title={`${node} does not host ${chain}`}>— not hosted</span>
        ) : (
          <span title={view.error}>
            <Badge kind="error">down</Badge>
          </span>
        )}
      </td>
    );
  }
  return (
    <td data-testid={testId} data-hosted="true" data-height={c.height}>
      <strong className="mono">#{c.height}</strong>{' '}
      {view.error ? (
        <span title={view.error}>
          <Badge kind="error">down</Badge>
        </span>
      ) : (
        <Badge kind={c.validator ? 'ok' : 'muted'}>{c.validator ? 'validator' : 'follower'}</Badge>
      )}
      <div className="muted small">round {c.round}</div>
    </td>
  );
}

export function ChainMatrix() {
  const { network, chains, chain, views, setChain } = useCtx();
  return (
    <Card title="Chains on each node" testId="chain-matrix">
      <div className="table-wrap">
        <table data-testid="chains-table">
          <thead>
            <tr>
              <th>Node</th>
              {chains.map((c) => (
                <th key={c.id} data-chain={c.id}>
                  <button
                    type="button"
                    className="matrix-chain"
                    aria-pressed={c.id === chain.id}
                    title={c.id === chain.id ? 'the chain shown' : `show ${c.id}`}
                    onClick={() => setChain(c.id)}
                  >
                    {c.id}
                  </button>
                  <div className="muted small">
                    {[c.consensus, c.crypto].filter(Boolean).join(' · ')}
                    {c.consensus || c.crypto ? ' · ' : ''}
                    {plural(c.hosts.length, 'node')}
                  </div>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {network.nodes.map((n) => (
              <tr key={n.name} data-node={n.name}>
                <td>
                  <strong title={n.rpc}>{n.name}</strong>
                </td>
                {chains.map((c) => (
                  <Cell key={c.id} view={views.get(n.name)} node={n.name} chain={c.id} />
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p className="muted small">
        Each chain's height, round and role as the node reports it; "not hosted" marks a node that
        does not run that chain.
        {chains.length > 1 && " Pick a chain's name to show it on every page."}
      </p>
    </Card>
  );
}
