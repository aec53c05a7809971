/**
 * `archi bench`: a load generator against one node. Every tx is signed before the clock
 * starts, so the numbers measure the chain rather than client-side signing; commits are
 * learned from one WebSocket subscription to all tx results (block polling if that fails).
 * `--via gateway` runs the contract workload twice on the same network, straight to the node
 * and then as an upload-mode app through the service gateway (envelopes signed before the
 * clock starts too), and reports both.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { Option, type Command } from 'commander';
import { fileURLToPath } from 'node:url';
import { Contracts } from '../../sdk/contracts.ts';
import { buildContract } from '../../vm/sandbox/build.ts';
import { ArchiClient } from '../../sdk/client.ts';
import { isUnreachable } from '../../sdk/errors.ts';
import { GatewayClient, makeUploadKeys } from '../../sdk/gateway-client.ts';
import { buildAndSign, type Call, Identity } from '../../sdk/identity.ts';
import type { TxPush } from '../../sdk/types.ts';
import { ArchiError } from '../../types/errors.ts';
import {
  addTargetOptions,
  ClientContext,
  cliOutput,
  DEFAULT_IDENTITY,
  intOption,
  type TargetFlags,
} from '../client-context.ts';
import { prepareCbdcBench } from './cbdc-bench.ts';
import { adminClient } from './gateway.ts';

export type Workload = 'transfer' | 'kv' | 'contract' | 'cbdc';

const COUNTER_SOURCE = fileURLToPath(new URL('../../../contracts/counter.ts', import.meta.url));

/** Name the contract workload deploys the example counter under. */
export const BENCH_CONTRACT = 'bench_counter';

export interface BenchOptions {
  txs: number;
  concurrency: number;
  /** Txs per request: 1 posts to /v1/txs, more post a TxBatch to /v1/txs/batch (SDK submitBatch). */
  batch: number;
  workload: Workload;
  /** Give up waiting for commits after this long without progress (ms). */
  idleTimeoutMs: number;
  /** Progress lines on stderr. */
  progress: boolean;
  /** Send through the service gateway as this app, calling its counter `contract`. */
  gateway?: { client: GatewayClient; contract: string };
  /**
   * Fixed offered load (txs per second): tx i is sent at start + i / rate whatever the
   * answers (open loop, as Caliper's fixed-rate), at most `concurrency` requests in flight;
   * latency counts from each tx's scheduled time, so a node that falls behind is not flattered
   * by the client waiting for it. Unset: `concurrency` workers send as fast as answered.
   */
  rate?: number;
  /** Calls made elsewhere, each with the identity that signs it (the cbdc workload's wallets). */
  signed?: { calls: Call[]; signers: Identity[] };
}

/** The JSON object `archi bench` prints. */
export interface BenchResult {
  workload: Workload;
  txs: number;
  concurrency: number;
  batch: number;
  committed: number;
  failed: number;
  durationSec: number;
  committedPerSec: number;
  submitPerSec: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  /** With a fixed rate: the rate asked for and the rate the txs really went out at. */
  rate?: number;
  offeredPerSec?: number;
  /** From sending a tx to its accepted answer (the node's, or the gateway's). */
  submitLatencyMs: { p50: number; p99: number };
  crypto: string;
  node: string;
  chainId: string;
  /** Failure counts by error code (submit rejections, failed receipts, NOT_COMMITTED). */
  errors: Record<string, number>;
  /** How commits were observed: WebSocket push or block polling. */
  commitSource: 'ws' | 'poll';
}

interface PostAnswer {
  status: number;
  body: string;
}

/** Keep-alive HTTP poster for raw tx bytes; measurably cheaper per request than fetch. */
function txPoster(
  baseUrl: string,
  basePath: string,
  sockets: number,
  contentType = 'application/octet-stream',
): { post(path: string, body: Uint8Array | string): Promise<PostAnswer>; close(): void } {
  const base = new URL(baseUrl);
  const mod = base.protocol === 'https:' ? https : http;
  const agent = new mod.Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets });
  return {
    post(path, body) {
      const bytes = typeof body === 'string' ? Buffer.from(body) : body;
      return new Promise((resolve, reject) => {
        const req = mod.request(
          new URL(`${basePath}${path}`, base),
          {
            method: 'POST',
            agent,
            headers: { 'content-type': contentType, 'content-length': bytes.length },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () =>
              resolve({
                status: res.statusCode ?? 0,
                body: Buffer.concat(chunks).toString('utf8'),
              }),
            );
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(bytes);
      });
    },
    close() {
      agent.destroy();
    },
  };
}

