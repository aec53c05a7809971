/** Transactions: search by tx id or height, recent txs, and one tx with receipt and events. */
import { type ReactNode, useEffect, useState, useSyncExternalStore } from 'react';
import type { BlockJson, Rpc } from '../api.ts';
import { useCtx, useFeed } from '../context.tsx';
import { RecentTxs, type RecentTxsSnapshot } from '../feed.ts';
import { plural } from '../lib.ts';
import { go } from '../router.ts';
import { Table } from '../table.tsx';
import { Badge, Card, Empty, ErrorBox, Fields, Hash, Json, Show, Time, useAsync } from '../ui.tsx';

/** Search box: a 64-hex tx id opens the tx, a number opens the block at that height. */
export function SearchBox({ autoFocus }: { autoFocus?: boolean }) {
  const [text, setText] = useState('');
  const [error, setError] = useState('');
  return (
    <search>
      <form
        className="search"
        onSubmit={(e) => {
          e.preventDefault();
          const q = text.trim().toLowerCase().replace(/^0x/, '');
          if (/^[0-9a-f]{64}$/.test(q)) go(`/txs/${q}`);
          else if (/^\d{1,15}$/.test(q)) go(`/blocks/${Number(q)}`);
          else if (q === 'latest') go('/blocks/latest');
          else {
            setError('Enter a transaction id (64 hex characters) or a block height.');
            return;
          }
          setError('');
        }}
      >
        <input
          aria-label="tx id or block height"
          placeholder="Tx id or block height"
          value={text}
          // biome-ignore lint/a11y/noAutofocus: the search page exists to type into this box
          autoFocus={autoFocus}
          onChange={(e) => setText(e.target.value)}
          data-testid="search-input"
        />
        <button type="submit">Search</button>
        {error && <div className="form-error">{error}</div>}
      </form>
    </search>
  );
}

/** Transactions the Recent list shows at most (the look back stops once it holds them). */
const RECENT_TXS = 50;

/**
 * One look back is one GET /v1/blocks?nonEmpty=true (the node looks at up to 10,000 heights
 * and says which), then the blocks it lists that hold the newest txs.
 */
const lookBack = (rpc: Rpc) =>
  new RecentTxs(
    (before, limit) => rpc.blocks({ before, limit, nonEmpty: true }),
    (h) => rpc.block(h),
    RECENT_TXS,
  );

/** The node's newest txs: a look back from the head, then every new block with txs. */
function useRecentTxs(): [RecentTxsSnapshot<BlockJson>, RecentTxs<BlockJson>] {
  const { rpc, feed: feedSource } = useCtx();
  const feed = useFeed();
  const [recent, setRecent] = useState(() => ({ url: rpc.base, txs: lookBack(rpc) }));
  useEffect(() => {
    if (recent.url === rpc.base) return;
    recent.txs.close();
    setRecent({ url: rpc.base, txs: lookBack(rpc) });
  }, [rpc, recent]);
  useEffect(() => () => recent.txs.close(), [recent]);
  useEffect(() => {
    // The feed of the node (or chain) picked before may still be showing for one render.
    if (feed.loaded && feedSource.url === recent.url) recent.txs.onFeed(feed.blocks);
  }, [feed, feedSource, recent]);
  const snap = useSyncExternalStore(recent.txs.subscribe, recent.txs.getSnapshot);
  return [snap, recent.txs];
}

export function TxsPage() {
  const [recent, source] = useRecentTxs();
  const rows = recent.blocks
    .flatMap((b) => [...b.txs].reverse().map((t) => ({ ...t, height: b.height })))
    .slice(0, RECENT_TXS);
  const looked =
    recent.lowest !== null && recent.top !== null ? Math.max(0, recent.top - recent.lowest + 1) : 0;
  const oldest = recent.blocks.at(-1);
  const shownOfOldest = rows.filter((r) => r.height === oldest?.height).length;
  const further = !recent.complete && !recent.scanning && rows.length < RECENT_TXS && (
    <button type="button" className="small secondary" onClick={() => source.further()}>
      Look further back
    </button>
  );
  let scope: ReactNode;
  if (recent.scanning) {
    scope = (
      <>
        Looking back through the blocks
        {recent.lowest !== null && recent.lowest <= (recent.top ?? 0)
          ? ` (down to height ${recent.lowest} so far)`
          : ''}
        …
      </>
    );
  } else if (rows.length >= RECENT_TXS) {
    scope = (
      <>
        The {RECENT_TXS} newest transactions, from{' '}
        {oldest && recent.blocks[0].height !== oldest.height
          ? `blocks ${oldest.height} to ${recent.blocks[0].height}`
          : `block ${recent.blocks[0].height}`}
        .
        {oldest && shownOfOldest < oldest.txs.length && (
          <>
            {' '}
            Block <a href={`#/blocks/${oldest.height}`}>{oldest.height}</a> holds{' '}
            {plural(oldest.txs.length, 'transaction')}; {shownOfOldest} of them are listed.
          </>
        )}
      </>
    );
  } else if (recent.complete) {
    scope = <>Every transaction on this chain: all {plural(looked, 'block')} looked through.</>;
  } else if (recent.lowest !== null) {
    scope = (
      <>
        {plural(rows.length, 'transaction')} in the last {plural(looked, 'block')} (heights{' '}
        {recent.lowest} to {recent.top}).
      </>
    );
  }
  return (
    <div className="page" data-testid="txs-page">
      <h1>Transactions</h1>
      <Card>
        <SearchBox autoFocus />
      </Card>
      <Card title="Recent transactions" testId="recent">
        {recent.error && (
          <ErrorBox error={new Error(recent.error)} retry={() => source.further()} />
        )}
        {rows.length === 0 ? (
          recent.scanning || recent.lowest === null ? (
            !recent.error && (
              <div className="state loading" role="status" data-testid="recent-scanning">
                <span className="spinner" aria-hidden="true" />
                {scope ?? 'Loading recent transactions…'}
              </div>
            )
          ) : (
            <Empty
              title={
                recent.complete
                  ? 'No transactions on this chain yet'
                  : `No transactions in the last ${plural(looked, 'block')}`
              }
            >
              <span data-testid="recent-empty">
                {recent.complete
                  ? 'Every block back to genesis is empty. '
                  : `Heights ${recent.lowest} to ${recent.top} hold none. `}
                Send one from <a href="#/contracts">Contracts</a> or with <code>archi tx send</code>
                .
              </span>
              {further && <div className="row spaced">{further}</div>}
            </Empty>
          )
        ) : (
          <>
            <Table
              columns={['Tx id', ['Block', 'num'], 'Call', 'Org']}
              className="clickable"
              testId="recent-txs"
            >
              {rows.map((t) => (
                <tr key={t.txId} data-tx={t.txId} onClick={() => go(`/txs/${t.txId}`)}>
                  <td>
                    <Hash value={t.txId} href={`#/txs/${t.txId}`} label="tx id" />
                  </td>
                  <td className="num">
                    <a href={`#/blocks/${t.height}`} onClick={(e) => e.stopPropagation()}>
                      {t.height}
                    </a>
                  </td>
                  <td>
                    <code>
                      {t.contract}.{t.method}
                    </code>
                  </td>
                  <td>{t.org}</td>
                </tr>
              ))}
            </Table>
            <div className="row spaced muted small" data-testid="recent-scope">
              <span>{scope}</span>
              {further}
            </div>
          </>
        )}
      </Card>
    </div>
  );
}

