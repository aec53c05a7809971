/**
 * Interchain (issue 13): the chosen chain's light clients of other chains with their latest
 * verified heights and trust left, the packet flow over each (sent, pending, acked, timed
 * out, received), recent token transfers, and the denominations it holds: voucher traces with
 * their short `ibc/<HEX>` form and supply, and what sits in escrow per client. Everything is
 * read from the node (the `ibc` and `token` contracts' queries, and the receipts of recent
 * txs); interchain.ts says which figure comes from where. The page reads again as blocks
 * arrive (at most every REFRESH_MS, and never while a read is still running).
 */
import { Component, type ReactNode, useEffect, useRef, useState } from 'react';
import { ApiError, type Rpc } from '../api.ts';
import { useCtx, useFeed } from '../context.tsx';
import {
  across,
  amountText,
  cachedSource,
  consensusTime,
  type DenomTrace,
  durationText,
  escrowPairs,
  type IbcClient,
  type IbcPacket,
  isShort,
  mapLimit,
  packetFlow,
  packetKey,
  readAmount,
  readClients,
  readDenoms,
  readPacketPage,
  readSettled,
  type Scan,
  type ScanSource,
  type Settled,
  scanInterchain,
  sendTimes,
  sentTransferPackets,
  settledToAsk,
  shortDenom,
  type Transfer,
  timeoutReached,
  timeoutText,
  traceRoute,
  transfersOf,
  trustOf,
} from '../interchain.ts';
import { plural } from '../lib.ts';
import { Stat } from '../stat.tsx';
import { Table } from '../table.tsx';
import {
  type Async,
  ago,
  Badge,
  Card,
  Empty,
  ErrorBox,
  Hash,
  Loading,
  Show,
  Time,
  useAsync,
} from '../ui.tsx';

/** Least time between two reads of the page's data (ms). */
const REFRESH_MS = 3000;
/** Blocks with txs the first look back goes through ("Look further back" doubles it). */
const LOOK_BACK_BLOCKS = 200;
/** Settled packets per client whose outcome is read (one `settled` query each). */
const SETTLED_LOOK = 100;
/** Pending packets read per client at most (pages of 1000). */
const PENDING_MAX = 5000;
/** Escrow queries at most (clients x denominations). */
const ESCROW_MAX = 200;
const CONCURRENCY = 6;

const CONNECT = 'archi ibc connect --a DIR --b DIR';
const RELAY = 'archi relay start --a DIR --b DIR';

// ---------------------------------------------------------------- loading

interface ClientRow {
  client: IbcClient;
  /** Time of the latest verified header (its consensus state), null if unknown. */
  headerTime: number | null;
  /** nextSequence - 1 is what was sent; null when the query failed. */
  nextSequence: number | null;
  pending: IbcPacket[];
  /** More pending packets than PENDING_MAX were there. */
  pendingMore: boolean;
  /** Outcomes of the newest settled packets, by sequence. */
  settled: Map<number, Settled | null>;
  /** Why a part of this client's figures is missing. */
  problem: string | null;
}

type Clients = { missing: true } | { missing: false; rows: ClientRow[]; skipped: number };

/**
 * What the page keeps per chain endpoint across reads: the look back's source (blocks and
 * receipts fetched once) and the outcomes of settled packets, which never change either.
 */
interface Reader {
  src: ScanSource;
  settled: Map<string, Settled>;
}

function readerOf(rpc: Rpc): Reader {
  return {
    src: cachedSource({
      page: (before, limit) => rpc.blocks({ before, limit, nonEmpty: true }),
      block: (h) => rpc.block(h),
      tx: (id) => rpc.tx(id),
    }),
    settled: new Map(),
  };
}

/** How a sent packet ended, or null while it is pending (a settled one is asked once). */
async function settledOf(
  rpc: Rpc,
  reader: Reader,
  client: string,
  sequence: number,
): Promise<Settled | null> {
  const key = packetKey(client, sequence);
  const known = reader.settled.get(key);
  if (known) return known;
  const s = readSettled((await rpc.query('ibc', 'settled', { client, sequence })).result);
  if (s) {
    reader.settled.set(key, s);
    if (reader.settled.size > 20_000) reader.settled.delete(reader.settled.keys().next().value!);
  }
  return s;
}

