/**
 * Unit tests of the Interchain page's data shaping (console/src/interchain.ts): answers of the
 * `ibc` and `token` queries read defensively, trust left, packet flow, the look back through
 * blocks (paging as GET /v1/blocks?nonEmpty pages, receipts fetched only for interchain txs and
 * only once), transfers from receipts, and denomination traces and short forms checked against
 * the chain's own code (src/vm/native/denom.ts) under both crypto profiles. They run in Node
 * (scripts/run-tests.mjs finds them under console/src).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getProfile } from '../../src/crypto/profile.ts';
import { parseDenom, shortOf } from '../../src/vm/native/denom.ts';
import type { EventJson } from './api.ts';
import {
  across,
  amountText,
  cachedSource,
  consensusTime,
  durationText,
  escrowPairs,
  type IbcClient,
  outcomeOf,
  packetFlow,
  parseTrace,
  readAmount,
  readClients,
  readDenoms,
  readPacketPage,
  readSettled,
  type ScannedTx,
  type ScanSource,
  scanInterchain,
  sendTimes,
  sentTransferPackets,
  settledToAsk,
  shortDenom,
  timeoutReached,
  timeoutText,
  traceRoute,
  transfersOf,
  trustOf,
  wantsTx,
} from './interchain.ts';

const client = (over: Partial<IbcClient> = {}): IbcClient => ({
  clientId: 'beta',
  chainId: 'beta',
  profile: 'gm',
  counterpartyClientId: 'alpha',
  trustingPeriodMs: 86_400_000,
  maxClockDriftMs: 10_000,
  latestHeight: 40,
  frozenHeight: 0,
  createdAt: 3,
  status: 'active',
  ...over,
});

const hashOf = (profile: 'standard' | 'gm') => (d: Uint8Array) => getProfile(profile).hash(d);

describe('interchain: clients', () => {
  it('reads the clients answer, skipping entries that are not clients', () => {
    const good = { ...client(), status: 'frozen', frozenHeight: 12 };
    const { clients, skipped } = readClients([
      good,
      { clientId: 'Bad Id' },
      null,
      'x',
      { clientId: 'gamma', latestHeight: -1, status: 'weird', trustingPeriodMs: 'long' },
    ]);
    assert.equal(skipped, 3);
    assert.deepEqual(clients[0], { ...good, status: 'frozen' });
    // Fields of the wrong type become neutral values, the status unknown.
    assert.equal(clients[1].clientId, 'gamma');
    assert.equal(clients[1].latestHeight, 0);
    assert.equal(clients[1].trustingPeriodMs, 0);
    assert.equal(clients[1].status, 'unknown');
    assert.equal(clients[1].chainId, '');
    assert.deepEqual(readClients(null), { clients: [], skipped: 0 });
    assert.deepEqual(readClients({ clients: [] }), { clients: [], skipped: 1 });
  });

  it('trust left counts from the chain time; the chain status wins, else it is derived', () => {
    const c = client({ trustingPeriodMs: 3_600_000 });
    const t = trustOf(c, 1_000_000, 1_000_000 + 600_000);
    assert.deepEqual(t, { status: 'active', expiresAt: 4_600_000, leftMs: 3_000_000 });
    // The node said expired: kept even though this clock would still trust it.
    assert.equal(trustOf({ ...c, status: 'expired' }, 1_000_000, 1_000_001).status, 'expired');
    const u = { ...c, status: 'unknown' as const };
    assert.equal(trustOf(u, 1_000_000, 4_600_000).status, 'expired');
    assert.equal(trustOf(u, 1_000_000, 4_599_999).status, 'active');
    assert.equal(trustOf({ ...u, frozenHeight: 5 }, 1_000_000, 0).status, 'frozen');
    assert.deepEqual(trustOf(u, null, 0), { status: 'unknown', expiresAt: null, leftMs: null });
  });

  it('reads a consensus state time and words durations', () => {
    assert.equal(consensusTime({ height: 4, time: 1_700_000_000_000 }), 1_700_000_000_000);
    for (const bad of [null, {}, { time: '5' }, { time: -1 }, { time: 1.5 }, { time: 9e15 }]) {
      assert.equal(consensusTime(bad), null);
    }
    assert.equal(durationText(0), '0s');
    assert.equal(durationText(-5000), '0s');
    assert.equal(durationText(40_999), '40s');
    assert.equal(durationText(12 * 60_000 + 5000), '12m 5s');
    assert.equal(durationText(3 * 3_600_000), '3h');
    assert.equal(durationText(14 * 86_400_000 + 4 * 3_600_000 + 59_000), '14d 4h');
  });
});

describe('interchain: packets and flow', () => {
  const packet = (sequence: number, over: Record<string, unknown> = {}) => ({
    sequence,
    sourceClient: 'beta',
    destClient: 'alpha',
    timeoutHeight: 0,
    timeoutTime: 1_800_000_000_000,
    sourcePort: 'token',
    destPort: 'token',
    data: { amount: '5' },
    ...over,
  });

  it('reads packet pages and settled answers', () => {
    const page = readPacketPage({
      packets: [packet(2), { sequence: 0 }, packet(3, { sourcePort: 7 }), 'x'],
      next: 4,
    });
    assert.deepEqual(
      page.packets.map((p) => [p.sequence, p.sourcePort]),
      [
        [2, 'token'],
        [3, ''],
      ],
    );
    assert.equal(page.next, 4);
    assert.deepEqual(readPacketPage({ packets: [], next: null }), { packets: [], next: null });
    assert.deepEqual(readPacketPage(null), { packets: [], next: null });
    assert.deepEqual(readSettled({ status: 'acked', ack: { result: { denom: 'x' } }, height: 9 }), {
      status: 'acked',
      ack: { result: { denom: 'x' } },
      height: 9,
    });
    assert.equal(readSettled({ status: 'lost' }), null);
    assert.equal(readSettled(null), null);
    const s = (v: unknown) => outcomeOf(readSettled(v)!);
    assert.equal(s({ status: 'acked', ack: { result: null }, height: 1 }), 'acked');
    assert.equal(s({ status: 'acked', ack: { error: 'X: y' }, height: 1 }), 'error-ack');
    assert.equal(s({ status: 'timed-out', height: 1 }), 'timed-out');
  });

  it('a timeout is reached once the client has verified a header at or past it', () => {
    const p = { timeoutHeight: 50, timeoutTime: 0 };
    assert.equal(timeoutReached(p, { height: 49, time: null }), false);
    assert.equal(timeoutReached(p, { height: 50, time: null }), true);
    const q = { timeoutHeight: 0, timeoutTime: 1000 };
    assert.equal(timeoutReached(q, { height: 99, time: 999 }), false);
    assert.equal(timeoutReached(q, { height: 99, time: 1000 }), true);
    assert.equal(timeoutReached(q, { height: 99, time: null }), false);
    assert.equal(timeoutText(p), 'height 50');
    assert.equal(
      timeoutText({ timeoutHeight: 7, timeoutTime: 0 + 1000 }),
      'height 7 or 1970-01-01T00:00:01.000Z',
    );
    assert.equal(timeoutText({ timeoutHeight: 0, timeoutTime: 0 }), 'none');
  });

  it('asks for the newest settled sequences, skipping pending ones, and the extra ones', () => {
    assert.deepEqual(settledToAsk(8, [7, 5], 3), [6, 4, 3]);
    assert.deepEqual(settledToAsk(8, [7, 5], 3, [1, 4, 5, 8, 0, 2.5]), [6, 4, 3, 1]);
    assert.deepEqual(settledToAsk(1, [], 10), []);
    assert.deepEqual(settledToAsk(4, [1, 2, 3], 10), []);
  });

  it('flow: sent and pending from queries, outcomes from settled, received from events', () => {
    const ev = (
      name: string,
      data: unknown,
    ): EventJson & { txId: string; height: number; time: number } => ({
      contract: 'ibc',
      name,
      data,
      txId: 't',
      height: 1,
      time: 1,
    });
    const settled = new Map([
      [1, readSettled({ status: 'acked', ack: { result: 1 }, height: 3 })],
      [2, readSettled({ status: 'acked', ack: { error: 'E: no' }, height: 3 })],
      [3, readSettled({ status: 'timed-out', height: 4 })],
      [5, null],
    ]);
    const f = packetFlow({
      clientId: 'beta',
      nextSequence: 8,
      pending: readPacketPage({ packets: [packet(4), packet(6), packet(7)] }).packets,
      settled,
      events: [
        ev('RecvPacket', { sequence: 1, sourceClient: 'alpha', destClient: 'beta' }),
        ev('WriteAck', { sequence: 1, destClient: 'beta', ack: { result: null } }),
        ev('RecvPacket', { sequence: 2, sourceClient: 'alpha', destClient: 'beta' }),
        ev('WriteAck', { sequence: 2, destClient: 'beta', ack: { error: 'X: bad' } }),
        // Another client's, another contract's and malformed events do not count.
        ev('RecvPacket', { sequence: 3, destClient: 'gamma' }),
        { ...ev('RecvPacket', { destClient: 'beta' }), contract: 'kv' },
        ev('RecvPacket', null),
      ],
    });
    assert.deepEqual(f, {
      sent: 7,
      pending: 3,
      settled: 4,
      acked: 1,
      errorAcks: 1,
      timedOut: 1,
      inspected: 3,
      received: 2,
      refused: 1,
    });
    const none = packetFlow({
      clientId: 'beta',
      nextSequence: 1,
      pending: [],
      settled: new Map(),
      events: [],
    });
    assert.equal(none.sent, 0);
    assert.equal(none.settled, 0);
  });
});

// ---------------------------------------------------------------- a chain in memory

interface MemTx {
  txId: string;
  contract: string;
  method: string;
  args: unknown;
  ok?: boolean;
  result?: unknown;
  events?: EventJson[];
}

/** Blocks 0..head; `txs[h]` the txs of height h. Pages look at `window` heights each. */
function memChain(head: number, txs: Record<number, MemTx[]>, window = 10) {
  const calls = { page: 0, block: 0, tx: 0 };
  const byId = new Map<string, { h: number; t: MemTx }>();
  for (const [h, list] of Object.entries(txs))
    for (const t of list) byId.set(t.txId, { h: Number(h), t });
  const src: ScanSource = {
    async page(before, limit) {
      calls.page++;
      const start = Math.min(before ?? head + 1, head + 1) - 1;
      const floor = Math.max(0, start - window + 1);
      const blocks: Array<{ height: number; txCount: number }> = [];
      let scannedFrom = floor;
      for (let h = start; h >= floor; h--) {
        if (txs[h]?.length) blocks.push({ height: h, txCount: txs[h].length });
        if (blocks.length === limit) {
          scannedFrom = h;
          break;
        }
      }
      return { blocks, scannedFrom, next: scannedFrom === 0 ? null : scannedFrom };
    },
    async block(h) {
      calls.block++;
      return {
        height: h,
        header: { time: 1_000_000 + h * 1000 },
        txs: (txs[h] ?? []).map((t) => ({ txId: t.txId, contract: t.contract, method: t.method })),
      };
    },
    async tx(id) {
      calls.tx++;
      const got = byId.get(id);
      if (!got) throw new Error(`no tx ${id}`);
      const { h, t } = got;
      return {
        txId: id,
        height: h,
        contract: t.contract,
        method: t.method,
        args: JSON.stringify(t.args),
        receipt: {
          status: t.ok === false ? 'error' : 'ok',
          code: t.ok === false ? 'INSUFFICIENT_BALANCE' : '',
          message: t.ok === false ? 'balance 0 is less than 5' : '',
          result: t.result ?? null,
          events: t.events ?? [],
        },
      };
    },
  };
  return { src, calls };
}

