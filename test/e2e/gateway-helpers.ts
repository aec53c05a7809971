/**
 * Helpers of the service gateway's end-to-end tests: `archi up` with its gateway, the app
 * commands, txs built ahead of a burst, a gateway process of a test's own, and how many times
 * each tx id is on chain.
 */
import assert from 'node:assert/strict';
import { ArchiClient } from '../../src/sdk/client.ts';
import type { GatewayClient, GatewayError } from '../../src/sdk/gateway-client.ts';
import { buildAndSign, type Identity } from '../../src/sdk/identity.ts';
import { archi, type Running, startArchi } from './harness.ts';
import { waitUntil } from './network.ts';

/** `archi ARGS... --dir DIR --json`, parsed; throws with the output when it fails. */
export async function cliJson(dir: string, ...args: string[]): Promise<any> {
  const r = await archi([...args, '--dir', dir, '--json'], { timeoutMs: 180_000 });
  if (r.code !== 0) {
    throw new Error(`archi ${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`);
  }
  return JSON.parse(r.stdout);
}

export interface UpWithGateway {
  proc: Running;
  /** RPC URL of every node, in order. */
  rpcs: string[];
  gateway: { url: string; pid: number };
}

/**
 * `archi up --dir DIR ...` until it prints its endpoints, the gateway's among them (a new
 * embedded database takes a while on a busy machine: hence the long wait).
 */
export async function upWithGateway(dir: string, extra: string[] = []): Promise<UpWithGateway> {
  const proc = startArchi(['up', '--dir', dir, '--no-console', ...extra]);
  await proc.waitFor(/press Ctrl-C/, 420_000);
  const rpcs = [...proc.out.matchAll(/^ {2}node\d+ {2}rpc (\S+) {2}pid \d+/gm)].map((m) => m[1]);
  const g = proc.out.match(/^ {2}gateway (http\S+) {2}pid (\d+)$/m);
  assert.ok(g, `archi up printed no gateway: ${proc.out}\n${proc.err}`);
  return { proc, rpcs, gateway: { url: g[1], pid: Number(g[2]) } };
}

/** `archi gateway start --json ARGS`, once it prints its readiness line. */
export async function startGatewayProcess(
  args: string[],
): Promise<{ proc: Running; url: string; pid: number }> {
  const proc = startArchi(['gateway', 'start', '--json', ...args]);
  const m = await proc.waitFor(/^(\{"ready":true.*\})$/m, 240_000);
  const ready = JSON.parse(m[1]);
  return { proc, url: ready.url, pid: ready.pid };
}

/** Signed txs calling `contract.method` as `identity`, built before they are sent. */
export async function buildTxs(
  client: GatewayClient,
  identity: Identity,
  contract: string,
  method: string,
  n: number,
): Promise<Array<{ bytes: Uint8Array; txId: string }>> {
  const { chain } = await client.info();
  return Array.from({ length: n }, () => {
    const tx = buildAndSign(identity, chain.chainId, { contract, method });
    return { bytes: tx.bytes, txId: tx.txIdHex };
  });
}

/** The outcome of one request: its answer, or its error code (and retry-after). */
export type Outcome =
  | { ok: true; txId: string; status: string }
  | { ok: false; code: string; retryAfterMs?: number; message: string };

export async function outcome(p: Promise<{ txId: string; status: string }>): Promise<Outcome> {
  try {
    const a = await p;
    return { ok: true, txId: a.txId, status: a.status };
  } catch (e) {
    const err = e as GatewayError;
    return { ok: false, code: err.code, retryAfterMs: err.retryAfterMs, message: err.message };
  }
}

/** How many times each tx id appears in the chain's blocks (every non-empty block read). */
export async function txCountsOnChain(rpc: string, chainId?: string): Promise<Map<string, number>> {
  const node = new ArchiClient(rpc, { chainId });
  const counts = new Map<string, number>();
  let before: number | undefined;
  for (;;) {
    const page = await node.blocks({ before, limit: 100, nonEmpty: true });
    for (const b of page.blocks) {
      const block = await node.getBlock(b.height);
      for (const t of block.txs) counts.set(t.txId, (counts.get(t.txId) ?? 0) + 1);
    }
    if (page.next === null || page.next === undefined) break;
    before = page.next;
  }
  return counts;
}

/** Polls `pred` until it is truthy: network.ts's waitUntil with a 30 s default. */
export function eventually<T>(
  pred: () => T | Promise<T>,
  what: string,
  timeoutMs = 30_000,
): Promise<NonNullable<T>> {
  return waitUntil(pred, what, timeoutMs);
}
