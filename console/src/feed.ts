/**
 * Live block feed of one node: the last blocks fetched over HTTP, then every new block
 * pushed on the WebSocket `blocks` topic. A dropped socket reconnects with backoff and
 * fills the gap over HTTP, so the list never silently skips heights.
 */
import type { HeaderJson, Rpc } from './api.ts';
import { newestHolding } from './lib.ts';

export interface BlockSummary {
  height: number;
  hash: string;
  time: number;
  txCount: number;
  proposer: string;
  /** When this console first saw it (ms); lets the list highlight new arrivals. */
  seenAt: number;
  live: boolean;
}

export type FeedState = 'connecting' | 'live' | 'reconnecting';

export interface FeedSnapshot {
  blocks: BlockSummary[];
  state: FeedState;
  error: string | null;
  /** Set once the first HTTP load finished (empty chain or not). */
  loaded: boolean;
}

const KEEP = 200;
const BACKFILL = 30;

function summary(height: number, hash: string, h: HeaderJson, live: boolean): BlockSummary {
  return {
    height,
    hash,
    time: h.time,
    txCount: h.txCount,
    proposer: h.proposer,
    seenAt: Date.now(),
    live,
  };
}

export class BlockFeed {
  private snap: FeedSnapshot = { blocks: [], state: 'connecting', error: null, loaded: false };
  private readonly listeners = new Set<() => void>();
  private ws: WebSocket | null = null;
  private closed = false;
  private retry = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** The chain endpoints it follows (`Rpc.base`): a feed serves one chain of one node. */
  readonly url: string;

  constructor(private readonly rpc: Rpc) {
    this.url = rpc.base;
    void this.backfill();
    this.connect();
  }

  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  getSnapshot = (): FeedSnapshot => this.snap;

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.ws?.close();
  }

  private set(patch: Partial<FeedSnapshot>): void {
    this.snap = { ...this.snap, ...patch };
    for (const fn of this.listeners) fn();
  }

  private add(list: BlockSummary[]): void {
    const byHeight = new Map(this.snap.blocks.map((b) => [b.height, b]));
    for (const b of list) if (!byHeight.has(b.height)) byHeight.set(b.height, b);
    const blocks = [...byHeight.values()].sort((a, b) => b.height - a.height).slice(0, KEEP);
    this.set({ blocks });
  }

  /** Load the blocks between what we hold and the node's head (at most BACKFILL of them). */
  private async backfill(): Promise<void> {
    try {
      const latest = await this.rpc.block('latest');
      const known = this.snap.blocks[0]?.height ?? -1;
      const from = Math.max(known + 1, latest.height - BACKFILL + 1, 0);
      const heights: number[] = [];
      for (let h = from; h < latest.height; h++) heights.push(h);
      const got = await Promise.all(heights.map((h) => this.rpc.block(h).catch(() => null)));
      const list = [latest, ...got.filter((b) => b !== null)].map((b) =>
        summary(b.height, b.hash, b.header, false),
      );
      if (this.closed) return;
      this.add(list);
      this.set({ loaded: true, error: null });
    } catch (e) {
      if (!this.closed) this.set({ loaded: true, error: (e as Error).message });
    }
  }

  private connect(): void {
    if (this.closed) return;
    const ws = new WebSocket(this.rpc.wsUrl);
    this.ws = ws;
    ws.onopen = () => ws.send(JSON.stringify({ op: 'subscribe', topic: 'blocks' }));
    ws.onmessage = (ev) => {
      let msg: any;
      try {
        msg = JSON.parse(String(ev.data));
      } catch {
        return;
      }
      if (msg?.op === 'subscribed') {
        const wasDown = this.snap.state === 'reconnecting';
        this.retry = 0;
        this.set({ state: 'live', error: null });
        if (wasDown) void this.backfill();
        return;
      }
      if (msg?.op === 'error') {
        this.set({ error: msg.error?.message ?? 'subscription error' });
        return;
      }
      if (msg?.topic !== 'blocks' || typeof msg.data?.height !== 'number') return;
      const d = msg.data;
      const top = this.snap.blocks[0]?.height ?? -1;
      this.add([summary(d.height, d.hash, d.header, true)]);
      if (top >= 0 && d.height > top + 1) void this.backfill();
    };
    ws.onclose = () => {
      if (this.closed) return;
      this.ws = null;
      this.set({ state: 'reconnecting' });
      const delay = Math.min(500 * 2 ** this.retry, 10_000);
      this.retry++;
      this.timer = setTimeout(() => this.connect(), delay);
    };
  }
}

/** Blocks and transactions per bucket over the last `buckets * bucketMs` of chain time. */
export function rateSeries(
  blocks: BlockSummary[],
  now: number,
  buckets = 30,
  bucketMs = 10_000,
): Array<{ t: number; blocks: number; txs: number }> {
  const start = now - buckets * bucketMs;
  const out = Array.from({ length: buckets }, (_, i) => ({
    t: start + (i + 1) * bucketMs,
    blocks: 0,
    txs: 0,
  }));
  for (const b of blocks) {
    if (b.time <= start || b.time > now) continue;
    const i = Math.min(buckets - 1, Math.floor((b.time - start) / bucketMs));
    out[i].blocks++;
    out[i].txs += b.txCount;
  }
  return out;
}

