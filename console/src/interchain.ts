/**
 * Pure data shaping of the Interchain page (no DOM, no React; interchain.test.ts runs it in
 * Node). The page reads the `ibc` and `token` contracts' queries (docs/INTERCHAIN.md) and the
 * receipts of recent txs; everything here reads those answers defensively (a node of another
 * version, a half-written field, a value of the wrong type is skipped, never thrown), and
 * turns them into what the page shows: client trust left, packet flow per client, token
 * transfers and denomination traces with their short `ibc/<HEX>` form.
 *
 * Which source each figure comes from, and why:
 * - sent, pending and the settled total are exact: `nextSequence` and the `packets` pages
 *   are queries of current state (every sequence below `nextSequence` is either pending or
 *   settled, since a send writes both in one tx);
 * - acked / error-acked / timed out are read with one `settled` query per sequence, so only
 *   for the newest settled sequences (`inspected` says how many);
 * - received packets are counted from the `RecvPacket` / `WriteAck` events of the blocks
 *   looked back through: the receiving side keeps a receipt per sequence but no count, and
 *   the sender's sequences are not known here. Exact once the look back reached genesis;
 * - transfers come from tx receipts (`token.sendTransfer` and `ibc.recvPacket` txs of the same
 *   blocks, alone or in a relayer's `ibc.relay` batch): state keeps no list of them. Their outcome comes from the queries above.
 */
import type { IbcAck, IbcPacket } from '../../src/types/rpc-json.ts';
import type { EventJson } from './api.ts';
import { hashFor, toHex } from './chain.ts';

// ---------------------------------------------------------------- reading JSON defensively

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
/** A non-negative safe integer, else `fallback`. */
const int = (v: unknown, fallback = 0): number =>
  Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : fallback;

/** Client ids as the chain allows them (src/vm/native/ibc/keys.ts, CLIENT_ID). */
export const CLIENT_ID = /^[a-z0-9][a-z0-9._-]{0,63}$/;

// ---------------------------------------------------------------- clients

export type ClientStatus = 'active' | 'frozen' | 'expired';

/** A light client as the `clients {}` query answers it (the state plus its status now). */
export interface IbcClient {
  clientId: string;
  /** The counterparty's chain id. */
  chainId: string;
  /** The counterparty's crypto profile. */
  profile: string;
  counterpartyClientId: string;
  trustingPeriodMs: number;
  maxClockDriftMs: number;
  latestHeight: number;
  frozenHeight: number;
  createdAt: number;
  /** As the chain judged it at its latest block; `unknown` when the node did not say. */
  status: ClientStatus | 'unknown';
}

/** One client of a `client` / `clients` answer, or null when it is not one. */
export function readClient(v: unknown): IbcClient | null {
  if (!isObj(v) || typeof v.clientId !== 'string' || !CLIENT_ID.test(v.clientId)) return null;
  const status = v.status;
  return {
    clientId: v.clientId,
    chainId: str(v.chainId),
    profile: str(v.profile),
    counterpartyClientId: str(v.counterpartyClientId),
    trustingPeriodMs: int(v.trustingPeriodMs),
    maxClockDriftMs: int(v.maxClockDriftMs),
    latestHeight: int(v.latestHeight),
    frozenHeight: int(v.frozenHeight),
    createdAt: int(v.createdAt),
    status: status === 'active' || status === 'frozen' || status === 'expired' ? status : 'unknown',
  };
}

/** The `clients {}` answer: the clients it holds, and how many entries were not clients. */
export function readClients(v: unknown): { clients: IbcClient[]; skipped: number } {
  if (!Array.isArray(v)) return { clients: [], skipped: v === null || v === undefined ? 0 : 1 };
  const clients: IbcClient[] = [];
  for (const c of v) {
    const r = readClient(c);
    if (r) clients.push(r);
  }
  return { clients, skipped: v.length - clients.length };
}

/** Latest time a JavaScript Date holds (ms): anything later cannot be shown as a date. */
const MAX_DATE_MS = 8.64e15;

/** The time (ms) of a `consensusState` answer, or null. */
export function consensusTime(v: unknown): number | null {
  return isObj(v) &&
    Number.isSafeInteger(v.time) &&
    (v.time as number) > 0 &&
    (v.time as number) <= MAX_DATE_MS
    ? (v.time as number)
    : null;
}

