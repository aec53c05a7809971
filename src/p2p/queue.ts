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

class Fifo {
  items: Uint8Array[] = [];
  head = 0;
  bytes = 0;

  get count(): number {
    return this.items.length - this.head;
  }

  push(b: Uint8Array): void {
    this.items.push(b);
    this.bytes += b.length;
  }

  shift(): Uint8Array | undefined {
    if (this.head >= this.items.length) return undefined;
    const b = this.items[this.head];
    this.items[this.head++] = EMPTY;
    this.bytes -= b.length;
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

const EMPTY = new Uint8Array(0);

/** Bounded multi-channel priority queue of payloads waiting for the socket. */
export class SendQueue {
  private readonly fifos = new Map<Channel, Fifo>();

  constructor(private readonly limits: Record<Channel, ChannelLimit>) {
    for (const c of CHANNEL_PRIORITY) this.fifos.set(c, new Fifo());
  }

  /** Appends a payload; false (and nothing queued) when the channel's caps would be exceeded. */
  push(channel: Channel, payload: Uint8Array): boolean {
    const f = this.fifos.get(channel);
    if (!f) return false;
    const lim = this.limits[channel];
    if (f.count >= lim.maxCount) return false;
    // An empty queue takes one message of any size so a cap below the largest message
    // (a full block) cannot block that message forever; the bound becomes max(cap, size).
    if (f.count > 0 && f.bytes + payload.length > lim.maxBytes) return false;
    f.push(payload);
    return true;
  }

  /** Removes and returns the oldest message of the highest-priority non-empty channel. */
  shift(): { channel: Channel; payload: Uint8Array } | undefined {
    for (const channel of CHANNEL_PRIORITY) {
      const payload = this.fifos.get(channel)!.shift();
      if (payload !== undefined) return { channel, payload };
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
