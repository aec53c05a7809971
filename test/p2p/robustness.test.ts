import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { CONSENSUS, TXS } from '../../src/p2p/frame.ts';
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

describe('p2p: hostile and broken peers', () => {
  const pki = new Pki([
    ['node1', 'org1'],
    ['node2', 'org2'],
    ['node3', 'org3'],
  ]);
  let n1: TestNode;
  let n2: TestNode;
  let tick = 0;
  const open: Array<{ destroy(): void }> = [];
  const servers: net.Server[] = [];
  const limits = {
    handshakeTimeoutMs: 600,
    recvFramesPerSec: 2000,
    writeStallTimeoutMs: 1500,
  };

  before(async () => {
    const [p1, p2] = await freePorts(2);
    n1 = makeNode(pki, 'node1', p1, [{ name: 'node2', port: p2 }], { limits });
    n2 = makeNode(pki, 'node2', p2, [{ name: 'node1', port: p1 }], { limits });
    await Promise.all([n1.node.start(), n2.node.start()]);
    await waitFor(() => n1.node.peers()[0]?.connected === true, 'node1-node2 link');
  });

  after(async () => {
    for (const s of open) s.destroy();
    for (const s of servers) s.close();
    await Promise.all([n1.node.stop(), n2.node.stop()]);
  });

  const count = (list: string[], name: string): number => list.filter((x) => x === name).length;
  const ups3 = (): number => count(n1.rec.ups, 'node3');
  const downs3 = (): number => count(n1.rec.downs, 'node3');

  // Round trip between the good nodes: proves the node is up and serving its peers.
  async function stillTalking(): Promise<void> {
    const tag = `t${tick++}`;
    assert.equal(n1.node.send('node2', CONSENSUS, Buffer.from(`${tag}a`)), true);
    assert.equal(n2.node.send('node1', TXS, Buffer.from(`${tag}b`)), true);
    await waitFor(
      () => n2.rec.has('node1', CONSENSUS, `${tag}a`) && n1.rec.has('node2', TXS, `${tag}b`),
      `round trip ${tag}`,
    );
  }

  function tcp(): Promise<net.Socket> {
    return new Promise((ok, fail) => {
      const s = net.connect(n1.port, HOST, () => ok(s));
      s.on('error', fail);
      open.push(s);
    });
  }

  it('closes a connection that sends random bytes', async () => {
    const s = await tcp();
    s.write(randomBytes(4096));
    await Promise.all([closedWithin(s, 1500), stillTalking()]);
  });

  it('closes a TCP connection that never starts TLS within the handshake timeout', async () => {
    const s = await tcp();
    const closed = closedWithin(s, 2500);
    await stillTalking();
    assert.equal(s.destroyed, false, 'closed before the timeout');
    const ms = await closed;
    assert.ok(ms >= 400, `closed after ${ms} ms`);
  });

  it('closes a plain connection that sends a huge length prefix', async () => {
    const s = await tcp();
    s.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0]));
    await Promise.all([closedWithin(s, 1500), stillTalking()]);
  });

  it('closes an authenticated peer that announces an oversized frame', async () => {
    const peer = new RawPeer(n1.port, pki.ids.get('node3')!, pki.caPems());
    open.push(peer);
    const [u, d] = [ups3(), downs3()];
    await peer.connected();
    peer.hello('node3');
    await waitFor(() => ups3() > u, 'node3 up');
    peer.socket.write(Buffer.from([0xff, 0xff, 0xff, 0xf0]));
    await Promise.all([closedWithin(peer.socket, 1500), stillTalking()]);
    assert.match(n1.drops.at(-1) ?? '', /exceeds the limit/);
    await waitFor(() => downs3() > d, 'node3 down');
    await sleep(350); // misbehaviour ban (banMs 300)
  });

  it('closes an authenticated peer that sends a frame that does not decode', async () => {
    const peer = new RawPeer(n1.port, pki.ids.get('node3')!, pki.caPems());
    open.push(peer);
    await peer.connected();
    peer.hello('node3');
    const junk = Buffer.alloc(4 + 64, 0xff);
    junk.writeUInt32BE(64, 0);
    peer.socket.write(junk);
    await Promise.all([closedWithin(peer.socket, 1500), stillTalking()]);
    assert.match(n1.drops.at(-1) ?? '', /malformed frame/);
    await sleep(350);
  });

  it('disconnects a flooding peer, then lets it back in after the ban', async () => {
    const peer = new RawPeer(n1.port, pki.ids.get('node3')!, pki.caPems());
    open.push(peer);
    await peer.connected();
    peer.hello('node3');
    const before = n1.rec.messages.filter((m) => m.peer === 'node3').length;
    const frames: Buffer[] = [];
    for (let i = 0; i < 10_000; i++) {
      frames.push(Buffer.from(new RawFrame(CONSENSUS, Buffer.from(`flood${i}`)).bytes()));
    }
    peer.socket.write(Buffer.concat(frames));
    await Promise.all([closedWithin(peer.socket, 2000), stillTalking()]);
    assert.match(n1.drops.at(-1) ?? '', /frame rate exceeded/);
    const got = n1.rec.messages.filter((m) => m.peer === 'node3').length - before;
    assert.ok(got < 10_000, `all ${got} flood frames delivered`);
    // Refused while banned...
    const early = new RawPeer(n1.port, pki.ids.get('node3')!, pki.caPems());
    open.push(early);
    early.socket.once('secureConnect', () => early.hello('node3'));
    await closedWithin(early.socket, 1500);
    assert.equal(early.gotHello(), false);
    // ...and welcome afterwards.
    await sleep(350);
    const later = new RawPeer(n1.port, pki.ids.get('node3')!, pki.caPems());
    open.push(later);
    later.socket.once('secureConnect', () => later.hello('node3'));
    await waitFor(() => later.gotHello(), 'hello after the ban');
    later.destroy();
  });

  it('drops a peer that goes silent', async () => {
    const peer = new RawPeer(n1.port, pki.ids.get('node3')!, pki.caPems());
    open.push(peer);
    await peer.connected();
    peer.hello('node3');
    await waitFor(() => peer.gotHello(), 'hello');
    // It never answers pings (pingIntervalMs 100, idleTimeoutMs 800).
    const ms = await closedWithin(peer.socket, 2500);
    assert.ok(ms >= 600, `dropped after ${ms} ms`);
    assert.equal(n1.drops.at(-1), 'peer silent');
    assert.ok(
      peer.frames.some((f) => f.body.case === 'ping'),
      'node pinged the peer',
    );
    await stillTalking();
  });

  it('gives up dialing a server that never completes the TLS handshake', async () => {
    const accepted: net.Socket[] = [];
    const server = net.createServer((s) => {
      accepted.push(s);
      s.on('error', () => {});
      s.resume(); // reads and ignores the ClientHello, so it also sees the FIN
    });
    servers.push(server);
    await new Promise<void>((ok) => server.listen(0, HOST, () => ok()));
    const port = (server.address() as net.AddressInfo).port;
    n1.node.addPeer({ name: 'node3', address: `${HOST}:${port}` });
    await waitFor(() => accepted.length >= 1, 'dial');
    const ms = await closedWithin(accepted[0], 2500);
    assert.ok(ms >= 400, `gave up after ${ms} ms`);
    await waitFor(() => accepted.length >= 2, 'redial');
    n1.node.removePeer('node3');
    for (const s of accepted) s.destroy();
    await stillTalking();
  });

  it('keeps memory bounded for a peer that stops reading', async () => {
    const peer = new RawPeer(n1.port, pki.ids.get('node3')!, pki.caPems(), { read: false });
    open.push(peer);
    await peer.connected();
    const [u, d] = [ups3(), downs3()];
    peer.hello('node3');
    // Keeps talking so it is not dropped as silent, but never reads a byte.
    const keepalive = setInterval(() => peer.send({ case: 'ping', value: 1n }), 100);
    try {
      await waitFor(() => ups3() > u, 'node3 up');
      const chunk = new Uint8Array(64 * 1024);
      const fill = (channel: typeof TXS | typeof CONSENSUS): number => {
        let refused = 0;
        for (let i = 0; i < 400; i++) if (!n1.node.send('node3', channel, chunk)) refused++;
        return refused;
      };
      fill(TXS);
      fill(CONSENSUS);
      await sleep(400); // time for a reader to drain, if there were one
      assert.ok(fill(TXS) > 300, 'sends to a stuck peer keep failing');
      assert.ok(fill(CONSENSUS) > 200, 'consensus sends to a stuck peer keep failing');
      const q = n1.node.queued('node3')!;
      const caps = n1.node.limits.queues;
      assert.ok(q.channels[TXS].bytes <= caps[TXS].maxBytes, `txs queue ${q.channels[TXS].bytes}`);
      assert.ok(q.channels[CONSENSUS].bytes <= caps[CONSENSUS].maxBytes);
      assert.ok(q.channels[TXS].count > 0, 'queue used');
      assert.ok(q.socketBytes <= 16 * 1024 + 2 * chunk.length, `socket holds ${q.socketBytes}`);
      assert.ok(q.bytes <= caps[TXS].maxBytes + caps[CONSENSUS].maxBytes);
      await stillTalking();
      // writeStallTimeoutMs 1500: the stuck peer is eventually dropped and its queue freed.
      await waitFor(() => downs3() > d, 'stuck peer dropped', 4000);
      assert.ok(n1.drops.includes('peer stopped reading'));
      assert.equal(n1.node.queued('node3')?.bytes ?? 0, 0);
      await stillTalking();
    } finally {
      clearInterval(keepalive);
      peer.destroy();
    }
  });
});

/** Hand-built message frame, independent of the node's own encoder. */
class RawFrame {
  constructor(
    private readonly channel: number,
    private readonly payload: Buffer,
  ) {}

  bytes(): Buffer {
    // PeerFrame { message(2) = PeerMessage { channel(1) varint, payload(2) bytes } }
    const inner = Buffer.concat([
      Buffer.from([0x08, this.channel, 0x12, this.payload.length]),
      this.payload,
    ]);
    const body = Buffer.concat([Buffer.from([0x12, inner.length]), inner]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(body.length, 0);
    return Buffer.concat([len, body]);
  }
}