const sendTx = (id: string, sequence: number, over: Partial<MemTx> = {}): MemTx => ({
  txId: id,
  contract: 'token',
  method: 'sendTransfer',
  args: { client: 'beta', receiver: 'ab'.repeat(20), amount: '25' },
  result: { sequence, denom: 'alpha' },
  events: [
    {
      contract: 'ibc',
      name: 'SendPacket',
      data: {
        sequence,
        sourceClient: 'beta',
        destClient: 'alpha',
        timeoutHeight: 0,
        timeoutTime: 9e12,
        sourcePort: 'token',
        destPort: 'token',
        data: {
          denom: 'alpha',
          amount: '25',
          sender: 'cd'.repeat(20),
          receiver: 'ab'.repeat(20),
          memo: '',
        },
      },
    },
    {
      contract: 'token',
      name: 'SendTransfer',
      data: {
        sequence,
        client: 'beta',
        denom: 'alpha',
        amount: '25',
        sender: 'cd'.repeat(20),
        receiver: 'ab'.repeat(20),
        how: 'escrow',
      },
    },
  ],
  ...over,
});

const recvTx = (id: string, sequence: number, ack: unknown, over: Partial<MemTx> = {}): MemTx => {
  const packet = {
    sequence,
    sourceClient: 'alpha',
    destClient: 'beta',
    timeoutHeight: 0,
    timeoutTime: 9e12,
    sourcePort: 'token',
    destPort: 'token',
    data: {
      denom: 'beta',
      amount: '1000000',
      sender: 'ee'.repeat(20),
      receiver: 'cd'.repeat(20),
      memo: '',
    },
  };
  const ref = {
    sequence,
    sourceClient: 'alpha',
    destClient: 'beta',
    sourcePort: 'token',
    destPort: 'token',
  };
  const ok = !(ack as { error?: string }).error;
  return {
    txId: id,
    contract: 'ibc',
    method: 'recvPacket',
    args: { packet, proof: {}, proofHeight: 5 },
    result: { ack },
    events: [
      { contract: 'ibc', name: 'RecvPacket', data: ref },
      ...(ok
        ? [
            {
              contract: 'token',
              name: 'RecvTransfer',
              data: {
                sequence,
                client: 'beta',
                denom: 'transfer/beta/beta',
                amount: '1000000',
                sender: 'ee'.repeat(20),
                receiver: 'cd'.repeat(20),
                how: 'mint',
              },
            },
          ]
        : []),
      { contract: 'ibc', name: 'WriteAck', data: { ...ref, ack } },
    ],
    ...over,
  };
};

