/**
 * The gateway's way to the nodes: which nodes host which chain (asked with GET /v1/chains,
 * the gateway organization's nodes first), one SDK client per node and chain, and a call that
 * moves on to the chain's next node when one cannot be reached. Per chain it also keeps one
 * `txs` subscription (reconnecting through the chain's nodes) that answers waits for commits
 * and feeds receipts to the usage book (gas of the gateway's own txs), and re-sends the
 * journal's accepted requests after a restart or an outage (TX_DUPLICATE = it got there).
 */
import http from 'node:http';
import https from 'node:https';
import type { Logger } from 'pino';
import { create, encode, TxBatchSchema } from '../codec/index.ts';
import { ArchiClient } from '../sdk/client.ts';
import { isUnreachable, remoteError, timeoutError, unreachableError } from '../sdk/errors.ts';
import type {
  ChainConfigJson,
  CommittedAnswer,
  SubscribeFilter,
  Topic,
  TopicData,
  TxPush,
} from '../sdk/types.ts';
import { ArchiError } from '../errors/index.ts';
import type { Db } from './db/db.ts';
import type { NetworkNodeEntry } from './network.ts';
import {
  type App,
  type JournalEntry,
  markFailed,
  markForwarded,
  markForwardedMany,
  pendingForwards,
  recordReceiptsByTx,
} from './store.ts';

/** How long a request to a node may take (a waited commit gets its own time on top). */
const NODE_TIMEOUT_MS = 15_000;
/** Least time between two rounds of asking the nodes for their chains. */
const REDISCOVER_MS = 2_000;
/** How long a chain's config is reused before it is fetched again. */
const CONFIG_MAX_AGE_MS = 5_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A node-side refusal (any ArchiError that is not "could not reach it"). */
function isNodeAnswer(e: unknown): e is ArchiError {
  return e instanceof ArchiError && !isUnreachable(e);
}

/** The nodes of one chain and a call that tries them in turn. */
export class ChainNodes {
  private clients: ArchiClient[] = [];
  private good = 0;
  private config?: { atMs: number; value: Promise<ChainConfigJson> };

  constructor(
    readonly chainId: string,
    nodes: NetworkNodeEntry[],
    private readonly refresh: () => Promise<void>,
  ) {
    this.setNodes(nodes);
  }

  /** The node RPC URLs, in the order they are tried. */
  get urls(): string[] {
    return this.clients.map((c) => c.url);
  }

  setNodes(nodes: NetworkNodeEntry[]): void {
    const urls = this.clients.map((c) => c.url).join(' ');
    const next = nodes.map(
      (n) => new ArchiClient(n.rpc, { chainId: this.chainId, timeoutMs: NODE_TIMEOUT_MS }),
    );
    if (next.map((c) => c.url).join(' ') === urls) return;
    this.clients = next;
    this.good = 0;
  }

  /**
   * Runs `fn` on the chain's nodes, starting with the last one that answered, moving on while
   * a node cannot be reached (or no longer hosts the chain); NOT_READY when none answers.
   */
  async call<T>(fn: (c: ArchiClient) => Promise<T>): Promise<T> {
    let last: unknown;
    for (let round = 0; round < 2; round++) {
      const clients = this.clients;
      for (let i = 0; i < clients.length; i++) {
        const idx = (this.good + i) % clients.length;
        try {
          const r = await fn(clients[idx]);
          this.good = idx;
          return r;
        } catch (e) {
          const moved = e instanceof ArchiError && e.code === 'CHAIN_NOT_FOUND';
          if (!isUnreachable(e) && !moved) throw e;
          last = e;
        }
      }
      // Every node known for the chain failed: ask the network again, once.
      if (round === 0) await this.refresh();
    }
    const why = last instanceof Error ? last.message : 'it has no nodes';
    throw unreachableError(`chain ${this.chainId}`, `no node answers (${why})`);
  }

  /** The chain's config, fetched at most every few seconds (`maxAgeMs` 0: now). */
  chainConfig(maxAgeMs = CONFIG_MAX_AGE_MS): Promise<ChainConfigJson> {
    const now = Date.now();
    if (!this.config || now - this.config.atMs > maxAgeMs) {
      const value = this.call((c) => c.config());
      this.config = { atMs: now, value };
      value.catch(() => {
        if (this.config?.value === value) this.config = undefined;
      });
    }
    return this.config.value;
  }
}

/** Which nodes host which chain. */
export class NodePool {
  private readonly chains = new Map<string, ChainNodes>();
  private discovering?: Promise<void>;
  private lastMs = 0;

