/** Requests waiting for their tx to commit, answered from the chain's block events. */
import type { BlockEvent, RpcChain } from './chain-api.ts';
import { ArchiError } from '../types/errors.ts';
import type { ReceiptJson } from '../types/block.ts';

export interface Committed {
  txId: string;
  height: number;
  receipt: ReceiptJson;
}

interface Waiter {
  resolve(c: Committed): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

export class TxWaiters {
  private readonly waiting = new Map<string, Waiter[]>();

  constructor(private readonly chain: Pick<RpcChain, 'on' | 'off' | 'txStatus' | 'getTx'>) {
    chain.on('block', this.onBlock);
  }

  /** Resolves when txId commits (at once if it already has); rejects with TIMEOUT. */
  wait(txId: string, timeoutMs: number): Promise<Committed> {
    if (this.chain.txStatus(txId) === 'committed') {
      const t = this.chain.getTx(txId);
      return Promise.resolve({ txId, height: t.height, receipt: t.receipt });
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.drop(txId, w);
        reject(
          new ArchiError(
            'TIMEOUT',
            `tx ${txId} not committed within ${timeoutMs} ms (${this.chain.txStatus(txId)})`,
          ),
        );
      }, timeoutMs);
      const w: Waiter = { resolve, reject, timer };
      const list = this.waiting.get(txId);
      if (list) list.push(w);
      else this.waiting.set(txId, [w]);
    });
  }

  private drop(txId: string, w: Waiter): void {
    const list = this.waiting.get(txId)?.filter((x) => x !== w);
    if (list?.length) this.waiting.set(txId, list);
    else this.waiting.delete(txId);
  }

  private readonly onBlock = (b: BlockEvent): void => {
    if (this.waiting.size === 0) return;
    for (const t of b.txs) {
      const list = this.waiting.get(t.txId);
      if (!list) continue;
      this.waiting.delete(t.txId);
      for (const w of list) {
        clearTimeout(w.timer);
        w.resolve({ txId: t.txId, height: b.height, receipt: t.receipt });
      }
    }
  };

  /** Fail every waiter (node shutting down). */
  close(): void {
    this.chain.off('block', this.onBlock);
    for (const list of this.waiting.values()) {
      for (const w of list) {
        clearTimeout(w.timer);
        w.reject(new ArchiError('NOT_READY', 'node is shutting down'));
      }
    }
    this.waiting.clear();
  }
}
