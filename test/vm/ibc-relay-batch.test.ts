/**
 * `ibc.relay`: a relayer's client update and the proofs it serves in one tx, between a standard
 * and a gm island with token transfers: the update serves the receives after it in the same tx,
 * a message that lost a race drops only its own work, acks come back the same way, and a
 * malformed batch or one that runs out of gas changes nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ReceiptJson } from '../../src/types/block.ts';
import { fullKey, keys, type Packet } from '../../src/vm/native/ibc/keys.ts';
import { MAX_RELAY_MESSAGES } from '../../src/vm/native/ibc/relay-batch.ts';
import { HandRelay, type Island, makeIsland, ok, runTx, updateClientArgs } from './ibc-fixture.ts';

const A_ID = 'island-a'; // standard
const B_ID = 'island-b'; // gm
/** A's client of B (source client of A's packets) and B's client of A. */
const AB = B_ID;
const BA = A_ID;

type Result = { method: string; ok: boolean; code?: string; result?: any };

const query = (island: Island, contract: string, method: string, args: unknown): any =>
  island.chain.query(contract, method, args, false).result;

/** Whether `island`'s client `clientId` holds a consensus state at `height`. */
function holds(island: Island, clientId: string, height: number): boolean {
  try {
    query(island, 'ibc', 'consensusState', { clientId, height });
    return true;
  } catch (e) {
    assert.equal((e as { code?: string }).code, 'IBC_CONSENSUS_NOT_FOUND');
    return false;
  }
}

const results = (r: ReceiptJson): Result[] => (r.result as { results: Result[] }).results;

