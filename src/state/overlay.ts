/**
 * Pending writes of one block over the committed state, with a nested layer per tx so a
 * failed tx is dropped whole. Keys are the full state keys (`contract/key`).
 */
export interface StateReader {
  get(key: string): Uint8Array | undefined;
  /** Committed keys starting with prefix, in key order. */
  range(prefix: string, limit: number): Array<[string, Uint8Array]>;
}

export class StateOverlay implements StateReader {
  private readonly block = new Map<string, Uint8Array | null>();
  private tx = new Map<string, Uint8Array | null>();

  constructor(private readonly base: StateReader) {}

  get(key: string): Uint8Array | undefined {
    const t = this.tx.get(key);
    if (t !== undefined) return t ?? undefined;
    const b = this.block.get(key);
    if (b !== undefined) return b ?? undefined;
    return this.base.get(key);
  }

  set(key: string, value: Uint8Array): void {
    this.tx.set(key, value);
  }

  delete(key: string): void {
    this.tx.set(key, null);
  }

  /** Merged view of base and pending writes under prefix, in key order. */
  range(prefix: string, limit: number): Array<[string, Uint8Array]> {
    const merged = new Map<string, Uint8Array | null>();
    // Over-read the base by the number of pending deletes so the limit still holds after them.
    for (const [k, v] of this.base.range(prefix, limit + this.block.size + this.tx.size))
      merged.set(k, v);
    for (const layer of [this.block, this.tx]) {
      for (const [k, v] of layer) if (k.startsWith(prefix)) merged.set(k, v);
    }
    const out: Array<[string, Uint8Array]> = [];
    for (const k of [...merged.keys()].sort()) {
      const v = merged.get(k);
      if (v) out.push([k, v]);
      if (out.length >= limit) break;
    }
    return out;
  }

  /** Keep the current tx's writes. */
  commitTx(): void {
    for (const [k, v] of this.tx) this.block.set(k, v);
    this.tx = new Map();
  }

  /** Drop the current tx's writes. */
  rollbackTx(): void {
    this.tx = new Map();
  }

  /** The block's writes sorted by key (null = delete), for a deterministic tree update. */
  changes(): Array<[string, Uint8Array | null]> {
    return [...this.block.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }
}

/** Full state key of a contract's key. Contract names never contain '/'. */
export function stateKey(contract: string, key: string): string {
  return `${contract}/${key}`;
}