const message = (e: unknown): string =>
  e instanceof ApiError ? `${e.code}: ${e.message}` : (e as Error)?.message || String(e);

async function pendingOf(rpc: Rpc, client: string): Promise<{ list: IbcPacket[]; more: boolean }> {
  const list: IbcPacket[] = [];
  let from = 1;
  for (;;) {
    const page = readPacketPage(
      (await rpc.query('ibc', 'packets', { client, from, limit: 1000 })).result,
    );
    list.push(...page.packets);
    if (page.next === null || page.next <= from) return { list, more: false };
    if (list.length >= PENDING_MAX) return { list, more: true };
    from = page.next;
  }
}

/** One client's figures from queries: its header time, sequences, pending and newest settled. */
async function clientRow(rpc: Rpc, reader: Reader, client: IbcClient): Promise<ClientRow> {
  const row: ClientRow = {
    client,
    headerTime: null,
    nextSequence: null,
    pending: [],
    pendingMore: false,
    settled: new Map(),
    problem: null,
  };
  const problems: string[] = [];
  const id = client.clientId;
  await Promise.all([
    rpc
      .query('ibc', 'consensusState', { clientId: id, height: client.latestHeight })
      .then((a) => {
        row.headerTime = consensusTime(a.result);
      })
      .catch((e) => problems.push(`latest header: ${message(e)}`)),
    rpc
      .query('ibc', 'nextSequence', { client: id })
      .then((a) => {
        const n = a.result;
        if (Number.isSafeInteger(n) && (n as number) >= 1) row.nextSequence = n as number;
      })
      .catch((e) => problems.push(`sequences: ${message(e)}`)),
    pendingOf(rpc, id)
      .then((p) => {
        row.pending = p.list;
        row.pendingMore = p.more;
      })
      .catch((e) => problems.push(`pending packets: ${message(e)}`)),
  ]);
  if (row.nextSequence !== null) {
    const ask = settledToAsk(
      row.nextSequence,
      row.pending.map((p) => p.sequence),
      SETTLED_LOOK,
    );
    await mapLimit(ask, CONCURRENCY, async (sequence) => {
      try {
        row.settled.set(sequence, await settledOf(rpc, reader, id, sequence));
      } catch (e) {
        problems.push(`packet ${sequence}: ${message(e)}`);
      }
    });
  }
  row.problem = problems.length ? problems.slice(0, 3).join('; ') : null;
  return row;
}

async function loadClients(rpc: Rpc, reader: Reader): Promise<Clients> {
  let answer: unknown;
  try {
    answer = (await rpc.query('ibc', 'clients', {})).result;
  } catch (e) {
    if (
      e instanceof ApiError &&
      (e.code === 'CONTRACT_NOT_FOUND' || e.code === 'METHOD_NOT_FOUND')
    ) {
      return { missing: true };
    }
    throw e;
  }
  const { clients, skipped } = readClients(answer);
  const rows = await mapLimit(clients, 3, (c) => clientRow(rpc, reader, c));
  return { missing: false, rows, skipped };
}

interface Activity {
  scan: Scan;
  /** Outcomes of the sent transfers' packets, by `client/sequence` (null: not settled yet). */
  settled: Map<string, Settled | null>;
  transfers: Transfer[];
}

/** The look back through recent blocks, and the outcome of each transfer it found. */
async function loadActivity(
  rpc: Rpc,
  reader: Reader,
  maxBlocks: number,
  ports: Set<string>,
): Promise<Activity> {
  const scan = await scanInterchain(reader.src, { maxBlocks, ports });
  const settled = new Map<string, Settled | null>();
  await mapLimit(sentTransferPackets(scan.txs), CONCURRENCY, async ({ client, sequence }) => {
    try {
      settled.set(packetKey(client, sequence), await settledOf(rpc, reader, client, sequence));
    } catch {
      // unknown outcome: the row says so rather than guessing
    }
  });
  // A sent packet is pending until it is settled: the send wrote both in one tx.
  const pending = new Set([...settled].filter(([, s]) => s === null).map(([k]) => k));
  return { scan, settled, transfers: transfersOf(scan.txs, pending, settled) };
}

