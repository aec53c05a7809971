/**
 * The EVM light client of an Archipelago chain, on a real Hardhat node, fed with headers and
 * commits real P-256 validator keys signed: it accepts a header only with precommits of more
 * than 2/3 of the power, refuses a signature by a key outside the set and an altered header,
 * follows a validator-set change through next_validators_hash, and after it the old set alone
 * gets no header in. Also: its VoteBody encoder gives exactly the bytes validators sign.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { create, encode, VoteBodySchema } from '../../src/codec/index.ts';
import { EvmLightClient } from '../../src/evm/bridge.ts';
import { NOT_TRUSTED, updateArg, validatorSetHash } from '../../src/evm/encode.ts';
import { hex, unhex } from '../../src/types/hex.ts';
import { voteBodyBytes } from '../../src/types/vote.ts';
import type { Island } from '../vm/ibc-fixture.ts';
import {
  commitBy,
  headerInput,
  newValidator,
  nextSet,
  propose,
  unequalIsland,
  validator,
} from './evm-fixture.ts';
import { type HardhatNode, startHardhatNode } from './hardhat-node.ts';

let node: HardhatNode;
let island: Island;
let lc: EvmLightClient;

/** Resolves to the custom error's name a call reverted with. */
async function revertName(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    const err = e as { revert?: { name: string }; shortMessage?: string };
    if (err.revert?.name) return err.revert.name;
    throw e;
  }
  throw new Error('the call did not revert');
}

before(async () => {
  node = await startHardhatNode();
  island = await unequalIsland('archi-lc');
  const t = island.chain.height;
  lc = await EvmLightClient.deploy(node.signers[0], {
    chainId: island.chainId,
    trustingPeriodMs: 3_600_000,
    maxClockDriftMs: 600_000,
    header: headerInput(island, t),
    nextValidators: nextSet(island, t),
  });
});

after(async () => {
  await node?.stop();
  await island?.cleanup();
});

describe('VoteBody encoding', () => {
  test('the contract encodes 300 random bodies exactly as voteBodyBytes does', async () => {
    const pick = <T>(xs: T[]): T => xs[Math.floor(Math.random() * xs.length)];
    const chars = ['a', 'Z', '9', '-', '.', 'é', '島', ' ', '\u0000', '😀'];
    const bodies = Array.from({ length: 300 }, (_, i) => {
      const len = pick([0, 1, 5, 64, 130, 200]);
      const chainId = Array.from({ length: len }, () => pick(chars)).join('');
      const big = i % 3 === 0; // u64 values past 2^53 go through the codec directly
      const u64 = (): bigint =>
        pick([0n, 1n, 127n, 128n, 300n, 2n ** 32n, 2n ** 53n - 1n, 2n ** 64n - 1n]) +
        (big ? 0n : 0n);
      return {
        chainId,
        type: pick([0, 1, 2]),
        height: big ? u64() : BigInt(pick([0, 1, 2, 127, 128, 16_384, 2 ** 40])),
        round: pick([0, 1, 127, 128, 2 ** 31, 2 ** 32 - 1]),
        blockHash: randomBytes(pick([0, 1, 20, 32, 40])),
        timestamp: big ? u64() : BigInt(pick([0, 1, 1_700_000_000_000, 2 ** 53 - 1])),
        validator: randomBytes(pick([0, 20, 33])),
        big,
      };
    });
    await Promise.all(
      bodies.map(async (b) => {
        const expected = b.big
          ? encode(VoteBodySchema, create(VoteBodySchema, b))
          : voteBodyBytes(
              b.chainId,
              b.type,
              Number(b.height),
              b.round,
              b.blockHash,
              Number(b.timestamp),
              b.validator,
            );
        const got: string = await lc.contract.voteBodyBytes(
          new TextEncoder().encode(b.chainId),
          b.type,
          b.height,
          b.round,
          b.blockHash,
          b.timestamp,
          b.validator,
        );
        assert.equal(
          got,
          `0x${hex(expected)}`,
          JSON.stringify({ ...b, big: undefined }, (_, v) =>
            typeof v === 'bigint' ? v.toString() : v,
          ),
        );
      }),
    );
  });

  test('the validator-set hash matches the headers', async () => {
    const t = await lc.latestHeight();
    const set = headerInput(island, t).validators;
    assert.equal(validatorSetHash(set), island.chain.getBlock(t).header.validatorsHash);
    assert.ok(await lc.hasValidatorSet(validatorSetHash(set)));
  });
});

