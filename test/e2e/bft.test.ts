/**
 * A 4-organization BFT network of real node processes on 127.0.0.1: it commits txs sent to
 * any node, survives one crash, stalls safely without quorum, resyncs a wiped node, comes
 * back from a full crash under load without losing a committed tx, and shrugs off hostile
 * connections on its p2p port.
 */
import assert from 'node:assert/strict';
import { connect as tcpConnect } from 'node:net';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { address, getProfile } from '../../src/crypto/profile.ts';
import { certToPem, issueCertificate } from '../../src/crypto/x509.ts';
import { buildAndSign, Identity } from '../../src/sdk/identity.ts';
import { ArchiClient } from '../../src/sdk/client.ts';
import { hex, unhex } from '../../src/types/hex.ts';
import { archiJson, removeDir, stopAll, tempDir } from './harness.ts';
import {
  block,
  closedWithin,
  crash,
  initNetwork,
  logLines,
  logMark,
  type NetNode,
  sameChain,
  startNode,
  status,
  waitHeight,
  waitUntil,
} from './network.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('BFT network of 4 organizations', { concurrency: false }, () => {
  let dir: string;
  let nodes: NetNode[];
  let addresses: Record<string, string>;

  const send = (node: string, key: string, value: unknown) =>
    archiJson([
      'tx',
      'send',
      '--dir',
      dir,
      '--node',
      node,
      '--as',
      'org1/client',
      '--contract',
      'kv',
      '--method',
      'put',
      '--args',
      JSON.stringify({ key, value }),
      '--wait',
      '--timeout',
      '60000',
    ]);
  const height = async (n: NetNode) => (await status(n)).height as number;

  before(async () => {
    dir = tempDir('archi-bft-');
    nodes = await initNetwork(dir, 4);
    const genesis = JSON.parse(readFileSync(join(dir, 'genesis.json'), 'utf8'));
    const profile = getProfile(genesis.crypto);
    addresses = Object.fromEntries(
      genesis.validators.map((v: { name: string; publicKey: string }) => [
        v.name,
        address(profile, unhex(v.publicKey)),
      ]),
    );
    await Promise.all(nodes.map(startNode));
  });
  after(async () => {
    await stopAll();
    removeDir(dir);
  });

  test('txs sent to different nodes commit; every node holds the same blocks', async () => {
    for (const [i, n] of nodes.entries()) {
      const r = await send(n.name, `from-${n.name}`, i);
      assert.equal(r.status, 'ok', JSON.stringify(r));
    }
    const h = Math.min(...(await Promise.all(nodes.map(height))));
    await Promise.all(nodes.map((n) => waitHeight(n, h)));
    await sameChain(nodes, h);
    const s = await status(nodes[0]);
    assert.equal(s.validator, true);
    assert.equal(s.peers.filter((p: { connected: boolean }) => p.connected).length, 3);
    const st = await archiJson(['status', '--dir', dir]);
    assert.equal(st.nodes.length, 4);
    for (const n of st.nodes)
      assert.ok(n.height >= h && typeof n.round === 'number' && n.validator === true);
  });

  test('kill -9 one node: the rest go on; restarted, it catches up and votes again', async () => {
    const victim = nodes[3];
    await crash(victim);
    const before = await height(nodes[0]);
    for (let i = 0; i < 3; i++)
      assert.equal((await send('node1', `one-down-${i}`, i)).status, 'ok');
    assert.ok((await height(nodes[0])) > before);
    await startNode(victim);
    const target = await height(nodes[0]);
    await waitHeight(victim, target);
    await send('node2', 'after-restart', 1);
    // Its precommit shows up in a commit made after it came back.
    const deadline = Date.now() + 30_000;
    let signed = false;
    while (!signed && Date.now() < deadline) {
      const h = await height(nodes[0]);
      const b = await block(nodes[0], h);
      signed = (b.commit?.signatures ?? []).some(
        (s: { validator: string }) => s.validator === addresses[victim.name],
      );
      if (!signed) {
        await send('node1', `probe-${Date.now()}`, 1);
        await sleep(200);
      }
    }
    assert.ok(signed, 'restarted validator signs commits again');
    await sameChain(nodes, await height(victim));
  });

  test('kill -9 two of four: commits stop at the height in progress, nothing forks; restarted, commits resume', async () => {
    const survivors = [nodes[0], nodes[1]];
    await Promise.all([crash(nodes[2]), crash(nodes[3])]);
    // With half the power gone nothing can reach +2/3. The survivors may still finish the
    // height in progress with precommits the dead sent before dying; then, at the next height,
    // they pass the propose step (propose timeout, or the proposer's own block) and prevote,
    // and wait for a prevote quorum that cannot come (no timeout runs without one). Stuck
    // means: both at the same committed height, both past the propose step of the next
    // height in the same round, on two polls in a row (a node in the block interval after a
    // commit would have moved to the next height's propose step by the second poll).
    let prev = '';
    const { height: stalled } = await waitUntil(
      async () => {
        const st = await Promise.all(survivors.map(status));
        const key = st.map((x) => `${x.height}/${x.round}/${x.step}`).join(' ');
        const stuck =
          st.every((x) => x.height === st[0].height && x.round === st[0].round) &&
          st.every((x) => x.step === 'prevote' || x.step === 'precommit') &&
          key === prev;
        prev = key;
        return stuck ? { height: st[0].height as number } : undefined;
      },
      'the two survivors to be stuck at the same height',
      60_000,
      400,
    );
    assert.equal(
      (await fetch(`${nodes[0].rpc}/v1/status`)).status,
      200,
      'survivors keep answering',
    );
    // Exactly `stalled`: no block after it on either survivor, none even proposed into a commit.
    for (const n of survivors) {
      assert.equal(await height(n), stalled, `${n.name} moved past ${stalled}`);
      const r = await fetch(`${n.rpc}/v1/blocks/${stalled + 1}`);
      assert.equal(r.status, 404, `${n.name} holds block ${stalled + 1}`);
    }
    await Promise.all([startNode(nodes[2]), startNode(nodes[3])]);
    assert.equal((await send('node3', 'quorum-back', 1)).status, 'ok');
    const h = await height(nodes[2]);
    assert.ok(h > stalled, 'commits resumed');
    await Promise.all(nodes.map((n) => waitHeight(n, h)));
    await sameChain(nodes, h);
  });

  test('a node whose data dir was deleted resyncs from genesis to the same state root', async () => {
    const n = nodes[1];
    await n.proc!.stop();
    n.proc = undefined;
    rmSync(join(dir, 'nodes', n.name, 'data'), { recursive: true, force: true });
    await send('node1', 'while-wiped', 1);
    await startNode(n);
    const h = await height(nodes[0]);
    await waitHeight(n, h);
    const [a, b] = await Promise.all([block(nodes[0], h), block(n, h)]);
    assert.equal(b.header.stateRoot, a.header.stateRoot);
    await sameChain(nodes, h);
  });

  test('kill -9 all four under load: they resume, no committed tx lost, no evidence', async () => {
    const committed = new Map<string, number>();
    let stop = false;
    let seq = 0;
    const genesis = JSON.parse(readFileSync(join(dir, 'genesis.json'), 'utf8'));
    const client = Identity.fromUserDir(
      genesis.crypto,
      'org1',
      join(dir, 'orgs', 'org1', 'users', 'client'),
    );
    const loader = async (n: NetNode) => {
      while (!stop) {
        const i = seq++;
        const tx = buildAndSign(client, genesis.chainId, {
          contract: 'kv',
          method: 'put',
          args: { key: `load-${i % 20}`, value: i },
        });
        try {
          const r = await fetch(`${n.rpc}/v1/txs?wait=true&timeoutMs=60000`, {
            method: 'POST',
            headers: { 'content-type': 'application/octet-stream' },
            body: tx.bytes,
          });
          if (r.status === 200) {
            const body = (await r.json()) as { txId: string; height: number };
            committed.set(body.txId, body.height);
          }
        } catch {
          await sleep(50); // the node died under us
        }
      }
    };
    const loads = nodes.flatMap((n) => [loader(n), loader(n), loader(n), loader(n)]);
    // Crash while txs are committing (not after a fixed time, which a slow machine may spend
    // before the first commit).
    await waitUntil(() => committed.size >= 20, 'txs committing under load', 60_000, 50);
    await Promise.all(nodes.map(crash));
    stop = true;
    await Promise.all(loads);
    const heights = new Set(committed.values());
    assert.ok(committed.size > 0, 'some txs committed before the crash');
    await Promise.all(nodes.map(startNode));
    assert.equal((await send('node4', 'after-total-crash', 1)).status, 'ok');
    for (const [txId, h] of committed) {
      const t = (await (await fetch(`${nodes[0].rpc}/v1/txs/${txId}`)).json()) as any;
      assert.equal(t.height, h, `tx ${txId} kept at its height`);
    }
    const top = await height(nodes[3]);
    await Promise.all(nodes.map((n) => waitHeight(n, top)));
    await sameChain(nodes, Math.max(...heights));
    const ev = await archiJson(['evidence', 'list', '--dir', dir]);
    assert.deepEqual(ev.evidence, [], 'no evidence against honest nodes');
  });

  test('foreign-CA peers, random bytes and half-open connections are closed by the node, without harm', async () => {
    const [host, port] = nodes[0].p2p.split(':');
    const mark = logMark(nodes[0]);
    // The node's TLS handshake timeout (DEFAULT_LIMITS.handshakeTimeoutMs); a loaded machine
    // may fire it late, never early.
    const handshakeMs = 5000;
    const late = 20_000;
    // A TLS client with a certificate from a CA no member trusts.
    const profile = getProfile('standard');
    const ca = profile.generateKeyPair();
    const caSigner = profile.signerFromPem(ca.privateKeyPem);
    const kp = profile.generateKeyPair();
    const cert = issueCertificate({
      profile,
      issuer: caSigner,
      issuerName: { O: 'org2', CN: 'tlsca.org2' },
      subjectName: { O: 'org2', OU: 'consensus', CN: 'node2' },
      subjectPublicKey: kp.publicKey,
      notBefore: new Date(Date.now() - 3_600_000),
      notAfter: new Date(Date.now() + 3_600_000),
      isCA: false,
    });
    const foreign = tlsConnect({
      host,
      port: Number(port),
      key: kp.privateKeyPem,
      cert: certToPem(cert),
      rejectUnauthorized: false,
      minVersion: 'TLSv1.3',
    });
    let foreignData = 0;
    foreign.on('data', (d: Buffer) => {
      foreignData += d.length;
    });
    foreign.on('error', () => undefined);
    const foreignClosed = closedWithin(foreign, handshakeMs + late);
    // Random bytes where a TLS ClientHello should be, and a connection that never says a word.
    const junk = tcpConnect(Number(port), host, () => junk.write(Buffer.alloc(4096, 0xab)));
    junk.on('error', () => undefined);
    const junkClosed = closedWithin(junk, handshakeMs + late);
    const halfOpen = tcpConnect(Number(port), host);
    halfOpen.on('error', () => undefined);
    const halfOpenClosed = closedWithin(halfOpen, handshakeMs + late);
    // Meanwhile the network goes on.
    assert.equal((await send('node1', 'after-hostile', 1)).status, 'ok');
    // Each is closed by the node (none of them closes its own side): the foreign client and
    // the junk at once, without one byte of the protocol; the silent one at the handshake timeout.
    await foreignClosed;
    assert.equal(foreignData, 0, 'the node sent its hello to a foreign-CA client');
    await junkClosed;
    const silentMs = await halfOpenClosed;
    assert.ok(silentMs >= handshakeMs - 500, `half-open connection closed after ${silentMs} ms`);
    // The node says why, one line each.
    const failed = await waitUntil(
      () => {
        const l = logLines(nodes[0], 'p2p: inbound handshake failed', mark);
        return l.length >= 3 ? l : undefined;
      },
      "the three refusals in node1's log",
      10_000,
    );
    assert.ok(
      failed.some((l) => typeof l.reason === 'string'),
      `no certificate refusal: ${JSON.stringify(failed)}`,
    );
    assert.ok(
      failed.some((l) => /timeout/i.test(l.err)),
      `no handshake timeout: ${JSON.stringify(failed)}`,
    );
    const h = await height(nodes[0]);
    await Promise.all(nodes.map((n) => waitHeight(n, h)));
    await sameChain(nodes, h);
    assert.equal((await status(nodes[0])).peers.filter((p: any) => p.connected).length, 3);
  });
});

