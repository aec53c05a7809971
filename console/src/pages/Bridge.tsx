/**
 * Bridge (issue 14, docs/BRIDGE.md): the chosen chain's bridges to EVM chains, both sides.
 * Archipelago's side comes from the node: the attested client (EVM chain, bridge, N
 * confirmations, status), the escrow held for it and the packets in flight. The EVM side comes
 * from an EVM JSON-RPC node the browser reaches itself (its URL is asked for and remembered):
 * the light client's height and status, the ERC-20 of the chain's own denomination with its
 * supply, and the transfers the bridge logged (mints to the EVM, burns sent back). Balances of
 * an address on each side are looked up on demand. The page reads again every REFRESH_MS.
 */
import { useEffect, useState } from 'react';
import {
  type AttestedClient,
  addressOf,
  EvmRpc,
  type EvmTransfer,
  encodeAddress,
  encodeString,
  LC_STATUS,
  readAttestedClients,
  readTransferLog,
  SELECTOR,
  stringAt,
  TOPIC,
  uintOf,
  word,
} from '../bridge.ts';
import { useCtx } from '../context.tsx';
import { Stat } from '../stat.tsx';
import { Table } from '../table.tsx';
import { Badge, Card, Empty, ErrorBox, Hash, Show, useAsync } from '../ui.tsx';

const REFRESH_MS = 3000;
const URL_KEY = 'archi.bridge.evmUrl';
const DEFAULT_EVM = 'http://127.0.0.1:8545';
/** Transfers listed per bridge (newest first). */
const TRANSFERS_SHOWN = 50;

/** Re-renders every `ms` (a counter to put in effect deps). */
function useTick(ms: number): number {
  const [n, setN] = useState(0);
  useEffect(() => {
    const t = setInterval(() => setN((x) => x + 1), ms);
    return () => clearInterval(t);
  }, [ms]);
  return n;
}

interface EvmSide {
  bridgeClientId: string;
  evmDenom: string;
  token: string | null;
  supply: string;
  lightClient: string;
  latestHeight: number;
  lcStatus: string;
  transfers: EvmTransfer[];
}

async function readEvmSide(evm: EvmRpc, c: AttestedClient, denom: string): Promise<EvmSide> {
  const bridgeClientId = stringAt(await evm.ethCall(c.bridge, SELECTOR.clientId), 0);
  const evmDenom = `transfer/${bridgeClientId}/${denom}`;
  const tokenWord = word(
    await evm.ethCall(c.bridge, `${SELECTOR.tokenOf}${encodeString(evmDenom)}`),
    0,
  );
  const token = /^0+$/.test(tokenWord) ? null : addressOf(tokenWord);
  const supply = token
    ? uintOf(word(await evm.ethCall(token, SELECTOR.totalSupply), 0)).toString()
    : '0';
  const lightClient = addressOf(word(await evm.ethCall(c.bridge, SELECTOR.lightClient), 0));
  const latestHeight = Number(
    uintOf(word(await evm.ethCall(lightClient, SELECTOR.latestHeight), 0)),
  );
  const lcStatus =
    LC_STATUS[Number(uintOf(word(await evm.ethCall(lightClient, SELECTOR.status), 0)))] ??
    'unknown';
  const logs = await evm.logs(c.bridge, [TOPIC.Minted, TOPIC.SendTransfer]);
  const transfers = logs
    .map(readTransferLog)
    .filter((t): t is EvmTransfer => t !== null)
    .reverse()
    .slice(0, TRANSFERS_SHOWN);
  return {
    bridgeClientId,
    evmDenom,
    token,
    supply,
    lightClient,
    latestHeight,
    lcStatus,
    transfers,
  };
}

