/**
 * Contracts: what the chain runs, forms to invoke (signed by the operator's server as an
 * identity picked here) and query them (with the proof checked here), and TypeScript contract
 * deployment where the chain has the contract lifecycle contract: the console server bundles
 * the source with esbuild as `archi contract deploy` does, since a browser cannot.
 */
import { useEffect, useState } from 'react';
// The deploy form starts from the project's own example contract.
import COUNTER_SOURCE from '../../../contracts/counter.ts?raw';
import { ApiError, type CommittedAnswer, type ContractMetaJson, operator } from '../api.ts';
import { type ProofCheck, verifyReads } from '../chain.ts';
import { useCtx } from '../context.tsx';
import { plural } from '../lib.ts';
import { Table } from '../table.tsx';
import {
  Badge,
  Card,
  Empty,
  ErrorBox,
  Fields,
  Hash,
  Json,
  Loading,
  parseArgs,
  Show,
  useAsync,
} from '../ui.tsx';
import { Verdict } from './State.tsx';

export const LIFECYCLE_CONTRACT = 'contract_manage';

const TEMPLATES: Record<string, unknown> = {
  'kv.put': { key: 'city', value: 'MA.156.1301.02' },
  'kv.get': { key: 'city' },
  'kv.delete': { key: 'city' },
  'token.mint': { to: '$address', amount: '1000' },
  'token.transfer': { to: '$address', amount: '10' },
  'token.balanceOf': { owner: '$address' },
  'token.totalSupply': {},
  'chain_config.get': {},
};

const ID_KEY = 'archi-console-identity';

/** The identity the operator signs as; remembered across visits. */
export function useIdentity(): [string, (id: string) => void] {
  const { identities } = useCtx();
  const [id, setId] = useState(() => localStorage.getItem(ID_KEY) ?? '');
  const list = identities.data ?? [];
  const current = list.some((i) => i.id === id)
    ? id
    : (list.find((i) => i.id === 'org1/admin')?.id ?? list[0]?.id ?? '');
  return [
    current,
    (next) => {
      localStorage.setItem(ID_KEY, next);
      setId(next);
    },
  ];
}

export function IdentityPicker({
  value,
  onChange,
}: {
  value: string;
  onChange: (id: string) => void;
}) {
  const { identities } = useCtx();
  if (identities.error) {
    return (
      <div className="form-error">
        Signing is unavailable: the console server that <code>archi up</code> starts could not list
        identities ({identities.error.message}).
      </div>
    );
  }
  if (!identities.data) return <Loading what="identities" />;
  if (identities.data.length === 0)
    return (
      <div className="form-error">The network directory holds no identities to sign with.</div>
    );
  return (
    <label>
      Sign as
      <select value={value} onChange={(e) => onChange(e.target.value)} data-testid="identity">
        {identities.data.map((i) => (
          <option key={i.id} value={i.id}>
            {i.id}
          </option>
        ))}
      </select>
      <span className="hint">
        The key stays on the operator's machine: the console server signs, the browser never sees
        it.
      </span>
    </label>
  );
}

export function Receipt({ answer }: { answer: CommittedAnswer }) {
  const r = answer.receipt;
  return (
    <div className={`receipt ${r.status}`} data-testid="send-receipt">
      <div className="receipt-head">
        <Badge kind={r.status === 'ok' ? 'ok' : 'error'}>
          {r.status === 'ok' ? 'committed ✓' : `failed: ${r.code}`}
        </Badge>
        <span>
          in block <a href={`#/blocks/${answer.height}`}>{answer.height}</a>
        </span>
      </div>
      <Fields
        rows={[
          [
            'Tx id',
            <Hash key="t" value={answer.txId} href={`#/txs/${answer.txId}`} label="tx id" />,
          ],
          ['Gas used', r.gasUsed.toLocaleString()],
          r.message ? ['Message', r.message] : null,
          ['Result', <Json key="r" value={r.result} />],
          [
            'Events',
            r.events.length === 0 ? (
              <span key="e" className="muted">
                none
              </span>
            ) : (
              <Json key="e" value={r.events} />
            ),
          ],
        ]}
      />
    </div>
  );
}

interface QueryResult {
  value: unknown;
  height: number;
  check: ProofCheck | null;
}

/**
 * One method's form. Native methods are either writes (signed txs) or reads (queries); a
 * TypeScript contract's methods may be used either way, so they get both buttons. With `free`
 * the method name is typed in (for methods the chain does not list).
 */