describe('double-sign evidence on a BFT network', { concurrency: false }, () => {
  let dir: string;
  let nodes: NetNode[];
  before(async () => {
    dir = tempDir('archi-evidence-');
    nodes = await initNetwork(dir, 4);
    await Promise.all(nodes.map(startNode));
  });
  after(async () => {
    await stopAll();
    removeDir(dir);
  });

  test('a double sign seen by one node is detected there, gossiped to the others, committed and listed', async () => {
    // node4 turns byzantine: its keys sign two different prevotes for the same height and
    // round. Its conflicting votes reach node1 only, so node2 and node3 can learn of them
    // only from the evidence an honest node gossips (honest nodes never relay others' votes).
    const byz = nodes[3];
    const [witness, ...others] = nodes.slice(0, 3);
    await byz.proc!.stop();
    byz.proc = undefined;
    const marks = new Map(nodes.slice(0, 3).map((n) => [n.name, logMark(n)]));
    const logged = (n: NetNode, msg: string) => logLines(n, msg, marks.get(n.name));
    const DETECTED = 'double sign detected: evidence pooled and gossiped';
    const GOSSIPED = 'evidence received by gossip: pooled and passed on';
    const genesis = JSON.parse(readFileSync(join(dir, 'genesis.json'), 'utf8'));
    const profile = getProfile(genesis.crypto);
    const nodeDir = join(dir, 'nodes', byz.name);
    const cfg = JSON.parse(readFileSync(join(nodeDir, 'node.json'), 'utf8'));
    const signer = profile.signerFromPem(readFileSync(join(nodeDir, cfg.key), 'utf8'));
    const self = unhex(address(profile, signer.publicKey));
    const { P2PNode } = await import('../../src/p2p/node.ts');
    const { ConsensusMessageSchema, create, encode, VoteSchema, VoteType } = await import(
      '../../src/codec/index.ts'
    );
    const { voteBodyBytes } = await import('../../src/types/vote.ts');
    const net = new P2PNode({
      self: byz.name,
      // Not node4's address: node2 and node3 keep dialing that in vain, so the only link is
      // the one this node opens to node1.
      listen: { host: cfg.p2p.host, port: 0 },
      peers: cfg.peers.filter((p: { name: string }) => p.name === witness.name),
      tls: {
        key: readFileSync(join(nodeDir, cfg.tls.key), 'utf8'),
        cert: readFileSync(join(nodeDir, cfg.tls.cert), 'utf8'),
        cas: cfg.tls.cas.map((p: string) => readFileSync(join(nodeDir, p), 'utf8')),
      },
      allowed: (name) => name === witness.name,
    });
    const conflicting = (height: number): Uint8Array[] =>
      [0xaa, 0xbb].map((fill) => {
        const body = voteBodyBytes(
          genesis.chainId,
          VoteType.PREVOTE,
          height,
          0,
          new Uint8Array(32).fill(fill),
          Date.now(),
          self,
        );
        const vote = create(VoteSchema, { body, signature: signer.sign(body) });
        return encode(
          ConsensusMessageSchema,
          create(ConsensusMessageSchema, { msg: { case: 'vote', value: vote } }),
        );
      });
    await net.start();
    try {
      // Both ends must see the link, or the votes would go nowhere.
      await waitUntil(
        async () =>
          net.peers().some((p) => p.name === witness.name && p.connected) &&
          (await status(witness)).peers.some(
            (p: { name: string; connected: boolean }) => p.name === byz.name && p.connected,
          ),
        'the byzantine node4 and node1 to see their link',
      );
      // Pairs for node1's next three heights, again every 2 s until node1 reports the double
      // sign: a pair for a height node1 has already left is dropped (and the link may drop).
      await waitUntil(
        async () => {
          if (logged(witness, DETECTED).length > 0) return true;
          const h = (await status(witness)).height + 1;
          for (let height = h; height < h + 3; height++) {
            for (const m of conflicting(height)) net.send(witness.name, 1, m);
          }
          return false;
        },
        'node1 to detect the double sign',
        90_000,
        2000,
      );
      // node2 and node3 pool it from a peer, never having seen the votes themselves.
      await waitUntil(
        () => others.every((n) => logged(n, GOSSIPED).length > 0),
        'node2 and node3 to receive the evidence by gossip',
      );
      const validator = hex(self);
      for (const n of others) {
        assert.deepEqual(logged(n, DETECTED), [], `${n.name} saw the conflicting votes itself`);
        for (const l of logged(n, GOSSIPED)) {
          assert.ok(['node1', 'node2', 'node3'].includes(l.from), `from ${l.from}`);
          assert.equal(l.validator, validator);
        }
        const up = logged(n, 'p2p: peer up').filter((l) => l.peer === byz.name);
        assert.deepEqual(up, [], `${n.name} was linked to the byzantine node`);
      }
      assert.deepEqual(
        net
          .peers()
          .filter((p) => p.connected)
          .map((p) => p.name),
        [witness.name],
      );
      // Committed: the state of node2 (which never saw a vote) lists it.
      const rpc = new ArchiClient(nodes[1].rpc);
      await waitUntil(
        async () => ((await rpc.query('evidence', 'list', {})).result as unknown[]).length > 0,
        'the evidence to be committed',
        90_000,
        500,
      );
      const listed = (await archiJson(['evidence', 'list', '--dir', dir, '--node', 'node2']))
        .evidence;
      assert.ok(listed.length >= 1, 'evidence committed');
      assert.equal(listed[0].name, byz.name);
      assert.equal(listed[0].validator, validator);
      assert.equal(listed[0].type, 'prevote');
      assert.notEqual(listed[0].blockHashA, listed[0].blockHashB);
      // Every honest node holds the same evidence in its state.
      const other = (await archiJson(['evidence', 'list', '--dir', dir, '--node', 'node3']))
        .evidence;
      assert.deepEqual(other.slice(0, listed.length), listed);
    } finally {
      await net.stop();
    }
  });
});