interface Denoms {
  own: string | null;
  ownSupply: string | null;
  traces: Array<DenomTrace & { supply: string | null; shortOk: boolean }>;
  truncated: boolean;
  escrow: Array<{ client: IbcClient; denom: string; own: boolean; amount: string | null }>;
  problem: string | null;
}

async function loadDenoms(rpc: Rpc, crypto: string, clients: IbcClient[]): Promise<Denoms> {
  const d = readDenoms((await rpc.query('token', 'denoms', {})).result);
  const problems: string[] = [];
  const amount = async (method: string, args: unknown): Promise<string | null> => {
    try {
      return readAmount((await rpc.query('token', method, args)).result);
    } catch (e) {
      problems.push(message(e));
      return null;
    }
  };
  const ownSupply = await amount('totalSupply', {});
  const traces = await mapLimit(d.traces, CONCURRENCY, async (t) => {
    let shortOk = true;
    try {
      shortOk = !t.short || shortDenom(crypto, t.denom) === t.short;
    } catch {
      // a profile this console cannot hash with: nothing to compare
    }
    return { ...t, supply: await amount('totalSupply', { denom: t.denom }), shortOk };
  });
  const byId = new Map(clients.map((c) => [c.clientId, c]));
  const pairs = escrowPairs(clients, d.own ?? '', d.traces, ESCROW_MAX).filter(
    (p) => p.denom !== '',
  );
  const escrow = await mapLimit(pairs, CONCURRENCY, async (p) => ({
    client: byId.get(p.client) as IbcClient,
    denom: p.denom,
    own: p.own,
    amount: await amount(
      'escrowOf',
      p.own ? { client: p.client } : { client: p.client, denom: p.denom },
    ),
  }));
  return {
    own: d.own,
    ownSupply,
    traces,
    truncated: d.truncated,
    // The own denomination always shows; a voucher only once something of it is in escrow.
    escrow: escrow.filter((e) => e.own || (e.amount !== null && e.amount !== '0')),
    problem: problems.length ? problems.slice(0, 3).join('; ') : null,
  };
}

/**
 * A counter that follows the chain's head, moved at most every `ms` and only while `busy` is
 * false, so reads keep up with blocks without piling up behind a slow one.
 */
function useHeadTick(height: number | undefined, ms: number, busy: boolean): number {
  const [tick, setTick] = useState(height ?? 0);
  const last = useRef(Date.now());
  useEffect(() => {
    if (busy || height === undefined || height === tick) return;
    const t = setTimeout(
      () => {
        last.current = Date.now();
        setTick(height);
      },
      Math.max(0, last.current + ms - Date.now()),
    );
    return () => clearTimeout(t);
  }, [height, busy, tick, ms]);
  return tick;
}

// ---------------------------------------------------------------- page

