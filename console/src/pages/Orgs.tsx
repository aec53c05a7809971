/**
 * Organizations and identities: CAs, members with certificate validity and roles, keys, member
 * nodes, validators and the validator sets governance has scheduled, policies.
 */
import { useEffect } from 'react';
import type { ChainConfigJson, ConsoleIdentity } from '../api.ts';
import { addressOf, fromHex, hashFor, toHex } from '../chain.ts';
import { useCtx, useFeed } from '../context.tsx';
import { pendingPowers, powerNow, validatorChanges } from '../proposals.ts';
import { Table } from '../table.tsx';
import { Badge, Card, Empty, ErrorBox, Fields, Hash, Loading, Show } from '../ui.tsx';
import { type CertInfo, parseCert } from '../x509.ts';

function tryParse(der: string): CertInfo | Error {
  try {
    return parseCert(der);
  } catch (e) {
    return e as Error;
  }
}

function Validity({ c }: { c: CertInfo }) {
  const now = Date.now();
  const state =
    now < c.notBefore.getTime()
      ? 'not yet valid'
      : now > c.notAfter.getTime()
        ? 'expired'
        : 'valid';
  return (
    <span>
      <Badge kind={state === 'valid' ? 'ok' : 'error'}>{state}</Badge>{' '}
      <span className="small nowrap">
        {c.notBefore.toISOString().slice(0, 10)} → {c.notAfter.toISOString().slice(0, 10)}
      </span>
    </span>
  );
}

function Members({
  org,
  ids,
  config,
}: {
  org: string;
  ids: ConsoleIdentity[];
  config: ChainConfigJson;
}) {
  const hash = hashFor(config.crypto);
  const mine = ids.filter((i) => i.org === org);
  if (mine.length === 0)
    return <p className="muted small">No identities of {org} in this network directory.</p>;
  return (
    <Table
      columns={['Member', 'Role', 'Certificate', ['Address', 'hide-narrow']]}
      testId={`members-${org}`}
    >
      {mine.map((i) => {
        const cert = i.cert ? tryParse(i.cert) : null;
        const revoked = i.cert ? config.revokedCerts.includes(toHex(hash(fromHex(i.cert)))) : false;
        const key = config.orgs
          .find((o) => o.id === org)
          ?.keys.find((k) => k.publicKey === i.publicKey);
        return (
          <tr key={i.id}>
            <td>
              <strong>{i.user}</strong>
              {cert &&
                !(cert instanceof Error) &&
                cert.subject.CN &&
                cert.subject.CN !== i.user && (
                  <div className="muted small">CN {cert.subject.CN}</div>
                )}
            </td>
            <td>
              {cert && !(cert instanceof Error) ? (cert.subject.OU ?? '—') : (key?.role ?? '—')}
            </td>
            <td>
              {cert instanceof Error ? (
                <span className="form-error">unreadable: {cert.message}</span>
              ) : cert ? (
                <>
                  <Validity c={cert} /> {revoked && <Badge kind="error">revoked</Badge>}
                </>
              ) : key ? (
                <Badge kind="info">registered key</Badge>
              ) : (
                <Badge kind="muted">key not registered on chain</Badge>
              )}
            </td>
            <td className="hide-narrow">
              {i.address ? <Hash value={i.address} keep={6} label="address" /> : '—'}
            </td>
          </tr>
        );
      })}
    </Table>
  );
}

/** The CA of the org's node TLS certificates (P-256 under every crypto profile). */
function TlsCa({ der }: { der: string }) {
  const ca = tryParse(der);
  return (
    <>
      <h3>Node TLS CA</h3>
      {ca instanceof Error ? (
        <ErrorBox error={ca} />
      ) : (
        <Fields
          rows={[
            [
              'Subject',
              Object.entries(ca.subject)
                .map(([k, v]) => `${k}=${v}`)
                .join(', '),
            ],
            ['Validity', <Validity key="v" c={ca} />],
            [
              'SHA-256 fingerprint',
              <Hash key="f" value={toHex(hashFor('standard')(fromHex(der)))} keep={8} />,
            ],
          ]}
        />
      )}
    </>
  );
}

