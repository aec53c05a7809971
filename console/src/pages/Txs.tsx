/** Transactions: search by tx id or height, recent txs, and one tx with receipt and events. */
import { useState } from 'react';
import type { BlockJson } from '../api.ts';
import { useCtx, useFeed } from '../context.tsx';
import { go } from '../router.ts';
import {
  Badge,
  Card,
  Empty,
  ErrorBox,
  Fields,
  Hash,
  Json,
  Loading,
  Show,
  Time,
  useAsync,
} from '../ui.tsx';

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

export function TxsPage() {
  const { rpc } = useCtx();
  const feed = useFeed();
  // The newest blocks that hold txs; their tx lists come from GET /v1/blocks/:height.
  const withTxs = feed.blocks.filter((b) => b.txCount > 0).slice(0, 10);
  const key = withTxs.map((b) => b.height).join(',');
  const recent = useAsync(() => Promise.all(withTxs.map((b) => rpc.block(b.height))), [rpc, key]);
  return (
    <div className="page" data-testid="txs-page">
      <h1>Transactions</h1>
      <Card>
        <SearchBox autoFocus />
      </Card>
      <Card title="Recent transactions">
        {!feed.loaded ? (
          <Loading what="blocks" />
        ) : withTxs.length === 0 ? (
          <Empty title="No transactions in the recent blocks">
            Send one from <a href="#/contracts">Contracts</a> or with <code>archi tx send</code>.
          </Empty>
        ) : (
          <Show a={recent} what="transactions">
            {(blocks: BlockJson[]) => (
              <div className="table-wrap">
                <table className="clickable" data-testid="recent-txs">
                  <thead>
                    <tr>
                      <th>Tx id</th>
                      <th className="num">Block</th>
                      <th>Call</th>
                      <th>Org</th>
                    </tr>
                  </thead>
                  <tbody>
                    {blocks.flatMap((b) =>
                      b.txs.map((t) => (
                        <tr key={t.txId} onClick={() => go(`/txs/${t.txId}`)}>
                          <td>
                            <Hash value={t.txId} href={`#/txs/${t.txId}`} label="tx id" />
                          </td>
                          <td className="num">
                            <a href={`#/blocks/${b.height}`} onClick={(e) => e.stopPropagation()}>
                              {b.height}
                            </a>
                          </td>
                          <td>
                            <code>
                              {t.contract}.{t.method}
                            </code>
                          </td>
                          <td>{t.org}</td>
                        </tr>
                      )),
                    )}
                  </tbody>
                </table>
              </div>
            )}
          </Show>
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
                  <div className="table-wrap">
                    <table data-testid="events">
                      <thead>
                        <tr>
                          <th>Contract</th>
                          <th>Name</th>
                          <th>Data</th>
                        </tr>
                      </thead>
                      <tbody>
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
                      </tbody>
                    </table>
                  </div>
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
