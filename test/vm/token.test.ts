/**
 * The `token` contract on one chain: denomination names (parsing, vouchers' paths, short forms
 * under both profiles), the own denomination named by the chain id on its old state keys,
 * every method with and without `denom`, unknown and malformed denominations, and the
 * refusals of sendTransfer and of the IBC hooks that need no second chain (with no state
 * change). Transfers between chains are in ibc-transfer.test.ts.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { getProfile } from '../../src/crypto/profile.ts';
import type { ReceiptJson } from '../../src/types/block.ts';
import { hex } from '../../src/types/hex.ts';
import { homeOf, parseDenom, SHORT, shortOf, voucherOf } from '../../src/vm/native/denom.ts';
import type { Member } from '../unit/chain-fixture.ts';
import { type Island, makeIsland, ok } from './ibc-fixture.ts';

describe('denomination names', () => {
  test('a base, or transfer/<client>/ hops before it', () => {
    assert.deepEqual(parseDenom('island-a'), { clients: [], base: 'island-a' });
    // A chain may be called transfer: alone it is a base.
    assert.deepEqual(parseDenom('transfer'), { clients: [], base: 'transfer' });
    assert.deepEqual(parseDenom('transfer/island-b/island-a'), {
      clients: ['island-b'],
      base: 'island-a',
    });
    assert.deepEqual(parseDenom('transfer/c.1/transfer/b_2/Chain.A'), {
      clients: ['c.1', 'b_2'],
      base: 'Chain.A',
    });
    for (const bad of [
      '',
      'transfer/x',
      'transfer/x/',
      '/x',
      'transfer//a',
      'port/x/a',
      'transfer/X/a', // client ids are lower case
      'transfer/x/a/b',
      'ibc/ABCD',
      'a b',
      '-a',
      `${'transfer/y/'.repeat(50)}a`, // longer than MAX_DENOM_CHARS
    ]) {
      assert.equal(parseDenom(bad), null, bad);
    }
  });

  test('a voucher records the client it came over; sent back over that client it goes home', () => {
    const v = voucherOf('island-a', 'island-a');
    assert.equal(v, 'transfer/island-a/island-a');
    assert.equal(homeOf(v, 'island-a'), 'island-a');
    assert.equal(homeOf(v, 'island-c'), null);
    assert.equal(homeOf('island-a', 'island-a'), null);
    const twice = voucherOf('island-c', v);
    assert.equal(homeOf(twice, 'island-c'), v);
    // A client id that is a prefix of another is not that client.
    assert.equal(homeOf('transfer/island-ab/x', 'island-a'), null);
  });

  test('short forms: ibc/ and the upper-case hex of the chain hash of the full name', () => {
    const full = 'transfer/island-b/island-a';
    const sha = (d: Uint8Array) => getProfile('standard').hash(d);
    const sm3 = (d: Uint8Array) => getProfile('gm').hash(d);
    const want = `ibc/${createHash('sha256').update(full).digest('hex').toUpperCase()}`;
    assert.equal(shortOf(sha, full), want);
    assert.notEqual(shortOf(sm3, full), want);
    assert.equal(
      shortOf(sm3, full),
      `ibc/${hex(sm3(new TextEncoder().encode(full))).toUpperCase()}`,
    );
    assert.match(shortOf(sm3, full), SHORT);
  });
});

describe('token on one chain', () => {
  const CHAIN = 'solo-1';
  let c: Island;
  let alice: Member;
  let bob: Member;
  let admin: Member;

  async function run(method: string, args: unknown, who: Member = alice): Promise<ReceiptJson> {
    const id = await who.send(c.chain, { contract: 'token', method, args });
    c.commit();
    return c.chain.getTx(id).receipt;
  }

  const query = (method: string, args?: unknown): any =>
    c.chain.query('token', method, args, false).result;

  /** A tx that must fail with `code` and leave the state root as it was. */
  async function refused(method: string, args: unknown, code: string, who: Member = alice) {
    const root = c.chain.latestHeader.stateRoot;
    const r = await run(method, args, who);
    assert.equal(r.status, 'error', `expected ${code}, got ${JSON.stringify(r.result)}`);
    assert.equal(r.code, code, r.message);
    assert.deepEqual(r.events, []);
    assert.equal(c.chain.latestHeader.stateRoot, root, `${method} changed state`);
    return r;
  }

  before(() => {
    c = makeIsland(CHAIN, 'standard', { orgs: 2 });
    alice = c.fx.client;
    admin = c.fx.admin;
    bob = c.fx.orgs[1].client;
  });
  after(async () => {
    await c?.cleanup();
  });

  test('the own denomination is the chain id, on the old keys, with the old events', async () => {
    const minted = ok(await run('mint', { to: alice.address, amount: '1000' }, admin));
    assert.deepEqual(
      minted.events.map((e) => [e.contract, e.name, e.data]),
      [['token', 'Mint', { to: alice.address, amount: '1000' }]],
    );
    const moved = ok(await run('transfer', { to: bob.address, amount: 250 }));
    assert.deepEqual(moved.events[0].data, {
      from: alice.address,
      to: bob.address,
      amount: '250',
    });
    ok(await run('transfer', { to: bob.address, amount: '50', denom: CHAIN }));
    assert.equal(query('balanceOf', { owner: alice.address }), '700');
    assert.equal(query('balanceOf', { owner: bob.address, denom: CHAIN }), '300');
    assert.equal(query('totalSupply'), '1000');
    assert.equal(query('totalSupply', {}), '1000');
    assert.equal(query('totalSupply', { denom: CHAIN }), '1000');
    ok(await run('mint', { to: bob.address, amount: 1, denom: CHAIN }, admin));
    assert.equal(query('totalSupply'), '1001');
    // The keys of the single-denomination token: a chain's state root does not move.
    const text = (v: string | null) => (v === null ? null : Buffer.from(v, 'hex').toString());
    assert.equal(text(c.prove(`token/bal/${alice.address}`).value), '700');
    assert.equal(text(c.prove('token/supply').value), '1001');
    assert.equal(text(c.prove(`token/bal/${bob.address}`).value), '301');
  });

  test('unknown denominations: IBC_DENOM_UNKNOWN; text that is none: INVALID_ARGS', () => {
    const owner = alice.address;
    for (const denom of [
      'other-chain',
      'transfer/island-b/solo-1',
      `ibc/${'ab'.repeat(32)}`,
      `ibc/${'AB'.repeat(32)}`,
    ]) {
      assert.throws(() => query('balanceOf', { owner, denom }), { code: 'IBC_DENOM_UNKNOWN' });
      assert.throws(() => query('totalSupply', { denom }), { code: 'IBC_DENOM_UNKNOWN' });
    }
    for (const denom of ['solo 1', 'ibc/1234', 'transfer/x', 7, null, '']) {
      assert.throws(
        () => query('balanceOf', { owner, denom }),
        { code: 'INVALID_ARGS' },
        String(denom),
      );
    }
    assert.throws(() => query('balanceOf', { owner, denomination: CHAIN }), {
      code: 'INVALID_ARGS',
    });
    assert.throws(() => query('balanceOf', { owner: 'alice' }), { code: 'INVALID_ARGS' });
  });

  test('transfers and mints refused: no state change', async () => {
    await refused('transfer', { to: bob.address, amount: 1, denom: 'other' }, 'IBC_DENOM_UNKNOWN');
    await refused('transfer', { to: bob.address, amount: 10_000 }, 'INSUFFICIENT_BALANCE');
    await refused('transfer', { to: bob.address, amount: 1, memo: 'x' }, 'INVALID_ARGS');
    await refused('mint', { to: alice.address, amount: 5 }, 'TX_FORBIDDEN');
    await refused(
      'mint',
      { to: alice.address, amount: 5, denom: 'transfer/x/other' },
      'IBC_DENOM_UNKNOWN',
      admin,
    );
    await refused('mint', { to: alice.address, amount: -5 }, 'INVALID_ARGS', admin);
    assert.equal(query('totalSupply'), '1001');
  });

  test('escrow and traces start empty', () => {
    assert.equal(query('escrowOf', { client: 'island-b' }), '0');
    assert.equal(query('escrowOf', { client: 'island-b', denom: CHAIN }), '0');
    assert.throws(() => query('escrowOf', { client: 'Island B' }), { code: 'INVALID_ARGS' });
    assert.throws(() => query('escrowOf', {}), { code: 'INVALID_ARGS' });
    assert.throws(() => query('escrowOf', { client: 'island-b', denom: 'x' }), {
      code: 'IBC_DENOM_UNKNOWN',
    });
    assert.deepEqual(query('denoms', {}), { own: CHAIN, denoms: [], truncated: false });
    assert.deepEqual(query('denoms'), { own: CHAIN, denoms: [], truncated: false });
  });

  test('sendTransfer refused before anything moves', async () => {
    const base = {
      client: 'island-b',
      receiver: 'ab'.repeat(20),
      amount: '10',
      timeoutHeight: 100,
    };
    // No such client: the escrow made before ibc.send refused it goes with the tx.
    await refused('sendTransfer', base, 'IBC_CLIENT_NOT_FOUND');
    await refused('sendTransfer', { ...base, amount: 0 }, 'INVALID_ARGS');
    await refused('sendTransfer', { ...base, amount: '10000' }, 'INSUFFICIENT_BALANCE');
    await refused('sendTransfer', { ...base, receiver: 'has space' }, 'INVALID_ARGS');
    await refused('sendTransfer', { ...base, receiver: '' }, 'INVALID_ARGS');
    await refused('sendTransfer', { ...base, client: 'Island-B' }, 'INVALID_ARGS');
    await refused('sendTransfer', { ...base, denom: 'transfer/island-b/x' }, 'IBC_DENOM_UNKNOWN');
    await refused('sendTransfer', { ...base, memo: 'm'.repeat(5000) }, 'INVALID_ARGS');
    await refused('sendTransfer', { ...base, to: 'x' }, 'INVALID_ARGS');
    assert.equal(query('balanceOf', { owner: alice.address }), '700');
    assert.equal(query('escrowOf', { client: 'island-b' }), '0');
  });

  test('the IBC hooks are for ibc only', async () => {
    const packet = {
      sequence: 1,
      sourceClient: 'island-b',
      destClient: 'island-a',
      timeoutHeight: 100,
      timeoutTime: 0,
      sourcePort: 'token',
      destPort: 'token',
      data: { denom: 'island-b', amount: '5', sender: 'x', receiver: alice.address, memo: '' },
    };
    for (const [method, args] of [
      ['onRecv', packet],
      ['onAck', { packet, ack: { error: 'x' } }],
      ['onTimeout', packet],
    ] as const) {
      await assert.rejects(alice.send(c.chain, { contract: 'token', method, args }), {
        code: 'IBC_FORBIDDEN',
      });
      assert.throws(() => query(method, args), { code: 'IBC_FORBIDDEN' });
    }
    assert.deepEqual(query('denoms').denoms, []);
  });
});