export function InterchainPage() {
  const { rpc, crypto } = useCtx();
  const feed = useFeed();
  const head = feed.blocks[0];
  // The chain judges expiry by its block time: trust left is counted from the head's time.
  const now = head?.time ?? Date.now();
  const [maxBlocks, setMaxBlocks] = useState(LOOK_BACK_BLOCKS);
  const [reader, setReader] = useState(() => ({ base: rpc.base, reader: readerOf(rpc) }));
  useEffect(() => {
    if (reader.base !== rpc.base) setReader({ base: rpc.base, reader: readerOf(rpc) });
  }, [rpc, reader]);

  const [busy, setBusy] = useState(true);
  const tick = useHeadTick(head?.height, REFRESH_MS, busy);
  const clients = useAsync(() => loadClients(rpc, reader.reader), [rpc, reader, tick]);
  const rows = clients.data && !clients.data.missing ? clients.data.rows : undefined;
  const ports = new Set(
    (rows ?? []).flatMap((r) => r.pending.map((p) => p.sourcePort)).filter((p) => p !== 'token'),
  );
  const portsKey = [...ports].sort().join(',');
  const ready = rows !== undefined;
  const activity = useAsync(
    () => (ready ? loadActivity(rpc, reader.reader, maxBlocks, ports) : Promise.resolve(null)),
    [rpc, reader, tick, maxBlocks, portsKey, ready],
  );
  const clientsKey = (rows ?? []).map((r) => r.client.clientId).join(',');
  const denoms = useAsync(
    () =>
      ready
        ? loadDenoms(
            rpc,
            crypto,
            (rows ?? []).map((r) => r.client),
          )
        : Promise.resolve(null),
    [rpc, crypto, tick, clientsKey, ready],
  );
  const loading = clients.loading || activity.loading || denoms.loading;
  useEffect(() => setBusy(loading), [loading]);

  if (!clients.data || clients.data.missing) {
    return (
      <Frame>
        <Show a={clients} what="the light clients">
          {() => (
            <Empty title="This chain has no ibc contract" testId="no-ibc">
              Its nodes run a version from before interchain support; upgrade them to connect it to
              other chains.
            </Empty>
          )}
        </Show>
      </Frame>
    );
  }
  const list = clients.data.rows;
  const scan = activity.data?.scan ?? null;
  const events = scan?.events ?? [];
  const flows = list.map((r) => ({
    row: r,
    flow:
      r.nextSequence === null
        ? null
        : packetFlow({
            clientId: r.client.clientId,
            nextSequence: r.nextSequence,
            pending: r.pending,
            settled: r.settled,
            events,
          }),
  }));
  const sum = (f: (x: NonNullable<(typeof flows)[number]['flow']>) => number) =>
    flows.reduce((s, x) => s + (x.flow ? f(x.flow) : 0), 0);
  const active = list.filter((r) => trustOf(r.client, r.headerTime, now).status === 'active');
  return (
    <Frame>
      <div className="stats">
        <Stat
          label="Clients"
          value={list.length}
          sub={`${active.length} active`}
          testId="stat-clients"
        />
        <Stat
          label="Sent"
          value={sum((f) => f.sent)}
          sub="packets, every client"
          testId="stat-sent"
        />
        <Stat
          label="Pending"
          value={sum((f) => f.pending)}
          sub="sent, not yet settled"
          testId="stat-pending"
        />
        <Stat
          label="Received"
          value={scan ? sum((f) => f.received) : undefined}
          sub={scan?.complete ? 'packets, all blocks' : 'packets, recent blocks'}
          testId="stat-received"
        />
        <Stat
          label="Transfers"
          value={activity.data ? activity.data.transfers.length : undefined}
          sub="in recent blocks"
          testId="stat-transfers"
        />
        <Stat
          label="Vouchers"
          value={denoms.data ? denoms.data.traces.length : undefined}
          sub="of other chains"
          testId="stat-vouchers"
        />
      </div>
      <Guard>
        <ClientsCard rows={list} skipped={clients.data.skipped} now={now} />
      </Guard>
      <Guard>
        <FlowCard flows={flows} scan={scan} now={now} />
      </Guard>
      <Guard>
        <TransfersCard
          a={activity}
          clients={list.map((r) => r.client)}
          crypto={crypto}
          further={() => setMaxBlocks((m) => m * 2)}
        />
      </Guard>
      <Guard>
        <DenomsCard a={denoms} clients={list.map((r) => r.client)} />
      </Guard>
    </Frame>
  );
}

/**
 * Keeps a card's render failure (a node answer of a shape nothing here foresaw) inside the
 * card: it shows the error and a retry, the rest of the page stays.
 */
class Guard extends Component<{ children: ReactNode }, { error: Error | null }> {
  override state = { error: null as Error | null };
  static getDerivedStateFromError(error: Error) {
    return { error };
  }
  override render() {
    if (!this.state.error) return this.props.children;
    return (
      <Card>
        <ErrorBox error={this.state.error} retry={() => this.setState({ error: null })} />
      </Card>
    );
  }
}

