/**
 * Contracts: what the chain runs, forms to invoke (signed by the operator's server as an
 * identity picked here) and query them, and TypeScript contract deployment where the chain
 * has the contract lifecycle contract.
 */
import { useEffect, useState } from 'react';
import { ApiError, type CommittedAnswer, type ContractInfo, operator } from '../api.ts';
import { useCtx } from '../context.tsx';
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

function MethodForm({
  contract,
  method,
}: {
  contract: string;
  method: { name: string; write: boolean };
}) {
  const { rpc, identities } = useCtx();
  const [as, setAs] = useIdentity();
  const address = identities.data?.find((i) => i.id === as)?.address ?? '';
  const template = TEMPLATES[`${contract}.${method.name}`] ?? {};
  const [args, setArgs] = useState(() => JSON.stringify(template).replaceAll('$address', address));
  // Fill in the signer's address once identities arrive (token templates need one).
  useEffect(() => {
    if (address) setArgs((a) => a.replaceAll('$address', address));
  }, [address]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | null>(null);
  const [sent, setSent] = useState<CommittedAnswer | null>(null);
  const [result, setResult] = useState<{ value: unknown; height: number } | null>(null);

  const submit = async () => {
    const parsed = parseArgs(args);
    if (!parsed.ok) {
      setError(new Error(parsed.error));
      return;
    }
    setBusy(true);
    setError(null);
    setSent(null);
    setResult(null);
    try {
      if (method.write) {
        setSent(
          await operator.signAndSend({ as, contract, method: method.name, args: parsed.value }),
        );
      } else {
        const a = await rpc.query(contract, method.name, parsed.value);
        setResult({ value: a.result, height: a.height });
      }
    } catch (e) {
      setError(e as Error);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form
      className="form method"
      data-testid={`method-${method.name}`}
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <div className="method-head">
        <code>
          {contract}.{method.name}
        </code>
        <Badge kind={method.write ? 'warn' : 'info'}>
          {method.write ? 'write · tx' : 'read · query'}
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
      {method.write && <IdentityPicker value={as} onChange={setAs} />}
      <div className="row">
        <button type="submit" disabled={busy || (method.write && !as)}>
          {busy
            ? method.write
              ? 'Waiting for the block…'
              : 'Querying…'
            : method.write
              ? 'Sign and send'
              : 'Query'}
        </button>
        {!method.write && (
          <a
            className="small"
            href={`#/state?contract=${encodeURIComponent(contract)}&method=${encodeURIComponent(method.name)}&args=${encodeURIComponent(args)}`}
          >
            query with a verified proof →
          </a>
        )}
      </div>
      {error && <ErrorBox error={error} />}
      {sent && <Receipt answer={sent} />}
      {result && (
        <div className="query-answer" data-testid="call-result">
          <span className="muted small">at height {result.height}</span>
          <Json value={result.value} />
        </div>
      )}
    </form>
  );
}

function DeployCard({ available, lifecycle }: { available: boolean; lifecycle?: ContractInfo }) {
  const [as, setAs] = useIdentity();
  const [name, setName] = useState('');
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | null>(null);
  const [sent, setSent] = useState<CommittedAnswer | null>(null);
  const [missing, setMissing] = useState(!available);

  if (missing) {
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
          if (!/^[a-z][a-z0-9_]{0,63}$/.test(name)) {
            setError(new Error('name: lower-case letters, digits and _ , starting with a letter'));
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
            .signAndSend({
              as,
              contract: LIFECYCLE_CONTRACT,
              method: 'deploy',
              args: { name, code },
            })
            .then(setSent, (e: Error) => {
              if (e instanceof ApiError && e.code === 'CONTRACT_NOT_FOUND') setMissing(true);
              else setError(e);
            })
            .finally(() => setBusy(false));
        }}
      >
        <label>
          Name
          <input
            value={name}
            onChange={(e) => setName(e.target.value)}
            placeholder="my_contract"
            data-testid="deploy-name"
          />
        </label>
        <label>
          Source (TypeScript)
          <textarea
            rows={8}
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
            accept=".ts,.js,text/plain"
            onChange={(e) => {
              const f = e.target.files?.[0];
              if (!f) return;
              void f.text().then((t) => {
                setCode(t);
                if (!name)
                  setName(
                    f.name
                      .replace(/\.[tj]s$/, '')
                      .replace(/[^a-z0-9_]/gi, '_')
                      .toLowerCase(),
                  );
              });
            }}
          />
        </label>
        <IdentityPicker value={as} onChange={setAs} />
        <button type="submit" disabled={busy || !as} data-testid="deploy-run">
          {busy ? 'Deploying…' : 'Deploy'}
        </button>
        {lifecycle && (
          <p className="muted small">
            Sent as <code>{LIFECYCLE_CONTRACT}.deploy</code>; the chain's lifecycle policy decides
            whether it takes effect.
          </p>
        )}
        {error && <ErrorBox error={error} />}
        {sent && <Receipt answer={sent} />}
      </form>
    </Card>
  );
}

/** Versions and status of deployed TypeScript contracts, when the lifecycle contract can list them. */
function DeployedList({ lifecycle }: { lifecycle: ContractInfo }) {
  const { rpc } = useCtx();
  const lister = lifecycle.methods.find(
    (m) => !m.write && ['list', 'contracts', 'all'].includes(m.name),
  );
  const list = useAsync(
    () => (lister ? rpc.query(LIFECYCLE_CONTRACT, lister.name, {}) : Promise.resolve(null)),
    [rpc, lister?.name],
  );
  if (!lister) return null;
  return (
    <Card title="Deployed TypeScript contracts">
      <Show a={list} what="deployed contracts">
        {(a) => {
          const rows = Array.isArray(a?.result)
            ? (a.result as Array<Record<string, unknown>>)
            : null;
          if (!rows) return <Json value={a?.result} />;
          if (rows.length === 0) return <Empty title="No TypeScript contracts deployed yet" />;
          const cols = [...new Set(rows.flatMap((r) => Object.keys(r ?? {})))]
            .filter((c) => c !== 'code')
            .slice(0, 6);
          return (
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    {cols.map((c) => (
                      <th key={c}>{c}</th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {rows.map((r, i) => (
                    // biome-ignore lint/suspicious/noArrayIndexKey: rows come in the contract's order
                    <tr key={i}>
                      {cols.map((c) => (
                        <td key={c}>
                          {typeof r[c] === 'object' ? JSON.stringify(r[c]) : String(r[c] ?? '')}
                        </td>
                      ))}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          );
        }}
      </Show>
    </Card>
  );
}

export function ContractsPage({ selected }: { selected?: string }) {
  const { rpc } = useCtx();
  const contracts = useAsync(() => rpc.contracts(), [rpc]);
  return (
    <div className="page" data-testid="contracts-page">
      <h1>Contracts</h1>
      <Show a={contracts} what="contracts">
        {(list) => {
          const lifecycle = list.find((c) => c.name === LIFECYCLE_CONTRACT);
          const current = list.find((c) => c.name === selected) ?? list[0];
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
                    <strong>{c.name}</strong>
                    <span className="muted small">
                      {[
                        `${c.methods.length} methods`,
                        c.kind,
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
                  actions={
                    (current.kind || current.status) && (
                      <Badge
                        kind={current.status && current.status !== 'active' ? 'warn' : 'muted'}
                      >
                        {[current.kind, current.status].filter(Boolean).join(' · ')}
                      </Badge>
                    )
                  }
                >
                  <div className="methods">
                    {current.methods.map((m) => (
                      <MethodForm
                        key={`${current.name}.${m.name}`}
                        contract={current.name}
                        method={m}
                      />
                    ))}
                  </div>
                </Card>
              )}
              {lifecycle && <DeployedList lifecycle={lifecycle} />}
              <DeployCard available={!!lifecycle} lifecycle={lifecycle} />
            </>
          );
        }}
      </Show>
    </div>
  );
}
