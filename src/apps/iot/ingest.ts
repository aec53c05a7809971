/**
 * The ingest service: readings arrive over MQTT, each is checked (JSON shape, signature by
 * the device's registered key, device active, not seen before) and stored, and batches of
 * them are anchored on chain as Merkle roots, one tx per batch. A bad message is counted
 * under its reason and dropped; nothing a device sends stops the service.
 *
 * Device records come from the chain and are cached for `deviceTtlMs` (default 1 s): a
 * device disabled (or registered) on chain is seen by ingest at most that long after the
 * commit. An unknown device is asked for again after the same delay.
 *
 * Signatures are checked on worker threads, in batches: one check costs more than everything
 * else ingest does for a reading, so on the main thread it would cap ingest at one core, and
 * handing each check to libuv's pool costs the main thread a quarter of the check itself.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { type AsyncVerifier, batchVerifier } from '../../crypto/async-verify.ts';
import type { CryptoProfile } from '../../crypto/profile.ts';
import { unhex } from '../../types/hex.ts';
import { LatencyWindow, type Percentiles } from './latency-window.ts';
import { merkleRoot } from './merkle.ts';
import { parseReading, type RefusalReason, type SignedReading, signedBytes } from './reading.ts';
import { type AnchorRecord, type DeviceRecord, MAX_BATCH } from './rules.ts';
import type { ReadingStore, StoredBatch } from './store.ts';

/** Where ingest reads device records (the contract's `device` query). */
export interface DeviceSource {
  device(id: string): Promise<DeviceRecord | null>;
}

/** What anchors a batch root on chain (the contract's `anchor` tx, waited for). */
export type Anchorer = (root: string, count: number) => Promise<AnchorRecord>;

export interface IngestOptions {
  profile: CryptoProfile;
  store: ReadingStore;
  devices: DeviceSource;
  anchor: Anchorer;
  /**
   * Readings per batch (default 1000): a batch closes at this many, or `everyMs` after its
   * first reading, once fewer than `maxInFlight` batches are being stored or anchored. Until
   * then it keeps growing (up to the contract's MAX_BATCH), so when the chain is slow ingest
   * sends fewer, larger anchors instead of queueing more of them than it can get committed.
   */
  batch?: number;
  /** Longest a reading waits for its batch to close while an anchor slot is free (default 500). */
  everyMs?: number;
  /** How long a device record is trusted before it is asked for again (default 1000 ms). */
  deviceTtlMs?: number;
  /** Anchor txs in flight at once (default 4). */
  maxInFlight?: number;
  /** Where refusals and anchor failures are told (default: nowhere). */
  log?: (line: string) => void;
  /** Worker threads that check signatures when no `verifier` is given (default 1). */
  verifyThreads?: number;
  /** Checks device signatures (default: a pool of `verifyThreads`, closed by `stop`). */
  verifier?: AsyncVerifier;
}

/** Counters of the service, as printed and as `--json` gives them. */
export interface IngestStatus {
  received: number;
  accepted: number;
  refused: Record<RefusalReason, number>;
  anchoredReadings: number;
  anchoredBatches: number;
  pending: number;
  inFlight: number;
  anchorErrors: number;
  /** Reading-to-anchor latency (arrival to commit seen), ms, over the latest 100,000 readings. */
  latencyMs: Percentiles | null;
  lastAnchor: AnchorRecord | null;
}

const REASONS: RefusalReason[] = [
  'malformed',
  'unsigned',
  'bad_signature',
  'unknown_device',
  'disabled_device',
  'duplicate',
];
const LATENCY_SAMPLES = 100_000;

interface Item {
  r: SignedReading;
  at: number;
}

