/**
 * City codes: a browser of the idcode app's codes (docs/apps/idcode.md). The tree starts at
 * the roots and loads children page by page; the search box resolves a code or lists codes by
 * prefix; a selected code (`#/idcode/MA.156.1301`) is resolved with a proof that this page
 * checks (src/state/proof.ts against the block's header) and its view rebuilt from the proven
 * records, with its history below.
 */
import { useState } from 'react';
import { verifyReads } from '../chain.ts';
import { useCtx } from '../context.tsx';
import { type CodeView, IDCODE, isCode, provenView } from '../idcode.ts';
import { plural } from '../lib.ts';
import { go } from '../router.ts';
import { Table } from '../table.tsx';
import { Badge, Card, Empty, ErrorBox, Fields, Json, Loading, Show, useAsync } from '../ui.tsx';
import { Verdict } from './State.tsx';

interface Child {
  code: string;
  name: string;
  kind: string;
  owner: string;
  status: string;
  children: number;
}

interface Entry {
  action: string;
  org: string;
  by: string;
  height: number;
  txId: string;
  data: Record<string, unknown>;
}

interface Page {
  total: number;
  pageSize: number;
  children: Child[];
}

const link = (code: string) => `#/idcode/${encodeURIComponent(code)}`;

/** One code of the tree: a link, and its children once opened (100 at a time). */
function TreeNode({ node }: { node: Child }) {
  const { rpc } = useCtx();
  const [open, setOpen] = useState(false);
  const [kids, setKids] = useState<Child[]>([]);
  const [total, setTotal] = useState(node.children);
  const [error, setError] = useState<Error | null>(null);
  const load = async (page: number) => {
    try {
      const a = await rpc.query(IDCODE, 'children', { code: node.code, page });
      const p = a.result as Page;
      setKids((k) => [...k, ...p.children]);
      setTotal(p.total);
    } catch (e) {
      setError(e as Error);
    }
  };
  const toggle = () => {
    if (!open && kids.length === 0 && node.children > 0) void load(0);
    setOpen(!open);
  };
  return (
    <li data-testid={`tree-${node.code}`}>
      <button
        type="button"
        className="secondary small"
        onClick={toggle}
        disabled={node.children === 0}
        aria-expanded={open}
        title={node.children === 0 ? 'no children' : `${node.children} children`}
      >
        {node.children === 0 ? '·' : open ? '−' : '+'}
      </button>{' '}
      <a href={link(node.code)}>
        <code>{node.code}</code>
      </a>{' '}
      {node.name} <span className="muted small">{node.kind}</span>{' '}
      {node.status === 'revoked' && <Badge kind="error">revoked</Badge>}
      {open && (
        <ul className="tree">
          {kids.map((k) => (
            <TreeNode key={k.code} node={k} />
          ))}
          {error && <ErrorBox error={error} />}
          {kids.length < total && (
            <li>
              <button
                type="button"
                className="secondary small"
                onClick={() => void load(Math.ceil(kids.length / 100))}
              >
                {plural(total - kids.length, 'more')}
              </button>
            </li>
          )}
        </ul>
      )}
    </li>
  );
}

/** A code's changes, oldest first (asked only for a code that is issued). */
function CodeHistory({ code }: { code: string }) {
  const { rpc } = useCtx();
  const history = useAsync(
    () => rpc.query(IDCODE, 'history', { code }).then((a) => a.result as { entries: Entry[] }),
    [rpc, code],
  );
  return (
    <>
      <h3>History</h3>
      <Show a={history} what="its history">
        {(h) => (
          <Table columns={['Block', 'Change', 'By', 'Details']} testId="code-history">
            {h.entries.map((e) => (
              <tr key={e.txId}>
                <td>
                  <a href={`#/blocks/${e.height}`}>{e.height}</a>
                </td>
                <td>{e.action}</td>
                <td>
                  {e.org || 'governance'} <span className="muted small">{e.by}</span>
                </td>
                <td className="mono small">{JSON.stringify(e.data)}</td>
              </tr>
            ))}
          </Table>
        )}
      </Show>
    </>
  );
}

