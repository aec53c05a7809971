/**
 * Network: the chosen chain on every node that hosts it (height, round, peers, power), live
 * rates, topology, and which node hosts which chain.
 */
import { useEffect } from 'react';
import { BarChart, type TopoNode, Topology } from '../charts.tsx';
import { useCtx, useFeed } from '../context.tsx';
import { rateSeries } from '../feed.ts';
import { plural } from '../lib.ts';
import { ChainMatrix } from './ChainMatrix.tsx';
import { Stat } from '../stat.tsx';
import { Table } from '../table.tsx';
import { ago, Badge, Card, Empty, ErrorBox, Hash, Loading, useNow } from '../ui.tsx';

/** Poll the nodes every 2 s while this page shows (a node that does not answer shows as down). */
function useHurry(): void {
  const { watch } = useCtx();
  useEffect(() => watch.hurry(), [watch]);
}

/** The peer a status entry names when its link is up; a solo node reports none. */
function peerName(p: unknown): string | undefined {
  if (typeof p === 'string') return p;
  if (typeof p === 'object' && p !== null) {
    const o = p as Record<string, unknown>;
    if (o.connected === false) return undefined;
    for (const k of ['name', 'node', 'id', 'nodeId']) if (typeof o[k] === 'string') return o[k];
  }
  return undefined;
}

