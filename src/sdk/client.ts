/** HTTP + WebSocket client for one node's RPC (docs/RPC.md). */
import WebSocket from 'ws';
import { type CryptoProfile, getProfile } from '../crypto/profile.ts';
import { ArchiError } from '../types/errors.ts';
import {
  BatchQueue,
  type BatchOptions,
  BatchTransport,
  batchSettings,
  MAX_BATCH_TXS,
} from './batch.ts';
import { answerError, closedError, remoteError, timeoutError, unreachableError } from './errors.ts';
import { buildAndSign, type Call, type Identity } from './identity.ts';
import type {
  BatchTxResult,
  BlockJson,
  ChainConfigJson,
  CommittedAnswer,
  ContractInfo,
  QueryAnswer,
  StateAnswer,
  StatusJson,
  SubmitAnswer,
  SubscribeFilter,
  Topic,
  TopicData,
  TxJson,
  ValidatorSetJson,
} from './types.ts';
import { type ValidatorInput, verifyQueryProof, verifyStateProof } from './verify.ts';
import type { BlockPageJson, ChainSummaryJson } from '../types/rpc-json.ts';

export type { BlockPageJson, BlockSummaryJson, ChainSummaryJson } from '../types/rpc-json.ts';

export interface ClientOptions {
  /** Per-request timeout in ms (default 30000); waiting submits get their own wait time on top. */
  timeoutMs?: number;
  /**
   * The chain to talk to on a node that hosts several: every request (and the WebSocket)
   * goes under /v1/chains/<chainId>/. Default: the node's first chain (/v1/...).
   */
  chainId?: string;
  /**
   * Coalesce `submitTx` and `send` calls without `wait` into POST /txs/batch requests: calls
   * made within `maxDelayMs` of each other share one request (at most `maxTxs` txs), each
   * still resolving with its own tx's id or rejecting with its own refusal. Off by default.
   */
  batch?: BatchOptions;
  /** Kept-alive connections that batch requests share (default 1). */
  batchConnections?: number;
}

export interface SubmitOptions {
  /** Answer only once the tx is committed, with its receipt. */
  wait?: boolean;
  /** How long the node waits for the commit (default 30000 ms). */
  timeoutMs?: number;
}

export interface SubscribeOptions {
  /** Called for node error messages and socket errors after the subscription is confirmed. */
  onError?: (err: Error) => void;
  /** Called when the node closes the socket (not when the caller unsubscribes). */
  onClose?: () => void;
  /** How long to wait for the node to confirm the subscription (default 10000 ms). */
  timeoutMs?: number;
}

/** Which blocks `ArchiClient.blocks` lists (docs/RPC.md, GET /v1/blocks). */
export interface BlocksOptions {
  /** List heights below this one (default: from the latest block down); a page's `next`. */
  before?: number;
  /** Most blocks in the page, 1 to 100 (default 20). */
  limit?: number;
  /** Only blocks that hold txs. */
  nonEmpty?: boolean;
}

export interface VerifyOptions {
  /** Also check the block's commit against this validator set. */
  validators?: ValidatorInput[];
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** Canonical base URL: scheme added when missing, no trailing slash; throws BAD_REQUEST. */
export function normalizeRpcUrl(rpcUrl: string): string {
  const text = /^[a-z][a-z0-9+.-]*:\/\//i.test(rpcUrl) ? rpcUrl : `http://${rpcUrl}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ArchiError('BAD_REQUEST', `invalid RPC URL ${JSON.stringify(rpcUrl)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ArchiError(
      'BAD_REQUEST',
      `RPC URL must be http or https, got ${JSON.stringify(rpcUrl)}`,
    );
  }
  return url.toString().replace(/\/+$/, '');
}