  constructor(
    private readonly nodes: NetworkNodeEntry[],
    private readonly org: string,
    private readonly log: Logger,
  ) {}

  /** Asks every node for its chains (at most once every 2 s unless `force`). */
  refresh(force = false): Promise<void> {
    if (this.discovering) return this.discovering;
    if (!force && Date.now() - this.lastMs < REDISCOVER_MS) return Promise.resolve();
    this.discovering = this.discover().finally(() => {
      this.lastMs = Date.now();
      this.discovering = undefined;
    });
    return this.discovering;
  }

  private async discover(): Promise<void> {
    // The gateway organization's own nodes are tried first.
    const ordered = [
      ...this.nodes.filter((n) => n.org === this.org),
      ...this.nodes.filter((n) => n.org !== this.org),
    ];
    const answers = await Promise.all(
      ordered.map((n) =>
        new ArchiClient(n.rpc, { timeoutMs: 5_000 }).chains().then(
          (cs) => cs.map((c) => c.id),
          () => undefined,
        ),
      ),
    );
    const byChain = new Map<string, NetworkNodeEntry[]>();
    ordered.forEach((n, i) => {
      const ids = answers[i];
      // A node that does not answer now keeps its place in the chains it served before.
      const hosted =
        ids ??
        [...this.chains.values()].filter((c) => c.urls.includes(urlOf(n))).map((c) => c.chainId);
      for (const id of hosted) byChain.set(id, [...(byChain.get(id) ?? []), n]);
    });
    for (const [id, nodes] of byChain) {
      const known = this.chains.get(id);
      if (known) known.setNodes(nodes);
      else {
        this.chains.set(id, new ChainNodes(id, nodes, () => this.refresh()));
        this.log.info({ chain: id, nodes: nodes.map((n) => n.name) }, 'gateway: chain found');
      }
    }
  }

  /** The chains known now. */
  known(): string[] {
    return [...this.chains.keys()];
  }

  /** The nodes of `chainId`; CHAIN_NOT_FOUND when no node of the network hosts it. */
  async chain(chainId: string): Promise<ChainNodes> {
    let c = this.chains.get(chainId);
    if (!c) {
      await this.refresh();
      c = this.chains.get(chainId);
    }
    if (!c) {
      throw new ArchiError(
        'CHAIN_NOT_FOUND',
        `no node of the network hosts chain ${JSON.stringify(chainId)} (or none answers)`,
      );
    }
    return c;
  }
}

function urlOf(n: NetworkNodeEntry): string {
  return new ArchiClient(n.rpc).url;
}

/**
 * One subscription to a topic of a chain, kept open: when its node closes it or cannot be
 * reached, it is made again on the chain's nodes, waiting longer after each failure (up to
 * 10 s). Pushes missed while it was down are not replayed.
 */
export class NodeFeed<T extends Topic> {
  private unsubscribe?: () => void;
  private closed = false;
  private backoffMs = 250;
  /** True while a node has confirmed the subscription. */
  live = false;
  /** Settles when a node first confirms the subscription (or it is closed). */
  readonly ready: Promise<void>;
  private markReady!: () => void;

  constructor(
    private readonly chain: ChainNodes,
    private readonly topic: T,
    private readonly filter: SubscribeFilter,
    private readonly onData: (data: TopicData[T]) => void,
    private readonly log: Logger,
  ) {
    this.ready = new Promise((r) => {
      this.markReady = r;
    });
    void this.connect();
  }

  private async connect(): Promise<void> {
    while (!this.closed) {
      try {
        const unsub = await this.chain.call((c) =>
          c.subscribe(this.topic, this.filter, this.onData, {
            onClose: () => this.lost('the node closed it'),
            onError: (e) => this.log.warn({ err: e.message }, 'gateway: node feed error'),
            timeoutMs: 5_000,
          }),
        );
        if (this.closed) {
          unsub();
          return;
        }
        this.unsubscribe = unsub;
        this.live = true;
        this.markReady();
        this.backoffMs = 250;
        return;
      } catch (e) {
        this.log.warn(
          { chain: this.chain.chainId, topic: this.topic, err: (e as Error).message },
          'gateway: cannot subscribe on a node; trying again',
        );
        await sleep(this.backoffMs);
        this.backoffMs = Math.min(this.backoffMs * 2, 10_000);
      }
    }
  }

  private lost(why: string): void {
    this.live = false;
    this.unsubscribe = undefined;
    if (this.closed) return;
    this.log.info({ chain: this.chain.chainId, topic: this.topic, why }, 'gateway: feed lost');
    void sleep(this.backoffMs).then(() => this.connect());
  }

  close(): void {
    this.closed = true;
    this.live = false;
    this.markReady();
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }
}

