/** Messages between a node's thread and its execution threads (see pool.ts, worker-main.ts). */
import type { MessagePort } from 'node:worker_threads';
import type { Receipt } from '../../codec/index.ts';
import type { TxAccess } from '../../state/overlay.ts';

/** A block's writes as [full state key, value or null for a delete], in the order made. */
export type Writes = Array<[string, Uint8Array | null]>;

/** What a thread is given when it starts. */
export interface WorkerData {
  /** The chain's LMDB directory, opened again on the thread for reads of committed state. */
  storePath: string;
  profile: string;
  /** One Int32 the thread adds 1 to, and notifies, after each reply. */
  signal: SharedArrayBuffer;
  /** Where the thread replies: the node's thread reads it synchronously (receiveMessageOnPort). */
  port: MessagePort;
}

export type ToWorker =
  | {
      t: 'block';
      height: number;
      time: number;
      /** The encoded chain config the block starts with. */
      config: Uint8Array;
    }
  | {
      t: 'run';
      /** Writes of the block the thread has not seen yet, in the order they were kept. */
      writes: Writes;
      /** Txs that may run side by side: each sees the same state, none another's writes. */
      txs: Array<{ index: number; bytes: Uint8Array; verified: boolean }>;
    };

/** One tx's outcome on a thread: its receipt, what it accessed and the writes it kept. */
export interface RanTx {
  index: number;
  receipt: Receipt;
  access: TxAccess;
  writes: Writes;
}

export type FromWorker =
  | { t: 'ready' }
  | { t: 'ran'; txs: RanTx[] }
  /** The thread cannot run the block (not its state, a broken thread): run it elsewhere. */
  | { t: 'failed'; message: string };