function OrgCard({
  org,
  config,
  ids,
}: {
  org: ChainConfigJson['orgs'][number];
  config: ChainConfigJson;
  ids?: ConsoleIdentity[];
}) {
  const ca = org.caCert ? tryParse(org.caCert) : null;
  const validators = config.validators.filter((v) => v.org === org.id);
  return (
    <Card
      title={org.id}
      actions={validators.length > 0 && <Badge kind="info">validator org</Badge>}
      testId={`org-${org.id}`}
    >
      {org.caCert && (
        <>
          <h3>Certificate authority</h3>
          {ca instanceof Error ? (
            <ErrorBox error={ca} />
          ) : (
            ca && (
              <Fields
                rows={[
                  [
                    'Subject',
                    Object.entries(ca.subject)
                      .map(([k, v]) => `${k}=${v}`)
                      .join(', '),
                  ],
                  ['Validity', <Validity key="v" c={ca} />],
                  ['Key / signature', `${ca.keyAlgorithm} / ${ca.signatureAlgorithm}`],
                  ['Serial', <Hash key="s" value={ca.serial} keep={8} label="serial" />],
                  [
                    'Fingerprint',
                    <Hash
                      key="f"
                      value={toHex(hashFor(config.crypto)(fromHex(org.caCert)))}
                      keep={8}
                      label="fingerprint"
                    />,
                  ],
                ]}
              />
            )
          )}
        </>
      )}
      {org.tlsCaCert && <TlsCa der={org.tlsCaCert} />}
      {org.keys.length > 0 && (
        <>
          <h3>Registered keys</h3>
          <Table columns={['Name', 'Role', 'Public key']}>
            {org.keys.map((k) => (
              <tr key={k.publicKey}>
                <td>{k.name}</td>
                <td>{k.role}</td>
                <td>
                  <Hash value={k.publicKey} keep={8} label="public key" />
                </td>
              </tr>
            ))}
          </Table>
        </>
      )}
      <h3>Members</h3>
      {ids ? (
        <Members org={org.id} ids={ids} config={config} />
      ) : (
        <p className="muted small">
          Member identities are listed by the console server that archi up starts.
        </p>
      )}
      {validators.length > 0 && (
        <>
          <h3>Validators</h3>
          <ul className="plain">
            {validators.map((v) => (
              <li key={v.publicKey}>
                <strong>{v.name}</strong> power {v.power} ·{' '}
                <Hash
                  value={addressOf(config.crypto, v.publicKey)}
                  keep={6}
                  label="validator address"
                />
              </li>
            ))}
          </ul>
        </>
      )}
    </Card>
  );
}

/** Member nodes: where the others dial them, and their voting power now and scheduled. */
function MemberNodes({ c }: { c: ChainConfigJson }) {
  if (c.nodes.length === 0) return <Empty title="No member nodes" />;
  return (
    <Table
      columns={['Name', 'Org', 'Address', 'Validator', ['Public key', 'hide-narrow']]}
      testId="member-nodes"
    >
      {c.nodes.map((n) => {
        const power = powerNow(c, n.name);
        const pending = pendingPowers(c, n.name);
        return (
          <tr
            key={n.name}
            data-testid={`member-node-${n.name}`}
            data-validator={power > 0 ? 'true' : 'false'}
          >
            <td>{n.name}</td>
            <td>{n.org}</td>
            <td>
              {n.address ? (
                <code>{n.address}</code>
              ) : (
                <span
                  className="muted"
                  title="No address on chain: the other nodes wait for it to dial them"
                >
                  dials in
                </span>
              )}
            </td>
            <td>
              {power > 0 ? (
                <Badge kind="info">validator · power {power.toLocaleString('en')}</Badge>
              ) : (
                <span className="muted">not a validator</span>
              )}
              {pending.map((p) => (
                <div key={p.height} className="muted small">
                  power {p.power.toLocaleString('en')} from height {p.height}
                </div>
              ))}
            </td>
            <td className="hide-narrow">
              <Hash value={n.publicKey} keep={6} label="public key" />
            </td>
          </tr>
        );
      })}
    </Table>
  );
}

