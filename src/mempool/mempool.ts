/**
 * Pending txs awaiting a block: admitted only after every check, bounded in count and
 * bytes, reaped in arrival order. Pure bookkeeping: checks come from app/tx-check.
 */
import { ArchiError } from '../types/errors.ts';
import { bytesEqual, hex } from '../types/hex.ts';
import type { DecodedTx } from '../types/tx.ts';

/**
 * A key for an encoded tx that needs no hashing: its last 16 bytes, which are the end of its
 * signature, random per tx. Equal keys are checked against the whole bytes.
 */
function tailKey(bytes: Uint8Array): string {
  return hex(bytes.subarray(Math.max(0, bytes.length - 16)));
}

export interface MempoolLimits {
  maxTxs: number;
  maxBytes: number;
}

export const DEFAULT_MEMPOOL_LIMITS: MempoolLimits = {
  maxTxs: 50_000,
  maxBytes: 256 * 1024 * 1024,
};

export class Mempool {
  // Map keeps insertion order, which is the order txs are proposed in.
  private readonly txs = new Map<string, DecodedTx>();
  /** The same txs by the end of their encoding (see findByBytes). */
  private readonly byTail = new Map<string, DecodedTx>();
  private bytes = 0;

  constructor(private readonly limits: MempoolLimits = DEFAULT_MEMPOOL_LIMITS) {}

  get size(): number {
    return this.txs.size;
  }

  get sizeBytes(): number {
    return this.bytes;
  }

  has(txIdHex: string): boolean {
    return this.txs.has(txIdHex);
  }

  /** A pending tx by id. */
  get(txIdHex: string): DecodedTx | undefined {
    return this.txs.get(txIdHex);
  }

  /**
   * The pending tx encoded as exactly `bytes`, found without decoding them (a block's txs are
   * mostly pending ones, and decoding hashes each payload again).
   */
  findByBytes(bytes: Uint8Array): DecodedTx | undefined {
    const tx = this.byTail.get(tailKey(bytes));
    return tx && bytesEqual(tx.bytes, bytes) ? tx : undefined;
  }

  /** Add a checked tx; throws TX_DUPLICATE or MEMPOOL_FULL. */
  add(tx: DecodedTx): void {
    if (this.txs.has(tx.txIdHex))
      throw new ArchiError('TX_DUPLICATE', `tx ${tx.txIdHex} is already pending`);
    if (
      this.txs.size >= this.limits.maxTxs ||
      this.bytes + tx.bytes.length > this.limits.maxBytes
    ) {
      throw new ArchiError(
        'MEMPOOL_FULL',
        `pool full (${this.txs.size} txs, ${this.bytes} bytes): retry later`,
      );
    }
    this.txs.set(tx.txIdHex, tx);
    this.byTail.set(tailKey(tx.bytes), tx);
    this.bytes += tx.bytes.length;
  }

  /** Oldest pending txs up to the given count and total size, left in the pool. */
  reap(maxTxs: number, maxBytes: number): DecodedTx[] {
    const out: DecodedTx[] = [];
    let total = 0;
    for (const tx of this.txs.values()) {
      if (out.length >= maxTxs || total + tx.bytes.length > maxBytes) break;
      out.push(tx);
      total += tx.bytes.length;
    }
    return out;
  }

  /** Forget txs that were committed (or judged invalid). */
  remove(txIdHexes: Iterable<string>): void {
    for (const id of txIdHexes) {
      const tx = this.txs.get(id);
      if (tx) {
        this.txs.delete(id);
        const tail = tailKey(tx.bytes);
        if (this.byTail.get(tail) === tx) this.byTail.delete(tail);
        this.bytes -= tx.bytes.length;
      }
    }
  }
}