/** The selected code, resolved with a proof checked here, and its history. */
function CodeDetail({ code }: { code: string }) {
  const { rpc, crypto } = useCtx();
  const resolved = useAsync(async () => {
    const a = await rpc.query(IDCODE, 'resolve', { code }, true);
    if (!a.proof) throw new Error('the node answered without a proof');
    const block = await rpc.block(a.proof.height);
    const check = verifyReads(crypto, block, a.proof.height, a.proof.stateRoot, a.proof.reads);
    return { check, proven: provenView(code, a.proof.reads, a.result) };
  }, [rpc, code]);
  return (
    <Card title={<code>{code}</code>} testId="code-detail">
      <Show a={resolved} what="the code and its proof">
        {({ check, proven }) => {
          const verdict = !check.ok
            ? check
            : proven.ok
              ? check
              : { ok: false as const, reason: proven.reason, reads: check.reads };
          const view: CodeView | null = proven.ok ? proven.view : null;
          return (
            <>
              <Verdict check={verdict} />
              {proven.ok && view === null && (
                <Empty title="Not issued" testId="code-absent">
                  The proof shows that no code {code} is issued.
                </Empty>
              )}
              {view && (
                <Fields
                  rows={[
                    [
                      'Name',
                      <span key="n" data-testid="code-name">
                        {view.name}
                      </span>,
                    ],
                    ['Kind', view.kind],
                    [
                      'Owner',
                      <span key="o" data-testid="code-owner">
                        {view.owner}
                      </span>,
                    ],
                    [
                      'Status',
                      <Badge key="s" kind={view.status === 'active' ? 'ok' : 'error'}>
                        {view.status}
                        {view.revokedVia && view.revokedVia !== code
                          ? ` (under ${view.revokedVia})`
                          : ''}
                      </Badge>,
                    ],
                    ['May issue below', view.issuers.join(', ') || '—'],
                    ['Delegate', view.delegate ?? '—'],
                    ['Issued by', `${view.issuer} in block ${view.createdAt}`],
                    [
                      'Parent',
                      view.parent ? (
                        <a key="p" href={link(view.parent)}>
                          {view.parent}
                        </a>
                      ) : (
                        '—'
                      ),
                    ],
                    ['Children', String(view.children)],
                    view.metadata ? ['Metadata', <Json key="m" value={view.metadata} />] : null,
                  ]}
                />
              )}
            </>
          );
        }}
      </Show>
      {resolved.data?.proven.ok && resolved.data.proven.view && <CodeHistory code={code} />}
    </Card>
  );
}

export function IdcodePage({ selected }: { selected?: string }) {
  const { rpc } = useCtx();
  const deployed = useAsync(
    () => rpc.contracts().then((list) => list.some((c) => c.name === IDCODE)),
    [rpc],
  );
  const roots = useAsync(
    () => rpc.query(IDCODE, 'roots', null).then((a) => a.result as Child[]),
    [rpc],
  );
  const [text, setText] = useState('');
  const [found, setFound] = useState<Child[] | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const search = async () => {
    const t = text.trim().toUpperCase();
    setError(null);
    if (isCode(t)) {
      setFound(null);
      go(link(t));
      return;
    }
    try {
      const a = await rpc.query(IDCODE, 'search', { prefix: t, limit: 100 });
      setFound(a.result as Child[]);
    } catch (e) {
      setError(e as Error);
    }
  };
  if (deployed.data === false) {
    return (
      <div className="page">
        <h1>City codes</h1>
        <Empty title="The idcode app is not deployed on this chain" testId="idcode-missing">
          Deploy it with <code>archi apps deploy idcode</code> (or start with{' '}
          <code>archi up --apps</code>).
        </Empty>
      </div>
    );
  }
  return (
    <div className="page" data-testid="idcode-page">
      <h1>City codes</h1>
      <p className="lead">
        Identifier codes like <code>MA.156.1301.02</code>: who holds each, who may issue below it,
        and its history. A selected code is checked here against the proof of its record and its
        ancestors'.
      </p>
      <Card title="Search">
        <form
          className="form inline"
          onSubmit={(e) => {
            e.preventDefault();
            void search();
          }}
        >
          <input
            value={text}
            onChange={(e) => setText(e.target.value)}
            placeholder="MA.156.1301 or a prefix like MA.156.13"
            data-testid="idcode-search"
          />
          <button type="submit" data-testid="idcode-search-run">
            Resolve or search
          </button>
        </form>
        {error && <ErrorBox error={error} />}
        {found && (
          <ul className="tree" data-testid="idcode-found">
            {found.length === 0 && <li className="muted">no code starts with that</li>}
            {found.map((c) => (
              <li key={c.code}>
                <a href={link(c.code)}>
                  <code>{c.code}</code>
                </a>{' '}
                {c.name} <span className="muted small">{c.owner}</span>
              </li>
            ))}
          </ul>
        )}
      </Card>
      <div className="grid two">
        <Card title="Tree">
          {roots.loading && !roots.data && <Loading what="the roots" />}
          {roots.error && <ErrorBox error={roots.error} retry={roots.reload} />}
          {roots.data?.length === 0 && (
            <Empty title="No roots yet">
              Governance hands a root to an organization:{' '}
              <code>archi idcode root MA.156 --to org1</code>
            </Empty>
          )}
          <ul className="tree" data-testid="idcode-tree">
            {roots.data?.map((r) => (
              <TreeNode key={r.code} node={{ ...r, kind: 'root', status: 'active' }} />
            ))}
          </ul>
        </Card>
        {selected ? (
          <CodeDetail key={selected} code={selected} />
        ) : (
          <Card title="Code">
            <p className="muted">Pick a code in the tree or search for one.</p>
          </Card>
        )}
      </div>
    </div>
  );
}