function Frame({ children }: { children: ReactNode }) {
  return (
    <div className="page" data-testid="interchain-page">
      <h1>Interchain</h1>
      {children}
    </div>
  );
}

function StatusBadge({ status }: { status: string }) {
  const kind =
    status === 'active'
      ? 'ok'
      : status === 'frozen'
        ? 'error'
        : status === 'expired'
          ? 'warn'
          : 'muted';
  return <Badge kind={kind}>{status}</Badge>;
}

// ---------------------------------------------------------------- clients

function ClientsCard({ rows, skipped, now }: { rows: ClientRow[]; skipped: number; now: number }) {
  return (
    <Card title="Light clients" testId="clients-card">
      {rows.length === 0 ? (
        <Empty title="No light clients" testId="no-clients">
          This chain follows no other chain yet. Connect it to one with <code>{CONNECT}</code> (each
          side's admins vote a client of the other in by governance), then start a relayer with{' '}
          <code>{RELAY}</code> to keep the clients updated and carry packets.
        </Empty>
      ) : (
        <Table
          columns={[
            'Client',
            'Counterparty chain',
            ['Its client of us', 'hide-narrow'],
            ['Latest verified height', 'num'],
            'Status',
          ]}
          testId="clients-table"
        >
          {rows.map((r) => {
            const c = r.client;
            const t = trustOf(c, r.headerTime, now);
            return (
              <tr key={c.clientId} data-client={c.clientId}>
                <td className="mono nowrap" data-col="client">
                  {c.clientId}
                </td>
                <td data-col="chain">
                  <span className="mono nowrap">{c.chainId || '—'}</span>{' '}
                  <span className="tag profile" data-col="profile">
                    {c.profile || '?'}
                  </span>
                </td>
                <td className="mono hide-narrow" data-col="counterparty">
                  {c.counterpartyClientId || '—'}
                </td>
                <td className="num">
                  <div data-col="height">{c.latestHeight}</div>
                  <div className="small muted">
                    {r.headerTime !== null ? <Time ms={r.headerTime} now={now} /> : 'time unknown'}
                  </div>
                </td>
                <td data-col="status">
                  <StatusBadge status={t.status} />
                  <div className="small muted" data-col="trust">
                    {t.status === 'frozen'
                      ? `frozen at height ${c.frozenHeight}: governance recovers it (ibc_recover_client)`
                      : t.leftMs === null
                        ? `trusting period ${durationText(c.trustingPeriodMs)}`
                        : t.leftMs > 0
                          ? `${durationText(t.leftMs)} of ${durationText(c.trustingPeriodMs)} trust left`
                          : `trust ran out ${durationText(-t.leftMs)} ago: governance recovers it (ibc_recover_client)`}
                  </div>
                  {r.problem && <div className="small err-text">{r.problem}</div>}
                </td>
              </tr>
            );
          })}
        </Table>
      )}
      {skipped > 0 && (
        <p className="small muted">
          {plural(skipped, 'entry', 'entries')} of the node's answer could not be read as a client.
        </p>
      )}
    </Card>
  );
}

// ---------------------------------------------------------------- packet flow

function scopeText(scan: Scan): string {
  if (scan.top === null) return 'no block of this chain holds a tx yet';
  if (scan.complete) return `every block (heights 0 to ${scan.top})`;
  return `the last ${plural(scan.blocks, 'block')} with txs (heights ${scan.lowest} to ${scan.top})`;
}

function FlowCard({
  flows,
  scan,
  now,
}: {
  flows: Array<{ row: ClientRow; flow: ReturnType<typeof packetFlow> | null }>;
  scan: Scan | null;
  now: number;
}) {
  const sent = scan ? sendTimes(scan.events) : new Map();
  const pending = flows.flatMap(({ row }) => row.pending.map((p) => ({ row, p })));
  const partial = flows.some(({ flow }) => flow && flow.inspected < flow.settled);
  const col = (n: number | undefined, name: string) => (
    <td className="num" data-col={name}>
      {n ?? '—'}
    </td>
  );
  return (
    <Card title="Packet flow" testId="flow-card">
      {flows.length === 0 ? (
        <p className="muted">No clients, so no packets: packets travel over a light client.</p>
      ) : (
        <>
          <Table
            columns={[
              'Client',
              ['Sent', 'num'],
              ['Pending', 'num'],
              ['Acked', 'num'],
              ['Error acks', 'num'],
              ['Timed out', 'num'],
              ['Received', 'num'],
              ['Refused', 'num hide-narrow'],
            ]}
            testId="flow-table"
          >
            {flows.map(({ row, flow }) => (
              <tr key={row.client.clientId} data-client={row.client.clientId}>
                <td className="mono nowrap">{row.client.clientId}</td>
                {col(flow?.sent, 'sent')}
                <td className="num" data-col="pending">
                  {flow ? `${flow.pending}${row.pendingMore ? '+' : ''}` : '—'}
                </td>
                {col(flow?.acked, 'acked')}
                {col(flow?.errorAcks, 'error-acks')}
                {col(flow?.timedOut, 'timed-out')}
                {col(scan ? flow?.received : undefined, 'received')}
                <td className="num hide-narrow" data-col="refused">
                  {scan ? (flow?.refused ?? '—') : '—'}
                </td>
              </tr>
            ))}
          </Table>
          <p className="small muted" data-testid="flow-sources">
            Sent and pending are read from state (exact).{' '}
            {partial
              ? `Acked, error acks and timed out are of the newest ${SETTLED_LOOK} settled packets per client.`
              : 'Acked, error acks and timed out cover every settled packet.'}{' '}
            Received and refused count the packets delivered here in{' '}
            {scan ? scopeText(scan) : 'the recent blocks (still looking)'}.
          </p>
          <h3>Pending packets</h3>
          {pending.length === 0 ? (
            <Empty title="No packets waiting" testId="no-pending">
              {flows.some(({ flow }) => flow && flow.sent > 0) ? (
                'Every packet sent from this chain was acked or timed out.'
              ) : (
                <>
                  Nothing was sent from this chain yet: contracts send packets, token transfers
                  among them (<code>archi ibc transfer</code>).
                </>
              )}
            </Empty>
          ) : (
            <Table
              columns={['Client', ['Seq', 'num'], 'Ports', 'Timeout', 'Age']}
              testId="pending-table"
            >
              {pending.map(({ row, p }) => {
                const reached = timeoutReached(p, {
                  height: row.client.latestHeight,
                  time: row.headerTime,
                });
                const at = sent.get(packetKey(p.sourceClient, p.sequence));
                return (
                  <tr key={packetKey(p.sourceClient, p.sequence)} data-seq={p.sequence}>
                    <td className="mono nowrap">{p.sourceClient}</td>
                    <td className="num">{p.sequence}</td>
                    <td className="mono nowrap" data-col="ports">
                      {p.sourcePort} → {p.destPort}
                    </td>
                    <td data-col="timeout">
                      {timeoutText(p)}{' '}
                      {reached && <Badge kind="warn">passed: a relayer times it out</Badge>}
                    </td>
                    <td data-col="age">
                      {at ? (
                        <span title={`block ${at.height}`}>{ago(at.time, now)}</span>
                      ) : (
                        <span className="muted" title="sent before the blocks looked through">
                          older
                        </span>
                      )}
                    </td>
                  </tr>
                );
              })}
            </Table>
          )}
          {pending.length > 0 && (
            <p className="small muted">
              A relayer (<code>{RELAY}</code>) delivers pending packets and brings back their acks.
            </p>
          )}
        </>
      )}
    </Card>
  );
}

// ---------------------------------------------------------------- transfers

const TRANSFER_BADGE: Record<Transfer['status'], 'ok' | 'error' | 'warn' | 'info' | 'muted'> = {
  pending: 'info',
  delivered: 'ok',
  received: 'ok',
  refunded: 'warn',
  'timed-out': 'warn',
  refused: 'error',
  failed: 'error',
  unknown: 'muted',
};

/** A denomination with its short form when it is a voucher. */
function DenomName({ name, crypto }: { name: string; crypto: string }) {
  if (!name) return <span className="muted">—</span>;
  let short: string | null = null;
  if (name.startsWith('transfer/')) {
    try {
      short = shortDenom(crypto, name);
    } catch {
      short = null;
    }
  }
  return (
    <span className="denom">
      <span className="mono wrap-any">{name}</span>
      {short && (
        <span className="small muted mono" title={short}>
          {' '}
          {short.slice(0, 12)}…
        </span>
      )}
    </span>
  );
}

function TransfersCard({
  a,
  clients,
  crypto,
  further,
}: {
  a: Async<Activity | null>;
  clients: IbcClient[];
  crypto: string;
  further: () => void;
}) {
  const chainOf = new Map(clients.map((c) => [c.clientId, c.chainId]));
  return (
    <Card title="Token transfers" testId="transfers-card">
      <Show a={a} what="recent transfers">
        {(act) => {
          if (!act) return <Loading what="recent transfers" />;
          const { transfers, scan } = act;
          return (
            <>
              {transfers.length === 0 ? (
                <Empty title="No token transfers" testId="no-transfers">
                  None in {scopeText(scan)}. Send tokens to a connected chain with{' '}
                  <code>archi ibc transfer --to-chain CHAIN --receiver ADDRESS --amount N</code>.
                </Empty>
              ) : (
                <Table
                  columns={[
                    'Block',
                    'Direction',
                    ['Amount', 'num'],
                    'Denomination',
                    ['Sender', 'hide-narrow'],
                    ['Receiver', 'hide-narrow'],
                    'Status',
                  ]}
                  testId="transfers-table"
                >
                  {transfers.map((t) => {
                    const other = chainOf.get(t.client) || t.client || '?';
                    return (
                      <tr
                        key={`${t.txId}-${t.direction}`}
                        data-direction={t.direction}
                        data-seq={t.sequence ?? ''}
                        data-client={t.client}
                      >
                        <td>
                          <a href={`#/txs/${t.txId}`}>{t.height}</a>
                          <div className="small muted">{ago(t.time)}</div>
                        </td>
                        <td data-col="direction">
                          {t.direction === 'out' ? `to ${other}` : `from ${other}`}
                          {t.sequence !== null && (
                            <div className="small muted">packet {t.sequence}</div>
                          )}
                        </td>
                        <td className="num" data-col="amount">
                          {t.amount ? amountText(t.amount) : '—'}
                        </td>
                        <td data-col="denom">
                          {t.direction === 'in' && t.localDenom ? (
                            <>
                              <DenomName name={t.localDenom} crypto={crypto} />
                              <div className="small muted">
                                sent as <span className="mono">{t.denom}</span>
                              </div>
                            </>
                          ) : (
                            <DenomName name={t.denom} crypto={crypto} />
                          )}
                        </td>
                        <td className="hide-narrow" data-col="sender">
                          {t.sender ? <Hash value={t.sender} keep={6} label="sender" /> : '—'}
                        </td>
                        <td className="hide-narrow" data-col="receiver">
                          {t.receiver ? <Hash value={t.receiver} keep={6} label="receiver" /> : '—'}
                        </td>
                        <td data-col="status">
                          <Badge kind={TRANSFER_BADGE[t.status]}>{t.status}</Badge>
                          {t.detail && (
                            <div className="small muted wrap-any status-detail" data-col="detail">
                              {t.detail}
                            </div>
                          )}
                        </td>
                      </tr>
                    );
                  })}
                </Table>
              )}
              <div className="row spaced">
                <p className="small muted" data-testid="transfers-scope">
                  Transfers sent or received in {scopeText(scan)}
                  {transfers.length > 0 ? ', newest first' : ''}.
                </p>
                {!scan.complete && scan.top !== null && (
                  <button type="button" className="small secondary" onClick={further}>
                    Look further back
                  </button>
                )}
              </div>
            </>
          );
        }}
      </Show>
    </Card>
  );
}

// ---------------------------------------------------------------- denominations

function DenomsCard({ a, clients }: { a: Async<Denoms | null>; clients: IbcClient[] }) {
  return (
    <Card title="Denominations" testId="denoms-card">
      <Show a={a} what="the denominations">
        {(d) => {
          if (!d) return <Loading what="the denominations" />;
          return (
            <>
              <p data-testid="own-denom">
                Own denomination <strong className="mono">{d.own ?? '—'}</strong>: supply{' '}
                <span data-col="supply">
                  {d.ownSupply !== null ? amountText(d.ownSupply) : '—'}
                </span>
              </p>
              <h3>Vouchers</h3>
              {d.traces.length === 0 ? (
                <Empty title="No vouchers yet" testId="no-vouchers">
                  Tokens that arrive from another chain become vouchers here, named by their path (
                  <code>transfer/&lt;client&gt;/&lt;denomination&gt;</code>) and by a short{' '}
                  <code>ibc/&lt;HEX&gt;</code> form; they are listed once the first arrives.
                </Empty>
              ) : (
                <Table
                  columns={['Full path', 'Short form', ['Route', 'hide-narrow'], ['Supply', 'num']]}
                  testId="denoms-table"
                >
                  {d.traces.map((t) => (
                    <tr key={t.denom} data-denom={t.denom}>
                      <td className="mono wrap-any" data-col="denom">
                        {t.denom}
                      </td>
                      <td data-col="short">
                        {t.short ? <Hash value={t.short} keep={10} label="short form" /> : '—'}
                        {!t.shortOk && (
                          <div>
                            <Badge kind="error">does not match the hash of its path</Badge>
                          </div>
                        )}
                      </td>
                      <td className="hide-narrow" data-col="route">
                        {traceRoute(t, clients)}
                      </td>
                      <td className="num" data-col="supply">
                        {t.supply !== null ? amountText(t.supply) : '—'}
                      </td>
                    </tr>
                  ))}
                </Table>
              )}
              {d.truncated && (
                <p className="small muted">The node lists the first 500 vouchers only.</p>
              )}
              <h3>Escrow</h3>
              {d.escrow.length === 0 ? (
                <p className="muted" data-testid="no-escrow">
                  Nothing can be in escrow without a client: tokens leaving for another chain are
                  held here, per client, until they come back.
                </p>
              ) : (
                <Table
                  columns={[
                    'Client',
                    'Denomination',
                    ['In escrow', 'num'],
                    ['On the other chain, as', 'hide-narrow'],
                  ]}
                  testId="escrow-table"
                >
                  {d.escrow.map((e) => {
                    const there = across(e.denom, e.client);
                    return (
                      <tr
                        key={`${e.client.clientId}/${e.denom}`}
                        data-client={e.client.clientId}
                        data-denom={e.denom}
                      >
                        <td className="mono nowrap">{e.client.clientId}</td>
                        <td className="mono wrap-any">{e.denom}</td>
                        <td className="num" data-col="escrow">
                          {e.amount !== null ? amountText(e.amount) : '—'}
                        </td>
                        <td className="hide-narrow" data-col="there">
                          <span className="mono wrap-any">{there.name}</span>
                          {there.short && isShort(there.short) && (
                            <div className="small muted mono" title={there.short}>
                              {there.short.slice(0, 12)}… on {e.client.chainId}
                            </div>
                          )}
                        </td>
                      </tr>
                    );
                  })}
                </Table>
              )}
              {d.escrow.length > 0 && (
                <p className="small muted">
                  Supply is conserved: with no transfer in flight, what this chain holds in escrow
                  for a client equals the supply of that voucher on the other chain.
                </p>
              )}
              {d.problem && (
                <p className="small err-text">Some amounts could not be read: {d.problem}</p>
              )}
            </>
          );
        }}
      </Show>
    </Card>
  );
}