const update = (id: string): MemTx => ({
  txId: id,
  contract: 'ibc',
  method: 'updateClient',
  args: {},
});

describe('interchain: looking back through blocks', () => {
  it('chooses the receipts worth fetching', () => {
    const ports = new Set(['pinger']);
    assert.equal(wantsTx('ibc', 'recvPacket', ports), true);
    assert.equal(wantsTx('ibc', 'acknowledgePacket', ports), true);
    assert.equal(wantsTx('ibc', 'timeoutPacket', ports), true);
    assert.equal(wantsTx('ibc', 'relay', ports), true);
    assert.equal(wantsTx('ibc', 'updateClient', ports), false);
    assert.equal(wantsTx('token', 'sendTransfer', ports), true);
    assert.equal(wantsTx('token', 'transfer', ports), false);
    assert.equal(wantsTx('pinger', 'ping', ports), true);
    assert.equal(wantsTx('kv', 'put', ports), false);
  });

  it('pages back to genesis, fetching blocks once and only interchain receipts', async () => {
    const { src, calls } = memChain(35, {
      2: [sendTx('s1', 1)],
      9: [update('u1'), { txId: 'k1', contract: 'kv', method: 'put', args: {} }],
      14: [recvTx('r1', 1, { result: { denom: 'transfer/beta/beta' } })],
      30: [
        update('u2'),
        sendTx('s2', 2),
        {
          txId: 'p1',
          contract: 'pinger',
          method: 'ping',
          args: {},
          events: [
            {
              contract: 'ibc',
              name: 'SendPacket',
              data: { sequence: 3, sourceClient: 'beta', destClient: 'alpha' },
            },
          ],
        },
      ],
    });
    const cached = cachedSource(src);
    const scan = await scanInterchain(cached, { maxBlocks: 100, ports: new Set(['pinger']) });
    assert.equal(scan.complete, true);
    assert.equal(scan.top, 30);
    assert.equal(scan.lowest, 0);
    assert.equal(scan.blocks, 4);
    // Newest first, in block order reversed; updates and kv puts never fetched.
    assert.deepEqual(
      scan.txs.map((t) => t.txId),
      ['p1', 's2', 'r1', 's1'],
    );
    assert.equal(calls.tx, 4);
    assert.equal(calls.page, 4, 'heights 35..0 at 10 a page');
    assert.equal(scan.txs[0].time, 1_030_000);
    assert.deepEqual(scan.txs[3].args, { client: 'beta', receiver: 'ab'.repeat(20), amount: '25' });
    // Events carry their tx and block; SendPacket events date packets.
    const sent = sendTimes(scan.events);
    assert.deepEqual([...sent.keys()].sort(), ['beta/1', 'beta/2', 'beta/3']);
    assert.equal(sent.get('beta/3')?.height, 30);
    // A second look fetches no block or receipt again.
    const before = { ...calls };
    const again = await scanInterchain(cached, { maxBlocks: 100, ports: new Set(['pinger']) });
    assert.deepEqual(
      again.txs.map((t) => t.txId),
      scan.txs.map((t) => t.txId),
    );
    assert.equal(calls.block, before.block);
    assert.equal(calls.tx, before.tx);
  });

  it('stops at maxBlocks, in the middle of a page, and says how far it looked', async () => {
    const txs: Record<number, MemTx[]> = {};
    for (let h = 1; h <= 20; h++) txs[h] = [update(`u${h}`)];
    const { src, calls } = memChain(20, txs, 100);
    const scan = await scanInterchain(src, { maxBlocks: 5 });
    assert.equal(scan.blocks, 5);
    assert.equal(scan.top, 20);
    assert.equal(scan.lowest, 16);
    assert.equal(scan.complete, false);
    assert.equal(calls.block, 5);
    assert.equal(calls.tx, 0);
    const empty = await scanInterchain(memChain(7, {}).src, { maxBlocks: 5 });
    assert.deepEqual(
      [empty.top, empty.lowest, empty.complete, empty.txs.length],
      [null, null, true, 0],
    );
  });

  it('a failed fetch is not cached: the next look asks again', async () => {
    const { src } = memChain(5, { 3: [sendTx('s1', 1)] });
    let fail = true;
    const flaky: ScanSource = {
      ...src,
      tx: (id) => (fail ? Promise.reject(new Error('down')) : src.tx(id)),
    };
    const cached = cachedSource(flaky);
    await assert.rejects(scanInterchain(cached, { maxBlocks: 10 }), /down/);
    fail = false;
    const scan = await scanInterchain(cached, { maxBlocks: 10 });
    assert.deepEqual(
      scan.txs.map((t) => t.txId),
      ['s1'],
    );
  });
});

