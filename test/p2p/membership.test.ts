import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { afterEach, describe, it } from 'node:test';
import { certsFromPem } from '../../src/crypto/x509.ts';
import { BLOCKSYNC, CONSENSUS } from '../../src/p2p/frame.ts';
import type { P2PLimitsOptions } from '../../src/p2p/node.ts';
import { ArchiError } from '../../src/types/errors.ts';
import { HOST, makeNode, Pki, type TestNode, waitFor } from './helpers.ts';

// Governance adds and removes orgs and nodes while the chain runs; the node wiring then calls
// setTrustedCas, addPeer/removePeer and recheck. These tests drive those calls by hand.
describe('p2p: membership changes while running', () => {
  const pki = new Pki([
    ['node1', 'org1'],
    ['node2', 'org2'],
    ['node3', 'org1'],
    ['node4', 'org3'],
  ]);
  const ca = (org: string): string => pki.cas.get(org)!.certPem;
  const caFingerprint = (org: string): string =>
    createHash('sha256')
      .update(certsFromPem(ca(org))[0])
      .digest('hex');
  let started: TestNode[] = [];

  afterEach(async () => {
    await Promise.all(started.map((n) => n.node.stop()));
    started = [];
  });

  /** Starts `name` on a port of its own (port 0), with no peers yet; stopped after the test. */
  async function start(
    name: string,
    opts: { allowed?: Set<string>; limits?: P2PLimitsOptions; cas?: string[] } = {},
  ): Promise<TestNode> {
    const n = makeNode(pki, name, 0, [], opts);
    started.push(n);
    await n.node.start();
    return n;
  }

  const target = (n: TestNode) => ({ name: n.name, address: `${HOST}:${n.node.port}` });
  const linked = (a: TestNode, b: TestNode): boolean =>
    a.node.peers().some((p) => p.name === b.name && p.connected);
  const direction = (a: TestNode, b: TestNode) =>
    a.node.peers().find((p) => p.name === b.name)?.direction;
  const ups = (a: TestNode, b: TestNode): number => a.rec.ups.filter((x) => x === b.name).length;
  const logged = (n: TestNode, msg: string): number => n.logs.filter((l) => l.msg === msg).length;
  const tlsRefusals = (n: TestNode): number => logged(n, 'p2p: inbound handshake failed');
  const asked = (n: TestNode, peer: string): number =>
    n.allowedCalls.filter((c) => c.name === peer).length;

  async function roundTrip(a: TestNode, b: TestNode, tag: string): Promise<void> {
    // Each side marks the link up when it has the other's hello: wait for both.
    await waitFor(() => linked(a, b) && linked(b, a), `link ${a.name}-${b.name} (${tag})`);
    assert.equal(a.node.send(b.name, CONSENSUS, Buffer.from(`${tag}>`)), true);
    assert.equal(b.node.send(a.name, BLOCKSYNC, Buffer.from(`${tag}<`)), true);
    await waitFor(
      () => b.rec.has(a.name, CONSENSUS, `${tag}>`) && a.rec.has(b.name, BLOCKSYNC, `${tag}<`),
      `round trip ${tag}`,
    );
  }

  it('admits a new org once its TLS CA is trusted: its node dials in, and we dial out', async () => {
    const n1Allows = new Set<string>();
    const n1 = await start('node1', { cas: [ca('org1')], allowed: n1Allows });
    // node2 (org2) dials node1; node4 (org3) only listens, so node1 must dial it.
    const n2 = await start('node2', { cas: [ca('org1'), ca('org2')] });
    const n4 = await start('node4', { cas: [ca('org1'), ca('org3')] });
    n2.node.addPeer(target(n1));

    // node1's TLS server does not know org2's CA: node2's handshakes fail, again and again.
    await waitFor(() => tlsRefusals(n1) >= 2, 'node2 refused by TLS');
    assert.equal(ups(n1, n2) + ups(n2, n1), 0);
    assert.equal(n1.allowedCalls.length, 0, 'refused before allowed() is asked');

    // What the node wiring does after the block that adds org2, org3 and their nodes.
    n1Allows.add('node2').add('node4');
    n1.node.setTrustedCas([ca('org1'), ca('org2'), ca('org3')]);
    n1.node.addPeer(target(n4));

    await roundTrip(n1, n2, 'org2-dials-in');
    assert.equal(direction(n1, n2), 'inbound');
    await roundTrip(n1, n4, 'org3-dialed-out');
    assert.equal(direction(n1, n4), 'outbound');
    const call = n1.allowedCalls.find((c) => c.name === 'node2');
    assert.equal(call?.info.org, 'org2');
    assert.equal(call?.info.caFingerprint, caFingerprint('org2'));
    assert.equal(logged(n1, 'p2p: trusted TLS CAs changed'), 1);
  });

  it('dials at once when the CA arrives after the peer did (no wait for backoff)', async () => {
    // A long backoff: node1's next dial of node4 would come 2.5 s to 5 s after the first fails.
    const n1 = await start('node1', {
      cas: [ca('org1')],
      limits: { reconnectBaseMs: 5000, reconnectMaxMs: 10_000 },
    });
    const n4 = await start('node4', { cas: [ca('org1'), ca('org3')] });
    n1.node.addPeer(target(n4));
    const dials = (): number =>
      n1.logs.filter(
        (l) => l.msg === 'p2p: dialing' && (l.obj as { peer?: string }).peer === 'node4',
      ).length;
    // node1 rejects node4's certificate: its issuer is not a trusted CA.
    await waitFor(() => logged(n1, 'p2p: socket error') >= 1, 'node1 refuses node4');
    const since = Date.now();
    n1.node.setTrustedCas([ca('org1'), ca('org3')]);
    await waitFor(() => linked(n1, n4) && linked(n4, n1), 'link after CA added', 2000);
    assert.ok(Date.now() - since < 2500);
    assert.equal(dials(), 2, 'one failed dial, then one with the new CAs');
    await roundTrip(n1, n4, 'prompt');
  });

  it('drops an org whose TLS CA is no longer trusted and keeps it out', async () => {
    const n1 = await start('node1');
    const n2 = await start('node2');
    const n3 = await start('node3');
    // Both ends of node1-node2 keep dialing; node3 (org1) must not notice anything.
    n1.node.addPeer(target(n2));
    n2.node.addPeer(target(n1));
    n3.node.addPeer(target(n1));
    await roundTrip(n1, n2, 'before');
    await roundTrip(n1, n3, 'before');

    n1.node.setTrustedCas([ca('org1'), ca('org3')]);
    await waitFor(() => n1.rec.downs.includes('node2'), 'node2 dropped');
    await waitFor(() => !linked(n2, n1), 'node2 sees the drop');
    const drop = n1.logs.find(
      (l) =>
        l.msg === 'p2p: dropping connection' &&
        /no longer trusted: certificate of node2 is not issued by the TLS CA of org2/.test(
          String((l.obj as { why?: unknown }).why),
        ),
    );
    assert.equal(drop?.level, 'info');
    assert.equal(n1.node.send('node2', CONSENSUS, Buffer.from('gone')), false);

    // allowed() still says yes to node2: only the CA keeps it out, in both dial directions.
    const ups1 = ups(n1, n2);
    const ups2 = ups(n2, n1);
    const refusals = tlsRefusals(n1);
    // node2 keeps redialing node1 and is refused by TLS each time, and node1 keeps dialing node2
    // and refuses its certificate: wait for two more of each, then nothing came up.
    const dialFailures = () => logged(n1, 'p2p: socket error');
    const failures = dialFailures();
    await waitFor(
      () => tlsRefusals(n1) >= refusals + 2 && dialFailures() >= failures + 2,
      'node2 refused twice more in each direction',
    );
    assert.equal(ups(n1, n2), ups1, 'node1 took node2 back');
    assert.equal(ups(n2, n1), ups2, 'node2 got back in');
    assert.ok(!linked(n1, n2) && !linked(n2, n1));
    assert.ok(linked(n1, n3) && !n1.rec.downs.includes('node3') && !n3.rec.downs.includes('node1'));

    // The same certificates again, in any order or repeated: nothing happens.
    n1.node.setTrustedCas([ca('org1'), ca('org3')]);
    n1.node.setTrustedCas([ca('org3'), ca('org1'), ca('org3')]);
    assert.equal(logged(n1, 'p2p: trusted TLS CAs changed'), 1);
    await roundTrip(n1, n3, 'unchanged');

    // Trusted again: node2 comes back by itself.
    n1.node.setTrustedCas(pki.caPems());
    await roundTrip(n1, n2, 'readmitted');
    assert.ok(!n1.rec.downs.includes('node3'));
  });

  it('drops a removed node of a still trusted org for good (removePeer, allowed, recheck)', async () => {
    const n1Allows = new Set(['node2', 'node3']);
    const n1 = await start('node1', { allowed: n1Allows });
    const n2 = await start('node2');
    const n3 = await start('node3');
    n1.node.addPeer(target(n2));
    n2.node.addPeer(target(n1));
    n3.node.addPeer(target(n1));
    await roundTrip(n1, n2, 'before');
    await roundTrip(n1, n3, 'before');

    // What the node wiring does after the block that removes node2 (org2 stays a member).
    n1Allows.delete('node2');
    n1.node.removePeer('node2');
    n1.node.recheck();
    await waitFor(() => n1.rec.downs.includes('node2'), 'node2 dropped');
    await waitFor(() => !linked(n2, n1), 'node2 sees the drop');
    assert.equal(
      n1.node.peers().find((p) => p.name === 'node2'),
      undefined,
    );

    const ups1 = ups(n1, n2);
    const ups2 = ups(n2, n1);
    const before = asked(n1, 'node2');
    const refused = () => n1.drops.filter((d) => d === 'node2 (org2) is not an allowed node');
    const refusedBefore = refused().length;
    // node2 still dials node1 (its org's CA is trusted); allowed() refuses every attempt.
    await waitFor(
      () => asked(n1, 'node2') >= before + 2 && refused().length >= refusedBefore + 2,
      'node2 to redial twice and be refused',
    );
    assert.equal(ups(n1, n2), ups1, 'node1 took node2 back');
    assert.equal(ups(n2, n1), ups2, 'node2 got back in');
    assert.equal(
      n1.node.peers().find((p) => p.name === 'node2'),
      undefined,
    );
    assert.ok(linked(n1, n3) && !n1.rec.downs.includes('node3'));

    // Re-admitted by a later block.
    n1Allows.add('node2');
    n1.node.addPeer(target(n2));
    n1.node.recheck();
    await roundTrip(n1, n2, 'readmitted');
  });

  it('refuses bad CA lists with ArchiError and changes nothing', async () => {
    const n1 = await start('node1');
    const n2 = await start('node2');
    n1.node.addPeer(target(n2));
    await roundTrip(n1, n2, 'before');

    const badBase64 = '-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n';
    const notDer = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
    // Each list also leaves out org2's CA: applying any part of it would drop node2.
    const bad: Array<[unknown, RegExp]> = [
      [[], /tls\.cas is empty/],
      [[pki.ids.get('node3')!.certPem], /not a CA/],
      [[ca('org1'), pki.ids.get('node3')!.certPem], /not a CA/],
      [['garbage'], /holds no certificate/],
      [[ca('org1'), 'garbage'], /holds no certificate/],
      [[ca('org1'), badBase64], /unusable TLS CA certificate/],
      [[ca('org1'), notDer], /unusable TLS CA certificate/],
      [[ca('org1'), 42], /PEM strings/],
      ['not a list', /array/],
      [undefined, /array/],
    ];
    for (const [input, re] of bad) {
      assert.throws(
        () => n1.node.setTrustedCas(input as string[]),
        (e) => e instanceof ArchiError && e.code === 'CONFIG_INVALID' && re.test(e.message),
        `input ${JSON.stringify(input)}`,
      );
    }
    assert.equal(logged(n1, 'p2p: trusted TLS CAs changed'), 0);
    // The link still carries messages both ways; had anything closed it, its peer:down would
    // have come before (a new link needs a new handshake after the close).
    await roundTrip(n1, n2, 'after-bad-input');
    assert.deepEqual(n1.rec.downs, []);
    assert.deepEqual(n2.rec.downs, []);

    // New handshakes still trust org2, whichever side dials: node1's client context ...
    n2.node.removePeer('node1');
    await waitFor(() => ups(n1, n2) === 2, 'node1 redials node2');
    await roundTrip(n1, n2, 'redialed');
    assert.equal(direction(n1, n2), 'outbound');
    // ... and its server.
    n2.node.addPeer(target(n1));
    n1.node.removePeer('node2');
    await waitFor(() => ups(n1, n2) === 3, 'node2 dials node1');
    await roundTrip(n1, n2, 'dialed-in');
    assert.equal(direction(n1, n2), 'inbound');
  });
});
