/**
 * Data sharing: the datashare reference app's page (docs/apps/datashare.md), read from chain
 * state: the published datasets (hashes, size, cipher, schema, terms), and for the chosen one
 * its grants (live, revoked, or expired by the latest block's time) and its audit trail of
 * publishes, grants, revocations and fetches. The data itself never reaches the console.
 */
import { useState } from 'react';
import { useCtx } from '../context.tsx';
import {
  type AuditEntry,
  auditText,
  DATASHARE,
  type DatasetRecord,
  type GrantView,
  grantBadge,
  type Meta,
  sizeText,
} from '../datashare.ts';
import { plural } from '../lib.ts';
import { Stat } from '../stat.tsx';
import { Table } from '../table.tsx';
import { Badge, Card, Empty, Fields, Hash, Show, Time, useAsync } from '../ui.tsx';

function Datasets({ selected }: { selected?: string }) {
  const { rpc } = useCtx();
  const [pages, setPages] = useState(1);
  const a = useAsync(async () => {
    const rows: DatasetRecord[] = [];
    let total = 0;
    for (let page = 0; page < pages; page++) {
      const r = (await rpc.query(DATASHARE, 'datasets', { page })).result as {
        total: number;
        datasets: DatasetRecord[];
      };
      total = r.total;
      rows.push(...r.datasets);
      if (rows.length >= total) break;
    }
    return { total, rows };
  }, [rpc, pages]);
  return (
    <Card title="Datasets">
      <Show a={a} what="the datasets">
        {({ total, rows }) =>
          rows.length === 0 ? (
            <Empty title="No datasets yet">
              <code>archi data publish FILE --name NAME</code>
            </Empty>
          ) : (
            <>
              <Table
                columns={['Name', 'Version', 'Owner', 'Size', 'Cipher', 'Audit', 'Published']}
                testId="ds-datasets"
              >
                {rows.map((d) => (
                  <tr
                    key={d.name}
                    data-dataset={d.name}
                    className={d.name === selected ? 'selected' : undefined}
                  >
                    <td data-col="name">
                      <a href={`#/datashare/${encodeURIComponent(d.name)}`}>{d.name}</a>
                    </td>
                    <td data-col="version">{d.version}</td>
                    <td data-col="owner">{d.owner}</td>
                    <td>{sizeText(d.size)}</td>
                    <td className="small">{d.cipher}</td>
                    <td data-col="audits">{d.audits}</td>
                    <td className="small">
                      <Time ms={d.time} />
                    </td>
                  </tr>
                ))}
              </Table>
              {rows.length < total && (
                <button
                  type="button"
                  className="secondary small"
                  onClick={() => setPages((p) => p + 1)}
                >
                  {plural(total - rows.length, 'more dataset')}
                </button>
              )}
            </>
          )
        }
      </Show>
    </Card>
  );
}