function prettyArgs(args: string): unknown {
  try {
    return JSON.parse(args);
  } catch {
    return args;
  }
}

export function TxDetail({ txId }: { txId: string }) {
  const { rpc } = useCtx();
  const tx = useAsync(() => rpc.tx(txId), [rpc, txId]);
  return (
    <div className="page" data-testid="tx-detail">
      <h1>Transaction</h1>
      <Card>
        <SearchBox />
      </Card>
      {tx.error?.message.includes('pending') ? (
        <Empty title="This transaction is pending">
          It is in the mempool and not committed yet.{' '}
          <button type="button" className="small" onClick={tx.reload}>
            Check again
          </button>
        </Empty>
      ) : (
        <Show a={tx} what="the transaction">
          {(t) => (
            <>
              <Card
                title="Overview"
                actions={
                  <Badge kind={t.receipt.status === 'ok' ? 'ok' : 'error'}>
                    {t.receipt.status === 'ok' ? 'success' : t.receipt.code || 'error'}
                  </Badge>
                }
              >
                <Fields
                  rows={[
                    ['Tx id', <Hash key="id" value={t.txId} full label="tx id" />],
                    [
                      'Block',
                      <a
                        key="b"
                        href={`#/blocks/${t.height}`}
                      >{`${t.height} (index ${t.index})`}</a>,
                    ],
                    [
                      'Call',
                      <code key="c">
                        <a href={`#/contracts/${t.contract}`}>{t.contract}</a>.{t.method}
                      </code>,
                    ],
                    ['Sender org', t.sender.org],
                    ['Signed at', <Time key="t" ms={t.timestamp} />],
                    ['Chain', t.chainId],
                  ]}
                />
              </Card>
              <div className="grid two">
                <Card title="Arguments">
                  <Json value={prettyArgs(t.args)} />
                </Card>
                <Card title="Receipt" testId="receipt">
                  <Fields
                    rows={[
                      [
                        'Status',
                        <Badge key="s" kind={t.receipt.status === 'ok' ? 'ok' : 'error'}>
                          {t.receipt.status}
                        </Badge>,
                      ],
                      t.receipt.code ? ['Code', <code key="c">{t.receipt.code}</code>] : null,
                      t.receipt.message ? ['Message', t.receipt.message] : null,
                      [
                        'Gas used',
                        <span key="g" data-testid="gas-used">
                          {t.receipt.gasUsed.toLocaleString()}
                        </span>,
                      ],
                      ['Result', <Json key="r" value={t.receipt.result} />],
                    ]}
                  />
                </Card>
              </div>
              <Card title={`Events (${t.receipt.events.length})`}>
                {t.receipt.events.length === 0 ? (
                  <Empty title="No events" />
                ) : (
                  <Table columns={['Contract', 'Name', 'Data']} testId="events">
                    {t.receipt.events.map((e, i) => (
                      // biome-ignore lint/suspicious/noArrayIndexKey: events are ordered and never reorder
                      <tr key={i}>
                        <td>{e.contract}</td>
                        <td>
                          <code>{e.name}</code>
                        </td>
                        <td>
                          <code className="wrap">{JSON.stringify(e.data)}</code>
                        </td>
                      </tr>
                    ))}
                  </Table>
                )}
              </Card>
            </>
          )}
        </Show>
      )}
      {tx.error && tx.data && <ErrorBox error={tx.error} retry={tx.reload} />}
    </div>
  );
}