export interface Trust {
  status: ClientStatus | 'unknown';
  /** When the latest verified header stops being trusted (ms), if known. */
  expiresAt: number | null;
  /** Trusting period left at `now` (negative once past), if known. */
  leftMs: number | null;
}

/**
 * A client's trust at `now` (the chain's latest block time: the chain judges expiry by block
 * time, not by this browser's clock): trusted until the latest header's time plus the
 * trusting period. The status is the chain's own when it gave one.
 */
export function trustOf(c: IbcClient, headerTime: number | null, now: number): Trust {
  const expiresAt = headerTime === null ? null : headerTime + c.trustingPeriodMs;
  const leftMs = expiresAt === null ? null : expiresAt - now;
  let status = c.status;
  if (status === 'unknown') {
    if (c.frozenHeight > 0) status = 'frozen';
    else if (leftMs !== null) status = leftMs > 0 ? 'active' : 'expired';
  }
  return { status, expiresAt, leftMs };
}

/** A duration in its two largest units: "3d 4h", "12m 5s", "40s", "0s". */
export function durationText(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const units: Array<[string, number]> = [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ];
  for (let i = 0; i < units.length; i++) {
    const [u, size] = units[i];
    if (s >= size || i === units.length - 1) {
      const big = Math.floor(s / size);
      const next = units[i + 1];
      if (!next) return `${big}${u}`;
      const small = Math.floor((s % size) / next[1]);
      return small ? `${big}${u} ${small}${next[0]}` : `${big}${u}`;
    }
  }
  return '0s';
}

// ---------------------------------------------------------------- packets

export type { IbcPacket };
export type Ack = IbcAck;

/** A packet, or null when `v` is not one (no sequence of at least 1, or no clients). */
export function readPacket(v: unknown): IbcPacket | null {
  if (!isObj(v)) return null;
  const sequence = int(v.sequence);
  if (sequence < 1 || typeof v.sourceClient !== 'string' || typeof v.destClient !== 'string') {
    return null;
  }
  return {
    sequence,
    sourceClient: v.sourceClient,
    destClient: v.destClient,
    timeoutHeight: int(v.timeoutHeight),
    timeoutTime: int(v.timeoutTime),
    sourcePort: str(v.sourcePort),
    destPort: str(v.destPort),
    data: v.data,
  };
}

/** A `packets {client, from?, limit?}` answer. */
export function readPacketPage(v: unknown): { packets: IbcPacket[]; next: number | null } {
  if (!isObj(v) || !Array.isArray(v.packets)) return { packets: [], next: null };
  const packets = v.packets.map(readPacket).filter((p): p is IbcPacket => p !== null);
  const next = Number.isSafeInteger(v.next) && (v.next as number) >= 1 ? (v.next as number) : null;
  return { packets, next };
}

/** An ack: `{result}` or `{error: string}`; null for anything else. */
export function readAck(v: unknown): Ack | null {
  if (!isObj(v)) return null;
  if (typeof v.error === 'string') return { error: v.error };
  if ('result' in v) return { result: v.result };
  return null;
}

/** How a sent packet ended (`settled {client, sequence}`). */
export interface Settled {
  status: 'acked' | 'timed-out';
  ack: Ack | null;
  /** This chain's height when it was settled. */
  height: number;
}

export function readSettled(v: unknown): Settled | null {
  if (!isObj(v) || (v.status !== 'acked' && v.status !== 'timed-out')) return null;
  return { status: v.status, ack: readAck(v.ack), height: int(v.height) };
}

export type Outcome = 'acked' | 'error-ack' | 'timed-out';

/** acked, acked with an error (the receiver refused it: a transfer is refunded) or timed out. */
export function outcomeOf(s: Settled): Outcome {
  if (s.status === 'timed-out') return 'timed-out';
  return s.ack && 'error' in s.ack ? 'error-ack' : 'acked';
}

/** A packet's timeout as words: "height 120", "at 2024-…Z" or both. */
export function timeoutText(p: Pick<IbcPacket, 'timeoutHeight' | 'timeoutTime'>): string {
  const parts: string[] = [];
  if (p.timeoutHeight > 0) parts.push(`height ${p.timeoutHeight}`);
  if (p.timeoutTime > 0) {
    const d = new Date(p.timeoutTime);
    parts.push(Number.isNaN(d.getTime()) ? `time ${p.timeoutTime}` : d.toISOString());
  }
  return parts.length ? parts.join(' or ') : 'none';
}