/**
 * Writes gathered for a moment and done in one statement: the database's cost is per
 * statement, not per row. `add` never fails; a failed write is logged (what it would have
 * recorded is then done again: a request left 'accepted' is sent again, TX_DUPLICATE, and
 * marked; a receipt's gas stays uncounted).
 */
class Batch<T> {
  private pending: T[] = [];
  private timer?: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly write: (items: T[]) => Promise<unknown>,
    private readonly what: string,
    private readonly log: Logger,
    private readonly delayMs = 20,
    private readonly max = 500,
  ) {}

  add(item: T): void {
    this.pending.push(item);
    if (this.pending.length >= this.max) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.delayMs);
  }

  /** Writes what was gathered; resolves when it is in the database. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const items = this.pending;
    this.pending = [];
    this.flushing = this.flushing.then(async () => {
      if (items.length === 0) return;
      try {
        await this.write(items);
      } catch (e) {
        this.log.warn(
          { err: (e as Error).message, n: items.length },
          `gateway: cannot ${this.what}`,
        );
      }
    });
    return this.flushing;
  }
}

/**
 * The journal's writes after a send: requests marked forwarded, and receipts' gas counted
 * once per request (from the chain's `txs` feed), each in batches.
 */
export class ReceiptBook {
  private readonly marks: Batch<{ appId: string; reqId: string; txId: string }>;
  private readonly receipts: Batch<{ txId: string; gas: number }>;

  constructor(db: Db, log: Logger) {
    this.marks = new Batch((rows) => markForwardedMany(db, rows), 'mark requests forwarded', log);
    this.receipts = new Batch((rows) => recordReceiptsByTx(db, rows), 'count receipts', log, 100);
  }

  /** The request was sent to a node (or the chain had it already). */
  forwarded(appId: string, reqId: string, txId: string): void {
    this.marks.add({ appId, reqId, txId });
  }

  /** A tx committed with this much gas. */
  add(txId: string, gasUsed: number): void {
    this.receipts.add({ txId, gas: gasUsed });
  }

  async flush(): Promise<void> {
    await this.marks.flush();
    await this.receipts.flush();
  }

  close(): Promise<void> {
    return this.flush();
  }
}

interface Waiter {
  resolve(p: TxPush): void;
}

/** The `txs` subscription of one chain: waits for commits and receipts for usage. */
class TxWatch {
  private readonly waiters = new Map<string, Set<Waiter>>();
  readonly feed: NodeFeed<'txs'>;

  constructor(
    readonly chain: ChainNodes,
    book: ReceiptBook,
    log: Logger,
  ) {
    this.feed = new NodeFeed(
      chain,
      'txs',
      {},
      (p) => {
        book.add(p.txId, p.receipt.gasUsed);
        const ws = this.waiters.get(p.txId);
        if (ws) for (const w of ws) w.resolve(p);
      },
      log,
    );
  }

  /**
   * Waits until `txId` commits; call before the tx is sent, so the push cannot be missed.
   * While the subscription is down the node is asked every half second instead, and once
   * more at the deadline; TIMEOUT then.
   */
  waiter(txId: string, timeoutMs: number): { done: Promise<CommittedAnswer>; cancel(): void } {
    let cancel = () => {};
    const done = new Promise<CommittedAnswer>((resolve, reject) => {
      const set = this.waiters.get(txId) ?? new Set<Waiter>();
      this.waiters.set(txId, set);
      let finished = false;
      const finish = (f: () => void) => {
        if (finished) return;
        finished = true;
        clearTimeout(deadline);
        clearInterval(poll);
        set.delete(w);
        if (set.size === 0) this.waiters.delete(txId);
        f();
      };
      const w: Waiter = {
        resolve: (p) =>
          finish(() => resolve({ txId: p.txId, height: p.height, receipt: p.receipt })),
      };
      set.add(w);
      const ask = async (): Promise<boolean> => {
        try {
          const t = await this.chain.call((c) => c.getTx(txId));
          w.resolve({ txId, height: t.height, receipt: t.receipt });
          return true;
        } catch {
          return false;
        }
      };
      const poll = setInterval(() => {
        if (!this.feed.live) void ask();
      }, 500);
      const deadline = setTimeout(() => {
        void ask().then((found) => {
          if (!found) {
            finish(() =>
              reject(
                new ArchiError('TIMEOUT', `tx ${txId} was not committed within ${timeoutMs} ms`),
              ),
            );
          }
        });
      }, timeoutMs);
      cancel = () => finish(() => reject(new ArchiError('NOT_READY', 'the gateway is stopping')));
    });
    return { done, cancel: () => cancel() };
  }

