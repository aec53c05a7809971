/**
 * Across hosts, on one machine: Linux routes all of 127.0.0.0/8 to loopback, so four
 * addresses stand in for four hosts. `archi init --hosts` and `archi pack` make one bundle
 * per node; each is unpacked into its own directory and its node started from it alone (the
 * network directory is moved away meanwhile). The four agree on blocks and commit a tx.
 */
import assert from 'node:assert/strict';
import { renameSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { extract as tarExtract } from 'tar';
import { archi, archiJson, removeDir, stopAll, tempDir } from './harness.ts';
import {
  block,
  initNetwork,
  type NetNode,
  startNode,
  status,
  waitHeight,
  waitUntil,
} from './network.ts';

const HOSTS = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];

function canListen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}

/** A base port whose pair is free on every host (and on 127.0.0.1, checked below). */
async function freeBasePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    // Below the ephemeral range, so no client socket takes it while the test runs.
    const base = 20_000 + 2 * Math.floor(Math.random() * 5_000);
    let free = true;
    for (const host of ['127.0.0.1', ...HOSTS]) {
      if (!(await canListen(host, base)) || !(await canListen(host, base + 1))) free = false;
    }
    if (free) return base;
  }
  throw new Error('no free port pair on 127.0.0.1-5');
}

/** Whether something accepts TCP connections at host:port. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

describe('a network across hosts, each node started from its own bundle', {
  concurrency: false,
}, () => {
  const dirs: string[] = [];
  let dir: string;
  let moved: string;
  let base: number;
  let nodes: NetNode[];

  before(async () => {
    dir = tempDir('archi-hosts-');
    dirs.push(dir);
    base = await freeBasePort();
    nodes = await initNetwork(dir, 4, ['--hosts', HOSTS.join(','), '--base-port', String(base)]);
  });

  // Runs even when a test fails: every process stopped (so every port closed), every dir gone.
  after(async () => {
    await stopAll();
    if (moved) {
      try {
        renameSync(moved, dir);
      } catch {
        // already back
      }
    }
    for (const d of dirs) removeDir(d);
  });

  test('init --hosts: each node listens on its own host and dials the others there', () => {
    assert.deepEqual(
      nodes.map((n) => [n.rpc, n.p2p]),
      HOSTS.map((h) => [`http://${h}:${base}`, `${h}:${base + 1}`]),
    );
  });

  test('pack writes one bundle per node; each unpacks into its own directory', async () => {
    const bundles = tempDir('archi-bundles-');
    dirs.push(bundles);
    for (const n of nodes) {
      const out = join(bundles, `${n.name}.tar.gz`);
      const r = await archi(['pack', '--dir', dir, '--node', n.name, '--out', out]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`Packed ${n.name} into ${out.replace(/\./g, '\\.')}`));
      const host = tempDir(`archi-host-${n.name}-`);
      dirs.push(host);
      await tarExtract({ file: out, cwd: host });
      n.config = join(host, n.name, 'node.json');
    }
  });

  test('the four nodes start from their bundles alone and agree on blocks', async () => {
    // Nothing of the network directory may be needed to start: move it out of reach.
    moved = `${dir}.away`;
    renameSync(dir, moved);
    await Promise.all(nodes.map(startNode));
    renameSync(moved, dir);
    moved = '';
    await Promise.all(nodes.map((n) => waitHeight(n, 3, 120_000)));
    const hashes = await Promise.all(nodes.map(async (n) => (await block(n, 3)).hash));
    assert.equal(new Set(hashes).size, 1, `block 3 differs: ${hashes.join(' ')}`);
    await waitUntil(
      async () =>
        (await Promise.all(nodes.map(status))).every(
          (s) => s.peers.filter((p: { connected: boolean }) => p.connected).length === 3,
        ),
      'every node connected to its 3 peers',
    );
    // Each listens on its own address only.
    assert.equal(await accepts('127.0.0.1', base), false);
    assert.equal(await accepts('127.0.0.1', base + 1), false);
  });

  test('a tx sent through network.json commits on every node', async () => {
    const r = await archiJson([
      'tx',
      'send',
      '--dir',
      dir,
      '--as',
      'org2/client',
      '--contract',
      'kv',
      '--method',
      'put',
      '--args',
      JSON.stringify({ key: 'across', value: 'hosts' }),
      '--wait',
      '--timeout',
      '60000',
    ]);
    assert.equal(r.status, 'ok', JSON.stringify(r));
    const h = Number(r.height);
    assert.ok(h > 0, JSON.stringify(r));
    await Promise.all(nodes.map((n) => waitHeight(n, h)));
    const blocks = await Promise.all(nodes.map((n) => block(n, h)));
    assert.equal(new Set(blocks.map((b) => b.hash)).size, 1);
    for (const n of nodes) {
      const q = await archiJson([
        'query',
        '--rpc',
        n.rpc,
        '--dir',
        dir,
        '--contract',
        'kv',
        '--method',
        'get',
        '--args',
        '{"key":"across"}',
      ]);
      assert.equal(JSON.stringify(q).includes('hosts'), true, `${n.name}: ${JSON.stringify(q)}`);
    }
  });

  test('stopped, the nodes leave no port open', async () => {
    await stopAll();
    for (const h of HOSTS) {
      assert.equal(await canListen(h, base), true, `${h}:${base}`);
      assert.equal(await canListen(h, base + 1), true, `${h}:${base + 1}`);
    }
  });
});