/**
 * Whether the counterparty is known (by this chain's client of it: its latest verified height
 * and that header's time) to be at or past a pending packet's timeout: it can no longer be
 * received, and a relayer will time it out here.
 */
export function timeoutReached(
  p: Pick<IbcPacket, 'timeoutHeight' | 'timeoutTime'>,
  counterparty: { height: number; time: number | null },
): boolean {
  return (
    (p.timeoutHeight > 0 && counterparty.height >= p.timeoutHeight) ||
    (p.timeoutTime > 0 && counterparty.time !== null && counterparty.time >= p.timeoutTime)
  );
}

/**
 * The settled sequences whose outcome to ask for: the newest `limit` sequences below
 * `nextSequence` that are not pending, newest first, and any of `also` (sequences a transfer
 * list needs) not among them.
 */
export function settledToAsk(
  nextSequence: number,
  pending: Iterable<number>,
  limit: number,
  also: Iterable<number> = [],
): number[] {
  const skip = new Set(pending);
  const out: number[] = [];
  for (let s = nextSequence - 1; s >= 1 && out.length < limit; s--) if (!skip.has(s)) out.push(s);
  const have = new Set(out);
  for (const s of also) {
    if (Number.isSafeInteger(s) && s >= 1 && s < nextSequence && !skip.has(s) && !have.has(s)) {
      out.push(s);
      have.add(s);
    }
  }
  return out;
}

/** The packet flow of one client, as the page shows it. */
export interface Flow {
  /** Packets sent over the client: `nextSequence - 1` (query; exact). */
  sent: number;
  /** Packets sent and not yet settled (`packets` query; exact). */
  pending: number;
  /** Packets acked or timed out: sent less pending (exact). */
  settled: number;
  /** Of the `inspected` settled ones (one `settled` query each): */
  acked: number;
  errorAcks: number;
  timedOut: number;
  inspected: number;
  /** Packets received over the client (RecvPacket events in the blocks looked through). */
  received: number;
  /** Of them, answered with an error ack (WriteAck events). */
  refused: number;
}

/** One client's flow from its queries and the events of the blocks looked through. */
export function packetFlow(input: {
  clientId: string;
  nextSequence: number;
  pending: IbcPacket[];
  settled: Map<number, Settled | null>;
  events: ScannedEvent[];
}): Flow {
  const sent = Math.max(0, input.nextSequence - 1);
  const pending = input.pending.length;
  const f: Flow = {
    sent,
    pending,
    settled: Math.max(0, sent - pending),
    acked: 0,
    errorAcks: 0,
    timedOut: 0,
    inspected: 0,
    received: 0,
    refused: 0,
  };
  for (const s of input.settled.values()) {
    if (!s) continue;
    f.inspected++;
    const o = outcomeOf(s);
    if (o === 'acked') f.acked++;
    else if (o === 'error-ack') f.errorAcks++;
    else f.timedOut++;
  }
  for (const e of input.events) {
    if (e.contract !== 'ibc' || !isObj(e.data) || e.data.destClient !== input.clientId) continue;
    if (e.name === 'RecvPacket') f.received++;
    else if (e.name === 'WriteAck' && readAck(e.data.ack) && 'error' in (e.data.ack as Obj)) {
      f.refused++;
    }
  }
  return f;
}

// ---------------------------------------------------------------- looking back through blocks

/** An event with the tx and block it came from. */
export interface ScannedEvent extends EventJson {
  txId: string;
  height: number;
  time: number;
}

/** A tx of the look back, with its receipt. */
export interface ScannedTx {
  txId: string;
  height: number;
  time: number;
  contract: string;
  method: string;
  /** The call's args, parsed (null when they are not JSON). */
  args: unknown;
  ok: boolean;
  code: string;
  message: string;
  result: unknown;
  events: EventJson[];
}

