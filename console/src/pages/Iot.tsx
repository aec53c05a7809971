/**
 * IoT: the iot reference app's page (docs/apps/iot.md): the registered devices (key, curve,
 * owner, enabled or disabled), the anchored batches (Merkle root, count, block, time), and a
 * reading proof file that `archi iot prove` wrote, checked here in the browser (console/src/iot.ts)
 * against the block the console's node holds at the proof's height.
 */
import { useState } from 'react';
import { useCtx } from '../context.tsx';
import {
  type AnchorRecord,
  checkProof,
  type DeviceRecord,
  IOT,
  type ProofVerdict,
  parseProof,
  type ValidatorJson,
} from '../iot.ts';
import { plural } from '../lib.ts';
import { Stat } from '../stat.tsx';
import { Table } from '../table.tsx';
import { Badge, Card, Empty, ErrorBox, Fields, Hash, Show, Time, useAsync } from '../ui.tsx';

interface Meta {
  devices: number;
  batches: number;
  readings: number;
}

/** One query's pages, 100 rows each, loaded on demand. */
function usePaged<T>(method: string, field: 'devices' | 'batches') {
  const { rpc } = useCtx();
  const [pages, setPages] = useState(1);
  const a = useAsync(async () => {
    const out: T[] = [];
    let total = 0;
    for (let page = 0; page < pages; page++) {
      const r = (await rpc.query(IOT, method, { page })).result as Record<string, unknown>;
      total = r.total as number;
      out.push(...(r[field] as T[]));
      if (out.length >= total) break;
    }
    return { total, rows: out };
  }, [rpc, pages]);
  return { a, more: () => setPages((p) => p + 1) };
}

function Devices() {
  const { a, more } = usePaged<DeviceRecord>('devices', 'devices');
  return (
    <Card title="Devices">
      <Show a={a} what="the devices">
        {({ total, rows }) =>
          rows.length === 0 ? (
            <Empty title="No devices yet">
              <code>archi iot device add meter-1 --out meter-1.key</code>
            </Empty>
          ) : (
            <>
              <Table
                columns={['Name', 'Id', 'Public key', 'Curve', 'Owner', 'Status', 'Since']}
                testId="iot-devices"
              >
                {rows.map((d) => (
                  <tr key={d.id} data-device={d.name}>
                    <td data-col="name">{d.name}</td>
                    <td className="mono small">{d.id}</td>
                    <td>
                      <Hash value={d.publicKey} />
                    </td>
                    <td data-col="curve">{d.curve}</td>
                    <td data-col="owner">{d.owner}</td>
                    <td data-col="status">
                      <Badge kind={d.status === 'active' ? 'ok' : 'error'}>
                        {d.status === 'active' ? 'enabled' : 'disabled'}
                      </Badge>
                    </td>
                    <td>
                      <a href={`#/blocks/${d.createdAt}`}>{d.createdAt}</a>
                    </td>
                  </tr>
                ))}
              </Table>
              {rows.length < total && (
                <button type="button" className="secondary small" onClick={more}>
                  {plural(total - rows.length, 'more device')}
                </button>
              )}
            </>
          )
        }
      </Show>
    </Card>
  );
}

function Batches() {
  const { a, more } = usePaged<AnchorRecord>('batches', 'batches');
  return (
    <Card title="Anchored batches (newest first)">
      <Show a={a} what="the batches">
        {({ total, rows }) =>
          rows.length === 0 ? (
            <Empty title="No batches anchored yet">
              The ingest service anchors a batch's Merkle root once it has readings.
            </Empty>
          ) : (
            <>
              <Table
                columns={['Seq', 'Merkle root', 'Readings', 'By', 'Block', 'Time']}
                testId="iot-batches"
              >
                {rows.map((b) => (
                  <tr key={b.seq} data-seq={b.seq}>
                    <td>{b.seq}</td>
                    <td>
                      <Hash value={b.root} />
                    </td>
                    <td data-col="count">{b.count}</td>
                    <td>
                      {b.org} <span className="muted small">{b.by}</span>
                    </td>
                    <td>
                      <a href={`#/txs/${b.txId}`}>{b.height}</a>
                    </td>
                    <td className="small">
                      <Time ms={b.time} />
                    </td>
                  </tr>
                ))}
              </Table>
              {rows.length < total && (
                <button type="button" className="secondary small" onClick={more}>
                  {plural(total - rows.length, 'more batch', 'more batches')}
                </button>
              )}
            </>
          )
        }
      </Show>
    </Card>
  );
}