function Detail({ name }: { name: string }) {
  const { rpc } = useCtx();
  const a = useAsync(async () => {
    const d = (await rpc.query(DATASHARE, 'dataset', { name })).result as DatasetRecord | null;
    if (d === null) return null;
    const grants = (await rpc.query(DATASHARE, 'grants', { name })).result as GrantView[];
    const trail = (await rpc.query(DATASHARE, 'auditTrail', { name, page: 0 })).result as {
      total: number;
      entries: AuditEntry[];
    };
    return { d, grants, trail };
  }, [rpc, name]);
  return (
    <Show a={a} what={`dataset ${name}`}>
      {(v) =>
        v === null ? (
          <Empty title={`No dataset ${name}`}>Pick one from the list above.</Empty>
        ) : (
          <>
            <Card title={`${v.d.name} v${v.d.version}`} testId="ds-detail">
              <Fields
                rows={[
                  ['Owner', `${v.d.owner} (published by ${v.d.publisher})`],
                  [
                    'Size',
                    `${sizeText(v.d.size)} (${v.d.size} bytes; ciphertext ${v.d.cipherSize})`,
                  ],
                  ['Cipher', v.d.cipher],
                  [`Plaintext ${v.d.hash}`, <Hash key="p" value={v.d.plainHash} />],
                  ['Stored as', <Hash key="c" value={v.d.cipherHash} />],
                  v.d.schema !== '' && ['Schema', <code key="s">{v.d.schema}</code>],
                  v.d.terms !== '' && ['Terms', v.d.terms],
                  ['Published', <Time key="t" ms={v.d.time} />],
                ]}
              />
            </Card>
            <Card title="Grants">
              {v.grants.length === 0 ? (
                <Empty title="Not granted to anyone">
                  <code>archi data grant {v.d.name} --to ORG</code>
                </Empty>
              ) : (
                <Table
                  columns={[
                    'Organization',
                    'State',
                    'Users',
                    'Until',
                    'Key version',
                    'Granted',
                    'Revoked',
                  ]}
                  testId="ds-grants"
                >
                  {v.grants.map((g) => (
                    <tr key={g.org} data-org={g.org}>
                      <td>{g.org}</td>
                      <td data-col="state">
                        <Badge kind={grantBadge(g.state)}>{g.state}</Badge>
                      </td>
                      <td className="small">{g.users.join(', ') || '—'}</td>
                      <td className="small">
                        {g.until === null ? 'no end' : new Date(g.until).toISOString()}
                      </td>
                      <td>{g.version}</td>
                      <td>
                        <a href={`#/blocks/${g.grantedAt}`}>{g.grantedAt}</a>
                      </td>
                      <td>
                        {g.revokedAt === null ? (
                          '—'
                        ) : (
                          <a href={`#/blocks/${g.revokedAt}`}>{g.revokedAt}</a>
                        )}
                      </td>
                    </tr>
                  ))}
                </Table>
              )}
            </Card>
            <Card
              title={`Audit trail (${plural(v.trail.total, 'entry', 'entries')}, newest first)`}
            >
              <Table columns={['#', 'What', 'By', 'Block', 'Time']} testId="ds-audit">
                {v.trail.entries.map((e) => (
                  <tr key={e.seq} data-seq={e.seq} data-action={e.action}>
                    <td>{e.seq}</td>
                    <td data-col="what">{auditText(e)}</td>
                    <td data-col="by">
                      {e.org} <span className="muted small">{e.user}</span>
                    </td>
                    <td>
                      <a href={`#/txs/${e.txId}`}>{e.height}</a>
                    </td>
                    <td className="small">
                      <Time ms={e.time} />
                    </td>
                  </tr>
                ))}
              </Table>
            </Card>
          </>
        )
      }
    </Show>
  );
}

export function DatasharePage({ selected }: { selected?: string }) {
  const { rpc } = useCtx();
  const state = useAsync(async () => {
    const list = await rpc.contracts();
    if (!list.some((c) => c.name === DATASHARE)) return null;
    return (await rpc.query(DATASHARE, 'stats', null)).result as Meta;
  }, [rpc]);
  return (
    <div className="page" data-testid="ds-page">
      <h1>Data sharing</h1>
      <p className="lead">
        Providers publish encrypted datasets; grants carry the data key sealed to the grantees'
        keys, and every fetch is an audited transaction the chain refuses without a live grant.
      </p>
      <Show a={state} what="the datashare contract">
        {(meta) =>
          meta === null ? (
            <Empty title="The datashare app is not deployed on this chain" testId="ds-missing">
              Deploy it with <code>archi apps deploy datashare</code> (or start with{' '}
              <code>archi up --apps</code>).
            </Empty>
          ) : (
            <>
              <div className="stats">
                <Stat
                  label="Datasets"
                  value={meta.datasets}
                  sub="published"
                  testId="ds-stat-datasets"
                />
                <Stat
                  label="Fetches"
                  value={meta.fetches}
                  sub="audited on chain"
                  testId="ds-stat-fetches"
                />
              </div>
              <Datasets selected={selected} />
              {selected && <Detail name={selected} />}
            </>
          )
        }
      </Show>
    </div>
  );
}
