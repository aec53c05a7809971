/** Blocks: the live list (WebSocket) and one block with roots, txs and commit signatures. */
import type { CommitJson } from '../api.ts';
import { useCtx, useFeed } from '../context.tsx';
import { go } from '../router.ts';
import { Table } from '../table.tsx';
import {
  ago,
  Badge,
  Card,
  Empty,
  ErrorBox,
  Fields,
  Hash,
  Loading,
  Show,
  Time,
  useAsync,
  useNow,
} from '../ui.tsx';

function Proposer({ address }: { address: string }) {
  const { validatorNames } = useCtx();
  const name = validatorNames.get(address);
  return (
    <span className="proposer">
      {name && <strong>{name} </strong>}
      <Hash value={address} keep={6} label="validator address" />
    </span>
  );
}

export function BlocksPage() {
  const feed = useFeed();
  const now = useNow(1000);
  return (
    <div className="page" data-testid="blocks-page">
      <h1>
        Blocks
        <span className={`pill ${feed.state}`}>
          {feed.state === 'live' ? 'live over WebSocket' : feed.state}
        </span>
      </h1>
      {feed.error && <ErrorBox error={new Error(feed.error)} />}
      <Card>
        {!feed.loaded && feed.blocks.length === 0 ? (
          <Loading what="blocks" />
        ) : feed.blocks.length === 0 ? (
          <Empty title="No blocks yet">New blocks appear here as the chain commits them.</Empty>
        ) : (
          <Table
            columns={[
              ['Height', 'num'],
              'Hash',
              'Time',
              ['Txs', 'num'],
              ['Proposer', 'hide-narrow'],
            ]}
            className="clickable"
            testId="blocks-table"
          >
            {feed.blocks.map((b) => (
              <tr
                key={b.height}
                data-height={b.height}
                className={b.live && now - b.seenAt < 3000 ? 'fresh' : undefined}
                onClick={() => go(`/blocks/${b.height}`)}
              >
                <td className="num">
                  <a href={`#/blocks/${b.height}`}>{b.height}</a>
                </td>
                <td>
                  <Hash value={b.hash} keep={6} label="block hash" />
                </td>
                <td title={new Date(b.time).toISOString()}>{ago(b.time, now)}</td>
                <td className="num">{b.txCount}</td>
                <td className="hide-narrow">
                  {b.height === 0 ? (
                    <span className="muted">genesis</span>
                  ) : (
                    <Proposer address={b.proposer} />
                  )}
                </td>
              </tr>
            ))}
          </Table>
        )}
      </Card>
    </div>
  );
}

function Signatures({ commit, title }: { commit: CommitJson | null; title: string }) {
  const { validatorNames } = useCtx();
  return (
    <Card title={title}>
      {!commit ? (
        <Empty title="No commit">
          {title.startsWith('Last')
            ? 'Genesis and the first block carry no commit of a previous block.'
            : 'This node has no commit for this block yet.'}
        </Empty>
      ) : (
        <>
          <Fields
            rows={[
              ['Height / round', `${commit.height} / ${commit.round}`],
              [
                'Block hash',
                <Hash
                  key="h"
                  value={commit.blockHash}
                  href={`#/blocks/${commit.height}`}
                  label="block hash"
                />,
              ],
              ['Signatures', commit.signatures.length],
            ]}
          />
          <Table columns={['Validator', 'Signed at', 'Signature']}>
            {commit.signatures.map((s) => (
              <tr key={s.validator + s.signature}>
                <td>
                  {validatorNames.get(s.validator) && (
                    <strong>{validatorNames.get(s.validator)} </strong>
                  )}
                  <Hash value={s.validator} keep={6} label="validator address" />
                </td>
                <td>{new Date(s.timestamp).toLocaleTimeString()}</td>
                <td>
                  <Hash value={s.signature} keep={8} label="signature" />
                </td>
              </tr>
            ))}
          </Table>
        </>
      )}
    </Card>
  );
}