/** What a look back needs of the node (GET /v1/blocks?nonEmpty, /v1/blocks/:h, /v1/txs/:id). */
export interface ScanSource {
  page(
    before: number | undefined,
    limit: number,
  ): Promise<{
    blocks: Array<{ height: number; txCount?: number }>;
    scannedFrom: number;
    next: number | null;
  }>;
  block(height: number): Promise<{
    height: number;
    header: { time: number };
    txs: Array<{ txId: string; contract: string; method: string }>;
  }>;
  tx(txId: string): Promise<{
    txId: string;
    height: number;
    contract: string;
    method: string;
    args: string;
    receipt: {
      status: string;
      code: string;
      message: string;
      result: unknown;
      events: EventJson[];
    };
  }>;
}

export interface Scan {
  /** Interchain txs found, newest first. */
  txs: ScannedTx[];
  /** Their events, newest first. */
  events: ScannedEvent[];
  /** The heights looked through: lowest..top (null when the chain has no block with txs). */
  lowest: number | null;
  top: number | null;
  /** Blocks with txs looked at. */
  blocks: number;
  /** The look back reached genesis: the counts from events are the chain's whole history. */
  complete: boolean;
}

/** ibc methods whose receipts tell about packets (client updates tell nothing new here). */
const PACKET_METHODS = new Set(['recvPacket', 'acknowledgePacket', 'timeoutPacket']);

/**
 * Whether a tx's receipt is worth fetching: packet txs of `ibc` (alone or in a relayer's
 * `relay` batch), `token.sendTransfer`, and any call of a contract known to send packets
 * (`ports`: their SendPacket events date them).
 */
export function wantsTx(contract: string, method: string, ports: ReadonlySet<string>): boolean {
  if (contract === 'ibc') return PACKET_METHODS.has(method) || method === 'relay';
  if (contract === 'token') return method === 'sendTransfer';
  return ports.has(contract);
}

/** `fn` over `items`, at most `limit` at a time, results in order. */
export async function mapLimit<T, R>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** The ibc event that ends each relayable method's own events (they come in message order). */
const LAST_EVENT: Record<string, string> = {
  recvPacket: 'WriteAck',
  acknowledgePacket: 'AckPacket',
  timeoutPacket: 'TimeoutPacket',
};

/**
 * The packet messages of an `ibc.relay` tx (src/vm/native/ibc/relay-batch.ts) as txs of their
 * own, each with its result and the events it emitted; any other tx as it is. The batch's
 * events are its messages' in order, and each packet message's end with its ibc event of the
 * same packet; a refused message emitted none. Client updates are left out, as their own txs are.
 */
export function relayMessages(t: ScannedTx): ScannedTx[] {
  if (t.contract !== 'ibc' || t.method !== 'relay') return [t];
  const msgs = isObj(t.args) && Array.isArray(t.args.msgs) ? t.args.msgs : [];
  const results = isObj(t.result) && Array.isArray(t.result.results) ? t.result.results : [];
  const out: ScannedTx[] = [];
  let cursor = 0;
  msgs.forEach((m: unknown, i: number) => {
    const r: unknown = results[i];
    if (!isObj(m) || !isObj(r)) return;
    const method = str(m.method);
    const packet = isObj(m.args) && isObj(m.args.packet) ? m.args.packet : null;
    let events: EventJson[] = [];
    if (r.ok === true) {
      // A client update's events: up to its own ClientUpdated or ClientFrozen, if any.
      const ends = (e: EventJson): boolean =>
        e.contract === 'ibc' &&
        (method === 'updateClient'
          ? (e.name === 'ClientUpdated' || e.name === 'ClientFrozen') &&
            isObj(e.data) &&
            isObj(r.result) &&
            e.data.height === r.result.height
          : e.name === LAST_EVENT[method] &&
            isObj(e.data) &&
            packet !== null &&
            e.data.sequence === packet.sequence &&
            e.data.sourceClient === packet.sourceClient);
      const last = t.events.findIndex((e, k) => k >= cursor && ends(e));
      if (last >= 0) {
        events = t.events.slice(cursor, last + 1);
        cursor = last + 1;
      }
    }
    if (!PACKET_METHODS.has(method)) return;
    out.push({
      ...t,
      method,
      args: m.args,
      ok: t.ok && r.ok === true,
      code: t.ok ? str(r.code) : t.code,
      message: t.ok ? str(r.message) : t.message,
      result: r.result ?? null,
      events,
    });
  });
  return out;
}

