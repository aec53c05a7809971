/** Prometheus metrics of a node (prom-client), one registry per node process. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class NodeMetrics {
  readonly registry = new Registry();
  readonly height = new Gauge({
    name: 'archi_block_height',
    help: 'latest committed height',
    registers: [this.registry],
  });
  readonly txsCommitted = new Counter({
    name: 'archi_txs_committed_total',
    help: 'committed txs by receipt status',
    labelNames: ['status'],
    registers: [this.registry],
  });
  readonly txsRejected = new Counter({
    name: 'archi_txs_rejected_total',
    help: 'txs refused at admission by error code',
    labelNames: ['code'],
    registers: [this.registry],
  });
  readonly mempoolSize = new Gauge({
    name: 'archi_mempool_txs',
    help: 'pending txs',
    registers: [this.registry],
  });
  readonly p2pDropped = new Counter({
    name: 'archi_p2p_messages_dropped_total',
    help: 'p2p messages no chain of this node read: for a chain it does not host (unhosted_chain), from a peer that is not a member of the chain (not_member), for a chain without p2p (solo_chain)',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly blockTxs = new Histogram({
    name: 'archi_block_txs',
    help: 'txs per block',
    buckets: [0, 1, 10, 100, 500, 1000, 2000, 5000, 10000],
    registers: [this.registry],
  });

  readonly execParallel = new Gauge({
    name: 'archi_exec_parallel',
    help: 'since start: blocks validated on execution threads (blocks), their txs (txs), and large blocks the threads could not run (fallbacks)',
    labelNames: ['what'],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
