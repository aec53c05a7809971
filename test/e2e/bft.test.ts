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
import { unhex } from '../../src/types/hex.ts';
import { archiJson, removeDir, stopAll, tempDir } from './harness.ts';
import {
  block,
  crash,
  initNetwork,
  type NetNode,
  sameChain,
  startNode,
  status,
  waitHeight,
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

  test('kill -9 two of four: nothing commits, nothing forks; restarted, commits resume', async () => {
    await crash(nodes[2]);
    await crash(nodes[3]);
    await sleep(1500);
    const stalled = await height(nodes[0]);
    const tx = fetch(`${nodes[0].rpc}/v1/status`);
    assert.equal((await tx).status, 200, 'survivors keep answering');
    await sleep(4000);
    assert.ok((await height(nodes[0])) <= stalled + 1, 'no progress without quorum');
    assert.ok((await height(nodes[1])) <= stalled + 1);
    await Promise.all([startNode(nodes[2]), startNode(nodes[3])]);
    assert.equal((await send('node3', 'quorum-back', 1)).status, 'ok');
    const h = await height(nodes[2]);
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
    await sleep(5000);
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

  test('foreign-CA peers, random bytes and half-open connections are refused without harm', async () => {
    const [host, port] = nodes[0].p2p.split(':');
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
    const closed = await new Promise<boolean>((resolve) => {
      const s = tlsConnect({
        host,
        port: Number(port),
        key: kp.privateKeyPem,
        cert: certToPem(cert),
        rejectUnauthorized: false,
        minVersion: 'TLSv1.3',
      });
      s.on('data', () => undefined);
      s.on('error', () => resolve(true));
      s.on('close', () => resolve(true));
      setTimeout(() => resolve(false), 10_000);
    });
    assert.ok(closed, 'foreign-CA connection is closed');
    const junk = tcpConnect(Number(port), host, () => junk.write(Buffer.alloc(4096, 0xab)));
    junk.on('error', () => undefined);
    const halfOpen = tcpConnect(Number(port), host);
    halfOpen.on('error', () => undefined);
    assert.equal((await send('node1', 'after-hostile', 1)).status, 'ok');
    junk.destroy();
    halfOpen.destroy();
    const h = await height(nodes[0]);
    await Promise.all(nodes.map((n) => waitHeight(n, h)));
    await sameChain(nodes, h);
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

  test('conflicting votes are detected, gossiped, committed and listed', async () => {
    // node4 turns byzantine: its keys sign two different prevotes for the same height and round.
    const byz = nodes[3];
    await byz.proc!.stop();
    byz.proc = undefined;
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
      listen: cfg.p2p,
      peers: cfg.peers,
      tls: {
        key: readFileSync(join(nodeDir, cfg.tls.key), 'utf8'),
        cert: readFileSync(join(nodeDir, cfg.tls.cert), 'utf8'),
        cas: cfg.tls.cas.map((p: string) => readFileSync(join(nodeDir, p), 'utf8')),
      },
      allowed: () => true,
    });
    await net.start();
    try {
      const deadline = Date.now() + 60_000;
      let listed: any[] = [];
      while (listed.length === 0 && Date.now() < deadline) {
        const h = (await status(nodes[0])).height + 1;
        for (let height = h; height < h + 3; height++) {
          for (const fill of [0xaa, 0xbb]) {
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
            net.broadcast(
              1,
              encode(
                ConsensusMessageSchema,
                create(ConsensusMessageSchema, { msg: { case: 'vote', value: vote } }),
              ),
            );
          }
        }
        await sleep(1000);
        listed = (await archiJson(['evidence', 'list', '--dir', dir, '--node', 'node2'])).evidence;
      }
      assert.equal(listed.length >= 1, true, 'evidence committed');
      assert.equal(listed[0].name, byz.name);
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
