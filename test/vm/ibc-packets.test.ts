/**
 * Packets between two real islands, one standard and one gm, relayed by hand: a TypeScript
 * port contract on one pings the same contract on the other and gets the answer in onAck;
 * error acks, exactly-once delivery and settlement, timeouts by height and by time, and every
 * refusal (tampered proofs, unknown and replayed acks, early timeouts, late receives, hooks
 * called directly) with its code and no state change.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ReceiptJson } from '../../src/types/block.ts';
import { fullKey, keys, type Packet } from '../../src/vm/native/ibc/keys.ts';
import { initSandbox } from '../../src/vm/sandbox/host.ts';
import type { Member } from '../unit/chain-fixture.ts';
import { bundle } from './harness.ts';
import { HandRelay, type Island, makeIsland, ok, runTx } from './ibc-fixture.ts';

const A_ID = 'island-a'; // standard
const B_ID = 'island-b'; // gm
/** A's client of B (the source client of A's packets) and B's client of A. */
const AB = B_ID;
const BA = A_ID;

/** One tx on `island` (to ibc unless `contract` says otherwise), committed: its receipt. */
const run = (
  island: Island,
  method: string,
  args: unknown,
  opts: { contract?: string; who?: Member } = {},
): Promise<ReceiptJson> => runTx(island, opts.contract ?? 'ibc', method, args, opts.who);

const query = (island: Island, method: string, args: unknown, contract = 'ibc'): any =>
  island.chain.query(contract, method, args, false).result;

/** Run a tx that must fail with `code` and leave the island's state as it was. */
async function refused(
  island: Island,
  method: string,
  args: unknown,
  code: string,
  opts: { contract?: string; message?: RegExp } = {},
): Promise<ReceiptJson> {
  const root = island.chain.latestHeader.stateRoot;
  const r = await run(island, method, args, { contract: opts.contract });
  assert.equal(
    r.status,
    'error',
    `expected ${code}, the tx succeeded: ${JSON.stringify(r.result)}`,
  );
  assert.equal(r.code, code, r.message);
  if (opts.message) assert.match(r.message, opts.message);
  assert.deepEqual(r.events, []);
  assert.equal(island.chain.latestHeader.stateRoot, root, `${method} changed state`);
  return r;
}

const relay = new HandRelay();

/** A copy of a state proof with one sibling hash changed. */
function tamper(proof: unknown): unknown {
  const p = structuredClone(proof) as { siblings: string[] };
  assert.ok(p.siblings.length > 0, 'a proof with no sibling cannot be tampered this way');
  const s = p.siblings[0];
  p.siblings[0] = (s[0] === '0' ? '1' : '0') + s.slice(1);
  return p;
}

