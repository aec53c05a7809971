/**
 * The `ibc` contract's light clients between two real islands, one standard and one gm, each
 * following the other through headers and commits its validators really signed: governance
 * creates and recovers clients, relayed headers update them (adjacent, skipping, across
 * validator-set changes), bad updates are refused with a code and change nothing, conflicting
 * headers of a twin chain freeze them, and state proofs of the counterparty verify against the
 * consensus states they keep.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ReceiptJson } from '../../src/types/block.ts';
import { hex, unhex } from '../../src/types/hex.ts';
import { utf8Bytes } from '../../src/types/json.ts';
import type { CallContext } from '../../src/vm/context.ts';
import {
  type ClientState,
  type ConsensusState,
  verifyMembership,
} from '../../src/vm/native/ibc/client.ts';
import { MAX_VALIDATORS, SIG_CHECK_GAS } from '../../src/vm/native/ibc/light-client.ts';
import type { Member } from '../unit/chain-fixture.ts';
import {
  createClientArgs,
  type Island,
  type IslandValidator,
  makeIsland,
  ok,
  runTx,
  twinIsland,
  updateClientArgs,
  validatorSetAt,
} from './ibc-fixture.ts';

/** Send one tx on `island`, commit a block, return the receipt. */
const run = (
  island: Island,
  method: string,
  args: unknown,
  opts: { contract?: string; who?: Member; gasLimit?: bigint } = {},
): Promise<ReceiptJson> =>
  runTx(island, opts.contract ?? 'ibc', method, args, opts.who, opts.gasLimit);

const query = (island: Island, method: string, args: unknown, contract = 'ibc'): any =>
  island.chain.query(contract, method, args, false).result;

/** A governance proposal by org1's admin (one org: it executes in the proposing tx). */
const propose = (island: Island, kind: string, args: unknown) =>
  run(island, 'propose', { kind, args }, { contract: 'governance', who: island.fx.admin });

function refused(r: ReceiptJson, code: string, message?: RegExp): void {
  assert.equal(r.status, 'error', `expected ${code}, the tx succeeded`);
  assert.equal(r.code, code, r.message);
  if (message) assert.match(r.message, message);
}

/** What a refused tx must have left alone: the client and the consensus state it aimed at. */
function snapshot(island: Island, clientId: string, height: number) {
  let consensus: unknown = null;
  try {
    consensus = query(island, 'consensusState', { clientId, height });
  } catch (e) {
    consensus = (e as { code?: string }).code;
  }
  // The status is left out: it follows from the latest block's time, which every tx moves on.
  const { status: _, ...client } = query(island, 'client', { clientId });
  return { client, consensus };
}

async function refusedUnchanged(
  island: Island,
  args: ReturnType<typeof updateClientArgs> | Record<string, unknown>,
  code: string,
  message?: RegExp,
  height = 0,
): Promise<void> {
  const clientId = args.clientId as string;
  const before = snapshot(island, clientId, height);
  refused(await run(island, 'updateClient', args), code, message);
  const after = snapshot(island, clientId, height);
  // The query's status is derived from the newer block time; everything stored is the same.
  assert.deepEqual(after, before);
}

function flipHex(text: string, at: number): string {
  const c = text[at] === '0' ? '1' : '0';
  return text.slice(0, at) + c + text.slice(at + 1);
}

/** A validator for `island` with a fresh key (not yet in its set). */
function newValidator(island: Island, name: string, power: number): IslandValidator {
  const p = island.fx.profile;
  const kp = p.generateKeyPair();
  return {
    name,
    org: 'org1',
    signer: p.signerFromPem(kp.privateKeyPem),
    publicKey: hex(kp.publicKey),
    address: hex(p.hash(kp.publicKey).subarray(0, 20)),
    power,
  };
}

