/**
 * Signature verification off the main thread, so admission of many txs does not stall the
 * node's event loop: P-256 goes to OpenSSL on libuv's thread pool (crypto.verify with a
 * callback); SM2, which runs in JavaScript, goes to a small pool of worker threads in
 * batches (one message per batch keeps the hand-off cheap).
 */
import { verify as nodeVerify } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { CryptoProfile } from './interfaces.ts';
import { p256PublicKeyObject } from './standard.ts';

export interface AsyncVerifier {
  /** Resolves true when the signature verifies; never rejects on bad input. */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean>;
  /** Resolves once checks can start without a thread's start-up first (about a second). */
  ready(): Promise<void>;
  close(): Promise<void>;
}

/** A verifier for `profile` that works off the main thread. */
export function asyncVerifier(profile: CryptoProfile, workers?: number): AsyncVerifier {
  return profile.name === 'standard'
    ? new ThreadPoolVerifier()
    : new WorkerPoolVerifier(profile.name, workers ?? Math.max(1, availableParallelism() - 1));
}

/**
 * A verifier that checks batches on `workers` worker threads whatever the profile: for callers
 * with thousands of checks a second (IoT ingest), where handing each P-256 check to libuv's
 * pool costs the main thread a quarter of the check itself.
 */
export function batchVerifier(profile: CryptoProfile, workers = 1): AsyncVerifier {
  return new WorkerPoolVerifier(profile.name, workers);
}

class ThreadPoolVerifier implements AsyncVerifier {
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
    return new Promise((resolve) => {
      try {
        nodeVerify('sha256', message, p256PublicKeyObject(publicKey), signature, (err, ok) =>
          resolve(!err && ok),
        );
      } catch {
        resolve(false);
      }
    });
  }

  async ready(): Promise<void> {}

  async close(): Promise<void> {}
}

interface Pending {
  items: Array<[Uint8Array, Uint8Array, Uint8Array]>;
  resolves: Array<(ok: boolean) => void>;
}

const MAX_BATCH = 256;

class WorkerPoolVerifier implements AsyncVerifier {
  private readonly workers: Worker[] = [];
  private started: Promise<void> | undefined;
  private readonly inflight = new Map<number, Pending>();
  private queue: Pending = { items: [], resolves: [] };
  private scheduled = false;
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly profileName: string,
    private readonly size: number,
  ) {}

  private start(): Promise<void> {
    const ready: Promise<void>[] = [];
    for (let i = 0; i < this.size; i++) {
      const w = new Worker(new URL('./verify-worker.mjs', import.meta.url), {
        workerData: { profile: this.profileName },
      });
      w.unref();
      ready.push(
        new Promise((resolve) => {
          w.once('message', () => resolve());
          w.once('error', () => resolve());
        }),
      );
      w.on('message', (m: { id: number; results: Uint8Array }) => {
        if (m.id === 0) return; // the worker's "loaded"
        const p = this.inflight.get(m.id);
        if (!p) return;
        this.inflight.delete(m.id);
        for (const [k, r] of p.resolves.entries()) r(m.results[k] === 1);
      });
      w.on('error', () => this.failWorker(i));
      this.workers.push(w);
    }
    return Promise.all(ready).then(() => undefined);
  }

  private failWorker(i: number): void {
    // A crashed worker answers nothing; its batches fail closed (signature refused).
    for (const [id, p] of this.inflight) {
      if (id % this.size === i) {
        this.inflight.delete(id);
        for (const r of p.resolves) r(false);
      }
    }
  }

  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    this.started ??= this.start();
    return new Promise((resolve) => {
      this.queue.items.push([publicKey, message, signature]);
      this.queue.resolves.push(resolve);
      if (this.queue.items.length >= MAX_BATCH) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  ready(): Promise<void> {
    this.started ??= this.start();
    return this.started;
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    if (batch.items.length === 0) return;
    this.queue = { items: [], resolves: [] };
    const id = this.nextId++;
    // Ids map to workers round-robin so a crashed worker's batches can be found.
    const i = id % this.size;
    this.inflight.set(id, batch);
    this.workers[i].postMessage({ id, items: batch.items });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.inflight.values()) for (const r of p.resolves) r(false);
    this.inflight.clear();
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }
}