function errorCode(a: PostAnswer): string {
  try {
    const body = JSON.parse(a.body);
    // The node answers {error: {code}}, the gateway a signed envelope {code, ...}.
    const code = body?.error?.code ?? body?.code;
    if (typeof code === 'string') return code;
  } catch {
    // not JSON: fall through to the status
  }
  return `HTTP_${a.status}`;
}

/** POST one tx (or its gateway envelope to `path`); '' when accepted, else the error code. */
async function postOne(
  poster: ReturnType<typeof txPoster>,
  body: Uint8Array | string,
  path = '/txs',
): Promise<string> {
  const a = await poster.post(path, body);
  return a.status >= 200 && a.status < 300 ? '' : errorCode(a);
}

/** How long bench waits for the answer to one batch request (an hour: effectively forever). */
const BATCH_REQUEST_TIMEOUT_MS = 3_600_000;

/**
 * Submit a TxBatch through the SDK; per tx '' when accepted, else its error code. A transport
 * failure is thrown, for the caller to retry.
 */
async function postBatch(batcher: ArchiClient, txs: Uint8Array[]): Promise<string[]> {
  try {
    return (await batcher.submitBatch(txs)).map((r) => r.error?.code ?? '');
  } catch (e) {
    if (!(e instanceof ArchiError) || isUnreachable(e) || e.code === 'TIMEOUT') throw e;
    // Refused as a whole: every tx gets the code the node sent, even one this build lacks.
    const code = (e as { remoteCode?: string }).remoteCode ?? e.code;
    return txs.map(() => code);
  }
}

/** Value at quantile q (0..1) of ascending `sorted`, nearest-rank. */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Progress output that rewrites one stderr line; silent unless enabled. */
function progressLine(enabled: boolean): { update(text: string): void; done(): void } {
  let last = 0;
  let shown = false;
  return {
    update(text) {
      if (!enabled) return;
      const now = Date.now();
      if (now - last < 200) return;
      last = now;
      shown = true;
      process.stderr.write(`\r\x1b[K${text}`);
    },
    done() {
      if (enabled && shown) process.stderr.write('\r\x1b[K');
    },
  };
}

function calls(workload: Workload, n: number, contract = BENCH_CONTRACT): Call[] {
  const out: Call[] = new Array(n);
  if (workload === 'transfer') {
    for (let i = 0; i < n; i++) {
      out[i] = {
        contract: 'token',
        method: 'transfer',
        args: { to: randomBytes(20).toString('hex'), amount: 1 },
      };
    }
  } else if (workload === 'contract') {
    for (let i = 0; i < n; i++) out[i] = { contract, method: 'increment', args: {} };
  } else {
    const run = randomBytes(6).toString('hex');
    for (let i = 0; i < n; i++) {
      out[i] = { contract: 'kv', method: 'put', args: { key: `bench-${run}-${i}`, value: i } };
    }
  }
  return out;
}

