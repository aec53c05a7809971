/**
 * Pending writes of one block over the committed state, with a nested layer per tx so a
 * failed tx is dropped whole, and savepoints inside a tx so a part of it (an IBC receive
 * hook) can be dropped while the rest stays. Keys are the full state keys (`contract/key`).
 */
import { ArchiError } from '../errors/index.ts';

export interface StateReader {
  get(key: string): Uint8Array | undefined;
  /** Committed keys starting with prefix, in key order. */
  range(prefix: string, limit: number): Array<[string, Uint8Array]>;
  /**
   * A read that is not part of the running tx's accesses: only for reads whose result cannot
   * change what the tx does (a code cache, a prefetch hint the host checks later). Readers that
   * track no accesses need not have it.
   */
  peek?(key: string): Uint8Array | undefined;
}

/**
 * What one tx touched, in first-touch order: the keys it read (also in parts it rolled back,
 * since what it read decided its receipt), the prefixes it listed, and the keys it kept writes
 * of (none when it failed). The block's tx dependency graph is made from these.
 */
export interface TxAccess {
  reads: string[];
  ranges: string[];
  writes: string[];
}

/** A read of `key` that stays out of the tx's accesses when the reader tracks them. */
export function peekState(state: StateReader, key: string): Uint8Array | undefined {
  return state.peek ? state.peek(key) : state.get(key);
}

export class StateOverlay implements StateReader {
  private readonly block = new Map<string, Uint8Array | null>();
  private tx = new Map<string, Uint8Array | null>();
  /**
   * One undo journal per open savepoint, innermost last: the tx layer's entry of each key
   * before its first write since the savepoint (undefined: the layer had no entry).
   */
  private readonly savepoints: Array<Map<string, Uint8Array | null | undefined>> = [];
  /**
   * While a mark is set: the block layer's entry of each key before its first change since the
   * mark (undefined: the layer had no entry).
   */
  private marked: Map<string, Uint8Array | null | undefined> | undefined;
  /** The current tx's accesses (see TxAccess); writes are known when it ends. */
  private reads = new Set<string>();
  private ranges = new Set<string>();
  private kept: string[] = [];

  constructor(private readonly base: StateReader) {}

  get(key: string): Uint8Array | undefined {
    this.reads.add(key);
    return this.peek(key);
  }

  peek(key: string): Uint8Array | undefined {
    const t = this.tx.get(key);
    if (t !== undefined) return t ?? undefined;
    const b = this.block.get(key);
    if (b !== undefined) return b ?? undefined;
    return this.base.get(key);
  }

  set(key: string, value: Uint8Array): void {
    this.write(key, value);
  }

  delete(key: string): void {
    this.write(key, null);
  }

  private write(key: string, value: Uint8Array | null): void {
    // Only the innermost journal records: releasing it hands its entries to the one below.
    const top = this.savepoints.at(-1);
    if (top && !top.has(key)) top.set(key, this.tx.get(key));
    this.tx.set(key, value);
  }

  /** Open a savepoint inside the current tx (they nest). */
  savepoint(): void {
    this.savepoints.push(new Map());
  }

  /** Close the innermost savepoint keeping its writes (they now belong to the enclosing one). */
  releaseSavepoint(): void {
    const top = this.innermost();
    const parent = this.savepoints.at(-1);
    if (!parent) return;
    for (const [k, v] of top) if (!parent.has(k)) parent.set(k, v);
  }

  /** Close the innermost savepoint dropping every write made since it was opened. */
  rollbackSavepoint(): void {
    for (const [k, prev] of this.innermost()) {
      if (prev === undefined) this.tx.delete(k);
      else this.tx.set(k, prev);
    }
  }

  /** Savepoints open in the current tx. */
  get savepointDepth(): number {
    return this.savepoints.length;
  }

  private innermost(): Map<string, Uint8Array | null | undefined> {
    const top = this.savepoints.pop();
    if (!top) throw new ArchiError('INTERNAL', 'no savepoint is open');
    return top;
  }

  /** Merged view of base and pending writes under prefix, in key order. */
  range(prefix: string, limit: number): Array<[string, Uint8Array]> {
    this.ranges.add(prefix);
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
    if (this.savepoints.length > 0) {
      throw new ArchiError('INTERNAL', 'a tx cannot be kept while a savepoint is open');
    }
    const marked = this.marked;
    this.kept = [...this.tx.keys()];
    for (const [k, v] of this.tx) {
      if (marked && !marked.has(k)) marked.set(k, this.block.get(k));
      this.block.set(k, v);
    }
    this.tx = new Map();
  }

  /**
   * Remember the block layer as it is now, replacing an earlier mark, so that rollbackToMark can
   * take back whatever is kept after it (a proposer leaving out a tx that has already run).
   */
  mark(): void {
    this.marked = new Map();
  }

  /** Restore the block layer to the last mark, dropping the current tx too; the mark is used up. */
  rollbackToMark(): void {
    const marked = this.marked;
    if (!marked) throw new ArchiError('INTERNAL', 'no mark is set');
    this.rollbackTx();
    for (const [k, prev] of marked) {
      if (prev === undefined) this.block.delete(k);
      else this.block.set(k, prev);
    }
    this.marked = undefined;
  }

  /** Drop the current tx's writes (and its open savepoints). */
  rollbackTx(): void {
    this.savepoints.length = 0;
    this.tx = new Map();
    this.kept = [];
  }

  /** The accesses of the tx that just ended (kept or rolled back); starts the next tx's. */
  takeAccess(): TxAccess {
    const access = { reads: [...this.reads], ranges: [...this.ranges], writes: this.kept };
    this.reads = new Set();
    this.ranges = new Set();
    this.kept = [];
    return access;
  }

  /** Keep `writes` (key order as given) as one tx: the writes of a tx run elsewhere. */
  applyTx(writes: Array<[string, Uint8Array | null]>): void {
    for (const [k, v] of writes) this.write(k, v);
    this.commitTx();
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