function MethodForm({
  contract,
  method,
  both = false,
  free = false,
}: {
  contract: string;
  method: { name: string; write: boolean };
  both?: boolean;
  free?: boolean;
}) {
  const { rpc, identities, crypto, chain } = useCtx();
  const [as, setAs] = useIdentity();
  const [name, setName] = useState(method.name);
  const address = identities.data?.find((i) => i.id === as)?.address ?? '';
  const template = TEMPLATES[`${contract}.${method.name}`] ?? (both ? null : {});
  const [args, setArgs] = useState(() => JSON.stringify(template).replaceAll('$address', address));
  // Fill in the signer's address once identities arrive (token templates need one).
  useEffect(() => {
    if (address) setArgs((a) => a.replaceAll('$address', address));
  }, [address]);
  const [busy, setBusy] = useState<'send' | 'query' | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [sent, setSent] = useState<CommittedAnswer | null>(null);
  const [result, setResult] = useState<QueryResult | null>(null);
  const canSend = method.write || both;
  const canQuery = !method.write || both;

  const run = async (kind: 'send' | 'query') => {
    const parsed = parseArgs(args);
    if (!parsed.ok) {
      setError(new Error(parsed.error));
      return;
    }
    if (!name.trim()) {
      setError(new Error('enter the method name'));
      return;
    }
    setBusy(kind);
    setError(null);
    setSent(null);
    setResult(null);
    try {
      if (kind === 'send') {
        setSent(
          await operator.signAndSend({
            as,
            contract,
            method: name,
            args: parsed.value,
            chain: chain.id,
          }),
        );
      } else {
        // Ask for a proof and check it here, as the State page does.
        const a = await rpc.query(contract, name, parsed.value, true);
        let check: ProofCheck | null = null;
        if (a.proof) {
          const block = await rpc.block(a.proof.height);
          check = verifyReads(crypto, block, a.proof.height, a.proof.stateRoot, a.proof.reads);
        }
        setResult({ value: a.result, height: a.height, check });
      }
    } catch (e) {
      setError(e as Error);
    } finally {
      setBusy(null);
    }
  };

  return (
    <form
      className="form method"
      data-testid={free ? 'method-free' : `method-${method.name}`}
      onSubmit={(e) => {
        e.preventDefault();
        void run(canSend ? 'send' : 'query');
      }}
    >
      <div className="method-head">
        {free ? (
          <label className="grow">
            Method
            <input
              value={name}
              onChange={(e) => setName(e.target.value)}
              placeholder="method name"
              spellCheck={false}
              data-testid="method-name"
            />
          </label>
        ) : (
          <code>
            {contract}.{method.name}
          </code>
        )}
        <Badge kind={both ? 'muted' : method.write ? 'warn' : 'info'}>
          {both ? 'tx or query' : method.write ? 'write · tx' : 'read · query'}
        </Badge>
      </div>
      <label>
        Args (JSON)
        <textarea
          rows={2}
          value={args}
          onChange={(e) => setArgs(e.target.value)}
          spellCheck={false}
        />
      </label>
      {canSend && <IdentityPicker value={as} onChange={setAs} />}
      <div className="row">
        {canSend && (
          <button type="submit" disabled={busy !== null || !as}>
            {busy === 'send' ? 'Waiting for the block…' : 'Sign and send'}
          </button>
        )}
        {canQuery && (
          <button
            type={canSend ? 'button' : 'submit'}
            className={canSend ? 'secondary' : undefined}
            disabled={busy !== null}
            onClick={
              canSend
                ? () => {
                    void run('query');
                  }
                : undefined
            }
          >
            {busy === 'query' ? 'Querying…' : 'Query'}
          </button>
        )}
        {canQuery && (
          <a
            className="small"
            href={`#/state?contract=${encodeURIComponent(contract)}&method=${encodeURIComponent(name)}&args=${encodeURIComponent(args)}`}
          >
            open in State →
          </a>
        )}
      </div>
      {error && <ErrorBox error={error} />}
      {sent && <Receipt answer={sent} />}
      {result && (
        <div className="query-answer" data-testid="call-result">
          <span className="muted small">at height {result.height}</span>
          <Json value={result.value} />
          {result.check ? (
            <Verdict check={result.check} />
          ) : (
            <span className="muted small">the node sent no proof for this answer</span>
          )}
        </div>
      )}
    </form>
  );
}