describe('header updates', () => {
  test('under 2/3 of the power is refused, over 2/3 accepted, the same header again is unchanged', async () => {
    const [n1, n2, n3, n4] = ['node1', 'node2', 'node3', 'node4'].map((n) => validator(island, n));
    const h = island.commit();
    const input = headerInput(island, h);
    const with_ = (signers: (typeof n1)[]) => ({ ...input, commit: commitBy(island, h, signers) });
    const trusted = h - 1;
    // 40 + 20 = 60 of 100; 30 + 20 + 10 = 60; a single validator; nobody.
    for (const signers of [[n1, n3], [n2, n3, n4], [n1], []]) {
      assert.equal(
        await revertName(lc.update(with_(signers), trusted)),
        'InsufficientPower',
        signers.map((s) => s.name).join('+'),
      );
    }
    assert.equal(await lc.latestHeight(), trusted);
    // 40 + 30 = 70 of 100: accepted.
    const r = await lc.update(with_([n1, n2]), trusted);
    assert.equal(r.result, 'updated');
    assert.equal(await lc.latestHeight(), h);
    const c = await lc.consensusState(h);
    assert.equal(c.stateRoot, `0x${island.chain.getBlock(h).header.stateRoot}`);
    assert.equal(c.blockHash, `0x${island.chain.getBlock(h).hash}`);
    // The full real commit of the same header: nothing changes.
    assert.equal((await lc.update(input, trusted)).result, 'unchanged');
  });

  test('a signature by a key outside the set counts for nothing and cannot pass for a member', async () => {
    const [n1, n2, n3, n4] = ['node1', 'node2', 'node3', 'node4'].map((n) => validator(island, n));
    const outsider = newValidator('mallory', 1000);
    const h = island.commit();
    const trusted = h - 1;
    // The outsider plus 60 of the set: the encoder drops the outsider (as Archipelago's tally
    // ignores it), and 60 of 100 is refused.
    const input = {
      ...headerInput(island, h),
      commit: commitBy(island, h, [outsider, n2, n3, n4]),
    };
    const arg = updateArg(input, { trustedHeight: trusted });
    assert.equal(arg.signatures.length, 3);
    assert.equal(await revertName(lc.submit(arg)), 'InsufficientPower');
    // A relayer that puts the outsider's signature in node1's place: it does not verify.
    const forged = updateArg(
      { ...input, commit: commitBy(island, h, [n2, n3, n4]) },
      { trustedHeight: trusted },
    );
    const outsiderSig = updateArg(
      {
        ...input,
        validators: [...input.validators, { ...outsider, power: 1000 }],
        commit: commitBy(island, h, [outsider]),
      },
      { trustedHeight: trusted },
    ).signatures[0];
    const n1Index = input.validators.findIndex((v) => v.name === 'node1');
    forged.signatures = [
      { ...outsiderSig, index: n1Index, trustedIndex: NOT_TRUSTED },
      ...forged.signatures,
    ].sort((a, b) => a.index - b.index);
    assert.equal(await revertName(lc.submit(forged)), 'BadSignature');
    // A member listed twice counts once: indices must strictly increase.
    const twice = updateArg(
      { ...input, commit: commitBy(island, h, [n1, n4]) },
      { trustedHeight: trusted },
    );
    twice.signatures = [twice.signatures[0], ...twice.signatures];
    assert.equal(await revertName(lc.submit(twice)), 'HeaderInvalid');
    // The real commit goes in.
    assert.equal((await lc.update(headerInput(island, h), trusted)).result, 'updated');
  });

  test('an altered header or a header of another height is refused', async () => {
    const h = island.commit();
    const input = headerInput(island, h);
    const bytes = unhex(input.header as string);
    // Flip a byte of the state root (field 6, 32 bytes): the block hash changes, the commit
    // signed the real one.
    const root = island.chain.getBlock(h).header.stateRoot;
    const at = hex(bytes).indexOf(root) / 2;
    assert.ok(at > 0);
    const altered = Uint8Array.from(bytes);
    altered[at] ^= 1;
    assert.equal(
      await revertName(lc.update({ ...input, header: hex(altered) }, h - 1)),
      'BadSignature',
    );
    // Not from the latest height.
    assert.equal(await revertName(lc.update(input, h - 2)), 'HeaderInvalid');
    assert.equal((await lc.update(input, h - 1)).result, 'updated');
  });

  test('skipping needs more than 1/3 of the trusted set among the signers', async () => {
    const [n1, n2, n3, n4] = ['node1', 'node2', 'node3', 'node4'].map((n) => validator(island, n));
    const from = await lc.latestHeight();
    island.commit();
    island.commit();
    const h = island.commit();
    const trustedValidators = nextSet(island, from);
    const input = headerInput(island, h);
    // 40 + 30 of the same set: +2/3 of the header's set and +1/3 of the trusted one.
    const r = await lc.update({ ...input, commit: commitBy(island, h, [n1, n2]) }, from, {
      trustedValidators,
    });
    assert.equal(r.result, 'updated');
    // Without the trusted indices the signers count nothing of the trusted set: refused.
    island.commit();
    const h2 = island.commit();
    const skip = { ...headerInput(island, h2), commit: commitBy(island, h2, [n1, n3, n4]) };
    assert.equal(await revertName(lc.update(skip, h)), 'InsufficientPower');
    const r2 = await lc.update(skip, h, { trustedValidators: nextSet(island, h) });
    assert.equal(r2.result, 'updated');
    assert.equal(await lc.latestHeight(), h2);
  });
});