/** Run one benchmark against `client` (the node `nodeName`), signing as `identity`. */
export async function runBench(
  client: ArchiClient,
  nodeName: string,
  identity: Identity,
  o: BenchOptions,
): Promise<BenchResult> {
  const status = await client.status();
  const chainId = status.chainId;
  const progress = progressLine(o.progress);
  const errors: Record<string, number> = {};
  const countError = (code: string): void => {
    errors[code] = (errors[code] ?? 0) + 1;
  };

  if (o.workload === 'transfer') {
    progress.update(`minting ${o.txs} to ${identity.address}`);
    const mint = buildAndSign(identity, chainId, {
      contract: 'token',
      method: 'mint',
      args: { to: identity.address, amount: String(o.txs) },
    });
    const minted = await client.submitTx(mint.bytes, { wait: true, timeoutMs: 60_000 });
    if (minted.receipt.status !== 'ok') {
      throw new ArchiError(
        'INTERNAL',
        `bench setup: mint failed: ${minted.receipt.code}: ${minted.receipt.message}`,
      );
    }
  }

  const gw = o.gateway;
  if (gw && (o.workload !== 'contract' || o.batch !== 1)) {
    throw new ArchiError(
      'INVALID_ARGS',
      'through the gateway the bench runs the contract workload one tx per request',
    );
  }
  if (o.workload === 'contract' && !gw) {
    const contracts = new Contracts(client);
    const deployed = await contracts.list();
    if (!deployed.some((c) => c.name === BENCH_CONTRACT && c.status === 'active')) {
      progress.update(`deploying ${BENCH_CONTRACT}`);
      const built = await buildContract(COUNTER_SOURCE);
      await contracts.deploy(identity, BENCH_CONTRACT, built.code, { timeoutMs: 60_000 });
    }
  }

  if (o.workload === 'cbdc' && !o.signed) {
    throw new ArchiError(
      'INVALID_ARGS',
      'the cbdc workload needs its wallets prepared (archi bench)',
    );
  }
  const list = o.signed?.calls ?? calls(o.workload, o.txs, gw?.contract);
  const txs: Uint8Array[] = new Array(o.txs);
  const index = new Map<string, number>();
  // Through the gateway each tx goes in an app envelope; a retry needs a new one (new reqId).
  const envelope = (i: number): string =>
    JSON.stringify(gw?.client.envelope({ tx: Buffer.from(txs[i]).toString('base64') }));
  const envelopes: string[] = gw ? new Array(o.txs) : [];
  for (let i = 0; i < o.txs; i++) {
    const t = buildAndSign(o.signed?.signers[i] ?? identity, chainId, list[i]);
    txs[i] = t.bytes;
    index.set(t.txIdHex, i);
    if (gw) envelopes[i] = envelope(i);
    if ((i & 255) === 0) progress.update(`signing ${i}/${o.txs}`);
  }

  // Per tx: submit start, commit time (0 = not yet), state 0 pending, 1 accepted, 2 done, 3 failed.
  const startAt = new Float64Array(o.txs);
  const commitAt = new Float64Array(o.txs);
  const state = new Uint8Array(o.txs);
  let accepted = 0;
  let committed = 0;
  let settled = 0;
  let lastProgress = performance.now();
  let lastCommitAt = 0;
  let lastHeight = status.height;

  const onCommit = (txId: string, height: number, ok: boolean, code: string): void => {
    if (height > lastHeight) lastHeight = height;
    const i = index.get(txId);
    if (i === undefined || state[i] >= 2) return;
    const now = performance.now();
    commitAt[i] = now;
    lastCommitAt = now;
    lastProgress = now;
    settled++;
    if (ok) {
      state[i] = 2;
      committed++;
    } else {
      state[i] = 3;
      countError(code || 'TX_FAILED');
    }
  };

  let source: 'ws' | 'poll' = 'ws';
  let polling = false;
  let stopped = false;
  const poll = async (): Promise<void> => {
    if (polling) return;
    polling = true;
    source = 'poll';
    // Re-scan from the last height seen: marking a tx twice is a no-op, missing one is not.
    let next = Math.max(lastHeight, status.height + 1);
    while (!stopped) {
      try {
        const latest = await client.getBlock('latest');
        for (; next <= latest.height && !stopped; next++) {
          const b = next === latest.height ? latest : await client.getBlock(next);
          for (const t of b.txs) onCommit(t.txId, b.height, true, '');
        }
      } catch {
        // a transient failure: try again on the next tick
      }
      await sleep(100);
    }
  };

  let unsubscribe: (() => void) | undefined;
  try {
    unsubscribe = await client.subscribe(
      'txs',
      {},
      (d: TxPush) => onCommit(d.txId, d.height, d.receipt?.status === 'ok', d.receipt?.code ?? ''),
      { onClose: () => void poll(), onError: () => undefined },
    );
  } catch {
    void poll();
  }

  const poster = gw
    ? txPoster(gw.client.url, '', o.concurrency, 'application/json')
    : txPoster(client.url, client.basePath, o.concurrency);
  // Batches go through the SDK, over as many kept-alive connections as requests in flight.
  // With every batch in flight at once a request waits minutes for the node's signature checks;
  // cut short and retried, its txs still being checked answer TX_DUPLICATE (taken as accepted)
  // and may then find the pool full, lost unseen. So, like the single-tx poster, no deadline
  // in practice.
  const batcher =
    !gw && o.batch > 1
      ? new ArchiClient(client.url, {
          chainId: client.chainId,
          batchConnections: o.concurrency,
          timeoutMs: BATCH_REQUEST_TIMEOUT_MS,
        })
      : undefined;
  const t0 = performance.now();
  let submitEnd = t0;
  let nextTx = 0;
  const fail = (i: number, code: string): void => {
    if (state[i] < 2) {
      state[i] = 3;
      settled++;
      countError(code);
    }
  };
  const answeredAt = new Float64Array(o.txs);
  const accept = (i: number): void => {
    if (answeredAt[i] === 0) answeredAt[i] = performance.now();
    if (state[i] === 0) state[i] = 1;
    if (state[i] !== 3) accepted++;
  };
  /** Submit txs[indices] (one request, or one batch request), retrying what the node may take later. */
  const submit = async (indices: number[]): Promise<void> => {
    let todo = indices;
    for (let attempt = 0; todo.length > 0; attempt++) {
      let codes: string[];
      try {
        if (gw && attempt > 0) for (const i of todo) envelopes[i] = envelope(i);
        codes = gw
          ? [await postOne(poster, envelopes[todo[0]], '/gw/v1/tx')]
          : batcher
            ? await postBatch(
                batcher,
                todo.map((i) => txs[i]),
              )
            : [await postOne(poster, txs[todo[0]])];
      } catch {
        codes = todo.map(() => 'NETWORK');
      }
      const retry: number[] = [];
      todo.forEach((i, k) => {
        const code = codes[k];
        // A retried tx the node already holds was accepted the first time.
        if (code === '' || (code === 'TX_DUPLICATE' && attempt > 0)) accept(i);
        else if (
          (code === 'MEMPOOL_FULL' || code === 'NOT_READY' || code === 'NETWORK') &&
          attempt < 50
        )
          retry.push(i);
        else fail(i, code);
      });
      todo = retry;
      if (todo.length > 0) await sleep(Math.min(20 * 2 ** Math.min(attempt, 5), 500));
    }
    submitEnd = performance.now();
  };
  const worker = async (): Promise<void> => {
    for (;;) {
      const first = nextTx;
      if (first >= o.txs) return;
      nextTx = Math.min(o.txs, first + o.batch);
      const indices: number[] = [];
      const now = performance.now();
      for (let i = first; i < nextTx; i++) {
        startAt[i] = now;
        indices.push(i);
      }
      await submit(indices);
      progress.update(`submitted ${nextTx}/${o.txs}  committed ${committed}`);
    }
  };
  /** Fixed-rate sending: every few ms, what is due by now (up to `concurrency` in flight). */
  const paced = async (rate: number): Promise<void> => {
    const inflight = new Set<Promise<void>>();
    while (nextTx < o.txs) {
      const due = Math.min(o.txs, Math.floor(((performance.now() - t0) * rate) / 1000) + 1);
      while (nextTx < due && inflight.size < o.concurrency) {
        const first = nextTx;
        nextTx = Math.min(due, first + o.batch);
        const indices: number[] = [];
        for (let i = first; i < nextTx; i++) {
          startAt[i] = t0 + (i * 1000) / rate;
          indices.push(i);
        }
        const p = submit(indices).finally(() => inflight.delete(p));
        inflight.add(p);
      }
      progress.update(`submitted ${nextTx}/${o.txs}  committed ${committed}`);
      const wait = t0 + (nextTx * 1000) / rate - performance.now();
      // Behind with every slot taken: wait for an answer rather than spin.
      if (nextTx < due) await Promise.race(inflight);
      else await sleep(Math.max(1, Math.min(wait, 10)));
    }
    await Promise.all(inflight);
  };
  if (o.rate) await paced(o.rate);
  else await Promise.all(Array.from({ length: Math.min(o.concurrency, o.txs) }, worker));
  poster.close();
  batcher?.close();

  lastProgress = Math.max(lastProgress, performance.now());
  while (settled < o.txs && performance.now() - lastProgress < o.idleTimeoutMs) {
    progress.update(
      `submitted ${o.txs}/${o.txs}  committed ${committed}  waiting for ${o.txs - settled}`,
    );
    await sleep(50);
  }
  stopped = true;
  unsubscribe?.();
  progress.done();

  const pending = o.txs - settled;
  if (pending > 0) errors.NOT_COMMITTED = pending;
  const latencies: number[] = [];
  for (let i = 0; i < o.txs; i++) if (state[i] === 2) latencies.push(commitAt[i] - startAt[i]);
  latencies.sort((a, b) => a - b);
  const answers: number[] = [];
  for (let i = 0; i < o.txs; i++) if (answeredAt[i] > 0) answers.push(answeredAt[i] - startAt[i]);
  answers.sort((a, b) => a - b);
  const end = committed > 0 ? Math.max(lastCommitAt, submitEnd) : submitEnd;
  const durationSec = Math.max((end - t0) / 1000, 1e-6);
  const submitSec = Math.max((submitEnd - t0) / 1000, 1e-6);
  return {
    workload: o.workload,
    txs: o.txs,
    concurrency: o.concurrency,
    batch: o.batch,
    committed,
    failed: o.txs - committed,
    durationSec: round(durationSec, 3),
    committedPerSec: round(committed / durationSec, 1),
    submitPerSec: round(accepted / submitSec, 1),
    latencyMs: {
      p50: round(quantile(latencies, 0.5), 1),
      p90: round(quantile(latencies, 0.9), 1),
      p99: round(quantile(latencies, 0.99), 1),
      max: round(latencies.length ? latencies[latencies.length - 1] : 0, 1),
    },
    submitLatencyMs: {
      p50: round(quantile(answers, 0.5), 1),
      p99: round(quantile(answers, 0.99), 1),
    },
    ...(o.rate ? { rate: o.rate, offeredPerSec: round(o.txs / submitSec, 1) } : {}),
    crypto: status.crypto,
    node: nodeName.includes('://') && status.node ? status.node : nodeName,
    chainId,
    errors,
    commitSource: source,
  };
}