/** Validator sets governance scheduled, each with the first height it decides. */
function PendingValidators({ c }: { c: ChainConfigJson }) {
  if (c.pendingValidators.length === 0) {
    return (
      <p className="muted small" data-testid="pending-validators" data-count="0">
        No validator changes pending.
      </p>
    );
  }
  return (
    <>
      <h3>Scheduled validator sets</h3>
      <ul
        className="plain"
        data-testid="pending-validators"
        data-count={c.pendingValidators.length}
      >
        {c.pendingValidators.map((u, i) => (
          <li key={u.height} data-testid={`pending-${u.height}`}>
            from height <strong>{u.height}</strong>:{' '}
            {u.validators.map((v) => `${v.name} ${v.power.toLocaleString('en')}`).join(', ') ||
              'no validators'}{' '}
            <span className="muted">
              (total power {u.validators.reduce((s, v) => s + v.power, 0).toLocaleString('en')})
            </span>
            <div className="muted small">
              {validatorChanges(
                i === 0 ? c.validators : c.pendingValidators[i - 1].validators,
                u.validators,
              ).join(', ') || 'no change'}
            </div>
          </li>
        ))}
      </ul>
    </>
  );
}

export function OrgsPage() {
  const { config, identities } = useCtx();
  const feed = useFeed();
  const height = feed.blocks.reduce((m, b) => Math.max(m, b.height), -1);
  // Governance changes orgs, nodes and validators from the next block, and scheduled sets
  // take over at their height: read the config when the page opens and after every block.
  // biome-ignore lint/correctness/useExhaustiveDependencies: reload on each new height
  useEffect(() => config.reload(), [height]);
  return (
    <div className="page" data-testid="orgs-page">
      <h1>Organizations and identities</h1>
      <Show a={config} what="the chain config">
        {(c) => {
          const total = c.validators.reduce((s, v) => s + v.power, 0);
          return (
            <>
              <Card title="Chain">
                <Fields
                  rows={[
                    ['Chain id', c.chainId],
                    [
                      'Crypto profile',
                      c.crypto === 'gm'
                        ? 'gm (SM2 / SM3 / SM4)'
                        : 'standard (ECDSA P-256 / SHA-256)',
                    ],
                    [
                      'Identity mode',
                      c.identityMode === 'cert'
                        ? 'cert (X.509 per member, role in OU)'
                        : 'key (public keys registered on chain)',
                    ],
                    ['Consensus', c.consensus],
                    ['Roles that may send txs', c.txRoles.join(', ') || '—'],
                    ['Roles that may write kv', c.kvWriteRoles.join(', ') || '—'],
                    ['Lifecycle policy', c.lifecyclePolicy || '—'],
                    ['Governance policy', c.governancePolicy || '—'],
                    ['Tx time window', `${c.txTimeWindowMs / 1000} s`],
                    ['Revoked certificates', c.revokedCerts.length],
                  ]}
                />
              </Card>
              <Card title={`Validators (${c.validators.length}, total power ${total})`}>
                {c.validators.length === 0 ? (
                  <Empty title="No validators" />
                ) : (
                  <Table
                    columns={[
                      'Name',
                      'Org',
                      ['Power', 'num'],
                      ['Share', 'num hide-narrow'],
                      'Address',
                    ]}
                    testId="validators"
                  >
                    {c.validators.map((v) => (
                      <tr key={v.publicKey}>
                        <td>{v.name}</td>
                        <td>{v.org}</td>
                        <td className="num">{v.power}</td>
                        <td className="num hide-narrow">
                          {total ? `${((100 * v.power) / total).toFixed(0)}%` : '—'}
                        </td>
                        <td>
                          <Hash
                            value={addressOf(c.crypto, v.publicKey)}
                            keep={6}
                            label="validator address"
                          />
                        </td>
                      </tr>
                    ))}
                  </Table>
                )}
                <PendingValidators c={c} />
              </Card>
              <Card title={`Member nodes (${c.nodes.length})`} testId="member-nodes-card">
                <MemberNodes c={c} />
              </Card>
              {identities.error && <ErrorBox error={identities.error} retry={identities.reload} />}
              {!identities.data && !identities.error && <Loading what="identities" />}
              <div className="grid two">
                {c.orgs.map((o) => (
                  <OrgCard key={o.id} org={o} config={c} ids={identities.data} />
                ))}
              </div>
              {c.orgs.length === 0 && <Empty title="No member organizations" />}
            </>
          );
        }}
      </Show>
    </div>
  );
}
