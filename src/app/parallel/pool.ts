/**
 * A node's execution threads: a validator runs a large block's txs on them along the block's
 * dependency graph (app/tx-dag.ts). Txs whose dependencies have all ended are handed out in
 * batches; each thread runs its batch over the committed state plus the block's writes so far,
 * and the writes come back to the node's overlay as each batch ends. The graph is checked
 * afterwards against the accesses the threads report (Executor.executeBlock), so a wrong graph
 * is found however the threads happened to interleave.
 *
 * The node's thread waits synchronously (Atomics.wait, then receiveMessageOnPort), as block
 * execution is synchronous everywhere else. Threads that fail or are not ready make run()
 * return undefined, and the block runs on the node's thread as before.
 */
import { availableParallelism } from 'node:os';
import {
  MessageChannel,
  type MessagePort,
  receiveMessageOnPort,
  Worker,
} from 'node:worker_threads';
import type { StateOverlay, StateReader } from '../../state/overlay.ts';
import { encodeConfig } from '../../vm/native/chain-config.ts';
import type { ParallelExecution, ParallelJob, TxOutcome } from '../executor.ts';
import type { FromWorker, RanTx, ToWorker, WorkerData, Writes } from './protocol.ts';

/** Smallest block worth the hand-off: below it one thread is faster than the messages. */
const MIN_TXS = 64;
/** Most txs in one batch: smaller batches spread uneven txs better, larger ones cost fewer messages. */
const MAX_BATCH = 256;
/** A thread silent this long is taken for broken (a tx is bounded by its gas long before). */
const STALL_MS = 60_000;

/**
 * The default number of execution threads: none below 4 cores, else one per core but the
 * node's own, at most 4. On 2 cores the threads were measured to gain little on native txs
 * (about 1.1x) and to lose on contract calls (about 0.7x): each thread's contract calls need a
 * sandbox thread of their own, so one lane of calls already takes both cores.
 */
export function defaultExecThreads(cores = availableParallelism()): number {
  return cores < 4 ? 0 : Math.min(4, cores - 1);
}

interface Thread {
  worker: Worker;
  port: MessagePort;
  ready: boolean;
  /** How many of the block's kept writes this thread has been sent. */
  synced: number;
  /** The batch it is running, if any. */
  busy: boolean;
}

export class ExecPool implements ParallelExecution {
  readonly minTxs: number;
  readonly stats = { blocks: 0, txs: 0, fallbacks: 0 };
  private readonly signal = new Int32Array(new SharedArrayBuffer(4));
  private threads: Thread[] = [];
  private broken = false;
  private closed = false;

  constructor(
    private readonly o: {
      storePath: string;
      profile: string;
      threads: number;
      /** Told once when the threads fail, with why; they are not restarted. */
      onBroken?: (why: string) => void;
      minTxs?: number;
    },
  ) {
    this.minTxs = o.minTxs ?? MIN_TXS;
    for (let i = 0; i < o.threads; i++) this.threads.push(this.spawn());
  }

  private spawn(): Thread {
    const { port1, port2 } = new MessageChannel();
    const data: WorkerData = {
      storePath: this.o.storePath,
      profile: this.o.profile,
      signal: this.signal.buffer as SharedArrayBuffer,
      port: port2,
    };
    const worker = new Worker(new URL('./worker.mjs', import.meta.url), {
      workerData: data,
      transferList: [port2],
    });
    // Replies are only ever taken with receiveMessageOnPort, never as events.
    worker.unref();
    const thread: Thread = { worker, port: port1, ready: false, synced: 0, busy: false };
    worker.on('error', (e) => this.fail(`execution thread: ${e.message}`));
    worker.on('exit', (code) => {
      if (!this.closed) this.fail(`execution thread exited with code ${code}`);
    });
    return thread;
  }

  private fail(why: string): void {
    if (this.broken || this.closed) return;
    this.broken = true;
    this.o.onBroken?.(why);
    void this.close();
  }

  /** Whether every thread has started and none has failed. */
  get ready(): boolean {
    if (this.broken || this.closed) return false;
    for (const t of this.threads) {
      if (t.ready) continue;
      const got = receiveMessageOnPort(t.port);
      if (!got) return false;
      const m = got.message as FromWorker;
      if (m.t !== 'ready') {
        this.fail(m.t === 'failed' ? m.message : `unexpected first message ${m.t}`);
        return false;
      }
      t.ready = true;
    }
    return true;
  }