function BridgeCard({ c, evmUrl, tick }: { c: AttestedClient; evmUrl: string; tick: number }) {
  const { rpc, chain } = useCtx();
  const denom = chain.id;
  const archi = useAsync(async () => {
    const escrow = String(
      (await rpc.query('token', 'escrowOf', { client: c.clientId, denom })).result,
    );
    const page = (await rpc.query('ibc', 'packets', { client: c.clientId, from: 1, limit: 1000 }))
      .result as { packets?: unknown[] };
    return { escrow, pending: page.packets?.length ?? 0 };
  }, [rpc, c.clientId, denom, tick]);
  const evm = useAsync(() => readEvmSide(new EvmRpc(evmUrl), c, denom), [evmUrl, c, denom, tick]);
  return (
    <Card
      title={
        <>
          EVM chain {c.evmChainId}{' '}
          <Badge kind={c.status === 'active' ? 'ok' : 'error'}>{c.status}</Badge>
        </>
      }
      testId={`bridge-${c.clientId}`}
    >
      <p className="muted small">
        client <code>{c.clientId}</code> · bridge <Hash value={c.bridge} full /> · attested past{' '}
        {c.confirmations} confirmations
      </p>
      <div className="stats">
        <Stat
          label="In escrow here"
          value={archi.data?.escrow}
          sub={denom}
          testId="bridge-escrow"
        />
        <Stat
          label="ERC-20 supply there"
          value={evm.data?.supply}
          sub={evm.data?.token ? <Hash value={evm.data.token} /> : 'not created yet'}
          testId="bridge-supply"
        />
        <Stat
          label="Light client"
          value={evm.data ? `height ${evm.data.latestHeight}` : undefined}
          sub={evm.data?.lcStatus ?? ''}
          testId="bridge-lc"
        />
        <Stat label="In flight to the EVM" value={archi.data?.pending} sub="packets pending here" />
      </div>
      {archi.error && <ErrorBox error={archi.error} retry={archi.reload} />}
      {evm.error && !evm.data && (
        <ErrorBox
          error={new Error(`EVM node ${evmUrl}: ${evm.error.message}`)}
          retry={evm.reload}
        />
      )}
      {evm.data &&
        (evm.data.transfers.length === 0 ? (
          <Empty title="No transfers yet">
            <code>archi bridge to-evm --recipient 0x.. --amount N --wait</code>
          </Empty>
        ) : (
          <Table
            columns={['Block', 'Seq', 'Direction', 'Amount', 'Denomination', 'EVM address', 'To']}
            testId="bridge-transfers"
          >
            {evm.data.transfers.map((t) => (
              <tr key={`${t.direction}-${t.sequence}`} data-direction={t.direction}>
                <td>{t.block}</td>
                <td>{t.sequence}</td>
                <td data-col="direction">
                  {t.direction === 'to-evm' ? 'minted on the EVM' : 'sent back'}
                </td>
                <td data-col="amount">{t.amount}</td>
                <td className="small">{t.denom}</td>
                <td>
                  <Hash value={t.evmAddress} />
                </td>
                <td className="mono small">{t.receiver ?? ''}</td>
              </tr>
            ))}
          </Table>
        ))}
      <Balances
        c={c}
        evmUrl={evmUrl}
        evmDenom={evm.data?.evmDenom}
        token={evm.data?.token ?? null}
      />
    </Card>
  );
}

/** Balance look-ups on both sides. */
function Balances({
  c,
  evmUrl,
  evmDenom,
  token,
}: {
  c: AttestedClient;
  evmUrl: string;
  evmDenom?: string;
  token: string | null;
}) {
  const { rpc, chain } = useCtx();
  const [owner, setOwner] = useState('');
  const [out, setOut] = useState<string | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const look = async (): Promise<void> => {
    setError(null);
    setOut(null);
    try {
      const o = owner.trim();
      if (/^0x[0-9a-fA-F]{40}$/.test(o)) {
        const v = token
          ? uintOf(
              word(
                await new EvmRpc(evmUrl).ethCall(token, `${SELECTOR.balanceOf}${encodeAddress(o)}`),
                0,
              ),
            ).toString()
          : '0';
        setOut(`${v} ${evmDenom ?? ''} on EVM chain ${c.evmChainId}`);
      } else {
        const v = (await rpc.query('token', 'balanceOf', { owner: o, denom: chain.id })).result;
        setOut(`${String(v)} ${chain.id} on ${chain.id}`);
      }
    } catch (e) {
      setError(e as Error);
    }
  };
  return (
    <form
      className="row"
      onSubmit={(e) => {
        e.preventDefault();
        void look();
      }}
    >
      <input
        aria-label="address"
        placeholder="an address here, or 0x... on the EVM"
        value={owner}
        onChange={(e) => setOwner(e.target.value)}
      />
      <button type="submit" className="secondary small">
        Balance
      </button>
      {out && <span data-testid="bridge-balance">{out}</span>}
      {error && <span className="error small">{error.message}</span>}
    </form>
  );
}

export function BridgePage() {
  const { rpc } = useCtx();
  const tick = useTick(REFRESH_MS);
  const [evmUrl, setEvmUrl] = useState(() => localStorage.getItem(URL_KEY) ?? DEFAULT_EVM);
  const [draft, setDraft] = useState(evmUrl);
  const clients = useAsync(
    async () => readAttestedClients((await rpc.query('ibc', 'clients', {})).result),
    [rpc, tick],
  );
  return (
    <div className="page">
      <h1>Bridge to EVM chains</h1>
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          localStorage.setItem(URL_KEY, draft.trim());
          setEvmUrl(draft.trim());
        }}
      >
        <label htmlFor="evm-url">EVM node (JSON-RPC, read from this browser)</label>
        <input id="evm-url" value={draft} onChange={(e) => setDraft(e.target.value)} />
        <button type="submit" className="secondary small">
          Use
        </button>
      </form>
      <Show a={clients} what="the attested clients">
        {(list) =>
          list.length === 0 ? (
            <Empty title="No bridge to an EVM chain yet" testId="bridge-empty">
              <code>archi evm deploy --dir DIR --evm URL</code>
            </Empty>
          ) : (
            list.map((c) => <BridgeCard key={c.clientId} c={c} evmUrl={evmUrl} tick={tick} />)
          )
        }
      </Show>
    </div>
  );
}