export function NetworkPage() {
  const { network, config, node, views, hosts, chain } = useCtx();
  const feed = useFeed();
  useHurry();
  const now = useNow(2000);
  const series = rateSeries(feed.blocks, now);
  const last = rateSeries(feed.blocks, now, 6, 10_000);
  const blocksPerMin = last.reduce((s, b) => s + b.blocks, 0);
  const tps = last.reduce((s, b) => s + b.txs, 0) / 60;
  const validators = config.data?.validators ?? [];
  const powerOf = (name: string) => validators.find((v) => v.name === name)?.power ?? 0;
  const totalPower = validators.reduce((s, v) => s + v.power, 0);
  const upCount = hosts.filter((n) => views.get(n.name)?.status).length;
  // Right after a chain switch the nodes have not been asked about the new chain yet.
  const answered = hosts.some((n) => views.get(n.name)?.status || views.get(n.name)?.error);
  const others = network.nodes.filter((n) => !hosts.includes(n));
  const selected = views.get(node.name)?.status;
  const top = feed.blocks[0];

  const topo: TopoNode[] = hosts.map((n) => {
    const v = views.get(n.name);
    const st = v?.status;
    const peers = (st?.peers ?? []).map(peerName).filter((p): p is string => !!p);
    // A peer may be named by node name, org, or p2p address; map them all to node names.
    const names = peers
      .map((p) => hosts.find((m) => m.name === p || m.org === p || m.p2p === p)?.name ?? undefined)
      .filter((p): p is string => !!p);
    return {
      name: n.name,
      label: st ? `#${st.height}` : v?.error ? 'down' : '…',
      up: !!st,
      power: powerOf(n.name),
      peers: names,
    };
  });

  return (
    <div className="page" data-testid="network-page">
      <h1>Network</h1>
      <div className="stats">
        <Stat
          label="Height"
          value={top ? top.height : (selected?.height ?? '—')}
          sub={top ? ago(top.time, now) : 'no blocks yet'}
          testId="height"
        />
        <Stat label="Blocks / min" value={blocksPerMin} sub="over the last 60 s" />
        <Stat label="Tx / s" value={tps.toFixed(tps >= 10 ? 0 : 2)} sub="over the last 60 s" />
        <Stat
          label="Nodes up"
          value={
            <>
              {answered ? upCount : '—'}
              <small> / {hosts.length}</small>
            </>
          }
          sub={selected?.consensus ?? chain.consensus ?? network.consensus ?? ''}
        />
        <Stat
          label="Validators"
          value={config.data ? validators.length : '—'}
          sub={`total power ${config.data ? totalPower : '—'}`}
        />
        <Stat
          label="Mempool"
          value={selected ? selected.mempool.size : '—'}
          sub={selected ? `${(selected.mempool.bytes / 1024).toFixed(1)} KiB on ${node.name}` : ''}
        />
      </div>

      <div className="grid two">
        <Card title="Blocks per 10 s" testId="chart-blocks">
          <BarChart
            values={series.map((b) => b.blocks)}
            times={series.map((b) => b.t)}
            unit="block"
            color="var(--accent)"
            label="blocks per 10 seconds over the last 5 minutes"
          />
        </Card>
        <Card title="Transactions per second" testId="chart-tps">
          <BarChart
            values={series.map((b) => b.txs / 10)}
            times={series.map((b) => b.t)}
            unit="tx/s"
            units="tx/s"
            color="var(--accent-2)"
            label="transactions per second over the last 5 minutes"
          />
        </Card>
      </div>

      <div className="grid two wide-left">
        <Card title="Nodes">
          {!answered ? (
            <Loading what="node status" />
          ) : (
            <Table
              columns={[
                'Node',
                ['Org', 'hide-narrow'],
                ['Height', 'num'],
                ['Round', 'num hide-narrow'],
                ['Peers', 'num'],
                ['Power', 'num'],
                'State',
              ]}
              testId="nodes-table"
            >
              {hosts.map((n) => {
                const v = views.get(n.name);
                const st = v?.status;
                return (
                  <tr key={n.name}>
                    <td>
                      <strong title={n.rpc}>{n.name}</strong>
                      <div className="muted small mono wrap-any hide-narrow">{n.rpc}</div>
                    </td>
                    <td className="hide-narrow">{st?.org ?? n.org ?? '—'}</td>
                    <td className="num">{st?.height ?? '—'}</td>
                    <td className="num hide-narrow">
                      {st?.round ?? '—'}
                      {st?.step && <div className="muted small">{st.step}</div>}
                    </td>
                    <td className="num">
                      {st ? (
                        <span title={st.peers.map((p) => peerName(p) ?? '').join(', ')}>
                          {st.peers.filter((p) => peerName(p)).length}
                          {st.peers.some((p) => !peerName(p)) && (
                            <span className="muted"> / {st.peers.length}</span>
                          )}
                        </span>
                      ) : (
                        '—'
                      )}
                    </td>
                    <td className="num">{powerOf(n.name) || (st?.validator ? '?' : '—')}</td>
                    <td>
                      {st ? (
                        <Badge kind="ok">{st.validator ? 'validator' : 'up'}</Badge>
                      ) : v?.error ? (
                        <span title={v.error}>
                          <Badge kind="error">down</Badge>
                        </span>
                      ) : (
                        <Badge kind="muted">checking</Badge>
                      )}
                    </td>
                  </tr>
                );
              })}
            </Table>
          )}
          {others.length > 0 && (
            <p className="muted small" data-testid="not-hosting">
              {others.map((n) => n.name).join(', ')} {others.length === 1 ? 'does' : 'do'} not host{' '}
              {chain.id} (see Chains on each node below).
            </p>
          )}
        </Card>
        <Card title="Who is connected to whom">
          <Topology nodes={topo} />
          <p className="muted small center">
            {network.nodes.length === 1
              ? 'A solo network: one node, no peers.'
              : hosts.length === 1
                ? `Only ${hosts[0].name} hosts ${chain.id}.`
                : `${topo.filter((t) => t.up).length} of ${plural(topo.length, 'node')} answer; lines are the peer links each node reports.`}
          </p>
        </Card>
      </div>

      <ChainMatrix />

      {selected && (
        <Card title={`Head of ${node.name}`}>
          <dl className="fields">
            <div>
              <dt>Block hash</dt>
              <dd>
                <Hash
                  value={selected.hash}
                  href={`#/blocks/${selected.height}`}
                  label="block hash"
                />
              </dd>
            </div>
            <div>
              <dt>State root</dt>
              <dd>
                <Hash value={selected.stateRoot} label="state root" />
              </dd>
            </div>
            <div>
              <dt>Crypto / identity</dt>
              <dd>
                {selected.crypto} / {selected.identityMode}
              </dd>
            </div>
          </dl>
        </Card>
      )}
      {config.error && <ErrorBox error={config.error} retry={config.reload} />}
      {network.nodes.length === 0 && <Empty title="No nodes" />}
    </div>
  );
}