  run(job: ParallelJob, state: StateOverlay): TxOutcome[] | undefined {
    if (!this.ready) {
      this.stats.fallbacks++;
      return undefined;
    }
    try {
      const outcomes = this.schedule(job, state);
      this.stats.blocks++;
      this.stats.txs += outcomes.length;
      return outcomes;
    } catch (e) {
      this.stats.fallbacks++;
      this.fail((e as Error).message);
      return undefined;
    }
  }

  private schedule(job: ParallelJob, state: StateOverlay): TxOutcome[] {
    const n = job.txs.length;
    const waiting = job.dag.map((d) => d.length);
    const dependents: number[][] = job.txs.map(() => []);
    job.dag.forEach((deps, j) => {
      for (const d of deps) dependents[d].push(j);
    });
    const ready: number[] = [];
    for (let j = 0; j < n; j++) if (waiting[j] === 0) ready.push(j);
    const outcomes: TxOutcome[] = new Array(n);
    const log: Writes = [];
    const config = encodeConfig(job.config);
    for (const t of this.threads) {
      t.synced = 0;
      t.busy = false;
      this.send(t, { t: 'block', height: job.height, time: job.time, config });
    }
    // This thread runs a share too, reading the block's state as it stands between batches.
    const view: StateReader = { get: (k) => state.peek(k), range: (p, l) => state.range(p, l) };
    let done = 0;
    const keep = (ran: RanTx[]): void => {
      // Block order within a batch, so the overlay is the same however batches interleave.
      for (const r of ran.sort((a, b) => a.index - b.index)) {
        state.applyTx(r.writes);
        for (const w of r.writes) log.push(w);
        outcomes[r.index] = { receipt: r.receipt, access: r.access };
        done++;
        for (const j of dependents[r.index]) if (--waiting[j] === 0) ready.push(j);
      }
    };
    while (done < n) {
      ready.sort((a, b) => a - b);
      const idle = this.threads.filter((t) => !t.busy);
      // Spread what is ready over the idle threads and this one, in block order.
      const share = Math.min(MAX_BATCH, Math.ceil(ready.length / (idle.length + 1)));
      for (const t of idle) {
        if (ready.length === 0) break;
        const batch = ready.splice(0, share);
        t.busy = true;
        this.send(t, {
          t: 'run',
          writes: log.slice(t.synced),
          txs: batch.map((i) => ({ index: i, bytes: job.txs[i].bytes, verified: job.verified[i] })),
        });
        t.synced = log.length;
      }
      const mine = ready.splice(0, share);
      if (mine.length > 0) keep(mine.map((i) => ({ index: i, ...job.runHere(i, view) })));
      // Take the batches that ended meanwhile; wait only when this thread has nothing to run.
      let ended = this.poll();
      if (!ended && mine.length === 0) ended = this.next();
      while (ended) {
        ended[0].busy = false;
        keep(ended[1]);
        ended = this.poll();
      }
    }
    return outcomes;
  }

  private send(t: Thread, m: ToWorker): void {
    t.port.postMessage(m);
  }

  /** A batch that has ended on some thread, if any. */
  private poll(): [Thread, RanTx[]] | undefined {
    for (const t of this.threads) {
      if (!t.busy) continue;
      const got = receiveMessageOnPort(t.port);
      if (!got) continue;
      const m = got.message as FromWorker;
      if (m.t === 'ran') return [t, m.txs];
      throw new Error(m.t === 'failed' ? m.message : `unexpected reply ${m.t}`);
    }
    return undefined;
  }

  /** Wait for the next batch to end on any thread. */
  private next(): [Thread, RanTx[]] {
    if (!this.threads.some((t) => t.busy)) throw new Error('no batch is running to wait for');
    for (;;) {
      const seen = Atomics.load(this.signal, 0);
      const ended = this.poll();
      if (ended) return ended;
      if (Atomics.wait(this.signal, 0, seen, STALL_MS) === 'timed-out') {
        throw new Error(`no execution thread replied in ${STALL_MS} ms`);
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const threads = this.threads;
    this.threads = [];
    await Promise.all(threads.map((t) => t.worker.terminate()));
  }
}