interface BenchFlags extends TargetFlags {
  txs: number;
  concurrency: number;
  batch: number;
  workload: Workload;
  as: string;
  idleTimeout: number;
  via: 'node' | 'gateway';
  gateway?: string;
  rate?: number;
  duration?: number;
}

/** What `archi bench --via gateway` prints: both runs and how the gateway path compares. */
export interface GatewayBenchResult {
  via: 'gateway';
  app: string;
  /** Throughput: --txs at --concurrency, straight to the node and through the gateway. */
  direct: BenchResult;
  gateway: BenchResult;
  /** Latency: a few hundred txs one at a time each way, so no queue hides the gateway's cost. */
  directUnloaded: BenchResult;
  gatewayUnloaded: BenchResult;
  /** Gateway throughput over direct throughput (committed txs per second). */
  throughputRatio: number;
  /** Unloaded p50 latency to commit, gateway minus direct, ms. */
  addedP50Ms: number;
  /** Unloaded p50 latency to the accepted answer, gateway minus direct, ms. */
  addedSubmitP50Ms: number;
}

/** Txs of the one-at-a-time latency runs of --via gateway. */
const UNLOADED_TXS = 200;

/**
 * A new upload-mode app of tenant `bench` on the client's chain, with the example counter
 * deployed through the gateway: what the gateway run signs and calls as.
 */