describe('ibc packets between a standard and a gm island', () => {
  let a: Island;
  let b: Island;

  /** `port.ping` on A; returns the sequence. */
  async function ping(text: string, extra: Record<string, unknown> = {}): Promise<number> {
    const r = ok(
      await run(
        a,
        'ping',
        { client: AB, destPort: 'port', text, timeoutHeight: b.chain.height + 1000, ...extra },
        { contract: 'port' },
      ),
    );
    return (r.result as { sequence: number }).sequence;
  }

  /** The pending packet `seq` of A, its commitment proven to B's client: a recvPacket's args. */
  const recvArgs = (seq: number) => relay.recvArgs(a, b, AB, BA, seq);

  /** B's ack of packet `seq`, proven to A's client: an acknowledgePacket's args. */
  const ackArgs = (packet: Packet) => relay.ackArgs(a, b, AB, BA, packet);

  before(async () => {
    await initSandbox();
    a = makeIsland(A_ID, 'standard');
    b = makeIsland(B_ID, 'gm');
    const code = await bundle('test/vm/fixtures/port.ts');
    for (const island of [a, b]) {
      ok(
        await run(
          island,
          'deploy',
          { name: 'port', code },
          {
            contract: 'contract_manage',
            who: island.fx.admin,
          },
        ),
      );
    }
    await relay.connect(a, b, AB, BA);
  });
  after(async () => {
    await a?.cleanup();
    await b?.cleanup();
  });

  test('a contract on A pings a contract on B and gets the answer in onAck', async () => {
    assert.equal(query(a, 'nextSequence', { client: AB }), 1);
    const seq = await ping('hello');
    assert.equal(seq, 1);
    assert.equal(query(a, 'nextSequence', { client: AB }), 2);
    const packet: Packet = query(a, 'packet', { client: AB, sequence: seq });
    assert.deepEqual(packet, {
      sequence: 1,
      sourceClient: AB,
      destClient: BA,
      timeoutHeight: packet.timeoutHeight,
      timeoutTime: 0,
      sourcePort: 'port',
      destPort: 'port',
      data: { text: 'hello' },
    });
    assert.deepEqual(query(a, 'packets', { client: AB }), { packets: [packet], next: null });

    const recv = ok(await run(b, 'recvPacket', await recvArgs(seq)));
    const answer = { echo: 'HELLO', count: 1, caller: 'ibc', sender: 'contract:ibc' };
    assert.deepEqual(recv.result, { ack: { result: answer } });
    assert.deepEqual(
      recv.events.map((e) => `${e.contract}.${e.name}`),
      ['ibc.RecvPacket', 'port.Seen', 'ibc.WriteAck'],
    );
    assert.equal(query(b, 'receipt', { client: BA, sequence: seq }), true);
    assert.deepEqual(query(b, 'ack', { client: BA, sequence: seq }), { result: answer });
    assert.equal(query(b, 'read', { key: 'count' }, 'port'), 1);

    const acked = ok(await run(a, 'acknowledgePacket', await ackArgs(packet)));
    assert.deepEqual(
      acked.events.map((e) => `${e.contract}.${e.name}`),
      ['port.Answered', 'ibc.AckPacket'],
    );
    assert.deepEqual(query(a, 'read', { key: `ack/${seq}` }, 'port'), { result: answer });
    const settled = query(a, 'settled', { client: AB, sequence: seq });
    assert.deepEqual(settled, { status: 'acked', ack: { result: answer }, height: a.chain.height });
    assert.equal(query(a, 'packet', { client: AB, sequence: seq }), null);
    assert.deepEqual(query(a, 'packets', { client: AB }), { packets: [], next: null });
    assert.equal(a.prove(fullKey(keys.commitment(AB, seq))).value, null);
  });

  test('each packet is received once and settled once', async () => {
    const seq = await ping('once');
    const args = await recvArgs(seq);
    ok(await run(b, 'recvPacket', args));
    await refused(b, 'recvPacket', args, 'IBC_PACKET_ALREADY_RECEIVED');
    assert.equal(query(b, 'read', { key: 'count' }, 'port'), 2);

    const packet = args.packet;
    const ackA = await ackArgs(packet);
    ok(await run(a, 'acknowledgePacket', ackA));
    await refused(a, 'acknowledgePacket', ackA, 'IBC_PACKET_UNKNOWN');
    // A settled packet cannot be timed out either.
    const absent = await relay.prove(a, AB, b, keys.receipt(BA, 999));
    await refused(
      a,
      'timeoutPacket',
      { packet, proof: absent.proof, proofHeight: absent.height },
      'IBC_PACKET_UNKNOWN',
    );
  });

  test('an onRecv that throws gives an error ack; its writes and events are dropped, the receipt stays', async () => {
    const seq = await ping('boom', { fail: true });
    const r = ok(await run(b, 'recvPacket', await recvArgs(seq)));
    const ack = { error: 'CONTRACT_REVERTED: refused boom' };
    assert.deepEqual(r.result, { ack });
    assert.deepEqual(
      r.events.map((e) => `${e.contract}.${e.name}`),
      ['ibc.RecvPacket', 'ibc.WriteAck'],
    );
    assert.equal(query(b, 'read', { key: `seen/${seq}` }, 'port'), null);
    assert.equal(query(b, 'read', { key: 'count' }, 'port'), 2);
    assert.equal(query(b, 'receipt', { client: BA, sequence: seq }), true);
    assert.deepEqual(query(b, 'ack', { client: BA, sequence: seq }), ack);

    const packet: Packet = query(a, 'packet', { client: AB, sequence: seq });
    ok(await run(a, 'acknowledgePacket', await ackArgs(packet)));
    assert.deepEqual(query(a, 'read', { key: `ack/${seq}` }, 'port'), ack);
    assert.equal(query(a, 'settled', { client: AB, sequence: seq }).status, 'acked');
  });

  test('an onRecv that runs out of gas fails the whole receive: no receipt, no ack', async () => {
    const seq = await ping('spin', { loop: true });
    const args = await recvArgs(seq);
    await refused(b, 'recvPacket', args, 'OUT_OF_GAS');
    assert.equal(query(b, 'receipt', { client: BA, sequence: seq }), false);
    assert.equal(query(b, 'ack', { client: BA, sequence: seq }), null);
    assert.ok(query(a, 'packet', { client: AB, sequence: seq }), 'still pending on A');
  });

  test('tampered proofs, changed packets and acks are refused', async () => {
    const seq = await ping('proof');
    const args = await recvArgs(seq);
    await refused(b, 'recvPacket', { ...args, proof: tamper(args.proof) }, 'IBC_PROOF_INVALID');
    // The proof is right, the packet is not the one committed.
    await refused(
      b,
      'recvPacket',
      { ...args, packet: { ...args.packet, data: { text: 'forged' } } },
      'IBC_PROOF_INVALID',
    );
    // A proof of another key (the packet's copy beside its commitment).
    const other = a.prove(fullKey(keys.packet(AB, seq)));
    await refused(b, 'recvPacket', { ...args, proof: other.proof }, 'IBC_PROOF_INVALID');
    // No consensus state at the claimed height.
    await refused(
      b,
      'recvPacket',
      { ...args, proofHeight: a.chain.height + 50 },
      'IBC_CONSENSUS_NOT_FOUND',
    );
    assert.equal(query(b, 'receipt', { client: BA, sequence: seq }), false);
    ok(await run(b, 'recvPacket', args));

    const ackA = await ackArgs(args.packet);
    await refused(
      a,
      'acknowledgePacket',
      { ...ackA, proof: tamper(ackA.proof) },
      'IBC_PROOF_INVALID',
    );
    await refused(
      a,
      'acknowledgePacket',
      { ...ackA, ack: { error: 'forged' } },
      'IBC_PROOF_INVALID',
    );
    await refused(
      a,
      'acknowledgePacket',
      { ...ackA, ack: { result: 1, error: 'x' } },
      'IBC_PACKET_INVALID',
    );
    ok(await run(a, 'acknowledgePacket', ackA));
  });

  test('an ack for a packet never sent is refused', async () => {
    const next = query(a, 'nextSequence', { client: AB }) as number;
    const ghost: Packet = {
      sequence: next + 5,
      sourceClient: AB,
      destClient: BA,
      timeoutHeight: 10_000,
      timeoutTime: 0,
      sourcePort: 'port',
      destPort: 'port',
      data: { text: 'ghost' },
    };
    const p = await relay.prove(a, AB, b, keys.ack(BA, ghost.sequence));
    await refused(
      a,
      'acknowledgePacket',
      { packet: ghost, ack: { result: null }, proof: p.proof, proofHeight: p.height },
      'IBC_PACKET_UNKNOWN',
    );
    // A pending packet's commitment binds all of it: another timeout is another packet.
    const seq = await ping('bound');
    const real: Packet = query(a, 'packet', { client: AB, sequence: seq });
    await refused(
      a,
      'acknowledgePacket',
      {
        packet: { ...real, timeoutHeight: real.timeoutHeight + 1 },
        ack: { result: null },
        proof: p.proof,
        proofHeight: p.height,
      },
      'IBC_PACKET_UNKNOWN',
    );
  });

  test('a timeout by height: refused before it is reached, a late receive refused, then onTimeout runs on A', async () => {
    const timeoutHeight = b.chain.height + 4;
    const seq = await ping('late', { timeoutHeight });
    const args = await recvArgs(seq); // B's client update takes one B block
    const packet = args.packet;
    assert.ok(b.chain.height < timeoutHeight);

    const early = await relay.prove(a, AB, b, keys.receipt(BA, seq));
    assert.equal(early.value, null);
    assert.ok(early.height < timeoutHeight);
    await refused(
      a,
      'timeoutPacket',
      { packet, proof: early.proof, proofHeight: early.height },
      'IBC_TIMEOUT_NOT_REACHED',
    );

    while (b.chain.height < timeoutHeight - 1) b.commit();
    // The next block is at the timeout height: too late to receive.
    await refused(b, 'recvPacket', args, 'IBC_PACKET_TIMED_OUT');
    assert.ok(b.chain.height >= timeoutHeight);

    const absent = await relay.prove(a, AB, b, keys.receipt(BA, seq));
    // The receipt's absence proven at a height before the timeout does not count.
    await refused(
      a,
      'timeoutPacket',
      { packet, proof: early.proof, proofHeight: early.height },
      'IBC_TIMEOUT_NOT_REACHED',
    );
    await refused(
      a,
      'timeoutPacket',
      { packet, proof: tamper(absent.proof), proofHeight: absent.height },
      'IBC_PROOF_INVALID',
    );
    const r = ok(
      await run(a, 'timeoutPacket', { packet, proof: absent.proof, proofHeight: absent.height }),
    );
    assert.deepEqual(
      r.events.map((e) => `${e.contract}.${e.name}`),
      ['ibc.TimeoutPacket'],
    );
    assert.deepEqual(query(a, 'read', { key: `timeout/${seq}` }, 'port'), { text: 'late' });
    assert.deepEqual(query(a, 'settled', { client: AB, sequence: seq }), {
      status: 'timed-out',
      height: a.chain.height,
    });
    await refused(
      a,
      'timeoutPacket',
      { packet, proof: absent.proof, proofHeight: absent.height },
      'IBC_PACKET_UNKNOWN',
    );
  });

  test('a received packet cannot be timed out: its receipt is there', async () => {
    const timeoutHeight = b.chain.height + 4;
    const seq = await ping('in time', { timeoutHeight });
    ok(await run(b, 'recvPacket', await recvArgs(seq)));
    while (b.chain.height < timeoutHeight) b.commit();
    const packet: Packet = query(a, 'packet', { client: AB, sequence: seq });
    const present = await relay.prove(a, AB, b, keys.receipt(BA, seq));
    assert.notEqual(present.value, null);
    await refused(
      a,
      'timeoutPacket',
      { packet, proof: present.proof, proofHeight: present.height },
      'IBC_PROOF_INVALID',
    );
    ok(await run(a, 'acknowledgePacket', await ackArgs(packet)));
  });

  test("a timeout by time: B's block time decides the receive and the timeout", async () => {
    const known = query(a, 'client', { clientId: AB }).latestHeight as number;
    const bTime = query(a, 'consensusState', { clientId: AB, height: known }).time as number;
    // B's clock moves one second per block; a few blocks from now it is past this.
    const timeoutTime = b.time + 2500;
    assert.ok(timeoutTime > bTime);
    const seq = await ping('slow', { timeoutHeight: 0, timeoutTime });
    const args = await recvArgs(seq);
    while (b.time < timeoutTime) b.commit();
    await refused(b, 'recvPacket', args, 'IBC_PACKET_TIMED_OUT', { message: /timed out/ });
    const absent = await relay.prove(a, AB, b, keys.receipt(BA, seq));
    ok(
      await run(a, 'timeoutPacket', {
        packet: args.packet,
        proof: absent.proof,
        proofHeight: absent.height,
      }),
    );
    assert.deepEqual(query(a, 'read', { key: `timeout/${seq}` }, 'port'), { text: 'slow' });
  });

  test('send: only contracts, with a timeout not yet reached, over a client that exists', async () => {
    // A tx is not a contract.
    await refused(
      a,
      'send',
      { sourceClient: AB, destPort: 'port', data: 1, timeoutHeight: 10_000 },
      'IBC_FORBIDDEN',
    );
    const pingArgs = { client: AB, destPort: 'port', text: 'x' };
    await refused(a, 'ping', { ...pingArgs, timeoutHeight: 0 }, 'IBC_PACKET_INVALID', {
      contract: 'port',
      message: /timeout is required/,
    });
    const known = query(a, 'client', { clientId: AB }).latestHeight as number;
    await refused(a, 'ping', { ...pingArgs, timeoutHeight: known }, 'IBC_PACKET_TIMED_OUT', {
      contract: 'port',
    });
    await refused(
      a,
      'ping',
      { ...pingArgs, client: 'nowhere', timeoutHeight: 10_000 },
      'IBC_CLIENT_NOT_FOUND',
      {
        contract: 'port',
      },
    );
    await refused(
      a,
      'ping',
      { ...pingArgs, destPort: 'Not A Port', timeoutHeight: 10_000 },
      'IBC_PACKET_INVALID',
      { contract: 'port' },
    );
  });

  test('hooks are called by ibc only: a direct tx to onRecv is refused', async () => {
    const packet: Packet = {
      sequence: 1,
      sourceClient: BA,
      destClient: AB,
      timeoutHeight: 10_000,
      timeoutTime: 0,
      sourcePort: 'port',
      destPort: 'port',
      data: { text: 'direct' },
    };
    await assert.rejects(
      b.fx.client.send(b.chain, { contract: 'port', method: 'onRecv', args: packet }),
      { code: 'IBC_FORBIDDEN' },
    );
    await refused(b, 'callHook', { target: 'port', method: 'onRecv' }, 'IBC_FORBIDDEN', {
      contract: 'port',
    });
    assert.equal(query(b, 'read', { key: 'seen/1' }, 'port'), 'hello');
  });

  test('packets pages through pending packets in sequence order from any sequence', async () => {
    const pending = () =>
      (query(a, 'packets', { client: AB, limit: 1000 }).packets as Packet[]).map((p) => p.sequence);
    while (query(a, 'nextSequence', { client: AB }) <= 12) await ping('page');
    const all = pending();
    assert.ok(all.length >= 4, `pending: ${all}`);
    assert.deepEqual(
      all,
      [...all].sort((x, y) => x - y),
    );
    const last = all[all.length - 1];
    for (let from = 1; from <= last + 1; from++) {
      const page = query(a, 'packets', { client: AB, from, limit: 3 });
      const want = all.filter((s) => s >= from).slice(0, 3);
      assert.deepEqual(
        page.packets.map((p: Packet) => p.sequence),
        want,
        `from ${from}`,
      );
      assert.equal(page.next, want.length === 3 ? want[2] + 1 : null, `next from ${from}`);
    }
    assert.throws(() => query(a, 'packets', { client: 'Bad Id' }), { code: 'INVALID_ARGS' });
  });
});
