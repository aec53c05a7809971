/**
 * State: query a contract or read a raw key, then check the proof here in the browser with
 * src/state/proof.ts against the header of the block the proof names.
 */
import { useState } from 'react';
import type { ProvenRead } from '../api.ts';
import { type ProofCheck, verifyReads } from '../chain.ts';
import { useCtx } from '../context.tsx';
import { plural } from '../lib.ts';
import {
  Badge,
  Card,
  describeBytes,
  ErrorBox,
  Fields,
  Hash,
  Json,
  parseArgs,
  shorten,
  useAsync,
} from '../ui.tsx';

interface Proven {
  title: string;
  result?: unknown;
  height: number;
  stateRoot: string;
  reads: ProvenRead[];
  check: ProofCheck;
  block: { hash: string; headerBytes: string };
}

export function Verdict({ check }: { check: ProofCheck }) {
  if (check.ok) {
    return (
      <div className="verdict ok" data-testid="verdict" role="status">
        <span className="verdict-mark" aria-hidden="true">
          ✓
        </span>
        <div>
          <strong>verified ✓ against block {check.height} state root</strong>
          <div className="small">
            <Hash value={check.stateRoot} keep={10} label="state root" />
            <span className="muted">
              {' '}
              · {plural(check.reads.length, 'read')} checked in this browser; block hash recomputed
              from its header bytes
            </span>
          </div>
        </div>
      </div>
    );
  }
  return (
    <div className="verdict bad" data-testid="verdict" role="alert">
      <span className="verdict-mark" aria-hidden="true">
        ✗
      </span>
      <div>
        <strong>not verified</strong>
        <div className="small">{check.reason}</div>
      </div>
    </div>
  );
}

function ProofView({ p }: { p: Proven }) {
  const { crypto } = useCtx();
  const [tampered, setTampered] = useState<ProofCheck | null>(null);
  const tamper = () => {
    // Flip one bit of the first value (or claim a value for an absent key) and check again,
    // to show that the check does fail when the node lies.
    const reads = p.reads.map((r, i) => {
      if (i !== 0) return r;
      if (r.value === null) return { ...r, value: '00' };
      const last = Number.parseInt(r.value.slice(-2), 16) ^ 1;
      return { ...r, value: r.value.slice(0, -2) + last.toString(16).padStart(2, '0') };
    });
    setTampered(verifyReads(crypto, p.block, p.height, p.stateRoot, reads));
  };
  return (
    <Card title={p.title} testId="proof-result">
      <Verdict check={p.check} />
      {'result' in p && (
        <>
          <h3>Result</h3>
          <div data-testid="query-result">
            <Json value={p.result} />
          </div>
        </>
      )}
      <h3>Proof at height {p.height}</h3>
      <Fields
        rows={[
          [
            'Block',
            <a key="b" href={`#/blocks/${p.height}`}>
              {p.height}
            </a>,
          ],
          ['Block hash', <Hash key="h" value={p.block.hash} label="block hash" />],
          ['State root', <Hash key="s" value={p.stateRoot} label="state root" />],
          ['Hash', crypto === 'gm' ? 'SM3 (pure TypeScript)' : 'SHA-256 (pure TypeScript)'],
        ]}
      />
      {p.reads.length === 0 ? (
        <p className="muted">The method read no state keys, so there is nothing to prove.</p>
      ) : (
        <div className="reads">
          {p.reads.map((r, i) => {
            const c = p.check.reads[i];
            const v = describeBytes(r.value);
            const proof = r.proof as {
              siblings?: string[];
              leaf?: { path: string; valueHash: string };
            };
            return (
              <details key={r.key} className="read" open={p.reads.length <= 2}>
                <summary>
                  <code>{r.key}</code>{' '}
                  <Badge kind={r.value === null ? 'info' : 'muted'}>
                    {r.value === null ? 'absent' : v.kind}
                  </Badge>{' '}
                  {c && (
                    <Badge kind={c.ok ? 'ok' : 'error'}>{c.ok ? `${c.kind} ✓` : 'fails'}</Badge>
                  )}
                </summary>
                <Fields
                  rows={[
                    [
                      'Value',
                      <code key="v" className="wrap">
                        {v.text}
                      </code>,
                    ],
                    [
                      'Depth',
                      plural(proof.siblings?.length ?? 0, 'sibling hash', 'sibling hashes'),
                    ],
                    proof.leaf
                      ? ['Leaf path', <Hash key="p" value={proof.leaf.path} label="leaf path" />]
                      : null,
                    proof.leaf
                      ? [
                          'Leaf value hash',
                          <Hash key="vh" value={proof.leaf.valueHash} label="value hash" />,
                        ]
                      : null,
                  ]}
                />
                {(proof.siblings?.length ?? 0) > 0 && (
                  <ol className="siblings mono small" start={0}>
                    {proof.siblings!.map((s, d) => (
                      // biome-ignore lint/suspicious/noArrayIndexKey: depth is the identity
                      <li key={d} title={s}>
                        {/^0+$/.test(s) ? <span className="muted">empty</span> : shorten(s, 12)}
                      </li>
                    ))}
                  </ol>
                )}
              </details>
            );
          })}
        </div>
      )}
      {p.reads.length > 0 && (
        <div className="tamper">
          <button type="button" className="secondary small" onClick={tamper} data-testid="tamper">
            Check a tampered copy
          </button>
          {tampered && (
            <span className={tampered.ok ? 'form-error' : 'muted'} data-testid="tamper-result">
              {tampered.ok
                ? 'a tampered value verified — this should never happen'
                : `a value changed by one bit fails: ${tampered.reason}`}
            </span>
          )}
        </div>
      )}
    </Card>
  );
}