async function benchApp(
  client: ArchiClient,
  flags: BenchFlags,
): Promise<{ gateway: GatewayClient; identity: Identity; contract: string }> {
  const admin = adminClient(flags.dir, flags.gateway);
  const status = await client.status();
  await admin.createTenant('bench').catch((e: { code?: string }) => {
    if (e.code !== 'GW_EXISTS') throw e;
  });
  const keys = makeUploadKeys(status.crypto, status.identityMode);
  const created = await admin.createApp({
    tenant: 'bench',
    name: `bench-${randomBytes(4).toString('hex')}`,
    chain: status.chainId,
    mode: 'upload',
    ...keys.upload,
  });
  const gateway = new GatewayClient(admin.url, {
    appId: created.app.id,
    accessKeyPem: keys.access.privateKeyPem,
    profile: status.crypto,
    gatewayPublicKeyPem: created.gateway.publicKeys[status.crypto],
  });
  const id = created.identities[0];
  const identity = Identity.fromPem(
    status.crypto,
    id.org,
    keys.identities[0].privateKeyPem,
    id.cert ?? keys.identities[0].publicKeyHex,
  );
  const built = await buildContract(COUNTER_SOURCE);
  const deployed = await gateway.deploy('counter', built.code, { timeoutMs: 60_000 });
  if (deployed.status !== 'deployed') {
    throw new ArchiError(
      'NOT_READY',
      `the chain's lifecycle policy needs a vote to deploy the bench contract (proposal ${deployed.proposal.id}); bench through the gateway on a chain whose policy lets one organization deploy`,
    );
  }
  return { gateway, identity, contract: deployed.contract.name };
}

