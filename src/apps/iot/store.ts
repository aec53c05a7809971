/**
 * The ingest service's own store (LMDB under the network directory, DIR/iot/<chain>): every
 * accepted reading by id, with the local batch it went into, and every batch with its
 * reading ids and, once anchored, its chain record. `archi iot prove` reads it (LMDB lets
 * another process read while ingest writes).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Database, open, type RootDatabase } from 'lmdb';
import type { SignedReading } from './reading.ts';
import type { AnchorRecord } from './rules.ts';

/** A stored reading: the message, when it arrived (ms), and its local batch. */
export interface StoredReading {
  r: SignedReading;
  at: number;
  batch: number;
}

/** A local batch: its reading ids in tree order, its root, and the anchor once committed. */
export interface StoredBatch {
  n: number;
  ids: string[];
  root: string;
  createdAt: number;
  anchor: AnchorRecord | null;
}

/** The directory of the store of chain `chainId` in network directory `dir`. */
export function storePath(dir: string, chainId: string): string {
  return join(dir, 'iot', chainId);
}

export class ReadingStore {
  private readonly root: RootDatabase;
  private readonly readings: Database<StoredReading, string>;
  private readonly batches: Database<StoredBatch, number>;

  private constructor(path: string) {
    mkdirSync(path, { recursive: true });
    this.root = open({ path, maxDbs: 4, mapSize: 16 * 1024 ** 3 });
    this.readings = this.root.openDB<StoredReading, string>({ name: 'readings' });
    this.batches = this.root.openDB<StoredBatch, number>({ name: 'batches' });
  }

  /** Open (or create) the store at `path`. */
  static open(path: string): ReadingStore {
    return new ReadingStore(path);
  }

  /** Whether a reading with this id is stored. */
  has(id: string): boolean {
    return this.readings.doesExist(id);
  }

  reading(id: string): StoredReading | undefined {
    return this.readings.get(id);
  }

  batch(n: number): StoredBatch | undefined {
    return this.batches.get(n);
  }

  /**
   * Store a new batch of readings (ids in tree order); resolves once written. Its number is
   * taken inside the write transaction, so two ingest services on one store never share one.
   */
  async addBatch(
    items: Array<{ r: SignedReading; at: number }>,
    root: string,
  ): Promise<StoredBatch> {
    const ids = items.map((i) => i.r.id);
    return this.root.transaction(() => {
      const last = [...this.batches.getKeys({ reverse: true, limit: 1 })][0];
      const b: StoredBatch = {
        n: last === undefined ? 0 : Number(last) + 1,
        ids,
        root,
        createdAt: Date.now(),
        anchor: null,
      };
      for (const i of items) this.readings.put(i.r.id, { r: i.r, at: i.at, batch: b.n });
      this.batches.put(b.n, b);
      return b;
    });
  }

  /** Record the chain's anchor of batch `n`. */
  async setAnchor(n: number, anchor: AnchorRecord): Promise<void> {
    const b = this.batches.get(n);
    if (!b) throw new Error(`no local batch ${n}`);
    await this.batches.put(n, { ...b, anchor });
  }

  /** Batches stored but not anchored (an earlier run stopped before their commit). */
  unanchored(): StoredBatch[] {
    const out: StoredBatch[] = [];
    for (const { value } of this.batches.getRange()) if (value.anchor === null) out.push(value);
    return out;
  }

  /** How many readings and batches are stored. */
  counts(): { readings: number; batches: number } {
    return { readings: this.readings.getCount(), batches: this.batches.getCount() };
  }

  async close(): Promise<void> {
    await this.root.close();
  }
}