  /** Checks once whether `txId` is committed already (a duplicate sent earlier). */
  async committed(txId: string): Promise<CommittedAnswer | undefined> {
    try {
      const t = await this.chain.call((c) => c.getTx(txId));
      return { txId, height: t.height, receipt: t.receipt };
    } catch {
      return undefined;
    }
  }

  close(): void {
    this.feed.close();
  }
}

const agents = {
  http: new http.Agent({ keepAlive: true }),
  https: new https.Agent({ keepAlive: true }),
};
/** Most txs in one batch request (the node takes up to 1000). */
const MAX_BATCH = 500;

type BatchResult = { txId?: string; error?: { code?: string; message?: string } };

/**
 * POST /txs/batch of the client's chain on its node (node:http with kept-alive connections:
 * much cheaper per request than fetch). Per tx a txId or an error; a node that cannot be
 * reached is unreachableError, so ChainNodes.call moves on.
 */
function postBatch(c: ArchiClient, txs: Uint8Array[]): Promise<BatchResult[]> {
  const url = new URL(`${c.url}${c.basePath}/txs/batch`);
  const body = encode(TxBatchSchema, create(TxBatchSchema, { txs }));
  const secure = url.protocol === 'https:';
  return new Promise((resolve, reject) => {
    const req = (secure ? https : http).request(
      url,
      {
        method: 'POST',
        agent: secure ? agents.https : agents.http,
        headers: { 'content-type': 'application/octet-stream', 'content-length': body.length },
        timeout: NODE_TIMEOUT_MS,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('error', (e) => reject(unreachableError(c.url, e.message)));
        res.on('end', () => {
          let parsed: any;
          try {
            parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            parsed = undefined;
          }
          const status = res.statusCode ?? 500;
          if (status >= 200 && status < 300 && Array.isArray(parsed?.results)) {
            resolve(parsed.results as BatchResult[]);
            return;
          }
          const err = parsed?.error;
          reject(
            remoteError(
              err?.code ?? (status === 404 ? 'CHAIN_NOT_FOUND' : 'INTERNAL'),
              typeof err?.message === 'string'
                ? err.message
                : `POST ${url.pathname}: HTTP ${status}`,
            ),
          );
        });
      },
    );
    req.on('timeout', () =>
      req.destroy(timeoutError(`no answer from ${url.href} within ${NODE_TIMEOUT_MS} ms`)),
    );
    req.on('error', (e: NodeJS.ErrnoException) =>
      reject(e instanceof ArchiError ? e : unreachableError(c.url, e.code ?? e.message)),
    );
    req.end(body);
  });
}

/**
 * Txs sent to one chain in batches: what arrives in one turn of the event loop goes in one
 * request, so a busy gateway makes one node request per batch rather than per tx, and an
 * idle one adds no delay.
 */
class SubmitQueue {
  private queue: Array<{
    bytes: Uint8Array;
    resolve(txId: string): void;
    reject(e: unknown): void;
  }> = [];
  private scheduled = false;

  constructor(private readonly chain: ChainNodes) {}

