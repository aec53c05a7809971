/** A BFT network of real node processes on 127.0.0.1 for e2e and fault tests. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { archi, kill9, type Running, startArchi } from './harness.ts';

export interface NetNode {
  name: string;
  rpc: string;
  p2p: string;
  config: string;
  proc?: Running;
}

/** Short consensus timeouts in a genesis file no node has started from yet, so fault tests run fast. */
export function fastTimeouts(genesisPath: string): void {
  const g = JSON.parse(readFileSync(genesisPath, 'utf8'));
  g.params = {
    ...g.params,
    timeoutProposeMs: 1500,
    timeoutVoteMs: 500,
    timeoutDeltaMs: 250,
    blockIntervalMs: 200,
  };
  writeFileSync(genesisPath, JSON.stringify(g, null, 2));
}

/** `archi init` a network of `orgs` organizations, with short timeouts so fault tests run fast. */
export async function initNetwork(dir: string, orgs = 4, extra: string[] = []): Promise<NetNode[]> {
  const r = await archi([
    'init',
    '--dir',
    dir,
    '--orgs',
    String(orgs),
    '--consensus',
    'tbft',
    ...extra,
  ]);
  if (r.code !== 0) throw new Error(`init failed: ${r.stderr}`);
  fastTimeouts(join(dir, 'genesis.json'));
  const network = JSON.parse(readFileSync(join(dir, 'network.json'), 'utf8'));
  return network.nodes.map((n: { name: string; rpc: string; p2p: string }) => ({
    ...n,
    config: join(dir, 'nodes', n.name, 'node.json'),
  }));
}

/** Start one node's process and wait until its RPC answers. */
export async function startNode(n: NetNode): Promise<void> {
  n.proc = startArchi(['node', 'start', '--config', n.config]);
  await n.proc.waitFor(new RegExp(`${n.name} rpc`), 60_000);
}

/** kill -9 one node. */
export async function crash(n: NetNode): Promise<void> {
  if (!n.proc?.child.pid) return;
  await kill9(n.proc.child.pid);
  await n.proc.exited;
  n.proc = undefined;
}

export async function status(n: NetNode): Promise<any> {
  const r = await fetch(`${n.rpc}/v1/status`);
  return r.json();
}

/** Wait until the node's height reaches `h`. */
export async function waitHeight(n: NetNode, h: number, timeoutMs = 60_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  while (Date.now() < deadline) {
    try {
      last = (await status(n)).height;
      if (last >= h) return last;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${n.name} stuck at height ${last}, wanted ${h}`);
}

export async function block(n: NetNode, h: number): Promise<any> {
  const r = await fetch(`${n.rpc}/v1/blocks/${h}`);
  if (r.status !== 200) throw new Error(`${n.name} has no block ${h}: ${await r.text()}`);
  return r.json();
}

/** Assert every node holds identical blocks (hash and state root) for heights 1..h. */
export async function sameChain(nodes: NetNode[], h: number): Promise<void> {
  for (let i = 1; i <= h; i++) {
    const blocks = await Promise.all(nodes.map((n) => block(n, i)));
    for (const b of blocks) {
      if (b.hash !== blocks[0].hash || b.header.stateRoot !== blocks[0].header.stateRoot) {
        throw new Error(`fork at height ${i}: ${blocks.map((x) => x.hash).join(' ')}`);
      }
    }
  }
}

/** Polls `pred` (sync or async; a throw counts as false) until it returns a truthy value. */
export async function waitUntil<T>(
  pred: () => T | Promise<T>,
  what: string,
  timeoutMs = 60_000,
  everyMs = 100,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await pred();
      if (v) return v as NonNullable<T>;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what} (last: ${String(last)})`,
      );
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * The node's JSON log lines (pino, on stdout) whose `msg` is `msg`, parsed; only those
 * written after `since` characters of its output (see logMark) when given.
 */
export function logLines(n: NetNode, msg: string, since = 0): Array<Record<string, any>> {
  const out: Array<Record<string, any>> = [];
  for (const line of (n.proc?.out ?? '').slice(since).split('\n')) {
    if (!line.includes(msg)) continue;
    try {
      const j = JSON.parse(line);
      if (j.msg === msg) out.push(j);
    } catch {
      // a partial last line or not JSON
    }
  }
  return out;
}

/** Where the node's output ends now, for logLines(n, msg, since). */
export function logMark(n: NetNode): number {
  return n.proc?.out.length ?? 0;
}

/** The client side of a connection the node is expected to close (shared with the p2p tests). */
export { closedWithin } from '../p2p/helpers.ts';