export class IngestService {
  private readonly o: Required<Omit<IngestOptions, 'log' | 'verifier' | 'verifyThreads'>> &
    Pick<IngestOptions, 'log'>;
  private readonly verifier: AsyncVerifier;
  private readonly ownVerifier: boolean;
  /** Readings waiting for their device's record or for their signature check. */
  private checking = 0;
  private readonly cache = new Map<string, { rec: DeviceRecord | null; at: number }>();
  private readonly fetching = new Map<string, Promise<DeviceRecord | null>>();
  /** Ids accepted but maybe not yet in the store, so a quick replay is still a duplicate. */
  private readonly seen = new Set<string>();
  private pending: Item[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** The pending batch has waited `everyMs`: it closes as soon as a slot is free. */
  private due = false;
  /** Batches being written to the store, not yet queued. */
  private storing = 0;
  private readonly queue: Array<{ batch: StoredBatch; items: Item[] }> = [];
  private readonly work = new Set<Promise<void>>();
  private inFlight = 0;
  private stopped = false;
  private readonly latencies = new LatencyWindow(LATENCY_SAMPLES);
  private readonly s: Omit<IngestStatus, 'pending' | 'inFlight' | 'latencyMs'>;

  constructor(options: IngestOptions) {
    this.o = { batch: 1000, everyMs: 500, deviceTtlMs: 1000, maxInFlight: 4, ...options };
    this.ownVerifier = options.verifier === undefined;
    this.verifier = options.verifier ?? batchVerifier(options.profile, options.verifyThreads ?? 1);
    this.s = {
      received: 0,
      accepted: 0,
      refused: Object.fromEntries(REASONS.map((r) => [r, 0])) as Record<RefusalReason, number>,
      anchoredReadings: 0,
      anchoredBatches: 0,
      anchorErrors: 0,
      lastAnchor: null,
    };
    // Batches an earlier run stored but did not see anchored are anchored now.
    for (const b of this.o.store.unanchored()) this.enqueue(b, []);
  }

  /** Resolves once the signature threads have started: call before readings arrive. */
  ready(): Promise<void> {
    return this.verifier.ready();
  }

  /** The counters now. */
  status(): IngestStatus {
    return {
      ...this.s,
      refused: { ...this.s.refused },
      pending:
        this.checking +
        this.pending.length +
        this.queue.reduce((n, q) => n + q.batch.ids.length, 0),
      inFlight: this.inFlight,
      latencyMs: this.latencies.percentiles(),
    };
  }

  /** Take one published message; never throws (a bad one is counted and dropped). */
  handle(payload: string | Uint8Array, receivedAt = Date.now()): void {
    this.s.received++;
    if (this.stopped) return;
    const p = parseReading(payload);
    if (!p.ok) {
      this.refuse(p.reason, p.detail);
      return;
    }
    const r = p.reading;
    const cached = this.cachedDevice(r.device);
    if (cached !== undefined) {
      this.check(r, cached, receivedAt);
      return;
    }
    this.checking++;
    this.deviceFromChain(r.device)
      .then(
        (rec) => this.check(r, rec, receivedAt),
        (e) => this.refuse('unknown_device', `${r.device}: ${(e as Error).message}`),
      )
      .finally(() => this.checking--);
  }

  private refuse(reason: RefusalReason, detail: string): void {
    this.s.refused[reason]++;
    this.o.log?.(`refused (${reason}): ${detail}`);
  }

  private check(r: SignedReading, dev: DeviceRecord | null, at: number): void {
    if (dev === null) {
      this.refuse('unknown_device', `no device ${r.device} on chain`);
      return;
    }
    if (dev.status !== 'active') {
      this.refuse('disabled_device', `${dev.name} (${dev.id}) is disabled`);
      return;
    }
    const bytes = signedBytes(this.o.profile, r);
    const notSigned = () =>
      this.refuse('bad_signature', `reading ${r.id} is not signed by ${dev.name} (${dev.id})`);
    if (bytes === null) {
      notSigned();
      return;
    }
    // A replay of a stored reading costs no signature check.
    if (this.isDuplicate(r.id)) return;
    let sig: Uint8Array;
    let key: Uint8Array;
    try {
      sig = unhex(r.sig);
      key = unhex(dev.publicKey);
    } catch {
      notSigned();
      return;
    }
    this.checking++;
    void this.verifier.verify(key, bytes, sig).then((ok) => {
      this.checking--;
      if (!ok) notSigned();
      // Checked again: the same reading may have been in flight twice.
      else if (!this.isDuplicate(r.id)) this.accept(r, at);
    });
  }

  /** Whether reading `id` was accepted before (counted as a refusal when it was). */
  private isDuplicate(id: string): boolean {
    if (!this.seen.has(id) && !this.o.store.has(id)) return false;
    this.refuse('duplicate', `reading ${id} was received before`);
    return true;
  }

  private accept(r: SignedReading, at: number): void {
    if (this.stopped) return;
    this.seen.add(r.id);
    this.s.accepted++;
    this.pending.push({ r, at });
    if (this.pending.length >= this.o.batch) this.close();
    else if (this.timer === undefined && !this.due) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.due = true;
        this.close();
      }, this.o.everyMs);
    }
  }

  /** Close the pending batch now unless every anchor slot is taken (see `batch`). */
  private close(): void {
    const busy = this.storing + this.queue.length + this.inFlight >= this.o.maxInFlight;
    if (this.pending.length > 0 && (!busy || this.pending.length >= MAX_BATCH)) this.flush();
  }

  private cachedDevice(id: string): DeviceRecord | null | undefined {
    const c = this.cache.get(id);
    return c && Date.now() - c.at < this.o.deviceTtlMs ? c.rec : undefined;
  }

  /** The device as the chain has it now (one query per device at a time). */
  private deviceFromChain(id: string): Promise<DeviceRecord | null> {
    let p = this.fetching.get(id);
    if (!p) {
      p = this.o.devices
        .device(id)
        .then(
          (rec) => {
            this.cache.set(id, { rec, at: Date.now() });
            return rec;
          },
          (e) => {
            // The chain is out of reach: a record seen before is better than refusing.
            const old = this.cache.get(id);
            if (old) return old.rec;
            throw e;
          },
        )
        .finally(() => this.fetching.delete(id));
      this.fetching.set(id, p);
    }
    return p;
  }

  /** Close the pending readings into batches now: store each, then anchor it. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.due = false;
    while (this.pending.length > 0) {
      const items = this.pending.splice(0, MAX_BATCH);
      const root = merkleRoot(
        this.o.profile,
        items.map((i) => i.r.id),
      );
      this.storing++;
      this.track(
        this.o.store
          .addBatch(items, root)
          .then(
            (batch) => {
              for (const i of items) this.seen.delete(i.r.id);
              this.enqueue(batch, items);
            },
            (e) => this.o.log?.(`batch of ${items.length} not stored: ${(e as Error).message}`),
          )
          .finally(() => this.storing--),
      );
    }
  }

  private track(p: Promise<void>): void {
    this.work.add(p);
    void p.finally(() => this.work.delete(p));
  }

  private enqueue(batch: StoredBatch, items: Item[]): void {
    this.queue.push({ batch, items });
    this.pump();
  }

  private pump(): void {
    while (this.inFlight < this.o.maxInFlight && this.queue.length > 0) {
      const next = this.queue.shift()!;
      this.inFlight++;
      this.track(
        this.anchorOne(next.batch, next.items).finally(() => {
          this.inFlight--;
          this.pump();
          if (this.due || this.pending.length >= this.o.batch) this.close();
        }),
      );
    }
  }

  /** Anchor one batch, retrying each second until it commits (or the service stops). */
  private async anchorOne(batch: StoredBatch, items: Item[]): Promise<void> {
    for (;;) {
      try {
        const rec = await this.o.anchor(batch.root, batch.ids.length);
        const now = Date.now();
        await this.o.store.setAnchor(batch.n, rec);
        this.s.anchoredBatches++;
        this.s.anchoredReadings += batch.ids.length;
        this.s.lastAnchor = rec;
        for (const i of items) this.latencies.add(now - i.at);
        return;
      } catch (e) {
        this.s.anchorErrors++;
        this.o.log?.(`anchor of batch ${batch.n} failed (will retry): ${(e as Error).message}`);
        if (this.stopped) return;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  /** Flush what is pending and wait for every anchor in flight (at most `waitMs`). */
  async drain(waitMs = 30_000): Promise<void> {
    const deadline = Date.now() + waitMs;
    while (this.checking > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    this.flush();
    while ((this.work.size > 0 || this.queue.length > 0) && Date.now() < deadline) {
      await Promise.race([...this.work, new Promise((r) => setTimeout(r, 100))]);
    }
  }

  /** Stop taking readings, anchor what was accepted (within `waitMs`). */
  async stop(waitMs = 30_000): Promise<void> {
    await this.drain(waitMs);
    this.stopped = true;
    if (this.ownVerifier) await this.verifier.close();
  }
}

/** Subscribe `service` to `topic` on an MQTT broker (mqtt.js); resolves once subscribed. */
export async function subscribeMqtt(
  service: IngestService,
  brokerUrl: string,
  topic: string,
): Promise<MqttClient> {
  const client = await mqtt.connectAsync(brokerUrl, {
    clientId: `archi-iot-ingest-${process.pid}-${Date.now().toString(36)}`,
    reconnectPeriod: 1000,
  });
  client.on('message', (_topic, payload) => service.handle(payload));
  await client.subscribeAsync(topic, { qos: 1 });
  return client;
}

/** One line of counters for the console. */
export function formatStatus(s: IngestStatus): string {
  const refused = Object.values(s.refused).reduce((a, b) => a + b, 0);
  const reasons = Object.entries(s.refused)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  const lat = s.latencyMs
    ? `, reading-to-anchor p50 ${s.latencyMs.p50} ms p99 ${s.latencyMs.p99} ms`
    : '';
  return `ingest: received ${s.received}, accepted ${s.accepted}, refused ${refused}${reasons ? ` (${reasons})` : ''}, anchored ${s.anchoredReadings} in ${s.anchoredBatches} batches, pending ${s.pending}${lat}`;
}
