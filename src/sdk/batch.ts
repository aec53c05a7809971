/**
 * Tx batches for ArchiClient: POST /txs/batch over kept-alive node:http connections of the
 * client's own, and the queue that coalesces single submits into those requests.
 */
import http from 'node:http';
import https from 'node:https';
import { create, encode, TxBatchSchema } from '../codec/index.ts';
import { ArchiError } from '../types/errors.ts';
import { answerError, closedError, remoteError, timeoutError, unreachableError } from './errors.ts';
import type { BatchTxResult, SubmitAnswer } from './types.ts';

/** Most txs the node takes in one batch request (docs/RPC.md, POST /v1/txs/batch). */
export const MAX_BATCH_TXS = 1000;

/**
 * Tx bytes one automatic batch carries at most: the node takes bodies of at least 8 MiB, so
 * a batch under 7 MiB (plus a few bytes of framing per tx) is never refused as a whole for
 * its size, whatever the chain's maxTxBytes.
 */
const AUTO_BATCH_BYTES = 7 * 1024 * 1024;

/** Automatic batching of `submitTx` and `send` (ClientOptions.batch). */
export interface BatchOptions {
  /** Most txs in one request, 1 to 1000 (default 500): a full batch goes at once. */
  maxTxs?: number;
  /** How long a tx waits for others to join its batch, in ms (default 5). */
  maxDelayMs?: number;
}

export const DEFAULT_BATCH_TXS = 500;
export const DEFAULT_BATCH_DELAY_MS = 5;

/** `options` checked, with defaults filled in; BAD_REQUEST for values out of range. */
export function batchSettings(options: BatchOptions): Required<BatchOptions> {
  const maxTxs = options.maxTxs ?? DEFAULT_BATCH_TXS;
  const maxDelayMs = options.maxDelayMs ?? DEFAULT_BATCH_DELAY_MS;
  if (!Number.isSafeInteger(maxTxs) || maxTxs < 1 || maxTxs > MAX_BATCH_TXS) {
    throw new ArchiError(
      'BAD_REQUEST',
      `batch.maxTxs must be an integer from 1 to ${MAX_BATCH_TXS}`,
    );
  }
  if (typeof maxDelayMs !== 'number' || !Number.isFinite(maxDelayMs) || maxDelayMs < 0) {
    throw new ArchiError('BAD_REQUEST', 'batch.maxDelayMs must be a number of ms, 0 or more');
  }
  return { maxTxs, maxDelayMs };
}

/** One batch answer's results, checked to be one per tx. */
function batchResults(parsed: any, count: number, what: string): BatchTxResult[] {
  const results = parsed?.results;
  if (!Array.isArray(results) || results.length !== count) {
    throw new ArchiError('INTERNAL', `${what} did not answer one result per tx`);
  }
  return results.map((r: any): BatchTxResult => {
    if (typeof r?.txId === 'string') return { txId: r.txId };
    const message = typeof r?.error?.message === 'string' ? r.error.message : 'refused by the node';
    return { error: remoteError(r?.error?.code, message) };
  });
}

/**
 * POST /txs/batch of one chain on one node over at most `connections` kept-alive sockets
 * (node:http rather than fetch: its own pool, so batches never queue behind other requests,
 * and cheaper per request).
 */
export class BatchTransport {
  private readonly agent: http.Agent;
  private readonly mod: typeof http | typeof https;
  private readonly target: URL;
  private readonly active = new Set<http.ClientRequest>();
  private requests = 0;
  private closed = false;
  /** Called after each request ends, so the queue can send what waited for a connection. */
  onDone?: () => void;

  constructor(
    private readonly nodeUrl: string,
    path: string,
    private readonly connections: number,
    private readonly timeoutMs: number,
  ) {
    this.target = new URL(`${nodeUrl}${path}`);
    this.mod = this.target.protocol === 'https:' ? https : http;
    this.agent = new this.mod.Agent({
      keepAlive: true,
      maxSockets: connections,
      maxFreeSockets: connections,
    });
  }

  /** True while fewer requests than connections are in flight. */
  get free(): boolean {
    return !this.closed && this.requests < this.connections;
  }

