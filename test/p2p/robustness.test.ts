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
  // node3..node10 are the misbehaving ones, one name per test so bans do not carry over.
  const pki = new Pki([
    ['node1', 'org1'],
    ['node2', 'org2'],
    ['node3', 'org3'],
    ['node4', 'org3'],
    ['node5', 'org3'],
    ['node6', 'org3'],
    ['node7', 'org3'],
    ['node8', 'org3'],
    ['node9', 'org3'],
    ['node10', 'org3'],
  ]);
  let n1: TestNode;
  let n2: TestNode;
  let tick = 0;
  const open: Array<{ destroy(): void }> = [];
  const servers: net.Server[] = [];
  const BAN_MS = 1500;
  const limits = { recvFramesPerSec: 2000, writeStallTimeoutMs: 1500, banMs: BAN_MS };

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

  const raw = (name: string, opts?: { read?: boolean }): RawPeer => {
    const peer = new RawPeer(n1.port, pki.ids.get(name)!, pki.caPems(), opts);
    open.push(peer);
    return peer;
  };

  // Round trip between the good nodes: proves the node is up and serving its peers.
  async function stillTalking(): Promise<void> {
    const tag = `t${tick++}`;
    // Each side marks the link up when it has the other's hello: wait for both.
    await waitFor(
      () =>
        n1.node.peers().some((p) => p.name === 'node2' && p.connected) &&
        n2.node.peers().some((p) => p.name === 'node1' && p.connected),
      'link',
    );
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

  /** node1's log lines about failed inbound TLS handshakes, from `since` on. */
  const tlsFailures = (since: number) =>
    n1.logs.slice(since).filter((l) => l.msg === 'p2p: inbound handshake failed');

  it('closes a connection that sends random bytes', async () => {
    const mark = n1.logs.length;
    const s = await tcp();
    s.write(randomBytes(4096));
    // Closed by node1 (this side never ends it) for what it sent, not at the handshake timeout.
    await closedWithin(s, 5000);
    const failed = tlsFailures(mark).map((l) => (l.obj as { err?: string }).err);
    assert.equal(failed.length, 1, 'node1 logged the failed handshake');
    assert.notEqual(failed[0], 'TLS handshake timeout');
    await stillTalking();
  });

  it('closes a TCP connection that never starts TLS within the handshake timeout', async () => {
    const mark = n1.logs.length;
    const s = await tcp();
    const closed = closedWithin(s, 6000);
    await stillTalking();
    assert.equal(s.destroyed, false, 'closed before the timeout');
    const ms = await closed;
    assert.ok(ms >= 1000, `closed after ${ms} ms (handshakeTimeoutMs 1500)`);
    assert.deepEqual(
      tlsFailures(mark).map((l) => (l.obj as { err?: string }).err),
      ['TLS handshake timeout'],
    );
  });

  // A length prefix is only read inside an authenticated TLS session (a plain connection is
  // refused by TLS first, as above): these peers finish the handshake and the hello, so the
  // frame limit is what refuses them, at the limit's exact boundary.
  async function authenticated(name: string): Promise<RawPeer> {
    const peer = raw(name);
    await peer.connected();
    peer.hello(name);
    await waitFor(() => peer.gotHello() && n1.rec.ups.includes(name), `${name} up`);
    return peer;
  }

  it('closes an authenticated peer that announces a frame one byte over the limit', async () => {
    const max = n1.node.limits.maxFrameBytes;
    const peer = await authenticated('node9');
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32BE(max + 1, 0);
    peer.socket.write(prefix);
    await Promise.all([closedWithin(peer.socket, 5000), stillTalking()]);
    assert.equal(
      n1.drops.at(-1),
      `protocol violation: frame of ${max + 1} bytes exceeds the limit of ${max}`,
    );
    await waitFor(() => n1.rec.downs.includes('node9'), 'node9 down');
    // A frame of exactly the limit gets past the size check (and is refused for its content).
    const atLimit = await authenticated('node10');
    const frame = Buffer.alloc(4 + max, 0xff);
    frame.writeUInt32BE(max, 0);
    atLimit.socket.write(frame);
    await Promise.all([closedWithin(atLimit.socket, 10_000), stillTalking()]);
    assert.match(n1.drops.at(-1) ?? '', /malformed frame/);
  });

  it('closes an authenticated peer that announces an oversized frame', async () => {
    const peer = await authenticated('node3');
    peer.socket.write(Buffer.from([0xff, 0xff, 0xff, 0xf0]));
    await Promise.all([closedWithin(peer.socket, 5000), stillTalking()]);
    assert.match(n1.drops.at(-1) ?? '', /frame of 4294967280 bytes exceeds the limit/);
    await waitFor(() => n1.rec.downs.includes('node3'), 'node3 down');
  });

  it('closes an authenticated peer that sends a frame that does not decode', async () => {
    const peer = raw('node4');
    await peer.connected();
    peer.hello('node4');
    const junk = Buffer.alloc(4 + 64, 0xff);
    junk.writeUInt32BE(64, 0);
    peer.socket.write(junk);
    await Promise.all([closedWithin(peer.socket, 5000), stillTalking()]);
    assert.match(n1.drops.at(-1) ?? '', /malformed frame/);
  });

  it('disconnects a flooding peer, then lets it back in after the ban', async () => {
    const peer = raw('node5');
    await peer.connected();
    peer.hello('node5');
    const frames: Buffer[] = [];
    for (let i = 0; i < 10_000; i++) {
      frames.push(Buffer.from(new RawFrame(CONSENSUS, Buffer.from(`flood${i}`)).bytes()));
    }
    peer.socket.write(Buffer.concat(frames));
    await Promise.all([closedWithin(peer.socket, 5000), stillTalking()]);
    const bannedAt = Date.now();
    assert.match(n1.drops.at(-1) ?? '', /frame rate exceeded/);
    const got = n1.rec.messages.filter((m) => m.peer === 'node5').length;
    assert.ok(got < 10_000, `all ${got} flood frames delivered`);
    // Refused while banned...
    const early = raw('node5');
    early.socket.once('secureConnect', () => early.hello('node5'));
    await closedWithin(early.socket, 5000);
    assert.equal(early.gotHello(), false);
    assert.ok(Date.now() - bannedAt < BAN_MS, 'test too slow to see the ban');
    // ...and welcome afterwards.
    await sleep(bannedAt + BAN_MS + 50 - Date.now());
    const later = raw('node5');
    later.socket.once('secureConnect', () => later.hello('node5'));
    await waitFor(() => later.gotHello(), 'hello after the ban');
    later.destroy();
  });

  it('drops a peer that goes silent', async () => {
    const peer = raw('node6');
    await peer.connected();
    peer.hello('node6');
    await waitFor(() => peer.gotHello(), 'hello');
    // It never answers pings (pingIntervalMs 200, idleTimeoutMs 2000).
    const ms = await closedWithin(peer.socket, 6000);
    assert.ok(ms >= 1500, `dropped after ${ms} ms`);
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
    n1.node.addPeer({ name: 'node8', address: `${HOST}:${port}` });
    await waitFor(() => accepted.length >= 1, 'dial');
    const ms = await closedWithin(accepted[0], 6000);
    assert.ok(ms >= 1000, `gave up after ${ms} ms (handshakeTimeoutMs 1500)`);
    await waitFor(() => accepted.length >= 2, 'redial');
    n1.node.removePeer('node8');
    for (const s of accepted) s.destroy();
    await stillTalking();
  });

  it('keeps memory bounded for a peer that stops reading', async () => {
    const peer = raw('node7', { read: false });
    await peer.connected();
    peer.hello('node7');
    // Keeps talking so it is not dropped as silent, but never reads a byte.
    const keepalive = setInterval(() => peer.send({ case: 'ping', value: 1n }), 100);
    try {
      await waitFor(() => n1.rec.ups.includes('node7'), 'node7 up');
      const chunk = new Uint8Array(64 * 1024);
      const fill = (channel: typeof TXS | typeof CONSENSUS): number => {
        let refused = 0;
        for (let i = 0; i < 400; i++) if (!n1.node.send('node7', channel, chunk)) refused++;
        return refused;
      };
      fill(TXS);
      fill(CONSENSUS);
      // Two round trips between the good nodes: node1 has run its socket I/O meanwhile, so a
      // peer that read would have drained some of its queue by now.
      await stillTalking();
      await stillTalking();
      assert.ok(fill(TXS) > 300, 'sends to a stuck peer keep failing');
      assert.ok(fill(CONSENSUS) > 200, 'consensus sends to a stuck peer keep failing');
      const q = n1.node.queued('node7')!;
      const caps = n1.node.limits.queues;
      assert.ok(q.channels[TXS].bytes <= caps[TXS].maxBytes, `txs queue ${q.channels[TXS].bytes}`);
      assert.ok(q.channels[CONSENSUS].bytes <= caps[CONSENSUS].maxBytes);
      assert.ok(q.channels[TXS].count > 0, 'queue used');
      assert.ok(q.socketBytes <= 16 * 1024 + 2 * chunk.length, `socket holds ${q.socketBytes}`);
      assert.ok(q.bytes <= caps[TXS].maxBytes + caps[CONSENSUS].maxBytes);
      await stillTalking();
      // writeStallTimeoutMs 1500: the stuck peer is eventually dropped and its queue freed.
      await waitFor(() => n1.rec.downs.includes('node7'), 'stuck peer dropped');
      assert.ok(n1.drops.includes('peer stopped reading'));
      assert.equal(n1.node.queued('node7')?.bytes ?? 0, 0);
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