function DeployCard({ available, onDeployed }: { available: boolean; onDeployed: () => void }) {
  const { chain } = useCtx();
  const [as, setAs] = useIdentity();
  const [name, setName] = useState('counter');
  const [code, setCode] = useState(COUNTER_SOURCE);
  const [upgrade, setUpgrade] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | null>(null);
  const [sent, setSent] = useState<{ name: string; answer: CommittedAnswer } | null>(null);

  if (!available) {
    return (
      <Card title="Deploy a TypeScript contract" testId="deploy">
        <Empty title="Not available on this chain">
          This chain has no <code>{LIFECYCLE_CONTRACT}</code> contract, so it cannot take TypeScript
          contracts yet. The contracts it runs are listed above, with forms to call them.
        </Empty>
      </Card>
    );
  }
  return (
    <Card title="Deploy a TypeScript contract" testId="deploy">
      <form
        className="form"
        onSubmit={(e) => {
          e.preventDefault();
          if (!/^[a-z][a-z0-9_]{1,31}$/.test(name)) {
            setError(
              new Error('name: 2 to 32 lower-case letters, digits and _ , starting with a letter'),
            );
            return;
          }
          if (!code.trim()) {
            setError(new Error('paste the contract source or pick a .ts file'));
            return;
          }
          setBusy(true);
          setError(null);
          setSent(null);
          operator
            .deploy({ as, name, source: code, upgrade, chain: chain.id })
            .then(
              (answer) => {
                setSent({ name, answer });
                if (answer.receipt.status === 'ok') onDeployed();
              },
              (e: Error) => setError(e),
            )
            .finally(() => setBusy(false));
        }}
      >
        <p className="muted small">
          The console server bundles the source with esbuild, exactly as{' '}
          <code>archi contract deploy</code> does, and sends it to <code>{LIFECYCLE_CONTRACT}</code>{' '}
          signed as the identity picked below. A contract may import only{' '}
          <code>archipelago/contract</code>.
        </p>
        <label>
          Name
          <input
            value={name}
            onChange={(e) => setName(e.target.value)}
            placeholder="my_contract"
            spellCheck={false}
            data-testid="deploy-name"
          />
        </label>
        <label>
          Source (TypeScript)
          <textarea
            rows={16}
            value={code}
            onChange={(e) => setCode(e.target.value)}
            spellCheck={false}
            className="mono"
            data-testid="deploy-code"
          />
        </label>
        <label className="file">
          or load a file{' '}
          <input
            type="file"
            accept=".ts,.mts,text/plain"
            onChange={(e) => {
              const f = e.target.files?.[0];
              if (!f) return;
              void f.text().then((t) => {
                setCode(t);
                setName(
                  f.name
                    .replace(/\.m?ts$/, '')
                    .replace(/[^a-z0-9_]/gi, '_')
                    .toLowerCase(),
                );
              });
            }}
          />
        </label>
        <label className="check">
          <span>
            <input
              type="checkbox"
              checked={upgrade}
              onChange={(e) => setUpgrade(e.target.checked)}
              data-testid="deploy-upgrade"
            />{' '}
            Upgrade an existing contract (its state is kept, its version goes up)
          </span>
        </label>
        <IdentityPicker value={as} onChange={setAs} />
        <div className="row">
          <button type="submit" disabled={busy || !as} data-testid="deploy-run">
            {busy ? 'Building and deploying…' : upgrade ? 'Build and upgrade' : 'Build and deploy'}
          </button>
          {sent?.answer.receipt.status === 'ok' && (
            <a href={`#/contracts/${sent.name}`} data-testid="deploy-open">
              open {sent.name} →
            </a>
          )}
        </div>
        {error && <ErrorBox error={error} />}
        {sent && <Receipt answer={sent.answer} />}
      </form>
    </Card>
  );
}