  /** Send one batch; per tx, in order, its id or the node's refusal. */
  post(txs: Uint8Array[]): Promise<BatchTxResult[]> {
    const what = `POST ${this.target.pathname}`;
    if (this.closed) return Promise.reject(closedError(this.nodeUrl, what));
    if (!txs.every((t) => t instanceof Uint8Array)) {
      return Promise.reject(
        new ArchiError('BAD_REQUEST', 'every tx of a batch must be a Uint8Array'),
      );
    }
    const body = encode(TxBatchSchema, create(TxBatchSchema, { txs }));
    this.requests++;
    return new Promise<BatchTxResult[]>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let settled = false;
      const settle = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.active.delete(req);
        this.requests--;
        fn();
        this.onDone?.();
      };
      const fail = (e: unknown): void =>
        settle(() => {
          if (e instanceof ArchiError) reject(e);
          else {
            const err = e as NodeJS.ErrnoException;
            reject(unreachableError(this.nodeUrl, err?.code ?? err?.message ?? String(e)));
          }
        });
      const req = this.mod.request(
        this.target,
        {
          method: 'POST',
          agent: this.agent,
          headers: { 'content-type': 'application/octet-stream', 'content-length': body.length },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', fail);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: any;
            try {
              parsed = text.length ? JSON.parse(text) : null;
            } catch {
              parsed = undefined;
            }
            const status = res.statusCode ?? 0;
            if (status < 200 || status >= 300) {
              fail(answerError(status, parsed, text, what));
              return;
            }
            let results: BatchTxResult[];
            try {
              results = batchResults(parsed, txs.length, `${what} on ${this.nodeUrl}`);
            } catch (e) {
              fail(e);
              return;
            }
            settle(() => resolve(results));
          });
        },
      );
      this.active.add(req);
      // The clock starts with a socket: a request waiting for a busy connection is not late.
      req.once('socket', () => {
        if (settled) return;
        timer = setTimeout(
          () =>
            req.destroy(
              timeoutError(`no answer from ${this.target.href} within ${this.timeoutMs} ms`),
            ),
          this.timeoutMs,
        );
      });
      req.on('error', fail);
      req.end(body);
    });
  }

  /** Cut every request in flight short (NOT_READY) and close the connections. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const req of this.active)
      req.destroy(closedError(this.nodeUrl, `POST ${this.target.pathname}`));
    this.agent.destroy();
  }
}

interface Waiting {
  bytes: Uint8Array;
  resolve(answer: SubmitAnswer): void;
  reject(e: unknown): void;
}

/**
 * Single submits coalesced into batch requests. A tx goes out once `maxTxs` are waiting, once
 * it has waited `maxDelayMs`, or as soon as a connection frees up after it came (it has waited
 * a whole round trip then), so a busy client sends full batches and an idle one adds at most
 * `maxDelayMs`.
 */
export class BatchQueue {
  private queue: Waiting[] = [];
  private queuedBytes = 0;
  private timer?: NodeJS.Timeout;
  private due = false;
  private closed?: ArchiError;

  constructor(
    private readonly transport: BatchTransport,
    private readonly settings: Required<BatchOptions>,
  ) {
    transport.onDone = () => {
      if (this.queue.length > 0) this.due = true;
      this.pump();
    };
  }

  /** Queue one tx; resolves with its id, rejects with the node's refusal or the batch's failure. */
  submit(bytes: Uint8Array): Promise<SubmitAnswer> {
    if (this.closed) return Promise.reject(this.closed);
    // One bad entry would otherwise fail the whole batch it lands in.
    if (!(bytes instanceof Uint8Array)) {
      return Promise.reject(new ArchiError('BAD_REQUEST', 'a tx must be a Uint8Array'));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ bytes, resolve, reject });
      this.queuedBytes += bytes.length;
      this.pump();
    });
  }

  /** Reject every queued tx with `err` and stop the timer; later submits reject with it too. */
  close(err: ArchiError): void {
    this.closed = err;
    clearTimeout(this.timer);
    this.timer = undefined;
    const waiting = this.queue;
    this.queue = [];
    this.queuedBytes = 0;
    for (const w of waiting) w.reject(err);
  }

  private full(): boolean {
    return this.queue.length >= this.settings.maxTxs || this.queuedBytes >= AUTO_BATCH_BYTES;
  }

  /** Send what is due while a connection is free; keep a timer for what waits. */
  private pump(): void {
    if (this.closed) return;
    if (this.full()) this.due = true;
    while (this.due && this.queue.length > 0 && this.transport.free) {
      this.send(this.take());
      this.due = this.full();
    }
    if (this.queue.length === 0) {
      this.due = false;
      clearTimeout(this.timer);
      this.timer = undefined;
    } else if (!this.due && this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.due = true;
        this.pump();
      }, this.settings.maxDelayMs);
    }
  }

  /** The next batch from the front of the queue: at least one tx, within maxTxs and the byte cap. */
  private take(): Waiting[] {
    let n = 1;
    let bytes = this.queue[0].bytes.length;
    while (
      n < this.queue.length &&
      n < this.settings.maxTxs &&
      bytes + this.queue[n].bytes.length <= AUTO_BATCH_BYTES
    ) {
      bytes += this.queue[n].bytes.length;
      n++;
    }
    this.queuedBytes -= bytes;
    return this.queue.splice(0, n);
  }

  private send(batch: Waiting[]): void {
    this.transport.post(batch.map((w) => w.bytes)).then(
      (results) =>
        batch.forEach((w, i) => {
          const r = results[i];
          if (r.error) w.reject(r.error);
          else w.resolve({ txId: r.txId });
        }),
      (e) => {
        for (const w of batch) w.reject(e);
      },
    );
  }
}