export function BlockDetail({ height }: { height: string }) {
  const { rpc } = useCtx();
  const feed = useFeed();
  const valid = /^\d+$/.test(height) || height === 'latest';
  const block = useAsync(
    () =>
      valid
        ? rpc.block(height === 'latest' ? 'latest' : Number(height))
        : Promise.reject(new Error(`"${height}" is not a block height`)),
    [rpc, height],
  );
  const top = feed.blocks[0]?.height ?? -1;
  return (
    <div className="page" data-testid="block-detail">
      <Show a={block} what={`block ${height}`}>
        {(b) => (
          <>
            <h1>
              Block {b.height}
              <span className="nav-buttons">
                <a
                  className={`button small${b.height === 0 ? ' disabled' : ''}`}
                  href={b.height > 0 ? `#/blocks/${b.height - 1}` : undefined}
                  aria-disabled={b.height === 0}
                >
                  ← {b.height > 0 ? b.height - 1 : ''}
                </a>
                <a
                  className={`button small${b.height >= top ? ' disabled' : ''}`}
                  href={b.height < top ? `#/blocks/${b.height + 1}` : undefined}
                  aria-disabled={b.height >= top}
                >
                  {b.height < top ? b.height + 1 : ''} →
                </a>
              </span>
            </h1>
            <Card title="Header">
              <Fields
                rows={[
                  ['Hash', <Hash key="h" value={b.hash} full label="block hash" />],
                  ['Chain', b.header.chainId],
                  ['Time', <Time key="t" ms={b.header.time} />],
                  [
                    'Proposer',
                    b.height === 0 ? (
                      <span key="p" className="muted">
                        genesis
                      </span>
                    ) : (
                      <Proposer key="p" address={b.header.proposer} />
                    ),
                  ],
                  ['Transactions', b.header.txCount],
                  [
                    'Previous block',
                    <Hash
                      key="p"
                      value={b.header.prevHash}
                      href={b.height > 0 ? `#/blocks/${b.height - 1}` : undefined}
                      label="previous hash"
                    />,
                  ],
                  [
                    'State root',
                    <Hash key="s" value={b.header.stateRoot} full label="state root" />,
                  ],
                  ['Tx root', <Hash key="x" value={b.header.txRoot} label="tx root" />],
                  [
                    'Results root',
                    <Hash key="r" value={b.header.resultsRoot} label="results root" />,
                  ],
                  [
                    'Validators hash',
                    <Hash key="v" value={b.header.validatorsHash} label="validators hash" />,
                  ],
                  [
                    'Next validators hash',
                    <Hash
                      key="n"
                      value={b.header.nextValidatorsHash}
                      label="next validators hash"
                    />,
                  ],
                  [
                    'Last commit hash',
                    <Hash key="l" value={b.header.lastCommitHash} label="last commit hash" />,
                  ],
                  [
                    'Evidence hash',
                    <Hash key="e" value={b.header.evidenceHash} label="evidence hash" />,
                  ],
                ]}
              />
            </Card>
            <Card title={`Transactions (${b.txs.length})`}>
              {b.txs.length === 0 ? (
                <Empty title="No transactions in this block" />
              ) : (
                <Table
                  columns={['#', 'Tx id', 'Call', 'Sender org']}
                  className="clickable"
                  testId="block-txs"
                >
                  {b.txs.map((t, i) => (
                    <tr key={t.txId} onClick={() => go(`/txs/${t.txId}`)}>
                      <td>{i}</td>
                      <td>
                        <Hash value={t.txId} href={`#/txs/${t.txId}`} label="tx id" />
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
              )}
            </Card>
            <div className="grid two">
              <Signatures commit={b.commit} title="Commit (signatures for this block)" />
              <Signatures
                commit={b.lastCommit}
                title="Last commit (carried for the previous block)"
              />
            </div>
            <p className="muted small">
              <Badge kind="info">note</Badge> The commit is what the validators signed for this
              block; the last commit travels inside the block and signs its parent.
            </p>
          </>
        )}
      </Show>
      {block.error && block.data && <ErrorBox error={block.error} retry={block.reload} />}
    </div>
  );
}
