/**
 * One wallet of the cbdc app (`#/cbdc/wallet/W`): its balance, class, limits and how much of
 * them it used today, whether its KYC link is sealed on chain (the link itself opens only
 * with the regulator's or the operator's key, which the console does not hold), the looks at
 * it on the audit trail, and its recent money movements.
 */
import { useState } from 'react';
import {
  CBDC,
  dayText,
  limitsUsed,
  type Resolution,
  type WalletView,
  walletActivity,
  yuan,
} from '../cbdc.ts';
import { useCtx } from '../context.tsx';
import { go } from '../router.ts';
import { Table } from '../table.tsx';
import { Badge, Card, Empty, ErrorBox, Fields, Show, Time, useAsync } from '../ui.tsx';
import { WalletLink } from './CbdcOperator.tsx';
import { useCbdcHistory } from './CbdcScan.tsx';

const WALLET_ID = /^[0-9a-f]{40}$/;

/** Every entry of the resolution trail (100 a page), at most 20 pages. */
async function allResolutions(
  query: (page: number) => Promise<{ total: number; entries: Resolution[] }>,
): Promise<Resolution[]> {
  const first = await query(0);
  const out = [...first.entries];
  for (let p = 1; p * 100 < first.total && p < 20; p++) out.push(...(await query(p)).entries);
  return out;
}