/** Versions, status and code hashes of deployed TypeScript contracts (contract_manage.list). */
function DeployedList({ rev }: { rev: number }) {
  const { rpc } = useCtx();
  const list = useAsync(() => rpc.query(LIFECYCLE_CONTRACT, 'list', {}), [rpc, rev]);
  return (
    <Card title="Deployed TypeScript contracts" testId="deployed">
      <Show a={list} what="deployed contracts">
        {(a) => {
          if (!Array.isArray(a.result)) return <Json value={a.result} />;
          const rows = a.result as ContractMetaJson[];
          if (rows.length === 0) return <Empty title="No TypeScript contracts deployed yet" />;
          return (
            <Table
              columns={[
                'Name',
                'Version',
                'Status',
                'Code hash',
                ['Methods', 'hide-narrow'],
                ['Deployer', 'hide-narrow'],
              ]}
              testId="deployed-table"
            >
              {rows.map((m) => (
                <tr key={m.name} data-testid={`deployed-${m.name}`}>
                  <td>
                    <a href={`#/contracts/${m.name}`}>
                      <code>{m.name}</code>
                    </a>
                  </td>
                  <td>v{m.version}</td>
                  <td>
                    <Badge
                      kind={m.status === 'active' ? 'ok' : m.status === 'frozen' ? 'warn' : 'error'}
                    >
                      {m.status}
                    </Badge>
                  </td>
                  <td>
                    <Hash value={m.codeHash} label="code hash" />
                  </td>
                  <td className="hide-narrow">{m.methods.join(', ')}</td>
                  <td className="hide-narrow">
                    {m.deployer.org}/
                    {m.deployer.id.length > 20 ? shortId(m.deployer.id) : m.deployer.id}
                  </td>
                </tr>
              ))}
            </Table>
          );
        }}
      </Show>
    </Card>
  );
}

function shortId(id: string): string {
  return `${id.slice(0, 8)}…${id.slice(-6)}`;
}

export function ContractsPage({ selected }: { selected?: string }) {
  const { rpc } = useCtx();
  const [rev, setRev] = useState(0);
  const contracts = useAsync(() => rpc.contracts(), [rpc, rev]);
  return (
    <div className="page" data-testid="contracts-page">
      <h1>Contracts</h1>
      <Show a={contracts} what="contracts">
        {(list) => {
          const lifecycle = list.find((c) => c.name === LIFECYCLE_CONTRACT);
          const current = list.find((c) => c.name === selected) ?? list[0];
          const user = current?.kind === 'contract';
          if (list.length === 0) return <Empty title="This chain runs no contracts" />;
          return (
            <>
              <div className="contract-tabs" role="tablist">
                {list.map((c) => (
                  <a
                    key={c.name}
                    role="tab"
                    aria-selected={c === current}
                    className={c === current ? 'active' : undefined}
                    href={`#/contracts/${c.name}`}
                    data-testid={`contract-${c.name}`}
                  >
                    <strong className="tab-name">{c.name}</strong>
                    <span className="muted small">
                      {[
                        plural(c.methods.length, 'method'),
                        c.kind === 'contract' ? 'TypeScript' : c.kind,
                        c.version !== undefined && `v${c.version}`,
                        c.status,
                      ]
                        .filter(Boolean)
                        .join(' · ')}
                    </span>
                  </a>
                ))}
              </div>
              {selected && !list.some((c) => c.name === selected) && (
                <ErrorBox
                  error={
                    new ApiError('CONTRACT_NOT_FOUND', `this chain has no contract ${selected}`)
                  }
                />
              )}
              {current && (
                <Card
                  title={<code>{current.name}</code>}
                  testId="contract-card"
                  actions={
                    (current.kind || current.status) && (
                      <Badge
                        kind={current.status && current.status !== 'active' ? 'warn' : 'muted'}
                      >
                        {[
                          current.kind === 'contract' ? 'TypeScript' : current.kind,
                          current.version !== undefined && `v${current.version}`,
                          current.status,
                        ]
                          .filter(Boolean)
                          .join(' · ')}
                      </Badge>
                    )
                  }
                >
                  {user && (
                    <p className="muted small">
                      A TypeScript contract's methods can be sent as a signed tx (state changes are
                      kept) or run as a query (read-only, answered with a proof checked here).
                      {current.codeHash && (
                        <>
                          {' '}
                          Code hash <Hash value={current.codeHash} label="code hash" />.
                        </>
                      )}
                    </p>
                  )}
                  <div className="methods">
                    {current.methods.map((m) => (
                      <MethodForm
                        key={`${current.name}.${m.name}`}
                        contract={current.name}
                        method={m}
                        both={user}
                      />
                    ))}
                    {user && (
                      <MethodForm
                        key={`${current.name}.*`}
                        contract={current.name}
                        method={{ name: '', write: true }}
                        both
                        free
                      />
                    )}
                  </div>
                </Card>
              )}
              {lifecycle && <DeployedList rev={rev} />}
              <DeployCard available={!!lifecycle} onDeployed={() => setRev((r) => r + 1)} />
            </>
          );
        }}
      </Show>
    </div>
  );
}