describe('validator-set changes', () => {
  test('the client follows a new set through next_validators_hash; the old set alone gets no header in', async () => {
    let t = await lc.latestHeight();
    const follow = async (to: number) => {
      for (let h = t + 1; h <= to; h++) {
        const r = await lc.update(headerInput(island, h), h - 1, {
          nextValidators: nextSet(island, h),
        });
        assert.equal(r.result, 'updated', `height ${h}`);
      }
      t = to;
    };
    await follow(island.chain.height);
    const old = island.validators.slice(0, 4);
    const oldHash = validatorSetHash(headerInput(island, t).validators);
    // node5 joins with 300: the old four hold 100 of 400 from then on.
    const node5 = newValidator('node5', 300);
    await propose(island, 'add_node', {
      name: 'node5',
      org: 'org1',
      publicKey: node5.publicKey,
      power: 300,
    });
    const j = island.chain.height;
    island.commit(); // j + 1: the old set signs, its header announces the new set
    island.validators.push(node5);
    const first = island.commit(); // j + 2: the first block of the new set
    assert.equal(first, j + 2);
    assert.equal(island.chain.validatorsAt(first).length, 5);
    await follow(first);
    const newHash = validatorSetHash(headerInput(island, first).validators);
    assert.notEqual(newHash, oldHash);
    assert.equal((await lc.consensusState(first)).nextValidatorsHash, `0x${newHash}`);
    const stored = await lc.contract.validatorSet(`0x${newHash}`);
    assert.equal(stored.length, 5);

    // The old four sign the next real header: 100 of 400.
    const h = island.commit();
    const oldOnly = { ...headerInput(island, h), commit: commitBy(island, h, old) };
    assert.equal(await revertName(lc.update(oldOnly, t)), 'InsufficientPower');
    // A header forged by the old set, naming the old set as its validators: not the set the
    // trusted header announced (adjacent), and as a skip 100 of the trusted 400 is not +1/3.
    const real = island.chain.getBlock(h).header;
    const forgedBytes = hex(unhex(island.headerAt(h).header)).replace(real.validatorsHash, oldHash);
    const forgedHash = new Uint8Array(await crypto.subtle.digest('SHA-256', unhex(forgedBytes)));
    const forged = {
      header: forgedBytes,
      commit: commitBy(island, h, old, forgedHash),
      validators: headerInput(island, j).validators,
    };
    assert.equal(validatorSetHash(forged.validators), oldHash);
    assert.equal(await revertName(lc.update(forged, t)), 'HeaderInvalid');
    island.commit();
    const later = island.commit();
    const forgedLater = hex(unhex(island.headerAt(later).header)).replace(
      island.chain.getBlock(later).header.validatorsHash,
      oldHash,
    );
    const laterHash = new Uint8Array(await crypto.subtle.digest('SHA-256', unhex(forgedLater)));
    assert.equal(
      await revertName(
        lc.update(
          {
            header: forgedLater,
            commit: commitBy(island, later, old, laterHash),
            validators: forged.validators,
          },
          t,
          { trustedValidators: nextSet(island, t) },
        ),
      ),
      'InsufficientPower',
    );
    // The new set's real commit goes in.
    await follow(later);
    assert.equal(await lc.latestHeight(), later);
  });
});
