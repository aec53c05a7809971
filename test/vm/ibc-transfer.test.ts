/**
 * Token transfers (ICS-20 semantics) between real islands, relayed by hand: A (standard) and
 * B (gm) send their own denominations and each other's vouchers back and forth, B passes A's
 * voucher on to C (standard) and back; error acks and timeouts refund by unescrowing or
 * re-minting; a contract that is not `token` cannot mint vouchers. After every block of any
 * island, supply is checked to be conserved over every link and every denomination: a chain's
 * escrow for a client equals the supply of the voucher on the other side plus what is in flight.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { getProfile } from '../../src/crypto/profile.ts';
import type { ReceiptJson } from '../../src/types/block.ts';
import { homeOf, shortOf, voucherOf } from '../../src/vm/native/denom.ts';
import { type Ack, keys, type Packet } from '../../src/vm/native/ibc/keys.ts';
import { initSandbox } from '../../src/vm/sandbox/host.ts';
import { contractAddress } from '../../src/vm/sandbox/meta.ts';
import type { Member } from '../unit/chain-fixture.ts';
import { bundle } from './harness.ts';
import { HandRelay, type Island, makeIsland, ok } from './ibc-fixture.ts';

/** Client ids are named after the counterparty's chain id, as the CLI does. */
const A_ID = 'island-a';
const B_ID = 'island-b';
const C_ID = 'island-c';
/** A's own denomination as a voucher on B, and B's on A. */
const A_ON_B = voucherOf(A_ID, A_ID);
const B_ON_A = voucherOf(B_ID, B_ID);
/** A's voucher on B passed on to C. */
const A_ON_C = voucherOf(B_ID, A_ON_B);

/** Two islands and their clients of each other: `here` is `island`'s client of `there`. */
interface Link {
  a: Island;
  b: Island;
  /** a's client of b */
  ab: string;
  /** b's client of a */
  ba: string;
}

