/**
 * Tx gossip: txs this node admitted are batched for a few milliseconds and broadcast on the
 * txs channel; txs from peers go through the same admission as clients' and are not passed
 * on again (every validator is connected to every other).
 */
import { create, decode, encode, TxBatchSchema } from '../../codec/index.ts';
import { CHANNELS } from '../../p2p/channels.ts';
import type { TxPool } from '../chain-api.ts';
import type { Clock, Timer } from '../clock.ts';
import type { ConsensusNet, Reactor } from '../reactor.ts';

/** How long admitted txs are gathered before one batch goes out. */
const TX_GOSSIP_MS = 20;

export interface MempoolReactorOptions {
  pool: TxPool;
  net: ConsensusNet;
  clock: Clock;
}

export class MempoolReactor implements Reactor {
  readonly name = 'mempool';
  readonly channels = [CHANNELS.txs.id] as const;
  private out: Uint8Array[] = [];
  private timer: Timer | undefined;

  constructor(private readonly o: MempoolReactorOptions) {}

  start(): void {
    this.o.pool.on('pending', this.onPending);
  }

  stop(): void {
    this.o.pool.off('pending', this.onPending);
    this.timer?.cancel();
    this.timer = undefined;
    this.out = [];
  }

  private readonly onPending = (_txId: string, bytes?: Uint8Array): void => {
    // No bytes: the tx came by gossip (or is not to be gossiped).
    if (!bytes) return;
    this.out.push(bytes);
    this.timer ??= this.o.clock.setTimeout(() => {
      this.timer = undefined;
      const txs = this.out;
      this.out = [];
      this.o.net.broadcast(CHANNELS.txs.id, encode(TxBatchSchema, create(TxBatchSchema, { txs })));
    }, TX_GOSSIP_MS);
  };

  receive(_peer: string, _channel: number, bytes: Uint8Array): void {
    const batch = decode(TxBatchSchema, bytes, 'BAD_REQUEST');
    for (const tx of batch.txs) this.o.pool.submitTx(tx, { gossip: false }).catch(() => undefined);
  }
}