describe('ibc.relay between a standard and a gm island', () => {
  let a: Island;
  let b: Island;
  const relay = new HandRelay();

  /** sendTransfers of `amounts` from A's client to B's client, committed in one block. */
  async function sendAll(amounts: number[]): Promise<Packet[]> {
    const ids: string[] = [];
    for (const amount of amounts) {
      ids.push(
        await a.fx.client.send(a.chain, {
          contract: 'token',
          method: 'sendTransfer',
          args: {
            client: AB,
            receiver: b.fx.client.address,
            amount: String(amount),
            timeoutHeight: b.chain.height + 1000,
          },
        }),
      );
    }
    a.commit();
    return ids.map((id) => {
      const r = ok(a.chain.getTx(id).receipt);
      const seq = (r.result as { sequence: number }).sequence;
      return query(a, 'ibc', 'packet', { client: AB, sequence: seq });
    });
  }

  /** `src`'s proof of `key` at its latest height, taken without updating any client. */
  const proof = (src: Island, key: string) => src.prove(fullKey(key));

  /** recvPacket messages for `packets`, proven at A's latest height. */
  function recvMsgs(packets: Packet[]) {
    return packets.map((packet) => {
      const p = proof(a, keys.commitment(AB, packet.sequence));
      assert.ok(p.value !== null);
      return { method: 'recvPacket', args: { packet, proof: p.proof, proofHeight: p.height } };
    });
  }

  /** An updateClient message taking `host`'s client of `src` from its latest height to `height`. */
  function updateMsg(host: Island, clientId: string, src: Island, height: number) {
    const trusted = query(host, 'ibc', 'client', { clientId }).latestHeight as number;
    return { method: 'updateClient', args: updateClientArgs(clientId, src, height, trusted) };
  }

  const vouchers = (): bigint => {
    const denom = `transfer/${BA}/${A_ID}`;
    return BigInt(query(b, 'token', 'balanceOf', { owner: b.fx.client.address, denom }));
  };

  /** A tx that must fail with `code` and leave `island`'s state as it was. */
  async function refused(island: Island, args: unknown, code: string, gasLimit?: bigint) {
    const root = island.chain.latestHeader.stateRoot;
    const r = await runTx(island, 'ibc', 'relay', args, island.fx.client, gasLimit);
    assert.equal(r.status, 'error', `expected ${code}, got ${JSON.stringify(r.result)}`);
    assert.equal(r.code, code, r.message);
    assert.deepEqual(r.events, []);
    assert.equal(island.chain.latestHeader.stateRoot, root);
    return r;
  }

  before(async () => {
    a = makeIsland(A_ID, 'standard');
    b = makeIsland(B_ID, 'gm');
    ok(await runTx(a, 'token', 'mint', { to: a.fx.client.address, amount: '1000' }, a.fx.admin));
    // A client is created from a committed header: B needs a block too.
    ok(await runTx(b, 'token', 'mint', { to: b.fx.client.address, amount: '1' }, b.fx.admin));
    await relay.connect(a, b, AB, BA);
  });
  after(async () => {
    await a?.cleanup();
    await b?.cleanup();
  });

  test('one tx: the update, then three receives proven at the height it brings', async () => {
    const packets = await sendAll([1, 2, 3]);
    const height = a.chain.height;
    assert.equal(holds(b, BA, height), false);
    const r = ok(
      await runTx(b, 'ibc', 'relay', {
        msgs: [updateMsg(b, BA, a, height), ...recvMsgs(packets)],
      }),
    );
    const res = results(r);
    assert.deepEqual(
      res.map((x) => [x.method, x.ok]),
      [
        ['updateClient', true],
        ['recvPacket', true],
        ['recvPacket', true],
        ['recvPacket', true],
      ],
    );
    assert.deepEqual(res[0].result, { clientId: BA, height, result: 'updated' });
    for (const x of res.slice(1)) {
      assert.deepEqual(x.result, { ack: { result: { denom: `transfer/${BA}/${A_ID}` } } });
    }
    assert.equal(vouchers(), 6n);
    assert.deepEqual(
      r.events.filter((e) => e.contract === 'ibc').map((e) => e.name),
      ['ClientUpdated', ...packets.flatMap(() => ['RecvPacket', 'WriteAck'])],
    );
    for (const p of packets) {
      assert.equal(query(b, 'ibc', 'receipt', { client: BA, sequence: p.sequence }), true);
    }

    // The acks go back the same way: A's client of B updated in the tx that proves them.
    const at = b.chain.height;
    const acks = packets.map((packet) => {
      const p = proof(b, keys.ack(BA, packet.sequence));
      const ack = query(b, 'ibc', 'ack', { client: BA, sequence: packet.sequence });
      return {
        method: 'acknowledgePacket',
        args: { packet, ack, proof: p.proof, proofHeight: p.height },
      };
    });
    const back = ok(await runTx(a, 'ibc', 'relay', { msgs: [updateMsg(a, AB, b, at), ...acks] }));
    assert.ok(results(back).every((x) => x.ok));
    for (const p of packets) {
      const settled = query(a, 'ibc', 'settled', { client: AB, sequence: p.sequence });
      assert.equal(settled.status, 'acked');
    }
  });

  test('a message that lost a race drops only its own work; a repeated update is a no-op', async () => {
    const [first] = await sendAll([10]);
    const height = a.chain.height;
    const update = updateMsg(b, BA, a, height);
    const [recvFirst] = recvMsgs([first]);
    // Another relayer gets the first packet there first.
    ok(await runTx(b, 'ibc', 'relay', { msgs: [update, recvFirst] }));
    const had = vouchers();

    const [second] = await sendAll([20]);
    const update2 = updateMsg(b, BA, a, a.chain.height);
    const [recvSecond] = recvMsgs([second]);
    const r = ok(
      await runTx(b, 'ibc', 'relay', { msgs: [update, recvFirst, update2, recvSecond] }),
    );
    const res = results(r);
    assert.deepEqual(res[0], {
      method: 'updateClient',
      ok: true,
      result: { clientId: BA, height, result: 'unchanged' },
    });
    assert.equal(res[1].ok, false);
    assert.equal(res[1].code, 'IBC_PACKET_ALREADY_RECEIVED');
    assert.equal(res[2].ok, true);
    assert.equal(res[3].ok, true);
    // Only the second packet's vouchers and events: the refused receive left nothing.
    assert.equal(vouchers(), had + 20n);
    const received = r.events.filter((e) => e.name === 'RecvPacket');
    assert.deepEqual(
      received.map((e) => (e.data as { sequence: number }).sequence),
      [second.sequence],
    );
  });

  test('a receive ahead of the update it needs is refused, and the rest of the batch stands', async () => {
    const packets = await sendAll([5, 6]);
    const height = a.chain.height;
    const [early, late] = recvMsgs(packets);
    const r = ok(
      await runTx(b, 'ibc', 'relay', { msgs: [early, updateMsg(b, BA, a, height), late] }),
    );
    const res = results(r);
    assert.equal(res[0].ok, false);
    assert.equal(res[0].code, 'IBC_CONSENSUS_NOT_FOUND');
    assert.equal(res[1].ok, true);
    assert.equal(res[2].ok, true);
    assert.equal(query(b, 'ibc', 'receipt', { client: BA, sequence: packets[0].sequence }), false);
    assert.equal(query(b, 'ibc', 'receipt', { client: BA, sequence: packets[1].sequence }), true);
  });

  test('txs of two heights stand alone: the later height commits first, the earlier one after', async () => {
    const [early] = await sendAll([3]);
    const low = a.chain.height;
    const lowMsgs = [updateMsg(b, BA, a, low), ...recvMsgs([early])];
    const [late] = await sendAll([4]);
    const high = a.chain.height;
    ok(await runTx(b, 'ibc', 'relay', { msgs: [updateMsg(b, BA, a, high), ...recvMsgs([late])] }));
    assert.equal(query(b, 'ibc', 'client', { clientId: BA }).latestHeight, high);
    // Built before: it updates from the same trusted height to one below the client's latest.
    const r = ok(await runTx(b, 'ibc', 'relay', { msgs: lowMsgs }));
    assert.deepEqual(
      results(r).map((x) => x.ok),
      [true, true],
    );
    assert.equal(holds(b, BA, low), true);
    assert.equal(query(b, 'ibc', 'client', { clientId: BA }).latestHeight, high);
    for (const p of [early, late]) {
      assert.equal(query(b, 'ibc', 'receipt', { client: BA, sequence: p.sequence }), true);
    }
  });

  test('malformed batches are refused whole with INVALID_ARGS and change nothing', async () => {
    const [packet] = await sendAll([7]);
    const good = [updateMsg(b, BA, a, a.chain.height), ...recvMsgs([packet])];
    const tooMany = Array.from({ length: MAX_RELAY_MESSAGES + 1 }, () => ({
      method: 'recvPacket',
      args: {},
    }));
    for (const args of [
      {},
      { msgs: [] },
      { msgs: good[0] },
      { msgs: good, extra: 1 },
      { msgs: tooMany },
      // A well-formed message beside a bad one does not run either.
      { msgs: [...good, { method: 'send', args: {} }] },
      { msgs: [...good, { method: 'relay', args: { msgs: good } }] },
      { msgs: [...good, { method: 'recvPacket', args: {}, gas: 1 }] },
      { msgs: [...good, 'recvPacket'] },
      { msgs: [...good, { method: 'toString', args: {} }] },
    ]) {
      await refused(b, args, 'INVALID_ARGS');
    }
    assert.equal(query(b, 'ibc', 'receipt', { client: BA, sequence: packet.sequence }), false);
    ok(await runTx(b, 'ibc', 'relay', { msgs: good }));
  });

  test('running out of gas fails the whole batch: the update before it is dropped too', async () => {
    const packets = await sendAll([1, 1, 1]);
    const height = a.chain.height;
    const msgs = [updateMsg(b, BA, a, height), ...recvMsgs(packets)];
    await refused(b, { msgs }, 'OUT_OF_GAS', 150_000n);
    assert.equal(holds(b, BA, height), false);
    const r = ok(await runTx(b, 'ibc', 'relay', { msgs }));
    // The batch takes a little more than the limit above: it ran out near its end.
    assert.ok(r.gasUsed > 150_000 && r.gasUsed < 200_000, `gas used ${r.gasUsed}`);
    assert.ok(results(r).every((x) => x.ok));
  });
});
