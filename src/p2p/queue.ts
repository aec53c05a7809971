/**
 * Per-peer send queue: one bounded FIFO per channel, drained in strict channel priority
 * so consensus traffic never waits behind transaction gossip.
 */
import { CHANNEL_PRIORITY, type Channel } from './frame.ts';

/** Caps of one channel's queue. */
export interface ChannelLimit {
  /** Payload bytes held; a single message larger than this is still taken into an empty queue. */
  maxBytes: number;
  /** Messages held. */
  maxCount: number;
}

/** Size of a queue, per channel and in total. */
export interface QueueStats {
  bytes: number;
  count: number;
  channels: Record<Channel, { bytes: number; count: number }>;
}

/** A queued payload and the chain it belongs to ('' for the receiver's first chain). */
interface Item {
  payload: Uint8Array;
  chain: string;
}

class Fifo {
  items: Item[] = [];
  head = 0;
  bytes = 0;

  get count(): number {
    return this.items.length - this.head;
  }

  push(item: Item): void {
    this.items.push(item);
    this.bytes += item.payload.length;
  }

  shift(): Item | undefined {
    if (this.head >= this.items.length) return undefined;
    const b = this.items[this.head];
    this.items[this.head++] = EMPTY;
    this.bytes -= b.payload.length;
    // Compact now and then so a long-lived queue does not keep a growing dead prefix.
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return b;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
    this.bytes = 0;
  }
}

const EMPTY: Item = { payload: new Uint8Array(0), chain: '' };

/** Bounded multi-channel priority queue of payloads waiting for the socket. */
export class SendQueue {
  private readonly fifos = new Map<Channel, Fifo>();

  constructor(private readonly limits: Record<Channel, ChannelLimit>) {
    for (const c of CHANNEL_PRIORITY) this.fifos.set(c, new Fifo());
  }

  /** Appends a payload; false (and nothing queued) when the channel's caps would be exceeded. */
  push(channel: Channel, payload: Uint8Array, chain = ''): boolean {
    const f = this.fifos.get(channel);
    if (!f) return false;
    const lim = this.limits[channel];
    if (f.count >= lim.maxCount) return false;
    // An empty queue takes one message of any size so a cap below the largest message
    // (a full block) cannot block that message forever; the bound becomes max(cap, size).
    if (f.count > 0 && f.bytes + payload.length > lim.maxBytes) return false;
    f.push({ payload, chain });
    return true;
  }

  /** Removes and returns the oldest message of the highest-priority non-empty channel. */
  shift(): { channel: Channel; payload: Uint8Array; chain: string } | undefined {
    for (const channel of CHANNEL_PRIORITY) {
      const item = this.fifos.get(channel)!.shift();
      if (item !== undefined) return { channel, payload: item.payload, chain: item.chain };
    }
    return undefined;
  }

  /** True when nothing is queued. */
  get empty(): boolean {
    for (const f of this.fifos.values()) if (f.count > 0) return false;
    return true;
  }

  /** Drops everything queued. */
  clear(): void {
    for (const f of this.fifos.values()) f.clear();
  }

  /** Current sizes. */
  stats(): QueueStats {
    let bytes = 0;
    let count = 0;
    const channels = {} as QueueStats['channels'];
    for (const [c, f] of this.fifos) {
      channels[c] = { bytes: f.bytes, count: f.count };
      bytes += f.bytes;
      count += f.count;
    }
    return { bytes, count, channels };
  }
}