export interface RecentTxsSnapshot<B> {
  /** Blocks that hold txs, newest first: the fewest that hold `want` txs, or all found. */
  blocks: B[];
  /** The heights looked at so far: lowest..top (null before the first look). */
  lowest: number | null;
  top: number | null;
  /** True once the genesis block has been looked at: nothing older exists. */
  complete: boolean;
  scanning: boolean;
  error: string | null;
}

/** What RecentTxs needs of a `GET /v1/blocks?nonEmpty=true` page (docs/RPC.md). */
export interface TxBlocksPage {
  /** Blocks that hold txs, newest first. */
  blocks: Array<{ height: number; txCount: number }>;
  /** The lowest height the node looked at; every block with txs down to it is listed. */
  scannedFrom: number;
  /** Where the next page starts (its `before`), null once genesis was looked at. */
  next: number | null;
}

/** Most blocks a page of GET /v1/blocks holds. */
const PAGE_MAX = 100;

/**
 * The newest transactions of one node. A look back is one request for the blocks that hold
 * txs below a height (`fetchPage`: GET /v1/blocks?nonEmpty=true, which looks at a bounded
 * number of heights and says which), then one request per block it lists, for only as many
 * blocks as hold `want` txs. After the first look it keeps up with the feed: each new block
 * that holds txs is fetched once; heights the feed skipped (a reconnect after a long gap)
 * are asked for as one page.
 */
export class RecentTxs<B extends { height: number; txs: unknown[] }> {
  private snap: RecentTxsSnapshot<B> = {
    blocks: [],
    lowest: null,
    top: null,
    complete: false,
    scanning: false,
    error: null,
  };
  private readonly listeners = new Set<() => void>();
  private readonly asked = new Set<number>();
  private closed = false;

  constructor(
    readonly fetchPage: (before: number, limit: number) => Promise<TxBlocksPage>,
    readonly fetchBlock: (height: number) => Promise<B>,
    readonly want = 50,
  ) {}

  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  getSnapshot = (): RecentTxsSnapshot<B> => this.snap;

  close(): void {
    this.closed = true;
  }

  private set(patch: Partial<RecentTxsSnapshot<B>>): void {
    if (this.closed) return;
    this.snap = { ...this.snap, ...patch };
    for (const fn of this.listeners) fn();
  }

  /** Held blocks, newest first, trimmed to the fewest that hold `want` txs. */
  private merge(more: B[]): B[] {
    const byHeight = new Map(this.snap.blocks.map((b) => [b.height, b]));
    for (const b of more) byHeight.set(b.height, b);
    const all = [...byHeight.values()].sort((a, b) => b.height - a.height);
    let txs = 0;
    const keep: B[] = [];
    for (const b of all) {
      if (txs >= this.want) break;
      keep.push(b);
      txs += b.txs.length;
    }
    return keep;
  }

  /** Fetch a block that holds txs (once) and list it. */
  private fetchLive(height: number): void {
    if (this.asked.has(height)) return;
    this.asked.add(height);
    this.fetchBlock(height).then(
      (got) => this.set({ blocks: this.merge([got]) }),
      () => this.asked.delete(height),
    );
  }

  /** The feed changed (call it with every snapshot once the feed has loaded). */
  onFeed(blocks: BlockSummary[]): void {
    if (this.closed || blocks.length === 0) return;
    const head = blocks[0].height;
    if (this.snap.top === null) {
      this.set({ top: head });
      void this.look(head + 1);
      return;
    }
    const top = this.snap.top;
    if (head <= top) return;
    const fresh = blocks.filter((b) => b.height > top);
    for (const b of fresh) if (b.txCount > 0) this.fetchLive(b.height);
    this.set({ top: head });
    // The feed holds every height above the last top, or the node lists what it lacks.
    if (fresh.length < head - top) {
      this.fetchPage(head + 1, PAGE_MAX).then(
        (page) => {
          for (const b of page.blocks) if (b.height > top) this.fetchLive(b.height);
        },
        () => {},
      );
    }
  }

  /** Look back once more below the last look (when it found fewer than `want` txs). */
  further(): void {
    if (this.snap.scanning || this.snap.complete || this.snap.top === null) return;
    // After a first look that failed at once, start again from the head.
    void this.look(this.snap.lowest === null ? this.snap.top + 1 : this.snap.lowest);
  }

  /** One page of the blocks with txs below `before`, and the blocks of it that are needed. */
  private async look(before: number): Promise<void> {
    if (before <= 0) {
      this.set({ complete: true, lowest: 0 });
      return;
    }
    const held = this.snap.blocks.reduce((s, b) => s + b.txs.length, 0);
    const need = Math.max(1, this.want - held);
    this.set({ scanning: true, error: null });
    try {
      // Every block listed holds a tx, so `need` blocks are always enough.
      const page = await this.fetchPage(before, Math.min(need, PAGE_MAX));
      const take = newestHolding(page.blocks, need);
      const got = await Promise.all(take.map((b) => this.fetchBlock(b.height)));
      // Blocks past the ones needed are not listed: the look ends at the last one taken.
      const cut = take.length < page.blocks.length;
      this.set({
        blocks: this.merge(got),
        lowest: cut ? take[take.length - 1].height : page.scannedFrom,
        complete: !cut && page.next === null,
        scanning: false,
      });
    } catch (e) {
      this.set({ scanning: false, error: (e as Error).message });
    }
  }
}