/** Adds `archi bench` to the program. */
export function register(program: Command): void {
  addTargetOptions(
    program
      .command('bench')
      .description(
        'load-test one node: pre-signed txs, C in flight, commits via WebSocket; prints JSON',
      )
      .option('--txs <n>', 'number of transactions', intOption('--txs', 1, 10_000_000), 20_000)
      .option('--concurrency <c>', 'requests in flight', intOption('--concurrency', 1, 65_536), 256)
      .option(
        '--batch <n>',
        'txs per request (>1 uses /v1/txs/batch)',
        intOption('--batch', 1, 1000),
        1,
      )
      .addOption(
        new Option('--workload <name>', 'what each tx does')
          .choices(['transfer', 'kv', 'contract', 'cbdc'])
          .default('transfer'),
      )
      .option('--as <org/user>', 'identity to sign with (an admin for transfer)', DEFAULT_IDENTITY)
      .option(
        '--idle-timeout <ms>',
        'stop waiting for commits after this long without one',
        intOption('--idle-timeout', 1, 3_600_000),
        60_000,
      )
      .addOption(
        new Option(
          '--via <path>',
          'node: straight to the node; gateway: the contract workload straight and then as an app through the service gateway, both reported',
        )
          .choices(['node', 'gateway'])
          .default('node'),
      )
      .option('--gateway <url>', "the gateway's URL (default: network.json's record)")
      .option(
        '--rate <r>',
        'offer R txs/s (fixed rate, latency from each scheduled send) instead of sending as fast as answered',
        intOption('--rate', 1, 1_000_000),
      )
      .option(
        '--duration <s>',
        'with --rate: seconds of load (R x S txs; default 30)',
        intOption('--duration', 1, 86_400),
      ),
  ).action(async (flags: BenchFlags, cmd: Command) => {
    if (flags.duration !== undefined && flags.rate === undefined) {
      throw new ArchiError('INVALID_ARGS', '--duration goes with --rate');
    }
    if (flags.rate !== undefined) {
      if (cmd.getOptionValueSource('txs') === 'cli') {
        throw new ArchiError('INVALID_ARGS', '--rate with --duration sets the txs; drop --txs');
      }
      if (flags.via === 'gateway') {
        throw new ArchiError('INVALID_ARGS', '--rate runs straight to the node (--via node)');
      }
      flags.txs = flags.rate * (flags.duration ?? 30);
    }
    if (flags.via === 'gateway') {
      if (cmd.getOptionValueSource('workload') === 'default') flags.workload = 'contract';
      if (flags.workload !== 'contract' || flags.batch !== 1) {
        throw new ArchiError(
          'INVALID_ARGS',
          '--via gateway runs the contract workload (an app calls only its own contracts) with --batch 1',
        );
      }
    }
    const ctx = ClientContext.resolve(flags);
    const { client, node, identity } = await ctx.withNode(async (c, n) => {
      const info = await ctx.chainInfo(c);
      // Status first: an unreachable node moves on to the next one before any setup.
      await c.status();
      return { client: c, node: n, identity: ctx.identity(flags.as, info) };
    });
    const options: BenchOptions = {
      txs: flags.txs,
      concurrency: flags.concurrency,
      batch: flags.batch,
      workload: flags.workload,
      idleTimeoutMs: flags.idleTimeout,
      progress: process.stderr.isTTY === true,
      rate: flags.rate,
    };
    if (flags.workload === 'cbdc') {
      options.signed = await prepareCbdcBench(ctx, client, flags.txs, (t) => cliOutput.note(t));
    }
    if (flags.via === 'node') {
      const result = await runBench(client, node.name, identity, options);
      cliOutput.write(`${JSON.stringify(result)}\n`);
      return;
    }
    const app = await benchApp(client, flags);
    const route = { gateway: { client: app.gateway, contract: app.contract } };
    const unloaded = { ...options, txs: Math.min(options.txs, UNLOADED_TXS), concurrency: 1 };
    const directUnloaded = await runBench(client, node.name, identity, unloaded);
    const gatewayUnloaded = await runBench(client, node.name, app.identity, {
      ...unloaded,
      ...route,
    });
    const direct = await runBench(client, node.name, identity, options);
    const gateway = await runBench(client, node.name, app.identity, { ...options, ...route });
    const result: GatewayBenchResult = {
      via: 'gateway',
      app: app.gateway.appId,
      direct,
      gateway,
      directUnloaded,
      gatewayUnloaded,
      throughputRatio: round(gateway.committedPerSec / Math.max(direct.committedPerSec, 1e-9), 3),
      addedP50Ms: round(gatewayUnloaded.latencyMs.p50 - directUnloaded.latencyMs.p50, 1),
      addedSubmitP50Ms: round(
        gatewayUnloaded.submitLatencyMs.p50 - directUnloaded.submitLatencyMs.p50,
        1,
      ),
    };
    cliOutput.write(`${JSON.stringify(result)}\n`);
  });
}
