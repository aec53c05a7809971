/**
 * Wide-area network: four validators, each in its own network namespace with its own address,
 * 40-80 ms one-way latency per pair and 1% packet loss (test/e2e/netns.ts). Commits continue
 * and a tx commits; a node cut off catches up once healed; a 2-2 split halts commits without
 * a fork and recovers when healed; a node whose consensus clock runs 2 s ahead, and one 2 s
 * behind (node.json's clockOffsetMs: namespaces share the wall clock), keep up.
 *
 * The nodes run `archi init --hosts` configs with the default consensus params (propose 3 s,
 * vote 1 s, +0.5 s a round, 200 ms between blocks), as an operator would deploy them. Block
 * intervals per phase, as seen from node1, and a bench's tx latency are printed as JSON.
 * Skipped, with the reason, where namespaces cannot be made (not root, no `ip`, ...).
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { address, getProfile } from '../../src/crypto/profile.ts';
import { unhex } from '../../src/types/hex.ts';
import { ARCHI, archi, archiJson, removeDir, Running, tempDir } from './harness.ts';
import { block, type NetNode, status, waitUntil } from './network.ts';
import { netnsAvailable, Wan } from './netns.ts';

const available = netnsAvailable();

interface WanNode extends NetNode {
  index: number;
}

/** p50 and p99 (nearest rank) of a list of numbers, rounded to the ms. */
function percentiles(xs: number[]): { n: number; p50: number | null; p99: number | null } {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => (s.length ? Math.round(s[Math.ceil(q * s.length) - 1]) : null);
  return { n: s.length, p50: at(0.5), p99: at(0.99) };
}

