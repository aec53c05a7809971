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

  constructor(private readonly base: StateReader) {}

  get(key: string): Uint8Array | undefined {
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
