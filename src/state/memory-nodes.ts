/** In-memory node store for tests and simulations; production nodes live in LMDB. */
import type { NodeReader } from './smt.ts';

// Nodes are packed into large slabs rather than kept as one Uint8Array each: with millions of
// nodes, per-node ArrayBuffers made garbage collection dominate benchmark time.
const SLAB_BYTES = 1 << 20;

function keyOf(hash: Uint8Array): string {
  // A 32-char one-byte string is the cheapest Map key V8 offers for a 32-byte hash.
  return String.fromCharCode.apply(null, hash as unknown as number[]);
}

/** Map-backed NodeReader with writes, keyed by node hash. */
export class MemoryNodeStore implements NodeReader {
  private readonly index = new Map<string, number>();
  private readonly slabs: Uint8Array[] = [];
  private used = SLAB_BYTES;

  /** Encoded node for hash, or undefined; a view the store never overwrites. */
  getNode(hash: Uint8Array): Uint8Array | undefined {
    const at = this.index.get(keyOf(hash));
    if (at === undefined) return undefined;
    const slab = this.slabs[Math.floor(at / SLAB_BYTES)];
    const off = at % SLAB_BYTES;
    return slab.subarray(off + 2, off + 2 + (slab[off] << 8) + slab[off + 1]);
  }

  /** Stores a copy of one encoded node under its hash (no-op if already present). */
  put(hash: Uint8Array, encoded: Uint8Array): void {
    const key = keyOf(hash);
    // Content-addressed: an existing entry already holds these bytes.
    if (this.index.has(key)) return;
    const need = encoded.length + 2;
    if (need > SLAB_BYTES || encoded.length > 0xffff) throw new Error('node too large');
    if (this.used + need > SLAB_BYTES) {
      this.slabs.push(new Uint8Array(SLAB_BYTES));
      this.used = 0;
    }
    const slab = this.slabs[this.slabs.length - 1];
    slab[this.used] = encoded.length >> 8;
    slab[this.used + 1] = encoded.length & 0xff;
    slab.set(encoded, this.used + 2);
    this.index.set(key, (this.slabs.length - 1) * SLAB_BYTES + this.used);
    this.used += need;
  }

  /** Stores every node of an UpdateResult.newNodes list. */
  putAll(nodes: Iterable<readonly [Uint8Array, Uint8Array]>): void {
    for (const [hash, encoded] of nodes) this.put(hash, encoded);
  }

  /** True when a node with this hash is stored. */
  has(hash: Uint8Array): boolean {
    return this.index.has(keyOf(hash));
  }

  /** Forgets a node (to simulate pruning or a lost write); its slab space is not reused. */
  delete(hash: Uint8Array): boolean {
    return this.index.delete(keyOf(hash));
  }

  /** Number of stored nodes. */
  get size(): number {
    return this.index.size;
  }
}