describe('a wide-area network in namespaces: 40-80 ms, 1% loss', {
  concurrency: false,
  skip: available.ok ? false : available.reason,
}, () => {
  let wan: Wan | undefined;
  let dir = '';
  let nodes: WanNode[] = [];
  let ws: WebSocket | undefined;
  /** Arrival time (performance.now()) of each height at node1, from its block subscription. */
  const seen = new Map<number, number>();
  /** The same in wall-clock time, against block times. */
  const seenWall = new Map<number, number>();
  const phases: Record<string, unknown> = {};

  const heights = async (of = nodes) => (await Promise.all(of.map(status))).map((s) => s.height);

  async function start(n: WanNode): Promise<void> {
    n.proc = new Running(
      wan!.spawnIn(n.index, process.execPath, [ARCHI, 'node', 'start', '--config', n.config]),
    );
    await n.proc.waitFor(new RegExp(`${n.name} rpc`), 60_000);
  }

  /** Every node that has a height agrees on its block, for each height from `from` to `to`. */
  async function noFork(from: number, to: number): Promise<void> {
    const hs = await heights();
    for (let h = Math.max(1, from); h <= to; h++) {
      const holders = nodes.filter((_, i) => hs[i] >= h);
      const hashes = await Promise.all(holders.map(async (n) => (await block(n, h)).hash));
      assert.equal(new Set(hashes).size, 1, `fork at height ${h}: ${hashes.join(' ')}`);
    }
  }

  /** Waits until every node in `of` reaches `h`. */
  function allReach(h: number, of: WanNode[], timeoutMs: number) {
    return waitUntil(
      async () => (await heights(of)).every((x) => x >= h),
      `${of.map((n) => n.name).join(',')} at height ${h}`,
      timeoutMs,
      200,
    );
  }

  /** Block intervals at node1 between two instants, and the rounds those blocks took. */
  async function phase(name: string, t0: number, t1: number, extra: object = {}) {
    const hs = [...seen.keys()].filter((h) => seen.get(h)! >= t0 && seen.get(h)! <= t1);
    const intervals = hs.filter((h) => seen.has(h - 1)).map((h) => seen.get(h)! - seen.get(h - 1)!);
    const rounds = await Promise.all(hs.map(async (h) => (await block(nodes[0], h)).commit?.round));
    phases[name] = {
      blocks: hs.length,
      seconds: Math.round((t1 - t0) / 100) / 10,
      blockIntervalMs: percentiles(intervals),
      blocksAfterRound0: rounds.filter((r) => r > 0).length,
      ...extra,
    };
  }

  before(async () => {
    wan = await Wan.create({ nodes: 4 });
    dir = tempDir('archi-wan-');
    const init = await archi([
      'init',
      '--dir',
      dir,
      '--consensus',
      'tbft',
      '--hosts',
      wan.hosts.join(','),
    ]);
    assert.equal(init.code, 0, init.stderr);
    const network = JSON.parse(readFileSync(join(dir, 'network.json'), 'utf8'));
    nodes = network.nodes.map((n: NetNode, i: number) => ({
      ...n,
      index: i + 1,
      config: join(dir, 'nodes', n.name, 'node.json'),
    }));
    await Promise.all(nodes.map(start));
    ws = new WebSocket(`${nodes[0].rpc.replace('http', 'ws')}/v1/ws`);
    await new Promise((res, rej) => ws!.once('open', res).once('error', rej));
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString());
      if (m.topic !== 'blocks' || !m.data) return;
      seen.set(m.data.height, performance.now());
      seenWall.set(m.data.height, Date.now());
    });
    ws.send(JSON.stringify({ op: 'subscribe', topic: 'blocks' }));
  });

  // Runs even when a test or before() fails: every node stopped, the namespaces, devices and
  // router gone, the directory removed.
  after(async () => {
    ws?.terminate();
    await Promise.all(nodes.map((n) => n.proc?.stop()));
    const stats = await wan?.stats().catch(() => undefined);
    await wan?.teardown();
    if (dir) removeDir(dir);
    if (wan) {
      console.log(
        `WAN commit intervals: ${JSON.stringify({
          delaysMs: wan.delays.slice(1).map((row) => row.slice(1)),
          jitterMs: wan.opts.jitterMs,
          loss: wan.opts.loss,
          packets: stats,
          phases,
        })}`,
      );
    }
  });

  test('commits continue: all four agree on every block, and a tx commits', async () => {
    const t0 = performance.now();
    const h0 = Math.max(...(await heights()));
    await allReach(h0 + 30, nodes, 120_000);
    const h = Math.min(...(await heights()));
    await noFork(1, h);
    // A burst of txs from a client on the operator's side: commit latency under WAN.
    const bench = await archiJson([
      'bench',
      '--dir',
      dir,
      '--workload',
      'kv',
      '--txs',
      '200',
      '--concurrency',
      '16',
    ]);
    assert.equal(bench.committed, 200, JSON.stringify(bench));
    const r = await archiJson([
      'tx',
      'send',
      '--dir',
      dir,
      '--as',
      'org3/client',
      '--contract',
      'kv',
      '--method',
      'put',
      '--args',
      JSON.stringify({ key: 'wan', value: 'ok' }),
      '--wait',
      '--timeout',
      '60000',
    ]);
    assert.equal(r.status, 'ok', JSON.stringify(r));
    await allReach(Number(r.height), nodes, 60_000);
    await noFork(h, Number(r.height));
    await phase('steady', t0, performance.now(), {
      txLatencyMs: { p50: bench.latencyMs.p50, p99: bench.latencyMs.p99 },
      txsPerSec: bench.committedPerSec,
    });
  });

  test('a node cut off from the others catches up once healed', async () => {
    const [node4] = nodes.slice(3);
    const three = nodes.slice(0, 3);
    await wan!.partition([[1, 2, 3], [4]]);
    const t0 = performance.now();
    const cut = await heights();
    // Cut for longer than the p2p idle timeout (15 s), so that the links are dropped and must
    // be dialed again after the heal, as after a real outage.
    const target = Math.max(...cut.slice(0, 3)) + 15;
    await waitUntil(
      async () => {
        const hs = await heights();
        // Alone, node4 has a quarter of the power: it may finish the height in flight, no more.
        assert.ok(hs[3] <= cut[3] + 1, `node4 committed alone: ${cut[3]} -> ${hs[3]}`);
        return hs.slice(0, 3).every((x) => x >= target) && performance.now() - t0 >= 20_000;
      },
      'the three connected nodes to commit 15 blocks in a cut of 20 s or more',
      120_000,
      200,
    );
    const t1 = performance.now();
    await wan!.heal();
    const ahead = Math.max(...(await heights(three)));
    await allReach(ahead, [node4], 120_000);
    const caughtUpMs = Math.round(performance.now() - t1);
    // Caught up, it follows: it commits new heights together with the others.
    await allReach(ahead + 5, nodes, 60_000);
    await noFork(cut[3] - 1, ahead + 5);
    await phase('node4 cut off', t0, t1, { cutForMs: Math.round(t1 - t0), caughtUpMs });
  });

  test('a 2-2 split halts commits without a fork, and commits resume when healed', async () => {
    await wan!.partition([
      [1, 2],
      [3, 4],
    ]);
    const cut = await heights();
    const h0 = Math.max(...cut);
    // Neither half has more than two thirds of the power, so no new height can commit; only
    // the height in flight when the cut came may still be decided, by a node that already
    // held its precommits. The watch lasts 20 s: over 40 block intervals at the steady rate
    // (under 0.5 s), and long enough for rounds 0-3 to time out (3 s propose + 1 s vote, +0.5 s
    // each round), so a half that could commit would have done so several times.
    const watchMs = 20_000;
    const end = performance.now() + watchMs;
    let highest = h0;
    while (performance.now() < end) {
      highest = Math.max(highest, ...(await heights()));
      assert.ok(highest <= h0 + 1, `a half committed: heights ${cut} -> ${await heights()}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    await noFork(h0 - 2, highest);
    await wan!.heal();
    const t1 = performance.now();
    await allReach(highest + 3, nodes, 120_000);
    const resumedMs = Math.round(performance.now() - t1);
    await noFork(h0 - 2, Math.min(...(await heights())));
    const t2 = performance.now();
    await allReach(highest + 13, nodes, 60_000);
    await phase('after 2-2 heal', t2, performance.now(), {
      splitForMs: watchMs,
      heightsWhileSplit: { before: cut, highest },
      resumedMs,
    });
  });

  test('clock skew: one node 2 s ahead, one 2 s behind; commits continue, both keep up', async () => {
    const skew: Array<[WanNode, number]> = [
      [nodes[1], 2000],
      [nodes[2], -2000],
    ];
    // One at a time, so three nodes stay up and commits never stop.
    for (const [n, offset] of skew) {
      await n.proc!.stop();
      const cfg = JSON.parse(readFileSync(n.config, 'utf8'));
      writeFileSync(n.config, JSON.stringify({ ...cfg, clockOffsetMs: offset }, null, 2));
      await start(n);
      assert.match(n.proc!.out, new RegExp(`"offsetMs":${offset}`));
      await allReach(Math.max(...(await heights())) + 2, nodes, 90_000);
    }
    const t0 = performance.now();
    const h0 = Math.max(...(await heights()));
    await allReach(h0 + 20, nodes, 90_000);
    const hs = await heights();
    for (const [n] of skew) {
      assert.ok(hs[n.index - 1] >= Math.max(...hs) - 2, `${n.name} lags: heights ${hs}`);
    }
    // Both skewed nodes proposed blocks that were committed, so their clock readings were
    // taken; node2's carry times ahead of the wall clock even at commit.
    const profile = getProfile('standard');
    const { validators } = (await (await fetch(`${nodes[0].rpc}/v1/validators`)).json()) as any;
    const addressOf = (n: WanNode) =>
      address(profile, unhex(validators.find((v: any) => v.name === n.name).publicKey));
    const headers = await Promise.all(
      Array.from({ length: 20 }, async (_, k) => (await block(nodes[0], h0 + 1 + k)).header),
    );
    const aheadMs: Record<string, number | null> = {};
    for (const [n] of skew) {
      const own = headers.filter((hd) => hd.proposer === addressOf(n));
      assert.ok(own.length > 0, `no block from ${n.name} among heights ${h0 + 1}..${h0 + 20}`);
      const ahead = own.filter((hd) => seenWall.has(hd.height));
      aheadMs[n.name] = percentiles(ahead.map((hd) => hd.time - seenWall.get(hd.height)!)).p50;
    }
    assert.ok((aheadMs.node2 ?? 0) > 0, `node2's blocks not ahead: ${JSON.stringify(aheadMs)}`);
    const r = await archiJson([
      'tx',
      'send',
      '--rpc',
      nodes[1].rpc,
      '--dir',
      dir,
      '--contract',
      'kv',
      '--method',
      'put',
      '--args',
      JSON.stringify({ key: 'skew', value: '+2s' }),
      '--wait',
      '--timeout',
      '60000',
    ]);
    assert.equal(r.status, 'ok', JSON.stringify(r));
    await allReach(Number(r.height), nodes, 60_000);
    await noFork(h0 - 5, Number(r.height));
    await phase('skewed clocks', t0, performance.now(), {
      blockTimeMinusArrivalMs: aheadMs,
    });
  });
});