function describeCause(e: unknown): string {
  const err = e as { cause?: { code?: string; message?: string }; message?: string };
  return err?.cause?.code ?? err?.cause?.message ?? err?.message ?? String(e);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Client of one node's RPC. */
export class ArchiClient {
  /** Base URL of the node, without trailing slash. */
  readonly url: string;
  /** The chain this client talks to (undefined: the node's first chain). */
  readonly chainId?: string;
  /** Path prefix of the chain's endpoints: /v1, or /v1/chains/<chainId> with a chain. */
  readonly basePath: string;
  private readonly timeoutMs: number;
  private statusCache?: Promise<StatusJson>;
  private profileCache?: CryptoProfile;
  private readonly batchOptions?: Required<BatchOptions>;
  private readonly batchConnections: number;
  private batchTransport?: BatchTransport;
  private batchQueue?: BatchQueue;
  private isClosed = false;
  /** The fetches in flight, which close() cuts short. */
  private readonly fetches = new Set<AbortController>();

  constructor(rpcUrl: string, opts: ClientOptions = {}) {
    this.url = normalizeRpcUrl(rpcUrl);
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (opts.chainId !== undefined) {
      if (typeof opts.chainId !== 'string' || opts.chainId === '') {
        throw new ArchiError('BAD_REQUEST', 'chainId must be a non-empty string');
      }
      this.chainId = opts.chainId;
    }
    this.basePath =
      this.chainId === undefined ? '/v1' : `/v1/chains/${encodeURIComponent(this.chainId)}`;
    if (opts.batch !== undefined) this.batchOptions = batchSettings(opts.batch);
    this.batchConnections = opts.batchConnections ?? 1;
    if (!Number.isSafeInteger(this.batchConnections) || this.batchConnections < 1) {
      throw new ArchiError('BAD_REQUEST', 'batchConnections must be a positive integer');
    }
  }

  /** True once close() was called. */
  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * Stop the client: txs waiting for a batch, requests in flight and every later request
   * reject with NOT_READY, and its kept-alive connections close. Subscriptions already open
   * stay open (their own function ends them). A tx in a request cut short may have been
   * admitted: sent again, it answers TX_DUPLICATE.
   */
  close(): void {
    if (this.closed) return;
    this.isClosed = true;
    for (const f of this.fetches) f.abort();
    this.batchQueue?.close(closedError(this.url, 'the tx waiting for its batch'));
    this.batchTransport?.close();
  }

  /** The node's status for this client's chain: chain id, height, crypto profile, identity mode, peers. */
  status(): Promise<StatusJson> {
    return this.request<StatusJson>('GET', '/status');
  }

  /** Every chain the node hosts (GET /v1/chains, whatever this client's chain). */
  async chains(): Promise<ChainSummaryJson[]> {
    return (
      await this.request<{ chains: ChainSummaryJson[] }>(
        'GET',
        '/v1/chains',
        undefined,
        this.timeoutMs,
        true,
      )
    ).chains;
  }

  /**
   * Submit encoded tx bytes; with `wait` the answer carries height and receipt once committed.
   * With the client's `batch` option a submit without `wait` goes in the next batch request.
   */
  submitTx(bytes: Uint8Array, opts: SubmitOptions & { wait: true }): Promise<CommittedAnswer>;
  submitTx(bytes: Uint8Array, opts?: SubmitOptions): Promise<SubmitAnswer | CommittedAnswer>;
  submitTx(bytes: Uint8Array, opts: SubmitOptions = {}): Promise<SubmitAnswer | CommittedAnswer> {
    if (this.batchOptions && !opts.wait) {
      if (this.closed) return Promise.reject(closedError(this.url, 'the tx'));
      this.batchQueue ??= new BatchQueue(this.transport(), this.batchOptions);
      return this.batchQueue.submit(bytes);
    }
    let path = '/txs';
    let timeout = this.timeoutMs;
    if (opts.wait) {
      const waitMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      path += `?wait=true&timeoutMs=${Math.max(1, Math.floor(waitMs))}`;
      // The node answers TIMEOUT itself at waitMs; our own deadline only guards a hung connection.
      timeout = waitMs + this.timeoutMs;
    }
    return this.request('POST', path, { bytes }, timeout);
  }

  /**
   * Submit up to 1000 encoded txs in one POST /txs/batch request; resolves with one result
   * per tx, in order: its id, or the node's refusal of that tx alone (`{error}` with its
   * code), so one bad tx fails no other. Rejects when the request fails as a whole: the node
   * cannot be reached (NOT_READY) or does not answer in time (TIMEOUT), or refuses the batch
   * (TX_TOO_LARGE for a body over its limit, NOT_READY while it shuts down); the txs may then
   * have been admitted or not. More than 1000 txs is BAD_REQUEST; none resolves with [].
   */
  submitBatch(txs: Uint8Array[]): Promise<BatchTxResult[]> {
    if (this.closed) return Promise.reject(closedError(this.url, 'the batch'));
    if (!Array.isArray(txs)) {
      return Promise.reject(new ArchiError('BAD_REQUEST', 'submitBatch takes an array of txs'));
    }
    if (txs.length === 0) return Promise.resolve([]);
    if (txs.length > MAX_BATCH_TXS) {
      return Promise.reject(
        new ArchiError(
          'BAD_REQUEST',
          `a batch holds at most ${MAX_BATCH_TXS} txs, got ${txs.length}: split it`,
        ),
      );
    }
    return this.transport().post(txs);
  }

  /** Sign a call as `identity` for this node's chain and submit it. */
  async send(
    identity: Identity,
    call: Call,
    opts: SubmitOptions = {},
  ): Promise<SubmitAnswer | CommittedAnswer> {
    const { chainId } = await this.cachedStatus();
    const tx = buildAndSign(identity, chainId, call);
    return this.submitTx(tx.bytes, opts);
  }

  /** A committed tx with its receipt; NOT_FOUND while pending or unknown. */
  getTx(txId: string): Promise<TxJson> {
    return this.request('GET', `/txs/${encodeURIComponent(txId)}`);
  }

  /** The block at `height`, or the latest one. */
  getBlock(height: number | 'latest'): Promise<BlockJson> {
    if (height !== 'latest' && !(Number.isSafeInteger(height) && height >= 0)) {
      return Promise.reject(
        new ArchiError(
          'BAD_REQUEST',
          `block height must be a non-negative integer or "latest", got ${height}`,
        ),
      );
    }
    return this.request('GET', `/blocks/${height}`);
  }

  /**
   * A page of block summaries `{height, hash, time, txCount}`, newest first. One request
   * looks at no more than 10,000 heights: `scannedFrom`..`scannedTo` says which it looked at
   * (every match among them is listed), and `next`, when not null, is the `before` that
   * continues below them.
   */
  blocks(opts: BlocksOptions = {}): Promise<BlockPageJson> {
    const q = new URLSearchParams();
    if (opts.before !== undefined) q.set('before', String(opts.before));
    if (opts.limit !== undefined) q.set('limit', String(opts.limit));
    if (opts.nonEmpty !== undefined) q.set('nonEmpty', String(opts.nonEmpty));
    const query = q.toString();
    return this.request('GET', query ? `/blocks?${query}` : '/blocks');
  }

  /** Run a read-only contract method; with `prove` the answer carries proofs of every key read. */
  query(
    contract: string,
    method: string,
    args: unknown,
    opts: { prove?: boolean } = {},
  ): Promise<QueryAnswer> {
    return this.request('POST', '/query', {
      json: { contract, method, args: args ?? null, prove: opts.prove === true },
    });
  }

  /** One raw state key of a contract with its proof. */
  getState(contract: string, key: string): Promise<StateAnswer> {
    return this.request('GET', `/state/${encodeURIComponent(contract)}/${encodeURIComponent(key)}`);
  }

  /** The deployed contracts and their methods. */
  contracts(): Promise<ContractInfo[]> {
    return this.request('GET', '/contracts');
  }

  /** The chain config as JSON. */
  config(): Promise<ChainConfigJson> {
    return this.request('GET', '/config');
  }

  /** The validator set of `height` (default: the next height, being decided now). */
  validators(height?: number): Promise<ValidatorSetJson> {
    return this.request('GET', height === undefined ? '/validators' : `/validators/${height}`);
  }

  /** Poll until `txId` is committed and return it; TIMEOUT after `timeoutMs`. */
  async waitForTx(txId: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<TxJson> {
    const deadline = Date.now() + timeoutMs;
    let delay = 50;
    for (;;) {
      try {
        return await this.getTx(txId);
      } catch (e) {
        if (!(e instanceof ArchiError) || e.code !== 'NOT_FOUND') throw e;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw timeoutError(`tx ${txId} was not committed within ${timeoutMs} ms`);
      await sleep(Math.min(delay, left));
      delay = Math.min(delay * 2, 500);
    }
  }

  /**
   * Subscribe to a WebSocket topic; resolves once the node confirms, with a function that
   * ends the subscription (closes its socket).
   */
  subscribe<T extends Topic>(
    topic: T,
    filter: SubscribeFilter,
    onData: (data: TopicData[T]) => void,
    opts: SubscribeOptions = {},
  ): Promise<() => void> {
    const wsUrl = `${this.url.replace(/^http/, 'ws')}${this.basePath}/ws`;
    const message: Record<string, string> = { op: 'subscribe', topic };
    for (const [k, v] of Object.entries(filter ?? {})) if (v !== undefined) message[k] = v;
    return new Promise((resolve, reject) => {
      let confirmed = false;
      let closedByUs = false;
      const ws = new WebSocket(wsUrl);
      const unsubscribe = (): void => {
        closedByUs = true;
        ws.close();
      };
      const fail = (err: Error): void => {
        if (confirmed) {
          opts.onError?.(err);
          return;
        }
        clearTimeout(timer);
        closedByUs = true;
        ws.terminate();
        reject(err);
      };
      const timeoutMs = opts.timeoutMs ?? 10_000;
      const timer = setTimeout(
        () =>
          fail(
            timeoutError(
              `${wsUrl} did not confirm the ${topic} subscription within ${timeoutMs} ms`,
            ),
          ),
        timeoutMs,
      );
      ws.on('open', () => ws.send(JSON.stringify(message)));
      ws.on('message', (raw) => {
        let msg: any;
        try {
          msg = JSON.parse(raw.toString());
        } catch {
          fail(new ArchiError('INTERNAL', `${wsUrl} sent a message that is not JSON`));
          return;
        }
        if (msg?.op === 'subscribed') {
          if (!confirmed && msg.topic === topic) {
            confirmed = true;
            clearTimeout(timer);
            resolve(unsubscribe);
          }
          return;
        }
        if (msg?.op === 'error') {
          fail(remoteError(msg.error?.code, msg.error?.message ?? 'subscription error'));
          return;
        }
        if (msg?.topic !== topic) return;
        try {
          onData(msg.data);
        } catch (e) {
          // A throwing callback inside a socket handler would otherwise crash the process.
          if (opts.onError) opts.onError(e as Error);
          else throw e;
        }
      });
      ws.on('error', (e) => {
        fail(unreachableError(wsUrl, describeCause(e)));
      });
      ws.on('close', () => {
        if (!confirmed) {
          fail(new ArchiError('NOT_READY', `${wsUrl} closed before confirming the subscription`));
        } else if (!closedByUs) {
          opts.onClose?.();
        }
      });
    });
  }

  /** The crypto profile of the node's chain (from its status, cached). */
  async profile(): Promise<CryptoProfile> {
    if (!this.profileCache) this.profileCache = getProfile((await this.cachedStatus()).crypto);
    return this.profileCache;
  }

  /** Query with proofs, fetch the block at the proof's height and verify; returns the result. */
  async queryVerified(
    contract: string,
    method: string,
    args: unknown,
    opts: VerifyOptions = {},
  ): Promise<unknown> {
    const answer = await this.query(contract, method, args, { prove: true });
    if (!answer.proof) throw new ArchiError('INTERNAL', `${this.url} answered without a proof`);
    const block = await this.getBlock(answer.proof.height);
    verifyQueryProof(await this.profile(), block, answer.proof, opts.validators);
    return answer.result;
  }

  /** A state key with its proof verified against the block at its height; returns the value as hex or null. */
  async getStateVerified(
    contract: string,
    key: string,
    opts: VerifyOptions = {},
  ): Promise<string | null> {
    const answer = await this.getState(contract, key);
    const block = await this.getBlock(answer.height);
    verifyStateProof(await this.profile(), block, answer, opts.validators, `${contract}/${key}`);
    return answer.value;
  }

  /** The batch connections, made on first use (a client that never batches opens none). */
  private transport(): BatchTransport {
    this.batchTransport ??= new BatchTransport(
      this.url,
      `${this.basePath}/txs/batch`,
      this.batchConnections,
      this.timeoutMs,
    );
    return this.batchTransport;
  }

  private cachedStatus(): Promise<StatusJson> {
    if (!this.statusCache) {
      this.statusCache = this.status();
      // A failed lookup must not poison later calls.
      this.statusCache.catch(() => {
        this.statusCache = undefined;
      });
    }
    return this.statusCache;
  }

  private async request<T>(
    method: 'GET' | 'POST',
    path: string,
    body?: { json?: unknown; bytes?: Uint8Array },
    timeoutMs = this.timeoutMs,
    /** `path` is the node's own (like /v1/chains), not under the chain's base path. */
    nodePath = false,
  ): Promise<T> {
    const fullPath = `${nodePath ? '' : this.basePath}${path}`;
    const target = `${this.url}${fullPath}`;
    if (this.closed) throw closedError(this.url, `${method} ${fullPath}`);
    // One controller per request for both the timeout and close(): AbortSignal.any with a
    // signal that lives as long as the client leaks every request's signal on Node 20-22.
    const abort = new AbortController();
    const init: RequestInit = { method, signal: abort.signal, headers: {} };
    if (body?.bytes) {
      init.headers = { 'content-type': 'application/octet-stream' };
      init.body = body.bytes;
    } else if (body) {
      init.headers = { 'content-type': 'application/json' };
      init.body = JSON.stringify(body.json ?? null, (_k, v) =>
        typeof v === 'bigint' ? v.toString() : v,
      );
    }
    let res: Response;
    let text: string;
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    this.fetches.add(abort);
    try {
      res = await fetch(target, init);
      text = await res.text();
    } catch (e) {
      if (this.closed) throw closedError(this.url, `${method} ${fullPath}`);
      const name = (e as Error)?.name;
      if (name === 'TimeoutError' || name === 'AbortError') {
        throw timeoutError(`no answer from ${target} within ${timeoutMs} ms`);
      }
      throw unreachableError(this.url, describeCause(e));
    } finally {
      clearTimeout(timer);
      this.fetches.delete(abort);
    }
    let parsed: any;
    let parseFailed = false;
    try {
      parsed = text.length ? JSON.parse(text) : null;
    } catch {
      parseFailed = true;
    }
    if (!res.ok) throw answerError(res.status, parsed, text, `${method} ${fullPath}`);
    if (parseFailed) {
      throw new ArchiError('INTERNAL', `${method} ${fullPath} on ${this.url} did not answer JSON`);
    }
    return parsed as T;
  }
}
