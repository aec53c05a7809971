import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import type { Socket } from 'node:net';
import * as tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { CONSENSUS } from '../../src/p2p/frame.ts';
import { P2PNode } from '../../src/p2p/node.ts';
import { createTlsCa, issueTlsCert } from '../../src/p2p/tls-certs.ts';
import {
  closedWithin,
  freePorts,
  HOST,
  makeNode,
  Pki,
  RawPeer,
  sleep,
  type TestNode,
  waitFor,
} from './helpers.ts';

/** SHA-256 of a PEM certificate's DER, as PeerCertInfo.fingerprint. */
function peerFingerprint(pem: string): string {
  return createHash('sha256').update(new X509Certificate(pem).raw).digest('hex');
}

describe('p2p: who may connect', () => {
  const pki = new Pki([
    ['node1', 'org1'],
    ['node2', 'org2'],
    ['node3', 'org3'],
  ]);
  // Same org and node names, different CAs: what an outsider would present.
  const foreign = new Pki([
    ['node2', 'org2'],
    ['node3', 'org3'],
  ]);
  let n1: TestNode;
  let n2: TestNode;
  const n1Allows = new Set(['node2', 'node3']);
  const cleanup: Array<() => unknown> = [];

  before(async () => {
    const [p1, p2] = await freePorts(2);
    // node1 accepts node2 and node3 only.
    n1 = makeNode(pki, 'node1', p1, [{ name: 'node2', port: p2 }], { allowed: n1Allows });
    n2 = makeNode(pki, 'node2', p2, [{ name: 'node1', port: p1 }]);
    await Promise.all([n1.node.start(), n2.node.start()]);
    await waitFor(() => n1.node.peers()[0]?.connected === true, 'node1-node2 link');
  });

  after(async () => {
    for (const f of cleanup) await f();
    await Promise.all([n1.node.stop(), n2.node.stop()]);
  });

  async function stillTalking(tag: string): Promise<void> {
    // Each side marks the link up when it has the other's hello, so node2 may lag node1.
    await waitFor(
      () => n2.node.peers().some((p) => p.name === 'node1' && p.connected),
      'node2 sees node1',
    );
    assert.equal(n2.node.send('node1', CONSENSUS, Buffer.from(tag)), true);
    await waitFor(() => n1.rec.has('node2', CONSENSUS, tag), `message ${tag}`);
  }

  // `as` is the name in the hello, `cn` the one in the certificate.
  async function refusedClient(peer: RawPeer, as: string, cn = as): Promise<void> {
    peer.socket.once('secureConnect', () => peer.hello(as));
    await closedWithin(peer.socket, 5000);
    // A certificate problem is caught before the node says hello; a bad hello only after.
    if (as === cn) assert.equal(peer.gotHello(), false, 'node answered a refused client');
    assert.ok(!n1.rec.ups.includes(cn), `${cn} came up`);
  }

  it('refuses a client whose certificate comes from a foreign CA', async () => {
    const id = foreign.ids.get('node3')!;
    const mark = n1.logs.length;
    // The client trusts our CAs, so only our side can be the one refusing.
    const peer = new RawPeer(n1.port, id, pki.caPems());
    await refusedClient(peer, 'node3');
    // node1's TLS server refused the certificate (and says so), before allowed() was asked.
    const failed = n1.logs.slice(mark).filter((l) => l.msg === 'p2p: inbound handshake failed');
    assert.equal(failed.length, 1);
    assert.equal(typeof (failed[0].obj as { reason?: unknown }).reason, 'string');
    assert.ok(!n1.allowedCalls.some((c) => c.info.fingerprint === peerFingerprint(id.certPem)));
    await stillTalking('after-foreign-client');
  });

  it('refuses a server whose certificate comes from a foreign CA, and keeps retrying', async () => {
    const id = foreign.ids.get('node3')!;
    let attempts = 0;
    let handshakes = 0;
    const server = tls.createServer({ key: id.keyPem, cert: id.certPem });
    server.on('connection', (s: Socket) => {
      attempts++;
      s.on('error', () => {});
    });
    server.on('secureConnection', () => handshakes++);
    server.on('tlsClientError', () => {});
    await new Promise<void>((ok) => server.listen(0, HOST, () => ok()));
    const port = (server.address() as { port: number }).port;
    cleanup.push(() => new Promise((ok) => server.close(ok)));
    n1.node.addPeer({ name: 'node3', address: `${HOST}:${port}` });
    await waitFor(() => attempts >= 3, 'redials with backoff');
    n1.node.removePeer('node3');
    assert.equal(handshakes, 0);
    assert.ok(!n1.rec.ups.includes('node3'));
    assert.equal(
      n1.node.peers().find((p) => p.name === 'node3'),
      undefined,
    );
    await stillTalking('after-foreign-server');
  });

  it('refuses a member-CA certificate whose CN is not an allowed node', async () => {
    const intruder = issueTlsCert(pki.cas.get('org2')!, 'intruder');
    const peer = new RawPeer(n1.port, intruder, pki.caPems());
    await refusedClient(peer, 'intruder');
    const call = n1.allowedCalls.find((c) => c.name === 'intruder');
    assert.ok(call, 'allowed() was asked');
    assert.equal(call.info.org, 'org2');
  });

  it('refuses a server that is not the node it was dialed as', async () => {
    // node3's real certificate, but listening where node1 expects "node4".
    const [p3] = await freePorts(1);
    const n3 = makeNode(pki, 'node3', p3, []);
    await n3.node.start();
    cleanup.push(() => n3.node.stop());
    const refusals = () =>
      n1.logs.filter(
        (l) =>
          l.msg === 'p2p: socket error' &&
          (l.obj as { err?: string }).err === 'server certificate CN node3 is not node4',
      ).length;
    n1.node.addPeer({ name: 'node4', address: `${HOST}:${p3}` });
    // The dial happened and was refused for the name: node1's TLS client read node3's
    // certificate and failed the handshake, twice (a dial and a redial after backoff) ...
    await waitFor(() => refusals() >= 2, 'two refused dials');
    // ... and node3's server saw them: each ends there as a failed handshake, or (when node3
    // got node1's Finished before the close) as a handshake that asked allowed() about node1.
    const seen = () =>
      n3.logs.filter((l) => l.msg === 'p2p: inbound handshake failed').length +
      n3.allowedCalls.filter((c) => c.name === 'node1').length;
    await waitFor(() => seen() >= 2, 'node3 to see both handshakes');
    n1.node.removePeer('node4');
    // Neither side ever took the other in: node1 never sent its hello.
    assert.ok(!n1.rec.ups.includes('node4') && !n1.rec.ups.includes('node3'));
    assert.ok(!n3.rec.ups.includes('node1'));
    assert.ok(!n3.node.peers().some((p) => p.connected));
  });

  it('refuses a certificate whose org is not the org of the issuing CA', async () => {
    // org2's CA vouching for "node3 of org3" must not pass for org3's node3.
    const forged = issueTlsCert(pki.cas.get('org2')!, 'node3', undefined, 'org3');
    const peer = new RawPeer(n1.port, forged, pki.caPems());
    await refusedClient(peer, 'node3');
    // node3 under org2 reaches allowed(), which refuses it for naming the wrong org.
    const misfiled = issueTlsCert(pki.cas.get('org2')!, 'node3');
    const peer2 = new RawPeer(n1.port, misfiled, pki.caPems());
    await refusedClient(peer2, 'node3');
    assert.ok(n1.allowedCalls.some((c) => c.name === 'node3' && c.info.org === 'org2'));
    assert.ok(!n1.allowedCalls.some((c) => c.name === 'node3' && c.info.org === 'org3'));
  });

  it('refuses a peer presenting our own name', async () => {
    const id = pki.ids.get('node1')!;
    const peer = new RawPeer(n1.port, id, pki.caPems());
    await refusedClient(peer, 'node1');
  });

  it('refuses a client without a certificate', async () => {
    const s = tls.connect({
      host: HOST,
      port: n1.port,
      ca: pki.caPems(),
      checkServerIdentity: () => undefined,
    });
    s.on('error', () => {});
    s.on('secureConnect', () => s.write(Buffer.alloc(64)));
    await closedWithin(s, 5000);
    await stillTalking('after-no-cert');
  });

  it('refuses a TLS 1.2-only client', async () => {
    const id = pki.ids.get('node3')!;
    const peer = new RawPeer(n1.port, id, pki.caPems(), { tlsMax: 'TLSv1.2' });
    await assert.rejects(peer.connected());
    await closedWithin(peer.socket, 5000);
    assert.ok(!n1.rec.ups.includes('node3'));
    await stillTalking('after-tls12');
  });

  it('drops a peer whose hello names another node, and accepts it later', async () => {
    const id = pki.ids.get('node3')!;
    const peer = new RawPeer(n1.port, id, pki.caPems());
    await refusedClient(peer, 'node2', 'node3');
    // The violation banned node3 for a moment (banMs = 300 in tests); then it may connect.
    await sleep(350);
    const ok = new RawPeer(n1.port, id, pki.caPems());
    cleanup.push(() => ok.destroy());
    ok.socket.once('secureConnect', () => ok.hello('node3'));
    await waitFor(() => ok.gotHello() && n1.rec.ups.includes('node3'), 'node3 accepted');
    ok.destroy();
    await waitFor(() => n1.rec.downs.includes('node3'), 'node3 down');
  });

  it('applies a changed allowed set to live connections and to new handshakes', async () => {
    const downs = n1.rec.downs.filter((x) => x === 'node2').length;
    const ups = n1.rec.ups.filter((x) => x === 'node2').length;
    n1Allows.delete('node2');
    n1.node.recheck();
    await waitFor(() => n1.rec.downs.filter((x) => x === 'node2').length > downs, 'node2 dropped');
    await waitFor(() => !n2.node.peers().some((p) => p.connected), 'node2 sees the drop');
    assert.equal(n2.node.send('node1', CONSENSUS, Buffer.from('refused')), false);
    // Both keep redialing with backoff; every handshake is refused while node2 is out.
    const asked = n1.allowedCalls.length;
    await waitFor(() => n1.allowedCalls.length >= asked + 2, 'further handshakes');
    assert.ok(!n1.node.peers().some((p) => p.name === 'node2' && p.connected));
    n1Allows.add('node2');
    await waitFor(() => n1.rec.ups.filter((x) => x === 'node2').length > ups, 'node2 back');
    await stillTalking('after-readmission');
  });

  it('rejects configurations that cannot work', () => {
    const base = {
      self: 'node1',
      listen: { host: HOST, port: 0 },
      peers: [],
      tls: pki.tlsFor('node1'),
      allowed: () => true,
    };
    assert.throws(() => new P2PNode({ ...base, self: 'node2' }), /CN "node1" is not/);
    assert.throws(
      () => new P2PNode({ ...base, peers: [{ name: 'node2', address: 'nowhere' }] }),
      /bad peer address/,
    );
    assert.throws(
      () => new P2PNode({ ...base, peers: [{ name: 'node1', address: '127.0.0.1:1' }] }),
      /this node/,
    );
    const other = createTlsCa('orgX');
    assert.throws(
      () => new P2PNode({ ...base, tls: { ...base.tls, key: issueTlsCert(other, 'x').keyPem } }),
      /unusable/,
    );
    assert.throws(() => new P2PNode({ ...base, tls: { ...base.tls, cas: [] } }), /empty/);
    assert.throws(() => new P2PNode({ ...base, limits: { pingIntervalMs: 0 } }), /pingInterval/);
  });
});