describe('ibc light clients between a standard and a gm island', () => {
  let alpha: Island; // standard
  let beta: Island; // gm

  before(() => {
    alpha = makeIsland('alpha-1', 'standard');
    beta = makeIsland('beta-1', 'gm');
  });
  after(async () => {
    await alpha.cleanup();
    await beta.cleanup();
  });

  test('governance creates a client on each side; adjacent updates follow the other chain', async () => {
    alpha.commit();
    beta.commit();
    // alpha's client of beta checks SM2/SM3; beta's client of alpha checks P-256/SHA-256.
    const created = ok(
      await propose(alpha, 'ibc_create_client', {
        ...createClientArgs('beta-1', beta, 1),
        counterpartyClientId: 'alpha-1',
      }),
    );
    assert.ok(created.events.some((e) => e.name === 'ClientCreated'));
    ok(
      await propose(beta, 'ibc_create_client', {
        ...createClientArgs('alpha-1', alpha, 1),
        counterpartyClientId: 'beta-1',
      }),
    );
    const c = query(alpha, 'client', { clientId: 'beta-1' });
    assert.deepEqual(c, {
      clientId: 'beta-1',
      chainId: 'beta-1',
      profile: 'gm',
      counterpartyClientId: 'alpha-1',
      trustingPeriodMs: 3_600_000,
      maxClockDriftMs: 600_000,
      latestHeight: 1,
      frozenHeight: 0,
      createdAt: 2,
      status: 'active',
    });
    assert.deepEqual(
      query(alpha, 'clients', {}).map((x: ClientState) => x.clientId),
      ['beta-1'],
    );

    // Each side's create proposal cut a block, so the first update already skips one height.
    let [ta, tb, prev] = [1, 1, 1];
    for (let i = 0; i < 3; i++) {
      const hb = beta.commit();
      const r = ok(await run(alpha, 'updateClient', updateClientArgs('beta-1', beta, hb, tb)));
      [prev, tb] = [tb, hb];
      assert.deepEqual(JSON.parse(JSON.stringify(r.result)), {
        clientId: 'beta-1',
        height: hb,
        result: 'updated',
      });
      assert.equal(r.events[0].name, 'ClientUpdated');
      const ha = alpha.chain.height;
      ok(await run(beta, 'updateClient', updateClientArgs('alpha-1', alpha, ha, ta)));
      ta = ha;
    }
    // The stored consensus state is the header's, read from its bytes.
    const hb = tb;
    const cs: ConsensusState = query(alpha, 'consensusState', { clientId: 'beta-1', height: hb });
    const block = beta.chain.getBlock(hb);
    assert.equal(cs.blockHash, block.hash);
    assert.equal(cs.time, block.header.time);
    assert.equal(cs.stateRoot, block.header.stateRoot);
    assert.equal(cs.validatorsHash, block.header.validatorsHash);
    assert.equal(query(alpha, 'client', { clientId: 'beta-1' }).latestHeight, hb);
    assert.equal(query(beta, 'client', { clientId: 'alpha-1' }).latestHeight, ta);

    // The same header again is a no-op (no write, no event).
    const again = ok(await run(alpha, 'updateClient', updateClientArgs('beta-1', beta, hb, prev)));
    assert.equal((again.result as { result: string }).result, 'unchanged');
    assert.deepEqual(again.events, []);

    // Signature checks are paid for: four precommits cost at least four checks.
    assert.ok(again.gasUsed >= 4 * SIG_CHECK_GAS, `gasUsed ${again.gasUsed}`);
    refused(
      await run(alpha, 'updateClient', updateClientArgs('beta-1', beta, hb, prev), {
        gasLimit: BigInt(3 * SIG_CHECK_GAS),
      }),
      'OUT_OF_GAS',
    );
    assert.throws(() => query(alpha, 'client', { clientId: 'nope' }), {
      code: 'IBC_CLIENT_NOT_FOUND',
    });
    assert.throws(() => query(alpha, 'consensusState', { clientId: 'beta-1', height: 999 }), {
      code: 'IBC_CONSENSUS_NOT_FOUND',
    });
  });

  test('a bad create or recover proposal is refused when proposed', async () => {
    const next = () => query(alpha, 'list', {}, 'governance').length;
    const before = next();
    const h = beta.chain.height;
    /** A proposal to create client `clientId` of beta at `h` that alpha must refuse. */
    const refusedCreate = async (
      clientId: string,
      extra: Record<string, unknown>,
      code: string,
      message?: RegExp,
    ) =>
      refused(
        await propose(alpha, 'ibc_create_client', createClientArgs(clientId, beta, h, extra)),
        code,
        message,
      );
    await refusedCreate('beta-1', {}, 'IBC_CLIENT_EXISTS');
    // A gm header declared standard: its set does not hash to its validatorsHash under SHA-256.
    await refusedCreate('x', { profile: 'standard' }, 'IBC_HEADER_INVALID');
    await refusedCreate(
      'x',
      { validators: validatorSetAt(alpha, 1) },
      'IBC_HEADER_INVALID',
      /validators do not hash/,
    );
    await refusedCreate('x', { chainId: 'other' }, 'IBC_HEADER_INVALID', /chain/);
    await refusedCreate('x', { extra: 1 }, 'INVALID_ARGS');
    await refusedCreate('Bad Id', {}, 'INVALID_ARGS');
    await refusedCreate('x', { trustingPeriodMs: 0 }, 'INVALID_ARGS');
    refused(
      await propose(alpha, 'ibc_recover_client', {
        clientId: 'beta-1',
        header: beta.headerAt(h).header,
        validators: validatorSetAt(beta, h),
      }),
      'INVALID_ARGS',
      /active/,
    );
    refused(
      await propose(alpha, 'ibc_recover_client', {
        clientId: 'none',
        header: beta.headerAt(h).header,
        validators: validatorSetAt(beta, h),
      }),
      'IBC_CLIENT_NOT_FOUND',
    );
    assert.equal(next(), before);
    assert.throws(() => query(alpha, 'client', { clientId: 'x' }), {
      code: 'IBC_CLIENT_NOT_FOUND',
    });
  });

  test('a skipping update jumps many heights when the trusted set signed', async () => {
    const from = query(alpha, 'client', { clientId: 'beta-1' }).latestHeight;
    for (let i = 0; i < 25; i++) beta.commit();
    const to = beta.chain.height;
    const r = ok(await run(alpha, 'updateClient', updateClientArgs('beta-1', beta, to, from)));
    assert.equal((r.result as { height: number }).height, to);
    assert.equal(query(alpha, 'client', { clientId: 'beta-1' }).latestHeight, to);
    // A height between, trusted from the older state, fills in below latestHeight.
    ok(await run(alpha, 'updateClient', updateClientArgs('beta-1', beta, from + 7, from)));
    assert.equal(query(alpha, 'client', { clientId: 'beta-1' }).latestHeight, to);
    assert.equal(
      query(alpha, 'consensusState', { clientId: 'beta-1', height: from + 7 }).blockHash,
      beta.chain.getBlock(from + 7).hash,
    );
  });

  test('bad updates are refused with a code and change nothing', async () => {
    const t = query(alpha, 'client', { clientId: 'beta-1' }).latestHeight;
    const h = beta.commit();
    const good = updateClientArgs('beta-1', beta, h, t);

    // A header carrying only 2/3 (or less) of its set's power.
    const weak = beta.commit(beta.validators.slice(0, 2));
    await refusedUnchanged(
      alpha,
      updateClientArgs('beta-1', beta, weak, t),
      'IBC_INSUFFICIENT_POWER',
      /20 of 40/,
      weak,
    );
    // Tampered header bytes: the commit is for another block (or the header does not decode).
    await refusedUnchanged(
      alpha,
      { ...good, header: flipHex(good.header, good.header.length - 10) },
      'IBC_HEADER_INVALID',
      /another block/,
      h,
    );
    await refusedUnchanged(
      alpha,
      { ...good, header: good.header.slice(0, 40) },
      'IBC_HEADER_INVALID',
      undefined,
      h,
    );
    // A tampered signature.
    await refusedUnchanged(
      alpha,
      { ...good, commit: flipHex(good.commit, good.commit.length - 12) },
      'IBC_HEADER_INVALID',
      /bad signature/,
      h,
    );
    // Validators not those the header names; trusted validators not those the trusted state named.
    const heavier = good.validators.map((v, i) => (i === 0 ? { ...v, power: 11 } : v));
    await refusedUnchanged(
      alpha,
      { ...good, validators: heavier },
      'IBC_HEADER_INVALID',
      /validators do not hash/,
      h,
    );
    await refusedUnchanged(
      alpha,
      { ...good, trustedValidators: heavier },
      'IBC_HEADER_INVALID',
      /trustedValidators/,
      h,
    );
    // Another chain's header (alpha's own, well signed).
    const ha = alpha.chain.height;
    await refusedUnchanged(
      alpha,
      { ...updateClientArgs('alpha-1', alpha, ha, ha - 1), clientId: 'beta-1', trustedHeight: t },
      'IBC_HEADER_INVALID',
      /chain "alpha-1"/,
      ha,
    );
    // Not above the trusted height; a trusted height with no consensus state.
    await refusedUnchanged(
      alpha,
      updateClientArgs('beta-1', beta, t, t),
      'IBC_HEADER_INVALID',
      /not above/,
    );
    // t - 1 is not stored: the client reached t by a skipping update.
    assert.throws(() => query(alpha, 'consensusState', { clientId: 'beta-1', height: t - 1 }), {
      code: 'IBC_CONSENSUS_NOT_FOUND',
    });
    await refusedUnchanged(
      alpha,
      { ...good, trustedHeight: t - 1 },
      'IBC_CONSENSUS_NOT_FOUND',
      undefined,
      h,
    );
    // Oversized inputs are refused before any work on them.
    const many = Array.from({ length: MAX_VALIDATORS + 1 }, () => good.validators[0]);
    await refusedUnchanged(
      alpha,
      { ...good, validators: many },
      'IBC_HEADER_INVALID',
      /more than/,
      h,
    );
    await refusedUnchanged(
      alpha,
      { ...good, header: 'ab'.repeat(5000) },
      'IBC_HEADER_INVALID',
      /longer than/,
      h,
    );
    await refusedUnchanged(alpha, { ...good, extra: 1 }, 'INVALID_ARGS', undefined, h);
    refused(
      await run(alpha, 'updateClient', { ...good, clientId: 'nope' }),
      'IBC_CLIENT_NOT_FOUND',
    );
    // And the good one still goes through.
    ok(await run(alpha, 'updateClient', good));
  });

  test("an impostor with beta's chain id but other validators is refused", async () => {
    const imp = makeIsland('beta-1', 'gm');
    try {
      const t = query(alpha, 'client', { clientId: 'beta-1' }).latestHeight;
      imp.time = beta.time;
      while (imp.chain.height < t + 5) imp.commit();
      const real = validatorSetAt(beta, t + 1);
      // Adjacent: the header names a set other than the one the trusted header announced.
      await refusedUnchanged(
        alpha,
        { ...updateClientArgs('beta-1', imp, t + 1, t), trustedValidators: real },
        'IBC_HEADER_INVALID',
        /names a validator set other/,
        t + 1,
      );
      // Skipping: none of the trusted set signed.
      await refusedUnchanged(
        alpha,
        { ...updateClientArgs('beta-1', imp, t + 5, t), trustedValidators: real },
        'IBC_INSUFFICIENT_POWER',
        /only 0 of 40 power of the set trusted/,
        t + 5,
      );
      // Its own set offered as the trusted one does not hash to what the client trusts.
      await refusedUnchanged(
        alpha,
        updateClientArgs('beta-1', imp, t + 5, t),
        'IBC_HEADER_INVALID',
        /trustedValidators do not hash/,
        t + 5,
      );
    } finally {
      await imp.cleanup();
    }
  });

  test('the client follows validator-set changes made by governance', async () => {
    const id = 'beta-1';
    // Past the under-signed block of the test before: skip to a fresh height first.
    let t = beta.commit();
    ok(
      await run(
        alpha,
        'updateClient',
        updateClientArgs(id, beta, t, query(alpha, 'client', { clientId: id }).latestHeight),
      ),
    );
    const follow = async (to: number) => {
      for (let h = t + 1; h <= to; h++) {
        ok(await run(alpha, 'updateClient', updateClientArgs(id, beta, h, h - 1)));
      }
      t = to;
    };
    // node2's power 10 -> 30, executed in block k, ruling from k + 2.
    ok(await propose(beta, 'set_validator_power', { name: 'node2', power: 30 }));
    const k = beta.chain.height;
    beta.commit();
    beta.commit();
    beta.commit();
    assert.equal(beta.chain.validatorsAt(k + 2).find((v) => v.name === 'node2')?.power, 30n);
    // Adjacent through the change: header k+2 names the set header k+1 announced.
    await follow(k + 3);
    const trustedBefore = t; // its next set is {10, 30, 10, 10}

    // A new validator with most of the power: node5, 100 (set {10, 30, 10, 10, 100} = 160).
    const node5 = newValidator(beta, 'node5', 100);
    ok(
      await propose(beta, 'add_node', {
        name: 'node5',
        org: 'org1',
        publicKey: node5.publicKey,
        power: 100,
      }),
    );
    const j = beta.chain.height;
    beta.commit(); // j + 1: the old set still signs
    beta.validators.push(node5);
    const [n1, n2, n3] = beta.validators;
    const all = beta.commit(); // j + 2: the first block of the new set
    assert.equal(all, j + 2);
    assert.equal(beta.chain.validatorsAt(all).length, 5);
    assert.equal(beta.chain.validatorsAt(all - 1).length, 4);
    // Skipping with every validator signing: the old set's 60 all signed.
    ok(await run(alpha, 'updateClient', updateClientArgs(id, beta, all, trustedBefore)));

    // node5 + node1 hold 110 of 160 (+2/3), but only 10 of the trusted set's 60: refused.
    const few = beta.commit([node5, n1]);
    await refusedUnchanged(
      alpha,
      updateClientArgs(id, beta, few, trustedBefore),
      'IBC_INSUFFICIENT_POWER',
      /more than 1\/3 needed to skip/,
      few,
    );
    // node5 + node1 + node3: 20 of 60, exactly 1/3: still refused.
    const third = beta.commit([node5, n1, n3]);
    await refusedUnchanged(
      alpha,
      updateClientArgs(id, beta, third, trustedBefore),
      'IBC_INSUFFICIENT_POWER',
      /20 of 60/,
      third,
    );
    // node5 + node2 + node1: 40 of 60: the jump is vouched for.
    const enough = beta.commit([node5, n2, n1]);
    ok(await run(alpha, 'updateClient', updateClientArgs(id, beta, enough, trustedBefore)));
    // The refused heights are reachable through a height between (the new set trusted there).
    ok(await run(alpha, 'updateClient', updateClientArgs(id, beta, few, all)));
    ok(await run(alpha, 'updateClient', updateClientArgs(id, beta, third, few)));

    // Removing a validator (power 0): adjacent updates follow again.
    ok(await propose(beta, 'set_validator_power', { name: 'node4', power: 0 }));
    t = enough;
    for (let i = 0; i < 3; i++) beta.commit();
    await follow(beta.chain.height);
    assert.equal(beta.chain.validatorsAt(t).length, 4);
  });
});