  submit(bytes: Uint8Array): Promise<string> {
    return new Promise((resolve, reject) => {
      this.queue.push({ bytes, resolve, reject });
      if (this.queue.length >= MAX_BATCH) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = this.queue.length > MAX_BATCH;
    const batch = this.queue.splice(0, MAX_BATCH);
    if (this.scheduled) setImmediate(() => this.flush());
    if (batch.length === 0) return;
    this.chain
      .call((c) =>
        postBatch(
          c,
          batch.map((b) => b.bytes),
        ),
      )
      .then(
        (results) =>
          batch.forEach((b, i) => {
            const r = results[i];
            if (typeof r?.txId === 'string') b.resolve(r.txId);
            else b.reject(remoteError(r?.error?.code, r?.error?.message ?? 'refused by the node'));
          }),
        (e) => {
          for (const b of batch) b.reject(e);
        },
      );
  }
}

/** The outcome of sending a tx to a chain. */
export interface Sent {
  txId: string;
  /** The chain had it already (TX_DUPLICATE): another copy got there first. */
  duplicate: boolean;
}

/** Sends txs to chains and waits for their commits. */
export class Forwarder {
  readonly book: ReceiptBook;
  private readonly watches = new Map<string, TxWatch>();
  private readonly queues = new Map<string, SubmitQueue>();
  private readonly cancels = new Set<() => void>();
  private closed = false;

  constructor(
    readonly pool: NodePool,
    db: Db,
    private readonly log: Logger,
  ) {
    this.book = new ReceiptBook(db, log);
  }

  chain(chainId: string): Promise<ChainNodes> {
    return this.pool.chain(chainId);
  }

  /** Starts the `txs` subscription of each chain known now (receipts of re-sent txs). */
  async watchAll(): Promise<void> {
    for (const id of this.pool.known()) await this.watch(id);
  }

  private async watch(chainId: string): Promise<TxWatch> {
    let w = this.watches.get(chainId);
    if (!w) {
      const chain = await this.pool.chain(chainId);
      w = this.watches.get(chainId);
      if (!w) {
        w = new TxWatch(chain, this.book, this.log);
        this.watches.set(chainId, w);
        if (this.closed) w.close();
      }
    }
    return w;
  }

  /**
   * Sends encoded tx bytes to the chain (the next node when one cannot be reached); a node's
   * refusal is thrown with its code, except TX_DUPLICATE, which is `duplicate`.
   */
  async submit(chainId: string, bytes: Uint8Array, txId: string): Promise<Sent> {
    const chain = await this.pool.chain(chainId);
    // The chain's txs feed counts the receipt's gas once the tx commits.
    if (!this.watches.has(chainId)) await this.watch(chainId);
    let q = this.queues.get(chainId);
    if (!q) {
      q = new SubmitQueue(chain);
      this.queues.set(chainId, q);
    }
    try {
      return { txId: await q.submit(bytes), duplicate: false };
    } catch (e) {
      if (e instanceof ArchiError && e.code === 'TX_DUPLICATE') return { txId, duplicate: true };
      throw e;
    }
  }

  /** submit, then the commit (TIMEOUT after `timeoutMs`). */
  async submitAndWait(
    chainId: string,
    bytes: Uint8Array,
    txId: string,
    timeoutMs: number,
    onSent?: (s: Sent) => Promise<void>,
  ): Promise<CommittedAnswer> {
    const watch = await this.watch(chainId);
    const w = watch.waiter(txId, timeoutMs);
    this.cancels.add(w.cancel);
    try {
      let sent: Sent;
      try {
        sent = await this.submit(chainId, bytes, txId);
      } catch (e) {
        w.cancel();
        throw e;
      }
      await onSent?.(sent);
      if (sent.duplicate) {
        const c = await watch.committed(txId);
        if (c) {
          w.cancel();
          return c;
        }
      }
      return await w.done;
    } finally {
      this.cancels.delete(w.cancel);
      w.done.catch(() => {});
    }
  }

  close(): Promise<void> {
    this.closed = true;
    for (const c of this.cancels) c();
    for (const w of this.watches.values()) w.close();
    return this.book.close();
  }
}

/**
 * Sends again what the journal holds as accepted (created before `beforeMs`): after a crash,
 * or a request none of whose chain's nodes could be reached. A node that has the tx already
 * (TX_DUPLICATE) means it got there: forwarded. A node's refusal marks it failed; a chain
 * still out of reach leaves it for the next round. Returns how many were settled.
 */
export async function reforwardPending(
  db: Db,
  fwd: Forwarder,
  appOf: (appId: string) => Promise<App | undefined>,
  log: Logger,
  beforeMs: number,
): Promise<number> {
  let settled = 0;
  const rows = await pendingForwards(db, { limit: 500, beforeMs });
  for (const r of rows) {
    try {
      if (await resend(db, fwd, appOf, r)) settled++;
    } catch (e) {
      log.warn(
        { app: r.appId, reqId: r.reqId, err: (e as Error).message },
        'gateway: re-forward failed',
      );
    }
  }
  if (rows.length > 0) {
    log.info({ pending: rows.length, settled }, 'gateway: re-forwarded accepted requests');
  }
  return settled;
}

async function resend(
  db: Db,
  fwd: Forwarder,
  appOf: (appId: string) => Promise<App | undefined>,
  r: JournalEntry,
): Promise<boolean> {
  const app = await appOf(r.appId);
  if (!r.payload || !r.txId || !app) {
    // A deploy whose tx was never built (the gateway stopped before), or a vanished app.
    return markFailed(db, r.appId, r.reqId, {
      code: 'NOT_READY',
      message: 'the gateway stopped before this request was sent; nothing was forwarded',
    });
  }
  try {
    const sent = await fwd.submit(app.chainId, r.payload, r.txId);
    return markForwarded(db, r.appId, r.reqId, { txId: sent.txId });
  } catch (e) {
    // A refusal (4xx) is final; an outage, a full mempool or a timeout is tried again later.
    if (isNodeAnswer(e) && e.httpStatus < 500) {
      return markFailed(db, r.appId, r.reqId, e.toJSON());
    }
    throw e;
  }
}