describe('interchain: transfers', () => {
  const scanned = async (txs: Record<number, MemTx[]>): Promise<ScannedTx[]> =>
    (await scanInterchain(memChain(50, txs).src, { maxBlocks: 100 })).txs;

  it('sent transfers get their packet outcome; failed sends show their error', async () => {
    const txs = await scanned({
      10: [sendTx('a', 1)],
      11: [sendTx('b', 2)],
      12: [sendTx('c', 3)],
      13: [sendTx('d', 4)],
      14: [sendTx('e', 5)],
      15: [{ ...sendTx('f', 0), ok: false, events: [], result: null }],
    });
    assert.deepEqual(
      sentTransferPackets(txs).map((p) => p.sequence),
      [5, 4, 3, 2, 1],
    );
    const settled = new Map([
      [
        'beta/2',
        readSettled({
          status: 'acked',
          ack: { result: { denom: 'transfer/alpha/alpha' } },
          height: 20,
        }),
      ],
      [
        'beta/3',
        readSettled({ status: 'acked', ack: { error: 'INVALID_ARGS: receiver' }, height: 20 }),
      ],
      ['beta/4', readSettled({ status: 'timed-out', height: 21 })],
    ]);
    const rows = transfersOf(txs, new Set(['beta/1']), settled);
    assert.deepEqual(
      rows.map((r) => [r.txId, r.direction, r.sequence, r.status, r.detail]),
      [
        ['f', 'out', null, 'failed', 'INSUFFICIENT_BALANCE: balance 0 is less than 5'],
        ['e', 'out', 5, 'unknown', 'escrowed'],
        ['d', 'out', 4, 'timed-out', 'timed out: refunded'],
        ['c', 'out', 3, 'refunded', 'INVALID_ARGS: receiver'],
        ['b', 'out', 2, 'delivered', 'escrowed'],
        ['a', 'out', 1, 'pending', 'escrowed'],
      ],
    );
    const b = rows.find((r) => r.txId === 'b')!;
    assert.deepEqual(
      [b.client, b.denom, b.amount, b.sender, b.receiver, b.height, b.time],
      ['beta', 'alpha', '25', 'cd'.repeat(20), 'ab'.repeat(20), 11, 1_011_000],
    );
    const f = rows[0];
    assert.deepEqual(
      [f.client, f.amount, f.receiver, f.denom],
      ['beta', '25', 'ab'.repeat(20), ''],
    );
  });

  it('received transfers: minted or refused; races and other ports are no transfers', async () => {
    const txs = await scanned({
      20: [recvTx('in1', 7, { result: { denom: 'transfer/beta/beta' } })],
      21: [
        recvTx('in2', 8, {
          error: 'IBC_PACKET_INVALID: transfer data: receiver "x" is not an address',
        }),
      ],
      22: [{ ...recvTx('race', 7, { result: {} }), ok: false, events: [] }],
      23: [
        (() => {
          const t = recvTx('ping', 9, { result: 'pong' });
          (t.args as any).packet.destPort = 'pinger';
          return t;
        })(),
      ],
    });
    const rows = transfersOf(txs, new Set(), new Map());
    assert.deepEqual(
      rows.map((r) => [r.txId, r.direction, r.status, r.localDenom, r.detail]),
      [
        [
          'in2',
          'in',
          'refused',
          null,
          'IBC_PACKET_INVALID: transfer data: receiver "x" is not an address',
        ],
        ['in1', 'in', 'received', 'transfer/beta/beta', 'voucher minted'],
      ],
    );
    const r = rows[1];
    assert.deepEqual(
      [r.client, r.sequence, r.denom, r.amount, r.sender, r.receiver],
      ['beta', 7, 'beta', '1000000', 'ee'.repeat(20), 'cd'.repeat(20)],
    );
  });

  it("a relayer's batch (ibc.relay): each packet message a transfer of its own, with its own events", async () => {
    const one = recvTx('x', 7, { result: { denom: 'transfer/beta/beta' } });
    const refused = recvTx('x', 8, { error: 'IBC_PACKET_INVALID: bad receiver' });
    const raced = recvTx('x', 6, { result: {} });
    const three = recvTx('x', 9, { result: { denom: 'transfer/beta/beta' } });
    const updated = {
      contract: 'ibc',
      name: 'ClientUpdated',
      data: { clientId: 'beta', height: 41, blockHash: 'ab' },
    };
    const batch: MemTx = {
      txId: 'batch',
      contract: 'ibc',
      method: 'relay',
      args: {
        msgs: [
          { method: 'updateClient', args: { clientId: 'beta' } },
          ...[one, refused, raced, three].map((t) => ({ method: 'recvPacket', args: t.args })),
        ],
      },
      result: {
        results: [
          {
            method: 'updateClient',
            ok: true,
            result: { clientId: 'beta', height: 41, result: 'updated' },
          },
          { method: 'recvPacket', ok: true, result: one.result },
          { method: 'recvPacket', ok: true, result: refused.result },
          {
            method: 'recvPacket',
            ok: false,
            code: 'IBC_PACKET_ALREADY_RECEIVED',
            message: 'packet beta/6 was received already',
          },
          { method: 'recvPacket', ok: true, result: three.result },
        ],
      },
      events: [updated, ...one.events!, ...refused.events!, ...three.events!],
    };
    const txs = await scanned({ 30: [batch] });
    assert.deepEqual(
      txs.map((t) => [t.txId, t.method, t.ok, t.code, t.events.length]),
      [
        ['batch', 'recvPacket', true, '', 3],
        ['batch', 'recvPacket', true, '', 2],
        ['batch', 'recvPacket', false, 'IBC_PACKET_ALREADY_RECEIVED', 0],
        ['batch', 'recvPacket', true, '', 3],
      ].reverse(),
    );
    const rows = transfersOf(txs, new Set(), new Map());
    assert.deepEqual(
      rows.map((r) => [r.txId, r.sequence, r.status, r.localDenom, r.detail]),
      [
        ['batch', 9, 'received', 'transfer/beta/beta', 'voucher minted'],
        ['batch', 8, 'refused', null, 'IBC_PACKET_INVALID: bad receiver'],
        ['batch', 7, 'received', 'transfer/beta/beta', 'voucher minted'],
      ],
    );
    // A refused batch (malformed, or out of gas) delivered nothing: no rows.
    const failed = await scanned({ 31: [{ ...batch, ok: false, result: null, events: [] }] });
    assert.deepEqual(
      failed.map((t) => [t.method, t.ok]),
      [],
    );
  });

  it('a contract that sends transfers: every SendTransfer event of a scanned tx counts', async () => {
    const two = sendTx('multi', 1);
    const second = structuredClone(two.events![1]);
    (second.data as any).sequence = 2;
    two.contract = 'payroll';
    two.method = 'pay';
    two.events = [...two.events!, second];
    const txs = (
      await scanInterchain(memChain(5, { 4: [two] }).src, {
        maxBlocks: 10,
        ports: new Set(['payroll']),
      })
    ).txs;
    assert.deepEqual(
      transfersOf(txs, new Set(['beta/1', 'beta/2']), new Map()).map((r) => r.sequence),
      [2, 1],
    );
  });
});