describe('expiry, clock drift and misbehaviour', () => {
  let alpha: Island; // standard, hosts the clients
  let beta: Island; // gm, the counterparty
  let twin: Island; // beta's fork: same genesis and keys, other blocks
  let early: Island; // another fork, its blocks 5 s before beta's

  before(() => {
    alpha = makeIsland('alpha-2', 'standard');
    beta = makeIsland('beta-2', 'gm');
    twin = twinIsland(beta);
    early = twinIsland(beta, -5000);
    alpha.commit();
    for (let i = 0; i < 4; i++) {
      beta.commit();
      twin.commit();
      early.commit();
    }
    early.commit();
  });
  after(async () => {
    await alpha.cleanup();
    await beta.cleanup();
  });

  test('the twin really conflicts with beta', () => {
    for (let h = 1; h <= 4; h++) {
      assert.notEqual(twin.chain.getBlock(h).hash, beta.chain.getBlock(h).hash);
      assert.equal(
        twin.chain.getBlock(h).header.validatorsHash,
        beta.chain.getBlock(h).header.validatorsHash,
      );
    }
  });

  test("a header too far ahead of this chain's clock is refused", async () => {
    ok(
      await propose(
        alpha,
        'ibc_create_client',
        createClientArgs('drift', beta, 4, { maxClockDriftMs: 10_000 }),
      ),
    );
    beta.time = alpha.time + 60_000;
    const h = beta.commit();
    await refusedUnchanged(
      alpha,
      updateClientArgs('drift', beta, h, 4),
      'IBC_HEADER_INVALID',
      /more than 10000 ms past/,
      h,
    );
    // The twin's blocks stay a little later than beta's (they must, for its headers to be fresh).
    twin.time = beta.time + 500;
  });

  test('a header not later than the trusted one is refused', async () => {
    ok(await propose(alpha, 'ibc_create_client', createClientArgs('early', beta, 4)));
    assert.ok(early.chain.getBlock(5).header.time < beta.chain.getBlock(4).header.time);
    await refusedUnchanged(
      alpha,
      updateClientArgs('early', early, 5, 4),
      'IBC_HEADER_INVALID',
      /not after the trusted time/,
      5,
    );
  });

  test('an expired client refuses updates until governance recovers it', async () => {
    const t = beta.chain.height;
    ok(
      await propose(
        alpha,
        'ibc_create_client',
        createClientArgs('short', beta, t, { trustingPeriodMs: 120_000 }),
      ),
    );
    assert.equal(query(alpha, 'client', { clientId: 'short' }).status, 'active');
    const h = beta.commit();
    alpha.time += 180_000;
    await refusedUnchanged(
      alpha,
      updateClientArgs('short', beta, h, t),
      'IBC_CLIENT_EXPIRED',
      /expired/,
      h,
    );
    assert.equal(query(alpha, 'client', { clientId: 'short' }).status, 'expired');
    // A recovery header must be above the latest height and fresh.
    refused(
      await propose(alpha, 'ibc_recover_client', {
        clientId: 'short',
        header: beta.headerAt(t).header,
        validators: validatorSetAt(beta, t),
      }),
      'IBC_HEADER_INVALID',
      /not above/,
    );
    beta.time = alpha.time;
    const fresh = beta.commit();
    const r = ok(
      await propose(alpha, 'ibc_recover_client', {
        clientId: 'short',
        header: beta.headerAt(fresh).header,
        validators: validatorSetAt(beta, fresh),
      }),
    );
    assert.ok(r.events.some((e) => e.name === 'ClientRecovered'));
    const c = query(alpha, 'client', { clientId: 'short' });
    assert.equal(c.status, 'active');
    assert.equal(c.latestHeight, fresh);
    const next = beta.commit();
    ok(await run(alpha, 'updateClient', updateClientArgs('short', beta, next, fresh)));

    // The client stays active while its latest state is fresh, but an older trusted state may
    // have aged out: updates must then start from a newer one.
    alpha.time += 90_000;
    beta.time = alpha.time;
    const n2 = beta.commit();
    ok(await run(alpha, 'updateClient', updateClientArgs('short', beta, n2, next)));
    alpha.time += 60_000;
    const n3 = beta.commit();
    await refusedUnchanged(
      alpha,
      updateClientArgs('short', beta, n3, next),
      'IBC_CLIENT_EXPIRED',
      /consensus state at height \d+ is past the trusting period/,
      n3,
    );
    assert.equal(query(alpha, 'client', { clientId: 'short' }).status, 'active');
    ok(await run(alpha, 'updateClient', updateClientArgs('short', beta, n3, n2)));
    twin.time = beta.time + 500;
  });

  test('a conflicting header through updateClient freezes the client; governance recovers it', async () => {
    // Catch the twin up to beta's height, its blocks conflicting with beta's at every height.
    while (twin.chain.height < beta.chain.height + 2) twin.commit();
    while (beta.chain.height < twin.chain.height) beta.commit();
    const t = beta.chain.height - 2;
    ok(await propose(alpha, 'ibc_create_client', createClientArgs('fork', beta, t)));
    ok(await run(alpha, 'updateClient', updateClientArgs('fork', beta, t + 1, t)));

    // The twin's t + 1 verifies just as well (same keys signed it): misbehaviour, kept.
    const r = ok(await run(alpha, 'updateClient', updateClientArgs('fork', twin, t + 1, t)));
    assert.deepEqual(JSON.parse(JSON.stringify(r.result)), {
      clientId: 'fork',
      height: t + 1,
      result: 'frozen',
    });
    const frozen = r.events.find((e) => e.name === 'ClientFrozen');
    assert.deepEqual(frozen?.data, {
      clientId: 'fork',
      height: t + 1,
      blockHashes: [beta.chain.getBlock(t + 1).hash, twin.chain.getBlock(t + 1).hash],
    });
    const c = query(alpha, 'client', { clientId: 'fork' });
    assert.equal(c.status, 'frozen');
    assert.equal(c.frozenHeight, t + 1);
    // The stored state is beta's, not the twin's.
    assert.equal(
      query(alpha, 'consensusState', { clientId: 'fork', height: t + 1 }).blockHash,
      beta.chain.getBlock(t + 1).hash,
    );
    await refusedUnchanged(
      alpha,
      updateClientArgs('fork', beta, t + 2, t + 1),
      'IBC_CLIENT_FROZEN',
      /frozen/,
      t + 2,
    );

    // Recovery from a newer header of the honest chain.
    const h = beta.commit();
    ok(
      await propose(alpha, 'ibc_recover_client', {
        clientId: 'fork',
        header: beta.headerAt(h).header,
        validators: validatorSetAt(beta, h),
      }),
    );
    const back = query(alpha, 'client', { clientId: 'fork' });
    assert.equal(back.status, 'active');
    assert.equal(back.frozenHeight, 0);
    assert.equal(back.latestHeight, h);
    const next = beta.commit();
    ok(await run(alpha, 'updateClient', updateClientArgs('fork', beta, next, h)));
  });

  test('submitMisbehaviour with two verified headers of one height freezes the client', async () => {
    while (twin.chain.height < beta.chain.height + 3) twin.commit();
    while (beta.chain.height < twin.chain.height) beta.commit();
    const t = beta.chain.height - 3;
    ok(await propose(alpha, 'ibc_create_client', createClientArgs('mis', beta, t)));
    const side = (island: Island, h: number) => {
      const { clientId: _, ...u } = updateClientArgs('mis', island, h, t);
      return u;
    };
    const misRefused = async (header1: unknown, header2: unknown, code: string, msg?: RegExp) => {
      const before = query(alpha, 'client', { clientId: 'mis' });
      refused(
        await run(alpha, 'submitMisbehaviour', { clientId: 'mis', header1, header2 }),
        code,
        msg,
      );
      assert.deepEqual(query(alpha, 'client', { clientId: 'mis' }), before);
    };
    await misRefused(side(beta, t + 2), side(beta, t + 2), 'IBC_HEADER_INVALID', /same block/);
    await misRefused(side(beta, t + 2), side(twin, t + 3), 'IBC_HEADER_INVALID', /one height/);
    // A side that does not verify (tampered signature) is no evidence.
    const bad = side(twin, t + 2);
    await misRefused(
      side(beta, t + 2),
      { ...bad, commit: flipHex(bad.commit, bad.commit.length - 12) },
      'IBC_HEADER_INVALID',
      /bad signature/,
    );

    // Skipping from t on one side, adjacent from t on the other... both verify: frozen.
    const r = ok(
      await run(alpha, 'submitMisbehaviour', {
        clientId: 'mis',
        header1: side(beta, t + 2),
        header2: side(twin, t + 2),
      }),
    );
    assert.ok(r.events.some((e) => e.name === 'ClientFrozen'));
    const c = query(alpha, 'client', { clientId: 'mis' });
    assert.equal(c.status, 'frozen');
    assert.equal(c.frozenHeight, t + 2);
    // Neither header became a consensus state.
    assert.throws(() => query(alpha, 'consensusState', { clientId: 'mis', height: t + 2 }), {
      code: 'IBC_CONSENSUS_NOT_FOUND',
    });
    await misRefused(side(beta, t + 1), side(twin, t + 1), 'IBC_CLIENT_FROZEN');
  });
});

