/** In-memory node store for tests and simulations; production nodes live in LMDB. */
import { toHex } from './proof.ts';
import type { NodeReader } from './smt.ts';

/** Map-backed NodeReader with writes, keyed by node hash. */
export class MemoryNodeStore implements NodeReader {
  private readonly map = new Map<string, Uint8Array>();

  /** Encoded node for hash, or undefined. */
  getNode(hash: Uint8Array): Uint8Array | undefined {
    return this.map.get(toHex(hash));
  }

  /** Stores one encoded node under its hash. */
  put(hash: Uint8Array, encoded: Uint8Array): void {
    // Copied so a caller reusing its buffer cannot rewrite history behind the tree's back.
    this.map.set(toHex(hash), encoded.slice());
  }

  /** Stores every node of an UpdateResult.newNodes list. */
  putAll(nodes: Iterable<readonly [Uint8Array, Uint8Array]>): void {
    for (const [hash, encoded] of nodes) this.put(hash, encoded);
  }

  /** True when a node with this hash is stored. */
  has(hash: Uint8Array): boolean {
    return this.map.has(toHex(hash));
  }

  /** Removes a node (to simulate pruning or a lost write). */
  delete(hash: Uint8Array): boolean {
    return this.map.delete(toHex(hash));
  }

  /** Number of stored nodes. */
  get size(): number {
    return this.map.size;
  }
}
