/**
 * Live block feed of one node: the last blocks fetched over HTTP, then every new block
 * pushed on the WebSocket `blocks` topic. A dropped socket reconnects with backoff and
 * fills the gap over HTTP, so the list never silently skips heights.
 */
import type { HeaderJson } from './api.ts';
import { Rpc } from './api.ts';

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
  private readonly rpc: Rpc;

  constructor(readonly url: string) {
    this.rpc = new Rpc(url);
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
