import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BLOCKSYNC,
  CONSENSUS,
  decodeFrame,
  EVIDENCE,
  encodeFrame,
  FrameError,
  FrameReader,
  messageFrameSize,
  TXS,
} from '../../src/p2p/frame.ts';
import { DEFAULT_LIMITS, parseAddress, resolveLimits } from '../../src/p2p/node.ts';
import { SendQueue } from '../../src/p2p/queue.ts';

const text = (b: Uint8Array): string => Buffer.from(b).toString();

describe('p2p frames', () => {
  it('round-trips every frame kind through the length-prefixed encoding', () => {
    const bodies = [
      { case: 'hello', value: { version: 1, node: 'node1' } },
      { case: 'message', value: { channel: TXS, payload: Buffer.from('tx') } },
      { case: 'ping', value: 7n },
      { case: 'pong', value: 7n },
      { case: 'bye', value: { reason: 1 } },
    ] as const;
    const reader = new FrameReader(1024);
    const wire = Buffer.concat(bodies.map((b) => encodeFrame(b)));
    const frames = reader.push(wire).map(decodeFrame);
    assert.deepEqual(
      frames.map((f) => f.body.case),
      bodies.map((b) => b.case),
    );
    const m = frames[1].body;
    assert.ok(m.case === 'message');
    assert.equal(m.value.channel, TXS);
    assert.equal(text(m.value.payload), 'tx');
    assert.equal(wire.readUInt32BE(0), encodeFrame(bodies[0]).length - 4);
  });

  it('reassembles frames split at every byte', () => {
    const payload = Buffer.alloc(3000, 7);
    const wire = Buffer.concat([
      encodeFrame({ case: 'message', value: { channel: CONSENSUS, payload } }),
      encodeFrame({ case: 'ping', value: 1n }),
    ]);
    const reader = new FrameReader(1 << 20);
    const out: Buffer[] = [];
    for (let i = 0; i < wire.length; i++) out.push(...reader.push(wire.subarray(i, i + 1)));
    assert.equal(out.length, 2);
    const f = decodeFrame(out[0]).body;
    assert.ok(f.case === 'message');
    assert.deepEqual(Buffer.from(f.value.payload), payload);
    assert.equal(reader.bufferedBytes, 0);
    assert.ok(
      encodeFrame({ case: 'message', value: { channel: CONSENSUS, payload } }).length <=
        messageFrameSize(payload.length),
    );
  });

  it('rejects a length over the limit before buffering the frame', () => {
    const reader = new FrameReader(100);
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32BE(101, 0);
    assert.throws(() => reader.push(prefix), FrameError);
  });

  it('rejects frames that do not decode or carry nothing', () => {
    assert.throws(() => decodeFrame(Buffer.from([0xff, 0xff, 0xff])), FrameError);
    assert.throws(() => decodeFrame(new Uint8Array(0)), /without a body/);
  });
});

describe('p2p send queue', () => {
  const limits = {
    [CONSENSUS]: { maxBytes: 100, maxCount: 3 },
    [BLOCKSYNC]: { maxBytes: 100, maxCount: 3 },
    [EVIDENCE]: { maxBytes: 100, maxCount: 3 },
    [TXS]: { maxBytes: 10, maxCount: 100 },
  };

  it('drains consensus, then block sync, evidence and txs, each in order', () => {
    const q = new SendQueue(limits);
    q.push(TXS, Buffer.from('t1'));
    q.push(EVIDENCE, Buffer.from('e1'));
    q.push(BLOCKSYNC, Buffer.from('b1'));
    q.push(CONSENSUS, Buffer.from('c1'));
    q.push(TXS, Buffer.from('t2'));
    q.push(CONSENSUS, Buffer.from('c2'));
    const order: string[] = [];
    for (let m = q.shift(); m; m = q.shift()) order.push(text(m.payload));
    assert.deepEqual(order, ['c1', 'c2', 'b1', 'e1', 't1', 't2']);
    assert.equal(q.empty, true);
  });

  it('caps each channel by count and bytes, independently', () => {
    const q = new SendQueue(limits);
    assert.equal(q.push(TXS, Buffer.alloc(6)), true);
    assert.equal(q.push(TXS, Buffer.alloc(6)), false, 'over 10 bytes');
    assert.equal(q.push(TXS, Buffer.alloc(4)), true);
    for (let i = 0; i < 3; i++) assert.equal(q.push(CONSENSUS, Buffer.alloc(1)), true);
    assert.equal(q.push(CONSENSUS, Buffer.alloc(1)), false, 'over 3 messages');
    const s = q.stats();
    assert.deepEqual(s.channels[TXS], { bytes: 10, count: 2 });
    assert.deepEqual(s.channels[CONSENSUS], { bytes: 3, count: 3 });
    assert.equal(s.bytes, 13);
    assert.equal(s.count, 5);
    q.clear();
    assert.equal(q.stats().bytes, 0);
  });

  it('takes one oversized message into an empty channel only', () => {
    const q = new SendQueue(limits);
    assert.equal(q.push(TXS, Buffer.alloc(50)), true);
    assert.equal(q.push(TXS, Buffer.alloc(1)), false);
    q.shift();
    assert.equal(q.push(TXS, Buffer.alloc(1)), true);
  });

  it('stays correct over many pushes and shifts', () => {
    const q = new SendQueue({ ...limits, [TXS]: { maxBytes: 1 << 20, maxCount: 5000 } });
    let next = 0;
    let expect = 0;
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 3000; i++) assert.ok(q.push(TXS, Buffer.from(String(next++))));
      for (let i = 0; i < 3000; i++) assert.equal(text(q.shift()!.payload), String(expect++));
    }
    assert.equal(q.shift(), undefined);
  });
});

describe('p2p options', () => {
  it('parses peer addresses', () => {
    assert.deepEqual(parseAddress('127.0.0.1:26656'), { host: '127.0.0.1', port: 26656 });
    assert.deepEqual(parseAddress('[::1]:9'), { host: '::1', port: 9 });
    for (const bad of ['127.0.0.1', ':80', '127.0.0.1:0', 'h:70000', 'a:b:1']) {
      assert.throws(() => parseAddress(bad), /bad peer address/, bad);
    }
  });

  it('fills limit defaults and rejects nonsense', () => {
    const l = resolveLimits({ pingIntervalMs: 50, queues: { [TXS]: { maxCount: 9 } } });
    assert.equal(l.pingIntervalMs, 50);
    assert.equal(l.queues[TXS].maxCount, 9);
    assert.equal(l.queues[TXS].maxBytes, DEFAULT_LIMITS.queues[TXS].maxBytes);
    assert.equal(l.maxFrameBytes, DEFAULT_LIMITS.maxFrameBytes);
    assert.throws(() => resolveLimits({ maxFrameBytes: -1 }), /maxFrameBytes/);
    assert.throws(() => resolveLimits({ queues: { [TXS]: { maxBytes: 0 } } }), /maxBytes/);
    assert.throws(() => resolveLimits({ pingIntervalMs: 5000, idleTimeoutMs: 1000 }), /idle/);
  });
});