describe("verifyMembership against a client's consensus state", () => {
  let alpha: Island;
  let beta: Island;

  before(() => {
    alpha = makeIsland('alpha-3', 'standard');
    beta = makeIsland('beta-3', 'gm');
    alpha.commit();
    beta.commit();
  });
  after(async () => {
    await alpha.cleanup();
    await beta.cleanup();
  });

  /** A context that only counts gas (verifyMembership reads no state). */
  function gasCounter(): { ctx: CallContext; used: () => number } {
    let used = 0;
    const ctx = {
      gas: (n: number) => {
        used += n;
      },
    } as unknown as CallContext;
    return { ctx, used: () => used };
  }

  for (const [hostName, srcName] of [
    ['alpha', 'beta'],
    ['beta', 'alpha'],
  ] as const) {
    test(`${hostName} checks proofs of ${srcName}'s state`, async () => {
      const host = hostName === 'alpha' ? alpha : beta;
      const src = srcName === 'alpha' ? alpha : beta;
      const clientId = `${srcName}-3`;
      const first = src.chain.height;
      ok(await propose(host, 'ibc_create_client', createClientArgs(clientId, src, first)));
      ok(
        await run(
          src,
          'put',
          { key: 'greeting', value: { hello: srcName } },
          {
            contract: 'kv',
            who: src.fx.admin,
          },
        ),
      );
      const h = src.chain.height;
      const present = src.prove('kv/greeting');
      const absent = src.prove('kv/nothing');
      assert.equal(present.height, h);
      assert.ok(present.value !== null);
      assert.equal(absent.value, null);
      ok(await run(host, 'updateClient', updateClientArgs(clientId, src, h, first)));

      const client: ClientState = query(host, 'client', { clientId });
      const cs: ConsensusState = query(host, 'consensusState', { clientId, height: h });
      const value = unhex(present.value!);
      const g = gasCounter();
      verifyMembership(g.ctx, client, cs, 'kv/greeting', value, present.proof);
      assert.ok(g.used() > 0);
      verifyMembership(g.ctx, client, cs, 'kv/nothing', null, absent.proof);

      const fails = (key: string, v: Uint8Array | null, proof: unknown, consensus = cs) =>
        assert.throws(() => verifyMembership(g.ctx, client, consensus, key, v, proof), {
          code: 'IBC_PROOF_INVALID',
        });
      // Another value, another key, absence claimed of a present key, presence of an absent one.
      fails('kv/greeting', utf8Bytes('{"hello":"mallory"}'), present.proof);
      fails('kv/greetings', value, present.proof);
      fails('kv/greeting', null, present.proof);
      fails('kv/nothing', value, absent.proof);
      // A tampered proof, and malformed ones.
      const p = present.proof;
      const tampered = p.leaf
        ? { ...p, leaf: { ...p.leaf, valueHash: flipHex(p.leaf.valueHash, 0) } }
        : { ...p, siblings: [flipHex(p.siblings[0], 0), ...p.siblings.slice(1)] };
      fails('kv/greeting', value, tampered);
      if (p.siblings.length > 0) {
        fails('kv/greeting', value, {
          ...p,
          siblings: [flipHex(p.siblings[0], 3), ...p.siblings.slice(1)],
        });
      }
      fails('kv/greeting', value, null);
      fails('kv/greeting', value, { ...p, extra: 1 });
      fails('kv/greeting', value, { siblings: ['zz'] });
      // Under the older root the client was created from, the key held nothing yet.
      const older: ConsensusState = query(host, 'consensusState', { clientId, height: first });
      fails('kv/greeting', value, present.proof, older);
    });
  }
});