function Activity({ wallet }: { wallet: string }) {
  const h = useCbdcHistory();
  return (
    <Card title="Recent movements">
      <Show a={h} what="its movements">
        {(d) => {
          const list = walletActivity(d.txs, wallet).slice(0, 50);
          if (list.length === 0) return <Empty title="No movements yet" />;
          return (
            <Table
              columns={['Kind', 'Amount', 'With', 'Memo', 'Time', 'Block']}
              testId="wallet-activity"
            >
              {list.map((a) => (
                <tr key={`${a.txId}-${a.kind}`} data-kind={a.kind}>
                  <td>{a.kind}</td>
                  <td data-col="amount" className={a.amount < 0 ? 'neg' : 'pos'}>
                    {a.amount > 0 ? '+' : ''}
                    {yuan(a.amount)}
                  </td>
                  <td>
                    <WalletLink id={a.counterparty} />
                  </td>
                  <td className="small">{a.memo ?? ''}</td>
                  <td className="small">
                    <Time ms={a.time} />
                  </td>
                  <td>
                    <a href={`#/txs/${a.txId}`}>{a.height}</a>
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

function WalletDetail({ wallet }: { wallet: string }) {
  const { rpc } = useCtx();
  const data = useAsync(async () => {
    const [view, link, trail] = await Promise.all([
      rpc.query(CBDC, 'wallet', { wallet }).then((a) => a.result as WalletView | null),
      rpc.query(CBDC, 'link', { wallet }).then((a) => a.result as Record<string, string> | null),
      allResolutions((page) =>
        rpc
          .query(CBDC, 'resolutions', { page })
          .then((a) => a.result as { total: number; entries: Resolution[] }),
      ),
    ]);
    return { view, link, trail };
  }, [rpc, wallet]);
  return (
    <Show a={data} what="the wallet">
      {({ view, link, trail }) => {
        if (!view) {
          return (
            <Empty title="No such wallet" testId="wallet-unknown">
              No wallet {wallet} was opened on this chain.
            </Empty>
          );
        }
        const looks = trail.filter((r) => r.wallet === wallet || r.resolvedVia === wallet);
        return (
          <div data-testid="cbdc-wallet" data-wallet={wallet}>
            <div className="grid two">
              <Card title={<span className="mono">{wallet}</span>}>
                <Fields
                  rows={[
                    [
                      'Balance',
                      <strong key="b" data-testid="wallet-balance">
                        {yuan(view.balance)}
                      </strong>,
                    ],
                    [
                      'Class',
                      <span key="c" data-testid="wallet-class">
                        {view.class}
                      </span>,
                    ],
                    [
                      'Operator',
                      <a key="o" href={`#/cbdc/operator/${encodeURIComponent(view.operator)}`}>
                        {view.operator}
                      </a>,
                    ],
                    view.merchant ? ['Merchant', view.merchant] : null,
                    view.parent ? ['Parent wallet', <WalletLink key="p" id={view.parent} />] : null,
                    [
                      'Status',
                      view.frozen ? (
                        <Badge key="s" kind="error">
                          frozen
                        </Badge>
                      ) : (
                        <Badge key="s" kind="ok">
                          active
                        </Badge>
                      ),
                    ],
                    ['Opened', <Time key="t" ms={view.openedAt} />],
                    [
                      'KYC link',
                      <span key="l" data-testid="wallet-link">
                        {link
                          ? `sealed on chain to the regulator and to ${view.operator} (only their keys open it)`
                          : view.parent
                            ? 'resolved through its parent wallet'
                            : 'none'}
                      </span>,
                    ],
                  ]}
                />
              </Card>
              <Card title={`Limits used today (${dayText(view.day)})`}>
                <div data-testid="wallet-limits">
                  {limitsUsed(view).map((u) => (
                    <div key={u.name} className="limit-use" data-limit={u.name}>
                      <div className="limit-head">
                        <span>
                          {u.name === 'balance'
                            ? 'Held / balance limit'
                            : 'Paid today / daily limit'}
                        </span>
                        <span data-col="used">
                          {yuan(u.used)} / {u.limit === null ? 'no limit' : yuan(u.limit)}
                        </span>
                      </div>
                      <div className="limit-bar" aria-hidden="true">
                        <span
                          style={{ width: `${Math.round(u.share * 100)}%` }}
                          className={u.share >= 0.9 ? 'high' : undefined}
                        />
                      </div>
                      <div className="muted small">
                        {u.left === null ? 'no limit' : `${yuan(u.left)} left`}
                      </div>
                    </div>
                  ))}
                  <p className="muted small">
                    Per payment:{' '}
                    {view.limits.perPayment === null ? 'no limit' : yuan(view.limits.perPayment)}
                  </p>
                </div>
              </Card>
            </div>
            <Card title={`Looks at its KYC link (${looks.length})`}>
              {looks.length === 0 ? (
                <Empty title="Nobody resolved this wallet" />
              ) : (
                <ResolutionTable entries={looks} testId="wallet-resolutions" />
              )}
            </Card>
            <Activity wallet={wallet} />
          </div>
        );
      }}
    </Show>
  );
}

/** The audit trail: who looked at whom, as what, why and when. */
export function ResolutionTable({ entries, testId }: { entries: Resolution[]; testId?: string }) {
  return (
    <Table columns={['#', 'Wallet', 'Looked by', 'As', 'Reason', 'Time', 'Block']} testId={testId}>
      {entries.map((r) => (
        <tr key={r.n} data-n={r.n}>
          <td>{r.n}</td>
          <td>
            <WalletLink id={r.wallet} />
            {r.resolvedVia !== r.wallet && (
              <span className="muted small">
                {' '}
                via <WalletLink id={r.resolvedVia} />
              </span>
            )}
          </td>
          <td data-col="by">
            {r.org} <span className="muted small">{r.by}</span>
          </td>
          <td>{r.as}</td>
          <td data-col="reason">{r.reason ?? <span className="muted">—</span>}</td>
          <td className="small">
            <Time ms={r.time} />
          </td>
          <td>
            <a href={`#/txs/${r.txId}`}>{r.height}</a>
          </td>
        </tr>
      ))}
    </Table>
  );
}

/** The wallet tab: a box for the id, then the wallet. */
export function CbdcWallet({ wallet }: { wallet?: string }) {
  const [text, setText] = useState(wallet ?? '');
  const [error, setError] = useState<Error | null>(null);
  return (
    <>
      <Card title="Wallet">
        <form
          className="form inline"
          onSubmit={(e) => {
            e.preventDefault();
            const id = text.trim().toLowerCase();
            if (!WALLET_ID.test(id)) {
              setError(new Error('a wallet id is 40 hex characters (the account id of its key)'));
              return;
            }
            setError(null);
            go(`#/cbdc/wallet/${id}`);
          }}
        >
          <input
            value={text}
            onChange={(e) => setText(e.target.value)}
            placeholder="wallet id (40 hex)"
            data-testid="wallet-input"
          />
          <button type="submit" data-testid="wallet-open">
            Show
          </button>
        </form>
        {error && <ErrorBox error={error} />}
      </Card>
      {wallet && WALLET_ID.test(wallet) && <WalletDetail wallet={wallet} />}
    </>
  );
}
