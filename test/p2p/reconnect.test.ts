import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BLOCKSYNC, CONSENSUS, TXS } from '../../src/p2p/frame.ts';
import { freePorts, makeNode, Pki, type TestNode, waitFor } from './helpers.ts';

const NAMES = ['node1', 'node2', 'node3'];

describe('p2p: a peer that stops and comes back', () => {
  const pki = new Pki([
    ['node1', 'org1'],
    ['node2', 'org2'],
    ['node3', 'org3'],
  ]);
  let ports: number[] = [];
  let nodes: TestNode[] = [];
  const peersOf = (name: string) =>
    NAMES.map((n, j) => ({ name: n, port: ports[j] })).filter((p) => p.name !== name);
  const linked = (a: TestNode, b: string): boolean =>
    a.node.peers().some((p) => p.name === b && p.connected);

  before(async () => {
    ports = await freePorts(3);
    nodes = NAMES.map((name, i) => makeNode(pki, name, ports[i], peersOf(name)));
    await Promise.all(nodes.map((n) => n.node.start()));
    await waitFor(() => nodes.every((n) => n.node.peers().every((p) => p.connected)), 'mesh');
  });

  after(async () => {
    await Promise.all(nodes.map((n) => n.node.stop()));
  });

  async function roundTrip(a: TestNode, b: TestNode, tag: string): Promise<void> {
    // Each side marks the link up when it has the other's hello: wait for both.
    const linked = (x: TestNode, y: TestNode) =>
      x.node.peers().some((p) => p.name === y.name && p.connected);
    await waitFor(() => linked(a, b) && linked(b, a), `link ${a.name}-${b.name}`);
    assert.equal(a.node.send(b.name, CONSENSUS, Buffer.from(`${tag}>`)), true);
    assert.equal(b.node.send(a.name, BLOCKSYNC, Buffer.from(`${tag}<`)), true);
    await waitFor(
      () => b.rec.has(a.name, CONSENSUS, `${tag}>`) && a.rec.has(b.name, BLOCKSYNC, `${tag}<`),
      `round trip ${tag}`,
    );
  }

  it('reports the stopped peer down and refuses to queue for it', async () => {
    const [n1, n2, n3] = nodes;
    await n3.node.stop();
    assert.deepEqual([...n3.rec.downs].sort(), ['node1', 'node2']);
    await waitFor(() => !linked(n1, 'node3') && !linked(n2, 'node3'), 'node3 seen down');
    assert.deepEqual(n1.rec.downs, ['node3']);
    assert.equal(n1.node.send('node3', CONSENSUS, Buffer.from('lost')), false);
    assert.equal(n1.node.broadcast(TXS, Buffer.from('only-node2')), 1);
    assert.equal(n3.node.send('node1', CONSENSUS, Buffer.from('from-stopped')), false);
    await roundTrip(n1, n2, 'while-node3-down');
    // node1 and node2 keep redialing node3 (reconnectBaseMs 50, reconnectMaxMs 400) and fail:
    // three failed dials each, then still no link.
    const failedDials = (n: TestNode) =>
      n.logs.filter(
        (l) => l.msg === 'p2p: socket error' && (l.obj as { peer?: string }).peer === 'node3',
      ).length;
    await waitFor(() => failedDials(n1) >= 3 && failedDials(n2) >= 3, 'three failed redials');
    assert.ok(!linked(n1, 'node3') && !linked(n2, 'node3'));
    assert.deepEqual(n1.rec.ups.filter((x) => x === 'node3').length, 1);
  });

  it('reconnects by itself when the peer restarts on the same port', async () => {
    const [n1, n2] = nodes;
    const fresh = makeNode(pki, 'node3', ports[2], peersOf('node3'));
    nodes[2] = fresh;
    await fresh.node.start();
    await waitFor(() => linked(n1, 'node3') && linked(n2, 'node3'), 'reconnect');
    await waitFor(() => fresh.node.peers().every((p) => p.connected), 'node3 sees both');
    await roundTrip(n1, fresh, 'after-restart-1');
    await roundTrip(fresh, n2, 'after-restart-2');
    assert.deepEqual(n1.rec.ups.filter((x) => x === 'node3').length, 2);
    // node1 and node2 never lost each other.
    assert.ok(!n1.rec.downs.includes('node2') && !n2.rec.downs.includes('node1'));
  });

  it('comes back after stop() and start() of the same instance', async () => {
    const [n1, n2] = nodes;
    await n2.node.stop();
    await waitFor(() => !linked(n1, 'node2'), 'node2 down');
    await n2.node.start();
    await waitFor(() => n2.node.peers().every((p) => p.connected), 'node2 back');
    await roundTrip(n1, n2, 'after-restart-3');
  });
});