describe('interchain: denominations', () => {
  const names = [
    'alpha',
    'transfer/beta/alpha',
    'transfer/gamma/transfer/beta/alpha',
    'transfer/beta',
    'transfer/Beta/alpha',
    'swap/beta/alpha',
    'transfer//alpha',
    '',
    'x'.repeat(513),
    'transfer/beta/al pha',
  ];

  it('parses traces as the chain does', () => {
    for (const n of names) {
      const mine = parseTrace(n);
      const chain = parseDenom(n);
      assert.deepEqual(mine, chain, n);
    }
    assert.deepEqual(parseTrace('transfer/gamma/transfer/beta/alpha'), {
      clients: ['gamma', 'beta'],
      base: 'alpha',
    });
  });

  it('short forms equal the chain’s under both profiles', () => {
    for (const profile of ['standard', 'gm'] as const) {
      for (const n of ['transfer/beta/alpha', 'transfer/gamma/transfer/beta/alpha']) {
        const s = shortDenom(profile, n);
        assert.equal(s, shortOf(hashOf(profile), n));
        assert.match(s, /^ibc\/[0-9A-F]{64}$/);
      }
    }
    assert.notEqual(
      shortDenom('standard', 'transfer/beta/alpha'),
      shortDenom('gm', 'transfer/beta/alpha'),
    );
    assert.throws(() => shortDenom('quantum', 'transfer/beta/alpha'), /unknown crypto profile/);
  });

  it('reads the denoms answer', () => {
    const full = 'transfer/beta/transfer/zeta/zeta';
    const short = shortOf(hashOf('standard'), full);
    const d = readDenoms({
      own: 'alpha',
      denoms: [
        {
          denom: full,
          short: short.toLowerCase().replace('ibc/', 'ibc/'),
          path: 'x',
          base: 'zeta',
        },
        { denom: 'not a denom', short },
        { denom: 'alpha', short },
        'y',
      ],
      truncated: true,
    });
    assert.equal(d.own, 'alpha');
    assert.equal(d.truncated, true);
    assert.equal(d.skipped, 3);
    assert.deepEqual(d.traces, [
      {
        denom: full,
        short,
        path: 'transfer/beta/transfer/zeta',
        base: 'zeta',
        clients: ['beta', 'zeta'],
      },
    ]);
    assert.deepEqual(readDenoms(null), { own: null, traces: [], truncated: false, skipped: 0 });
    assert.equal(readDenoms({ own: 5, denoms: 'x' }).own, null);
  });

  it('routes, escrow pairs and what a denomination is on the other chain', () => {
    const beta = client({
      clientId: 'beta',
      chainId: 'Beta',
      counterpartyClientId: 'alpha',
      profile: 'gm',
    });
    const gamma = client({
      clientId: 'gamma',
      chainId: 'gamma',
      counterpartyClientId: 'alpha-1',
      profile: 'standard',
    });
    const viaBeta = { denom: 'transfer/beta/beta', clients: ['beta'], base: 'beta' };
    const twoHops = {
      denom: 'transfer/beta/transfer/x/zeta',
      clients: ['beta', 'x'],
      base: 'zeta',
    };
    assert.equal(traceRoute(viaBeta, [beta]), 'beta, over client beta (from Beta)');
    assert.equal(
      traceRoute(twoHops, [beta, gamma]),
      'zeta, over client x, then client beta (from Beta)',
    );
    assert.equal(traceRoute(viaBeta, []), 'beta, over client beta');
    assert.equal(traceRoute({ clients: [], base: 'alpha' }, [beta]), 'alpha');

    // A voucher that came over beta goes home over beta (burned), so only gamma escrows it.
    assert.deepEqual(escrowPairs([beta, gamma], 'alpha', [viaBeta, twoHops], 100), [
      { client: 'beta', denom: 'alpha', own: true },
      { client: 'gamma', denom: 'alpha', own: true },
      { client: 'gamma', denom: 'transfer/beta/beta', own: false },
      { client: 'gamma', denom: 'transfer/beta/transfer/x/zeta', own: false },
    ]);
    assert.equal(escrowPairs([beta, gamma], 'alpha', [viaBeta, twoHops], 3).length, 3);

    const out = across('alpha', beta);
    assert.deepEqual(out, {
      name: 'transfer/alpha/alpha',
      home: false,
      short: shortOf(hashOf('gm'), 'transfer/alpha/alpha'),
    });
    assert.deepEqual(across('transfer/beta/beta', beta), { name: 'beta', home: true, short: null });
    const back = across('transfer/beta/transfer/x/zeta', beta);
    assert.deepEqual(back, {
      name: 'transfer/x/zeta',
      home: true,
      short: shortOf(hashOf('gm'), 'transfer/x/zeta'),
    });
    assert.equal(across('alpha', { ...beta, profile: 'quantum' }).short, null);
  });

  it('amounts', () => {
    assert.equal(readAmount('007'), '7');
    assert.equal(readAmount('0'), '0');
    assert.equal(readAmount(12), '12');
    assert.equal(readAmount('-1'), null);
    assert.equal(readAmount('1e5'), null);
    assert.equal(readAmount(null), null);
    assert.equal(amountText('1000000'), '1,000,000');
    assert.equal(amountText('999'), '999');
    assert.equal(
      amountText('123456789012345678901234567890'),
      '123,456,789,012,345,678,901,234,567,890',
    );
    assert.equal(amountText('n/a'), 'n/a');
  });
});