function parseArgs(text: unknown): unknown {
  if (typeof text !== 'string') return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** Most blocks one GET /v1/blocks page lists. */
const PAGE_MAX = 100;
/** Requests in flight at once during a look back. */
const CONCURRENCY = 6;

/**
 * Look back from the head through the newest `maxBlocks` blocks that hold txs, and fetch the
 * receipts of the interchain txs among them (see wantsTx). Blocks and txs never change once
 * committed, so `src` may cache them: a look back repeated on every new block then costs one
 * page request and the new blocks.
 */
export async function scanInterchain(
  src: ScanSource,
  opts: { maxBlocks: number; ports?: ReadonlySet<string> },
): Promise<Scan> {
  const ports = opts.ports ?? new Set<string>();
  const txs: ScannedTx[] = [];
  let lowest: number | null = null;
  let top: number | null = null;
  let blocks = 0;
  let complete = false;
  let before: number | undefined;
  for (;;) {
    const want = opts.maxBlocks - blocks;
    if (want <= 0) break;
    const page = await src.page(before, Math.min(PAGE_MAX, want));
    const list = Array.isArray(page.blocks) ? page.blocks : [];
    if (top === null && list.length > 0) top = list[0].height;
    const take = list.slice(0, want);
    const got = await mapLimit(take, CONCURRENCY, (b) => src.block(b.height));
    const wanted = got.flatMap((b) =>
      (b.txs ?? [])
        .filter((t) => wantsTx(t.contract, t.method, ports))
        .map((t) => ({ txId: t.txId, time: b.header?.time ?? 0 })),
    );
    const receipts = await mapLimit(wanted, CONCURRENCY, async (w) => ({
      w,
      t: await src.tx(w.txId),
    }));
    for (const { w, t } of receipts) {
      const r: Partial<Awaited<ReturnType<ScanSource['tx']>>['receipt']> = t.receipt ?? {};
      const scanned: ScannedTx = {
        txId: t.txId,
        height: t.height,
        time: w.time,
        contract: t.contract,
        method: t.method,
        args: parseArgs(t.args),
        ok: r.status === 'ok',
        code: str(r.code),
        message: str(r.message),
        result: r.result,
        events: Array.isArray(r.events) ? r.events : [],
      };
      txs.push(...relayMessages(scanned));
    }
    blocks += take.length;
    if (take.length < list.length) {
      lowest = take[take.length - 1].height;
      break;
    }
    lowest = page.scannedFrom;
    if (page.next === null) {
      complete = true;
      break;
    }
    before = page.next;
  }
  // Newest first: by height, then by place in the block (receipts came in block order, and a
  // relay tx's messages in message order).
  const order = new Map(txs.map((t, i) => [t, i]));
  txs.sort((a, b) => b.height - a.height || order.get(b)! - order.get(a)!);
  const events: ScannedEvent[] = txs.flatMap((t) =>
    [...t.events]
      .reverse()
      .filter((e) => isObj(e) && typeof e.name === 'string')
      .map((e) => ({ ...e, txId: t.txId, height: t.height, time: t.time })),
  );
  if (top === null) lowest = null;
  return { txs, events, lowest, top, blocks, complete };
}

/** A ScanSource that fetches each block and tx once (failures are not kept). */
export function cachedSource(src: ScanSource): ScanSource {
  const blocks = new Map<number, ReturnType<ScanSource['block']>>();
  const txs = new Map<string, ReturnType<ScanSource['tx']>>();
  const once = <K, V>(m: Map<K, Promise<V>>, k: K, get: () => Promise<V>): Promise<V> => {
    let p = m.get(k);
    if (!p) {
      p = get();
      m.set(k, p);
      p.catch(() => m.delete(k));
      // Bound the memory of a page left open for days: the oldest entries go first.
      if (m.size > 5000) m.delete(m.keys().next().value as K);
    }
    return p;
  };
  return {
    page: (before, limit) => src.page(before, limit),
    block: (h) => once(blocks, h, () => src.block(h)),
    tx: (id) => once(txs, id, () => src.tx(id)),
  };
}

/** When each packet was sent (`<sourceClient>/<sequence>` -> the SendPacket event), as far as seen. */
export function sendTimes(events: ScannedEvent[]): Map<string, ScannedEvent> {
  const out = new Map<string, ScannedEvent>();
  for (const e of events) {
    if (e.contract !== 'ibc' || e.name !== 'SendPacket' || !isObj(e.data)) continue;
    const p = readPacket(e.data);
    if (p) out.set(packetKey(p.sourceClient, p.sequence), e);
  }
  return out;
}

export const packetKey = (client: string, sequence: number): string => `${client}/${sequence}`;

// ---------------------------------------------------------------- transfers

export type TransferStatus =
  | 'pending'
  | 'delivered'
  | 'refunded'
  | 'timed-out'
  | 'received'
  | 'refused'
  | 'failed'
  | 'unknown';

/** One token transfer, sent from or received on this chain. */
export interface Transfer {
  direction: 'out' | 'in';
  txId: string;
  height: number;
  time: number;
  /** This chain's client of the other chain. */
  client: string;
  sequence: number | null;
  /** The denomination as the sending chain names it (the packet's). */
  denom: string;
  /** On an incoming transfer: what it became here (a voucher, or an own denomination home). */
  localDenom: string | null;
  amount: string;
  sender: string;
  receiver: string;
  status: TransferStatus;
  /** The error of a failed send, an error ack, or how the amount moved (escrow, burn, mint…). */
  detail: string;
}

function eventOf(t: ScannedTx, contract: string, name: string): Obj | null {
  const e = t.events.find((x) => x.contract === contract && x.name === name);
  return e && isObj(e.data) ? e.data : null;
}

/** Positive decimal text of an amount, else ''. */
const amountOf = (v: unknown): string =>
  typeof v === 'string' && /^[0-9]{1,80}$/.test(v)
    ? v
    : Number.isSafeInteger(v) && (v as number) >= 0
      ? String(v)
      : '';

/** The outcome of a sent transfer from its packet's: pending, or how it was settled. */
function sentStatus(
  key: string,
  pending: ReadonlySet<string>,
  settled: ReadonlyMap<string, Settled | null>,
): { status: TransferStatus; detail: string | null } {
  if (pending.has(key)) return { status: 'pending', detail: null };
  const s = settled.get(key);
  if (!s) return { status: 'unknown', detail: null };
  const o = outcomeOf(s);
  if (o === 'acked') return { status: 'delivered', detail: null };
  if (o === 'timed-out') return { status: 'timed-out', detail: 'timed out: refunded' };
  return { status: 'refunded', detail: s.ack && 'error' in s.ack ? s.ack.error : null };
}

/**
 * Token transfers of the scanned txs, newest first: every SendTransfer event of `token` (a
 * `sendTransfer` tx, or a contract's call of it when that contract's txs were scanned) with
 * its packet's outcome (`pending`: keys of pending packets; `settled`: what `settled` answered
 * per packet key), each failed `token.sendTransfer` tx (from its args), and each
 * `ibc.recvPacket` tx of a packet to the `token` port that went through (its packet data,
 * RecvTransfer event and ack). A lost relayer race (an error receipt of recvPacket) is no transfer.
 */
export function transfersOf(
  txs: ScannedTx[],
  pending: ReadonlySet<string>,
  settled: ReadonlyMap<string, Settled | null>,
): Transfer[] {
  const out: Transfer[] = [];
  for (const t of txs) {
    const base = { txId: t.txId, height: t.height, time: t.time };
    if (t.contract === 'token' && t.method === 'sendTransfer' && !t.ok) {
      const a = isObj(t.args) ? t.args : {};
      out.push({
        ...base,
        direction: 'out',
        client: str(a.client),
        sequence: null,
        denom: str(a.denom),
        localDenom: null,
        amount: amountOf(a.amount),
        sender: '',
        receiver: str(a.receiver),
        status: 'failed',
        detail: `${t.code}: ${t.message}`,
      });
      continue;
    }
    if (!t.ok) continue;
    // A tx may send several (a contract looping over receivers): newest, i.e. last, first.
    for (const e of [...t.events].reverse()) {
      if (e.contract !== 'token' || e.name !== 'SendTransfer' || !isObj(e.data)) continue;
      const ev = e.data;
      const client = str(ev.client);
      const sequence = int(ev.sequence) || null;
      const st =
        sequence === null
          ? { status: 'unknown' as const, detail: null }
          : sentStatus(packetKey(client, sequence), pending, settled);
      out.push({
        ...base,
        direction: 'out',
        client,
        sequence,
        denom: str(ev.denom),
        localDenom: null,
        amount: amountOf(ev.amount),
        sender: str(ev.sender),
        receiver: str(ev.receiver),
        status: st.status,
        detail: st.detail ?? (ev.how === 'burn' ? 'voucher burned (going home)' : 'escrowed'),
      });
    }
    if (t.contract === 'ibc' && t.method === 'recvPacket') {
      const p = readPacket(isObj(t.args) ? t.args.packet : null);
      if (p?.destPort !== 'token' || !isObj(p.data)) continue;
      const d = p.data;
      const recv = eventOf(t, 'token', 'RecvTransfer');
      const w = eventOf(t, 'ibc', 'WriteAck');
      const ack = readAck(w?.ack ?? (isObj(t.result) ? t.result.ack : null));
      const refused = !!ack && 'error' in ack;
      const ackDenom =
        ack && 'result' in ack && isObj(ack.result) ? str(ack.result.denom) || null : null;
      out.push({
        ...base,
        direction: 'in',
        client: p.destClient,
        sequence: p.sequence,
        denom: str(d.denom),
        localDenom: (recv ? str(recv.denom) : '') || ackDenom,
        amount: amountOf(d.amount),
        sender: str(d.sender),
        receiver: recv ? str(recv.receiver) : str(d.receiver),
        status: refused ? 'refused' : ack ? 'received' : 'unknown',
        detail: refused
          ? (ack as { error: string }).error
          : recv?.how === 'unescrow'
            ? 'released from escrow (home)'
            : recv?.how === 'mint'
              ? 'voucher minted'
              : '',
      });
    }
  }
  return out;
}

/** The (client, sequence) of every transfer sent in `txs`: their outcomes need a query each. */
export function sentTransferPackets(txs: ScannedTx[]): Array<{ client: string; sequence: number }> {
  const out: Array<{ client: string; sequence: number }> = [];
  for (const t of txs) {
    if (!t.ok) continue;
    for (const e of t.events) {
      if (e.contract !== 'token' || e.name !== 'SendTransfer' || !isObj(e.data)) continue;
      const sequence = int(e.data.sequence);
      const client = str(e.data.client);
      if (sequence > 0 && CLIENT_ID.test(client)) out.push({ client, sequence });
    }
  }
  return out;
}

// ---------------------------------------------------------------- denominations

/** The word that opens each hop of a voucher's path (src/vm/native/denom.ts). */
export const HOP = 'transfer';
const BASE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const SHORT = /^ibc\/[0-9A-Fa-f]{64}$/;

/** A denomination taken apart: its hops' clients (latest first) and its base. */
export interface Trace {
  clients: string[];
  base: string;
}

/** The trace of a full denomination name (the rules of src/vm/native/denom.ts); null if none. */
export function parseTrace(name: string): Trace | null {
  if (typeof name !== 'string' || name.length === 0 || name.length > 512) return null;
  const parts = name.split('/');
  if (parts.length % 2 === 0) return null;
  const clients: string[] = [];
  for (let i = 0; i + 1 < parts.length; i += 2) {
    if (parts[i] !== HOP || !CLIENT_ID.test(parts[i + 1])) return null;
    clients.push(parts[i + 1]);
  }
  const base = parts[parts.length - 1];
  return BASE.test(base) ? { clients, base } : null;
}

/** `ibc/<HEX>`: the upper-case hex of the chain's hash (by crypto profile) of the full name. */
export function shortDenom(crypto: string, full: string): string {
  return `ibc/${toHex(hashFor(crypto)(new TextEncoder().encode(full))).toUpperCase()}`;
}

export const isShort = (s: string): boolean => SHORT.test(s);

/** A voucher this chain knows, as `denoms {}` lists it. */
export interface DenomTrace {
  denom: string;
  short: string;
  /** The hops without the base: `transfer/<client>/...`. */
  path: string;
  base: string;
  /** The clients of the hops, latest (this chain's client) first. */
  clients: string[];
}

/**
 * A `denoms {}` answer: the own denomination and the voucher traces (a trace whose full name
 * does not parse is left out and counted).
 */
export function readDenoms(v: unknown): {
  own: string | null;
  traces: DenomTrace[];
  truncated: boolean;
  skipped: number;
} {
  if (!isObj(v)) return { own: null, traces: [], truncated: false, skipped: 0 };
  const list = Array.isArray(v.denoms) ? v.denoms : [];
  const traces: DenomTrace[] = [];
  for (const d of list) {
    const denom = isObj(d) ? str(d.denom) : '';
    const t = parseTrace(denom);
    if (!t || t.clients.length === 0) continue;
    const short = str((d as Obj).short);
    traces.push({
      denom,
      short: isShort(short) ? `ibc/${short.slice(4).toUpperCase()}` : '',
      path: denom.slice(0, denom.length - t.base.length - 1),
      base: t.base,
      clients: t.clients,
    });
  }
  return {
    own: typeof v.own === 'string' && v.own ? v.own : null,
    traces,
    truncated: v.truncated === true,
    skipped: list.length - traces.length,
  };
}

/**
 * A voucher's way here in words, oldest hop first: "zeta, over client x, then client beta
 * (from Beta)". `clients` maps this chain's client ids to the chains they follow; only the
 * latest hop is over a client of this chain, the others are clients of chains on the way.
 */
export function traceRoute(t: Pick<DenomTrace, 'clients' | 'base'>, clients: IbcClient[]): string {
  const byId = new Map(clients.map((c) => [c.clientId, c.chainId]));
  const hops = [...t.clients].reverse();
  const steps = hops.map((c, i) => {
    const chain = i === hops.length - 1 ? byId.get(c) : undefined;
    return chain ? `client ${c} (from ${chain})` : `client ${c}`;
  });
  return steps.length ? `${t.base}, over ${steps.join(', then ')}` : t.base;
}

/**
 * What a denomination leaving over `client` is on the other chain: the denomination it came
 * from (it goes home: burned here) or the voucher `transfer/<counterpartyClientId>/<denom>` (it
 * is escrowed here), with that voucher's short form under the other chain's profile.
 */
export function across(
  denom: string,
  client: Pick<IbcClient, 'clientId' | 'counterpartyClientId' | 'profile'>,
): { name: string; home: boolean; short: string | null } {
  const prefix = `${HOP}/${client.clientId}/`;
  if (denom.startsWith(prefix)) {
    const name = denom.slice(prefix.length);
    const home = parseTrace(name);
    return {
      name,
      home: true,
      short: home && home.clients.length > 0 ? safeShort(client.profile, name) : null,
    };
  }
  const name = `${HOP}/${client.counterpartyClientId}/${denom}`;
  return { name, home: false, short: safeShort(client.profile, name) };
}

function safeShort(crypto: string, full: string): string | null {
  try {
    return shortDenom(crypto, full);
  } catch {
    return null; // a profile this console does not know
  }
}

/**
 * The (client, denomination) pairs whose escrow to ask for (`escrowOf`): for each client, the
 * own denomination and every voucher that did not come over that client (those go home by
 * burning, so never sit in its escrow). At most `max` pairs.
 */
export function escrowPairs(
  clients: Array<Pick<IbcClient, 'clientId'>>,
  own: string,
  traces: Array<Pick<DenomTrace, 'denom' | 'clients'>>,
  max: number,
): Array<{ client: string; denom: string; own: boolean }> {
  const out: Array<{ client: string; denom: string; own: boolean }> = [];
  for (const c of clients) {
    if (out.length >= max) break;
    out.push({ client: c.clientId, denom: own, own: true });
    for (const t of traces) {
      if (out.length >= max) break;
      if (t.clients[0] !== c.clientId) out.push({ client: c.clientId, denom: t.denom, own: false });
    }
  }
  return out;
}

/** An amount as decimal text, or null when the node's answer is not one. */
export function readAmount(v: unknown): string | null {
  const a = amountOf(v);
  return a === '' ? null : a.replace(/^0+(?=\d)/, '');
}

/** A decimal amount with thousands separators ("1,000,000"); any other text as it is. */
export function amountText(a: string): string {
  return /^[0-9]+$/.test(a) ? a.replace(/\B(?=(\d{3})+(?!\d))/g, ',') : a;
}