describe('token transfers between islands', () => {
  let a: Island;
  let b: Island;
  let c: Island;
  let links: Link[] = [];
  let heightsChecked = 0;
  let alice: Member; // on A
  let bob: Member; // on B
  let carol: Member; // on C

  const query = (island: Island, method: string, args: unknown, contract = 'token'): any =>
    island.chain.query(contract, method, args, false).result;

  /** Voucher and own supply by full name; 0 for a denomination the island never held. */
  function supply(island: Island, denom: string): bigint {
    try {
      return BigInt(query(island, 'totalSupply', { denom }));
    } catch (e) {
      if ((e as { code?: string }).code === 'IBC_DENOM_UNKNOWN') return 0n;
      throw e;
    }
  }

  const balance = (island: Island, owner: string, denom?: string): bigint =>
    BigInt(query(island, 'balanceOf', denom === undefined ? { owner } : { owner, denom }));

  const escrowOf = (island: Island, client: string, denom?: string): bigint =>
    BigInt(query(island, 'escrowOf', denom === undefined ? { client } : { client, denom }));

  /** Denominations an island knows: its own and its vouchers. */
  function denomsOf(island: Island): string[] {
    const r = query(island, 'denoms', {});
    return [r.own, ...r.denoms.map((d: { denom: string }) => d.denom)];
  }

  /** What `src` sent over `client` in `denom`, pending and not received with a result by `dst`. */
  function inFlight(src: Island, client: string, dst: Island, dstClient: string, denom: string) {
    let sum = 0n;
    const pending: Packet[] = query(src, 'packets', { client, limit: 1000 }, 'ibc').packets;
    for (const p of pending) {
      const data = p.data as { denom?: string; amount?: string };
      if (p.sourcePort !== 'token' || data.denom !== denom) continue;
      const ack: Ack | null = query(dst, 'ack', { client: dstClient, sequence: p.sequence }, 'ibc');
      if (ack === null || 'error' in ack) sum += BigInt(data.amount as string);
    }
    return sum;
  }

  /**
   * Conservation over every link, both ways, for every denomination either side knows:
   * escrow here for the client = voucher supply there + amounts in flight either way.
   */
  function conserved(): void {
    for (const { a: x, b: y, ab, ba } of links) {
      for (const [here, there, hereClient, thereClient] of [
        [x, y, ab, ba],
        [y, x, ba, ab],
      ] as const) {
        for (const denom of denomsOf(here)) {
          const voucher = voucherOf(thereClient, denom);
          const held = escrowOf(here, hereClient, denom);
          // A denomination that came over this client goes back burned, never in escrow.
          const leaving =
            homeOf(denom, hereClient) === null
              ? inFlight(here, hereClient, there, thereClient, denom)
              : 0n;
          const out =
            supply(there, voucher) +
            leaving +
            inFlight(there, thereClient, here, hereClient, voucher);
          assert.equal(
            held,
            out,
            `${here.chainId} escrows ${held} ${denom} for ${hereClient}; ${there.chainId} has ${out} of ${voucher} out or in flight`,
          );
        }
      }
    }
    heightsChecked++;
  }

  /** Commit a block on `island` and check conservation at the new height. */
  function commit(island: Island): number {
    const h = island.commit();
    conserved();
    return h;
  }

  /** One tx on `island`, committed with conservation checked: its receipt. */
  async function run(
    island: Island,
    contract: string,
    method: string,
    args: unknown,
    who: Member = island.fx.client,
  ): Promise<ReceiptJson> {
    const id = await who.send(island.chain, { contract, method, args });
    commit(island);
    return island.chain.getTx(id).receipt;
  }

  async function refused(island: Island, method: string, args: unknown, code: string) {
    const root = island.chain.latestHeader.stateRoot;
    const r = await run(island, 'token', method, args);
    assert.equal(r.status, 'error', `expected ${code}: ${JSON.stringify(r.result)}`);
    assert.equal(r.code, code, r.message);
    assert.equal(island.chain.latestHeader.stateRoot, root);
    return r;
  }

  /** Each relayed tx commits through `run`, so conservation is checked after it too. */
  const relay = new HandRelay(run);

  /** sendTransfer on `src` by `who`; the packet's sequence. */
  async function send(src: Island, who: Member, args: Record<string, unknown>): Promise<number> {
    const r = ok(await run(src, 'token', 'sendTransfer', args, who));
    return (r.result as { sequence: number }).sequence;
  }

  /** Send, deliver and acknowledge; the ack. */
  async function roundTrip(
    src: Island,
    dst: Island,
    srcClient: string,
    dstClient: string,
    who: Member,
    args: Record<string, unknown>,
  ): Promise<Ack> {
    const seq = await send(src, who, {
      client: srcClient,
      timeoutHeight: dst.chain.height + 1000,
      ...args,
    });
    const { packet, ack } = await relay.deliver(src, dst, srcClient, dstClient, seq);
    await relay.acknowledge(src, dst, srcClient, dstClient, packet);
    assert.equal(
      query(src, 'settled', { client: srcClient, sequence: seq }, 'ibc').status,
      'acked',
    );
    return ack;
  }

  async function connect(x: Island, y: Island, xy: string, yx: string): Promise<void> {
    await relay.connect(x, y, xy, yx);
    links.push({ a: x, b: y, ab: xy, ba: yx });
  }

  before(async () => {
    await initSandbox();
    a = makeIsland(A_ID, 'standard');
    b = makeIsland(B_ID, 'gm');
    c = makeIsland(C_ID, 'standard');
    alice = a.fx.client;
    bob = b.fx.client;
    carol = c.fx.client;
    ok(await run(a, 'token', 'mint', { to: alice.address, amount: '1000' }, a.fx.admin));
    ok(await run(b, 'token', 'mint', { to: bob.address, amount: '1000' }, b.fx.admin));
    const forger = await bundle('test/vm/fixtures/forger.ts');
    ok(await run(a, 'contract_manage', 'deploy', { name: 'forger', code: forger }, a.fx.admin));
    await connect(a, b, B_ID, A_ID);
    commit(c); // a first header to create B's client of C from
    await connect(b, c, C_ID, B_ID);
  });
  after(async () => {
    links = [];
    await a?.cleanup();
    await b?.cleanup();
    await c?.cleanup();
  });

  test('A sends 100 of its own to B: escrowed on A, a voucher minted on B', async () => {
    const seq = await send(a, alice, {
      client: B_ID,
      receiver: bob.address,
      amount: '100',
      timeoutHeight: b.chain.height + 1000,
      memo: 'first',
    });
    assert.equal(balance(a, alice.address), 900n);
    assert.equal(escrowOf(a, B_ID), 100n);
    assert.equal(escrowOf(a, B_ID, A_ID), 100n);
    assert.equal(supply(a, A_ID), 1000n, 'escrow keeps the supply on A');
    const pending: Packet = query(a, 'packet', { client: B_ID, sequence: seq }, 'ibc');
    assert.deepEqual(pending.data, {
      denom: A_ID,
      amount: '100',
      sender: alice.address,
      receiver: bob.address,
      memo: 'first',
    });
    assert.equal(pending.sourcePort, 'token');
    assert.equal(pending.destPort, 'token');

    const { packet, ack, receipt } = await relay.deliver(a, b, B_ID, A_ID, seq);
    assert.deepEqual(ack, { result: { denom: A_ON_B } });
    assert.deepEqual(
      receipt.events.map((e) => `${e.contract}.${e.name}`),
      ['ibc.RecvPacket', 'token.DenomTrace', 'token.RecvTransfer', 'ibc.WriteAck'],
    );
    const short = shortOf((d) => getProfile('gm').hash(d), A_ON_B);
    assert.equal(balance(b, bob.address, A_ON_B), 100n);
    assert.equal(balance(b, bob.address, short), 100n);
    assert.equal(balance(b, bob.address, short.toLowerCase()), 100n);
    assert.equal(balance(b, bob.address), 1000n, "B's own denomination is untouched");
    assert.equal(supply(b, A_ON_B), 100n);
    assert.deepEqual(query(b, 'denoms', {}), {
      own: B_ID,
      denoms: [{ denom: A_ON_B, short, path: `transfer/${A_ID}`, base: A_ID }],
      truncated: false,
    });

    const acked = await relay.acknowledge(a, b, B_ID, A_ID, packet);
    assert.deepEqual(
      acked.events.map((e) => `${e.contract}.${e.name}`),
      ['ibc.AckPacket'],
    );
    assert.equal(balance(a, alice.address), 900n);
    assert.equal(escrowOf(a, B_ID), 100n);
  });

  test('vouchers move on B like any token, by full or short name; only IBC mints them', async () => {
    const short = shortOf((d) => getProfile('gm').hash(d), A_ON_B);
    const dave = b.fx.admin;
    const r = ok(
      await run(b, 'token', 'transfer', { to: dave.address, amount: '10', denom: short }, bob),
    );
    assert.deepEqual(r.events[0].data, {
      from: bob.address,
      to: dave.address,
      amount: '10',
      denom: A_ON_B,
    });
    assert.equal(balance(b, bob.address, A_ON_B), 90n);
    assert.equal(balance(b, dave.address, A_ON_B), 10n);
    const root = b.chain.latestHeader.stateRoot;
    const minted = await run(
      b,
      'token',
      'mint',
      { to: dave.address, amount: '1', denom: A_ON_B },
      b.fx.admin,
    );
    assert.equal(minted.code, 'TX_FORBIDDEN', minted.message);
    assert.equal(b.chain.latestHeader.stateRoot, root);
    // dave sends his 10 back to alice so the rest of the story has one voucher holder.
    const ack = await roundTrip(b, a, A_ID, B_ID, dave, {
      receiver: alice.address,
      amount: '10',
      denom: A_ON_B,
    });
    assert.deepEqual(ack, { result: { denom: A_ID } });
    assert.equal(balance(a, alice.address), 910n);
  });

  test('B sends 40 back: burned on B, released from escrow on A', async () => {
    const seq = await send(b, bob, {
      client: A_ID,
      receiver: alice.address,
      amount: 40,
      denom: A_ON_B,
      timeoutHeight: a.chain.height + 1000,
    });
    assert.equal(balance(b, bob.address, A_ON_B), 50n);
    assert.equal(supply(b, A_ON_B), 50n, 'burned, not escrowed');
    assert.equal(escrowOf(b, A_ID, A_ON_B), 0n);
    assert.equal(escrowOf(a, B_ID), 90n, 'A releases only when the packet arrives');
    const { packet, ack } = await relay.deliver(b, a, A_ID, B_ID, seq);
    assert.deepEqual(ack, { result: { denom: A_ID } });
    assert.equal(balance(a, alice.address), 950n);
    assert.equal(escrowOf(a, B_ID), 50n);
    assert.equal(supply(a, A_ID), 1000n);
    assert.deepEqual(query(a, 'denoms', {}).denoms, [], 'coming home mints no voucher');
    await relay.acknowledge(b, a, A_ID, B_ID, packet);
    assert.equal(supply(b, A_ON_B), 50n);
  });

  test("B's own denomination goes to A (timeout by time) and partly comes back", async () => {
    const ack = await roundTrip(b, a, A_ID, B_ID, bob, {
      receiver: alice.address,
      amount: '30',
      timeoutHeight: 0,
      timeoutTime: a.time + 600_000,
    });
    assert.deepEqual(ack, { result: { denom: B_ON_A } });
    assert.equal(escrowOf(b, A_ID), 30n);
    assert.equal(balance(b, bob.address), 970n);
    const short = shortOf((d) => getProfile('standard').hash(d), B_ON_A);
    assert.equal(balance(a, alice.address, short), 30n);
    const back = await roundTrip(a, b, B_ID, A_ID, alice, {
      receiver: bob.address,
      amount: '5',
      denom: short,
    });
    assert.deepEqual(back, { result: { denom: B_ID } });
    assert.equal(balance(a, alice.address, B_ON_A), 25n);
    assert.equal(supply(a, B_ON_A), 25n);
    assert.equal(escrowOf(b, A_ID), 25n);
    assert.equal(balance(b, bob.address), 975n);
  });

  test('an error ack refunds: escrow released to the sender', async () => {
    const seq = await send(a, alice, {
      client: B_ID,
      receiver: 'not-an-address',
      amount: '25',
      timeoutHeight: b.chain.height + 1000,
    });
    assert.equal(escrowOf(a, B_ID), 75n);
    assert.equal(balance(a, alice.address), 925n);
    const { packet, ack, receipt } = await relay.deliver(a, b, B_ID, A_ID, seq);
    assert.ok('error' in ack);
    assert.match(ack.error, /^IBC_PACKET_INVALID: .*receiver/);
    assert.deepEqual(
      receipt.events.map((e) => `${e.contract}.${e.name}`),
      ['ibc.RecvPacket', 'ibc.WriteAck'],
    );
    assert.equal(supply(b, A_ON_B), 50n, 'nothing minted on B');
    const r = await relay.acknowledge(a, b, B_ID, A_ID, packet);
    assert.deepEqual(
      r.events.map((e) => [
        `${e.contract}.${e.name}`,
        (e.data as { reason?: string }).reason ?? null,
      ]),
      [
        ['token.RefundTransfer', 'error'],
        ['ibc.AckPacket', null],
      ],
    );
    assert.equal(balance(a, alice.address), 950n);
    assert.equal(escrowOf(a, B_ID), 50n);
  });

  test('an error ack of a voucher going home re-mints it', async () => {
    const seq = await send(b, bob, {
      client: A_ID,
      receiver: 'x'.repeat(41),
      amount: '5',
      denom: A_ON_B,
      timeoutHeight: a.chain.height + 1000,
    });
    assert.equal(supply(b, A_ON_B), 45n);
    const { packet, ack } = await relay.deliver(b, a, A_ID, B_ID, seq);
    assert.ok('error' in ack, JSON.stringify(ack));
    assert.equal(escrowOf(a, B_ID), 50n, 'A released nothing');
    assert.equal(balance(a, alice.address), 950n);
    await relay.acknowledge(b, a, A_ID, B_ID, packet);
    assert.equal(supply(b, A_ON_B), 50n);
    assert.equal(balance(b, bob.address, A_ON_B), 50n);
  });

  test('a timeout refunds on A and mints nothing on B', async () => {
    const timeoutHeight = b.chain.height + 3;
    const seq = await send(a, alice, {
      client: B_ID,
      receiver: bob.address,
      amount: '7',
      timeoutHeight,
    });
    assert.equal(escrowOf(a, B_ID), 57n);
    const recv = await relay.recvArgs(a, b, B_ID, A_ID, seq);
    const packet = recv.packet;
    while (b.chain.height < timeoutHeight - 1) commit(b);
    const late = await run(b, 'ibc', 'recvPacket', recv);
    assert.equal(late.code, 'IBC_PACKET_TIMED_OUT', late.message);
    const absent = await relay.prove(a, B_ID, b, keys.receipt(A_ID, seq));
    assert.equal(absent.value, null);
    const r = ok(
      await run(a, 'ibc', 'timeoutPacket', {
        packet,
        proof: absent.proof,
        proofHeight: absent.height,
      }),
    );
    assert.deepEqual(
      r.events.map((e) => [
        `${e.contract}.${e.name}`,
        (e.data as { reason?: string }).reason ?? null,
      ]),
      [
        ['token.RefundTransfer', 'timeout'],
        ['ibc.TimeoutPacket', null],
      ],
    );
    assert.equal(escrowOf(a, B_ID), 50n);
    assert.equal(balance(a, alice.address), 950n);
    assert.equal(supply(b, A_ON_B), 50n);
    assert.equal(balance(b, bob.address, A_ON_B), 50n);
  });

  test('a voucher going home that times out is re-minted', async () => {
    const timeoutTime = a.time + 2500;
    const seq = await send(b, bob, {
      client: A_ID,
      receiver: alice.address,
      amount: '3',
      denom: A_ON_B,
      timeoutTime,
    });
    assert.equal(supply(b, A_ON_B), 47n);
    // The last block of A must be at the timeout time: its consensus state proves the timeout.
    while (a.time <= timeoutTime + 1000) commit(a);
    const packet: Packet = query(b, 'packet', { client: A_ID, sequence: seq }, 'ibc');
    const absent = await relay.prove(b, A_ID, a, keys.receipt(B_ID, seq));
    ok(
      await run(b, 'ibc', 'timeoutPacket', {
        packet,
        proof: absent.proof,
        proofHeight: absent.height,
      }),
    );
    assert.equal(supply(b, A_ON_B), 50n);
    assert.equal(balance(b, bob.address, A_ON_B), 50n);
    assert.equal(escrowOf(a, B_ID), 50n);
  });

  test("A's voucher on B goes on to C (escrowed on B, a voucher of a voucher on C) and back", async () => {
    const ack = await roundTrip(b, c, C_ID, B_ID, bob, {
      receiver: carol.address,
      amount: '20',
      denom: A_ON_B,
    });
    assert.deepEqual(ack, { result: { denom: A_ON_C } });
    assert.equal(escrowOf(b, C_ID, A_ON_B), 20n, 'a voucher not going home is escrowed');
    assert.equal(supply(b, A_ON_B), 50n);
    assert.equal(balance(b, bob.address, A_ON_B), 30n);
    assert.equal(balance(c, carol.address, A_ON_C), 20n);
    assert.deepEqual(query(c, 'denoms', {}).denoms, [
      {
        denom: A_ON_C,
        short: shortOf((d) => getProfile('standard').hash(d), A_ON_C),
        path: `transfer/${B_ID}/transfer/${A_ID}`,
        base: A_ID,
      },
    ]);
    // C cannot send it straight to A: C has no client of A, and its path leads through B.
    const back = await roundTrip(c, b, B_ID, C_ID, carol, {
      receiver: bob.address,
      amount: '8',
      denom: A_ON_C,
    });
    assert.deepEqual(back, { result: { denom: A_ON_B } });
    assert.equal(supply(c, A_ON_C), 12n);
    assert.equal(escrowOf(b, C_ID, A_ON_B), 12n);
    assert.equal(balance(b, bob.address, A_ON_B), 38n);
    // And home to A.
    await roundTrip(b, a, A_ID, B_ID, bob, {
      receiver: alice.address,
      amount: '38',
      denom: A_ON_B,
    });
    assert.equal(escrowOf(a, B_ID), 12n);
    assert.equal(supply(b, A_ON_B), 12n);
    assert.equal(balance(a, alice.address), 988n);
  });

  test('a contract that is not token cannot mint vouchers; a contract may send its own tokens', async () => {
    const before = supply(b, A_ON_B);
    const r = ok(
      await run(a, 'forger', 'forge', {
        client: B_ID,
        timeoutHeight: b.chain.height + 1000,
        data: {
          denom: A_ID,
          amount: '1000000',
          sender: alice.address,
          receiver: bob.address,
          memo: '',
        },
      }),
    );
    const seq = (r.result as { sequence: number }).sequence;
    const { packet, ack } = await relay.deliver(a, b, B_ID, A_ID, seq);
    assert.ok('error' in ack);
    assert.match(ack.error, /^IBC_PACKET_INVALID: .*port/);
    assert.equal(supply(b, A_ON_B), before);
    await relay.acknowledge(a, b, B_ID, A_ID, packet);
    assert.deepEqual(query(a, 'read', { key: `ack/${seq}` }, 'forger'), ack);

    // The contract's own account sends; a refund goes back to it.
    const account = contractAddress(a.chain.config, 'forger');
    ok(await run(a, 'token', 'transfer', { to: account, amount: '6' }, alice));
    const s = ok(
      await run(a, 'forger', 'send', {
        client: B_ID,
        receiver: 'nobody',
        amount: '6',
        timeoutHeight: b.chain.height + 1000,
      }),
    );
    const sent = s.result as { sequence: number; denom: string };
    assert.equal(sent.denom, A_ID);
    assert.equal(balance(a, account), 0n);
    const d = await relay.deliver(a, b, B_ID, A_ID, sent.sequence);
    assert.ok('error' in d.ack);
    await relay.acknowledge(a, b, B_ID, A_ID, d.packet);
    assert.equal(balance(a, account), 6n, 'refunded to the contract that sent');
  });

  test('sendTransfer refusals leave escrow and balances as they were', async () => {
    const base = {
      client: B_ID,
      receiver: bob.address,
      amount: '1',
      timeoutHeight: b.chain.height + 1000,
    };
    await refused(a, 'sendTransfer', { ...base, timeoutHeight: 1 }, 'IBC_PACKET_TIMED_OUT');
    await refused(a, 'sendTransfer', { ...base, timeoutHeight: 0 }, 'IBC_PACKET_INVALID');
    await refused(a, 'sendTransfer', { ...base, amount: '100000' }, 'INSUFFICIENT_BALANCE');
    await refused(a, 'sendTransfer', { ...base, denom: A_ON_B }, 'IBC_DENOM_UNKNOWN');
    await refused(a, 'sendTransfer', { ...base, client: C_ID }, 'IBC_CLIENT_NOT_FOUND');
    assert.equal(escrowOf(a, B_ID), 12n);
  });

  test('supply was checked at every height of every island', () => {
    assert.ok(heightsChecked > 50, `checked ${heightsChecked} heights`);
    conserved();
  });
});