function ProofCheck() {
  const { rpc, crypto } = useCtx();
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [verdict, setVerdict] = useState<ProofVerdict | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const verify = async () => {
    setBusy(true);
    setError(null);
    setVerdict(null);
    try {
      const status = await rpc.status();
      // The trust root, as `archi iot verify` takes it from the genesis file: the validators
      // that decided height 1. Every later header is checked by their signatures.
      const res = await fetch(`${rpc.base}/validators/1`);
      if (!res.ok) throw new Error(`the node has no validator set of height 1 (${res.status})`);
      const genesis = ((await res.json()) as { validators: ValidatorJson[] }).validators;
      setVerdict(checkProof(parseProof(text), { chainId: status.chainId, crypto, genesis }));
    } catch (e) {
      setError(e as Error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Card title="Verify a reading proof">
      <p className="muted small">
        Paste or open the JSON file <code>archi iot prove READING --out FILE</code> wrote. The
        browser checks the reading's signature by the device key the chain registered, its Merkle
        path to the anchored batch root, and the state proofs of both against the block this chain
        holds at the proof's height.
      </p>
      <textarea
        className="proof-input"
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          setVerdict(null);
        }}
        placeholder='{"format": "archipelago-iot-proof/1", ...}'
        data-testid="iot-proof-text"
        spellCheck={false}
      />
      <div className="proof-actions">
        <input
          type="file"
          accept="application/json,.json"
          data-testid="iot-proof-file"
          onChange={async (e) => {
            const f = e.target.files?.[0];
            if (!f) return;
            setText(await f.text());
            setVerdict(null);
          }}
        />
        <button
          type="button"
          onClick={() => void verify()}
          disabled={busy || text.trim() === ''}
          data-testid="iot-proof-verify"
        >
          {busy ? 'Verifying…' : 'Verify'}
        </button>
      </div>
      {error && <ErrorBox error={error} />}
      {verdict && <Verdict v={verdict} />}
    </Card>
  );
}

function Verdict({ v }: { v: ProofVerdict }) {
  if (!v.ok) {
    return (
      <div className="state error" role="alert" data-testid="iot-proof-verdict" data-ok="false">
        <strong>{v.code}</strong>
        <span>{v.reason}</span>
      </div>
    );
  }
  return (
    <div data-testid="iot-proof-verdict" data-ok="true">
      <p>
        <Badge kind="ok">verified ✓</Badge> against block {v.proofHeight} (
        <Hash value={v.blockHash} />)
      </p>
      <Fields
        rows={[
          [
            'Reading',
            <span key="r" className="mono small">
              {v.reading.id}
            </span>,
          ],
          [
            'Device',
            <span key="d" data-testid="iot-proof-device">
              {v.device.name} of {v.device.owner} ({v.device.curve}, {v.device.status})
            </span>,
          ],
          ['Data', <code key="x">{JSON.stringify(v.reading.data)}</code>],
          ['Device time', <Time key="t" ms={v.reading.ts} />],
          [
            'Anchored',
            <span key="a" data-testid="iot-proof-anchored">
              batch {v.anchored.seq} in block {v.anchored.height} by {v.anchored.org},{' '}
              <Time ms={v.anchored.time} />
            </span>,
          ],
        ]}
      />
    </div>
  );
}

export function IotPage() {
  const { rpc } = useCtx();
  const state = useAsync(async () => {
    const list = await rpc.contracts();
    if (!list.some((c) => c.name === IOT)) return null;
    return (await rpc.query(IOT, 'stats', null)).result as Meta;
  }, [rpc]);
  return (
    <div className="page" data-testid="iot-page">
      <h1>IoT</h1>
      <p className="lead">
        Devices sign their readings; the ingest service anchors batches of them as Merkle roots, so
        a reading's origin and time of anchoring can be proven to anyone.
      </p>
      <Show a={state} what="the iot contract">
        {(meta) =>
          meta === null ? (
            <Empty title="The iot app is not deployed on this chain" testId="iot-missing">
              Deploy it with <code>archi apps deploy iot</code> (or start with{' '}
              <code>archi up --apps</code>).
            </Empty>
          ) : (
            <>
              <div className="stats">
                <Stat
                  label="Devices"
                  value={meta.devices}
                  sub="registered"
                  testId="iot-stat-devices"
                />
                <Stat
                  label="Batches"
                  value={meta.batches}
                  sub="anchored"
                  testId="iot-stat-batches"
                />
                <Stat
                  label="Readings"
                  value={meta.readings}
                  sub="in anchored batches"
                  testId="iot-stat-readings"
                />
              </div>
              <ProofCheck />
              <Devices />
              <Batches />
            </>
          )
        }
      </Show>
    </div>
  );
}