export function StatePage({ query }: { query: URLSearchParams }) {
  const { rpc, crypto } = useCtx();
  const contracts = useAsync(() => rpc.contracts(), [rpc]);
  const [contract, setContract] = useState(query.get('contract') ?? 'kv');
  const [method, setMethod] = useState(query.get('method') ?? 'get');
  const [args, setArgs] = useState(query.get('args') ?? '{"key": "city"}');
  const [keyContract, setKeyContract] = useState('kv');
  const [key, setKey] = useState('city');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | null>(null);
  const [proven, setProven] = useState<Proven | null>(null);

  const readMethods =
    contracts.data?.find((c) => c.name === contract)?.methods.filter((m) => !m.write) ?? [];

  const run = async (fn: () => Promise<Proven>) => {
    setBusy(true);
    setError(null);
    try {
      setProven(await fn());
    } catch (e) {
      setProven(null);
      setError(e as Error);
    } finally {
      setBusy(false);
    }
  };

  const runQuery = () =>
    run(async () => {
      const parsed = parseArgs(args);
      if (!parsed.ok) throw new Error(parsed.error);
      const a = await rpc.query(contract, method, parsed.value, true);
      if (!a.proof) throw new Error('the node answered without a proof');
      const block = await rpc.block(a.proof.height);
      return {
        title: `${contract}.${method}`,
        result: a.result,
        height: a.proof.height,
        stateRoot: a.proof.stateRoot,
        reads: a.proof.reads,
        block,
        check: verifyReads(crypto, block, a.proof.height, a.proof.stateRoot, a.proof.reads),
      };
    });

  const runKey = () =>
    run(async () => {
      if (!keyContract || !key) throw new Error('enter a contract and a key');
      const a = await rpc.state(keyContract, key);
      const block = await rpc.block(a.height);
      const read = { key: a.key, value: a.value, proof: a.proof };
      return {
        title: `state key ${a.key}`,
        height: a.height,
        stateRoot: a.stateRoot,
        reads: [read],
        block,
        check: verifyReads(crypto, block, a.height, a.stateRoot, [read]),
      };
    });

  return (
    <div className="page" data-testid="state-page">
      <h1>State</h1>
      <p className="lead">
        Every answer here comes with a Merkle proof that this page checks itself: it recomputes the
        block hash from the header bytes, reads the state root out of that header, and walks each
        proof up to it. Nothing the node says about state is taken on trust.
      </p>
      <div className="grid two">
        <Card title="Query a contract">
          <form
            className="form"
            onSubmit={(e) => {
              e.preventDefault();
              void runQuery();
            }}
          >
            <label>
              Contract
              <input
                list="contract-names"
                value={contract}
                onChange={(e) => setContract(e.target.value)}
                data-testid="query-contract"
              />
              <datalist id="contract-names">
                {contracts.data?.map((c) => (
                  <option key={c.name} value={c.name} />
                ))}
              </datalist>
            </label>
            <label>
              Method
              <input
                list="method-names"
                value={method}
                onChange={(e) => setMethod(e.target.value)}
                data-testid="query-method"
              />
              <datalist id="method-names">
                {readMethods.map((m) => (
                  <option key={m.name} value={m.name} />
                ))}
              </datalist>
            </label>
            <label>
              Args (JSON)
              <textarea
                rows={3}
                value={args}
                onChange={(e) => setArgs(e.target.value)}
                spellCheck={false}
                data-testid="query-args"
              />
            </label>
            <button type="submit" disabled={busy} data-testid="query-run">
              {busy ? 'Checking…' : 'Query and verify'}
            </button>
          </form>
        </Card>
        <Card title="Read a raw state key">
          <form
            className="form"
            onSubmit={(e) => {
              e.preventDefault();
              void runKey();
            }}
          >
            <label>
              Contract
              <input value={keyContract} onChange={(e) => setKeyContract(e.target.value)} />
            </label>
            <label>
              Key
              <input value={key} onChange={(e) => setKey(e.target.value)} />
            </label>
            <p className="muted small">
              Reads{' '}
              <code>
                {keyContract || 'contract'}/{key || 'key'}
              </code>{' '}
              with a membership or non-membership proof.
            </p>
            <button type="submit" disabled={busy}>
              {busy ? 'Checking…' : 'Read and verify'}
            </button>
          </form>
        </Card>
      </div>
      {error && <ErrorBox error={error} />}
      {proven && (
        <ProofView key={`${proven.title}@${proven.height}:${proven.stateRoot}`} p={proven} />
      )}
    </div>
  );
}
