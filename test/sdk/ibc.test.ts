/**
 * The SDK's interchain helpers (src/sdk/ibc.ts) against a real local network (one gm node,
 * tbft, real signed commits): headers as updateClient carries them, checked; proven state
 * values and absences; a node that lies about a validator set, a header or a proof is caught
 * before any tx would carry its answer (through a tampering proxy in front of the node). The
 * update planner's skipping and bisection over synthetic commits. The interchain e2e tests
 * (test/e2e/ibc-*.test.ts) use the same helpers between two networks.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CommitSchema, decode, HeaderSchema } from '../../src/codec/index.ts';
import { address, getProfile } from '../../src/crypto/profile.ts';
import { ArchiClient } from '../../src/sdk/client.ts';
import {
  createClientArgs,
  fetchHeader,
  HeaderSource,
  type IbcHeader,
  planClientUpdate,
  provenState,
  trustedSigned,
  updateClientArgs,
} from '../../src/sdk/ibc.ts';
import { validatorSetHash } from '../../src/sdk/light-client.ts';
import { validatorsFromInput } from '../../src/sdk/verify.ts';
import { ArchiError } from '../../src/types/errors.ts';
import { hex, unhex } from '../../src/types/hex.ts';
import { utf8Bytes } from '../../src/types/json.ts';
import type { ValidatorJson } from '../../src/types/rpc-json.ts';
import { kvPut, removeDir, stopAll, tempDir, up } from '../e2e/harness.ts';
import { TamperProxy } from '../e2e/ibc-tamper.ts';
import { initNetwork, waitUntil } from '../e2e/network.ts';

const refused = (code: string, re?: RegExp) => (e: unknown) => {
  assert.ok(e instanceof ArchiError, String(e));
  assert.equal(e.code, code, e.message);
  if (re) assert.match(e.message, re);
  return true;
};

describe('sdk/ibc against a real gm network', () => {
  let dir: string;
  let client: ArchiClient;
  let tamper: TamperProxy;
  let lying: ArchiClient;
  const gm = getProfile('gm');

  before(async () => {
    dir = tempDir('archi-sdk-ibc-');
    await initNetwork(dir, 1, ['--crypto', 'gm', '--chain', 'sdk-ibc']);
    const { rpc } = await up(dir);
    client = new ArchiClient(rpc);
    await waitUntil(async () => (await client.status()).height >= 3, 'three blocks');
    tamper = new TamperProxy(rpc);
    await tamper.start();
    lying = new ArchiClient(tamper.url);
  });
  after(async () => {
    await tamper?.stop();
    await stopAll();
    removeDir(dir);
  });

  test('fetchHeader: the header bytes, the own set and an encoded commit that +2/3 of it signed', async () => {
    const height = (await client.status()).height;
    const h = await fetchHeader(client, height);
    const block = await client.getBlock(height);
    assert.equal(h.height, height);
    assert.equal(h.chainId, 'sdk-ibc');
    assert.equal(h.header, block.headerBytes.toLowerCase());
    assert.equal(h.blockHash, hex(gm.hash(unhex(h.header))));
    const header = decode(HeaderSchema, unhex(h.header));
    assert.equal(Number(header.height), height);
    assert.equal(h.validatorsHash, hex(header.validatorsHash));
    assert.equal(validatorSetHash(gm, validatorsFromInput(h.validators)), h.validatorsHash);
    // The encoded commit is the block's: same hash, height and signers as its JSON view.
    const commit = decode(CommitSchema, unhex(h.commit));
    assert.equal(Number(commit.height), height);
    assert.equal(hex(commit.blockHash), h.blockHash);
    assert.deepEqual(
      commit.signatures.map((s) => hex(s.validator)),
      h.commitJson.signatures.map((s) => s.validator),
    );
    assert.equal(commit.signatures.length, 1);
  });

  test('updateClientArgs: the trusted height names the set of the next one', async () => {
    const height = (await client.status()).height;
    const args = await updateClientArgs(client, 'sdk-ibc', height, height - 2);
    assert.equal(args.clientId, 'sdk-ibc');
    assert.equal(args.trustedHeight, height - 2);
    const trusted = await fetchHeader(client, height - 2);
    assert.equal(
      validatorSetHash(gm, validatorsFromInput(args.trustedValidators)),
      trusted.nextValidatorsHash,
    );
    await assert.rejects(updateClientArgs(client, 'sdk-ibc', 3, 3), refused('INVALID_ARGS'));
  });

  test('createClientArgs: chain id and profile of the source, its header and own set', async () => {
    const args = await createClientArgs(client, {
      clientId: 'sdk-ibc',
      counterpartyClientId: 'other',
      trustingPeriodMs: 60_000,
    });
    assert.equal(args.chainId, 'sdk-ibc');
    assert.equal(args.profile, 'gm');
    assert.equal(args.counterpartyClientId, 'other');
    assert.equal(args.maxClockDriftMs, undefined);
    const header = decode(HeaderSchema, unhex(args.header));
    assert.equal(
      validatorSetHash(gm, validatorsFromInput(args.validators)),
      hex(header.validatorsHash),
    );
  });

  test('provenState: a value and an absence, each proven under its block', async () => {
    await kvPut(dir, JSON.stringify({ key: 'ibc-sdk', value: { n: 7 } }));
    const present = await provenState(client, 'kv/ibc-sdk');
    assert.equal(present.key, 'kv/ibc-sdk');
    assert.equal(present.value, hex(utf8Bytes('{"n":7}')));
    assert.ok(present.proof.leaf, 'a membership proof ends in the leaf');
    const block = await client.getBlock(present.height);
    assert.equal(present.time, block.header.time);
    const absent = await provenState(client, 'kv/never-written');
    assert.equal(absent.value, null);
    assert.ok(absent.height >= present.height);
    await assert.rejects(provenState(client, 'no-slash'), refused('INVALID_ARGS'));
  });

  test('a node that lies is caught before a tx carries its answer', async () => {
    const height = (await client.status()).height;
    // A validator set the header does not name.
    tamper.rewrite = (path, body) => {
      if (!path.startsWith('/v1/validators/')) return undefined;
      body.validators[0].power += 1;
      return body;
    };
    await assert.rejects(fetchHeader(lying, height), refused('PROOF_INVALID', /validator set/));
    // Header bytes that do not hash to the block hash.
    tamper.rewrite = (path, body) => {
      if (!path.startsWith('/v1/blocks/')) return undefined;
      body.hash = hex(gm.hash(utf8Bytes('another block')));
      return body;
    };
    await assert.rejects(fetchHeader(lying, height), refused('PROOF_INVALID'));
    // A commit whose signature is not the validator's.
    tamper.rewrite = (path, body) => {
      if (!path.startsWith('/v1/blocks/') || !body.commit) return undefined;
      const sig = body.commit.signatures[0];
      const last = sig.signature.slice(-2);
      sig.signature = `${sig.signature.slice(0, -2)}${last === '00' ? '11' : '00'}`;
      return body;
    };
    await assert.rejects(fetchHeader(lying, height), refused('PROOF_INVALID', /commit/));
    // A value its proof does not prove.
    tamper.rewrite = (path, body) => {
      if (!path.startsWith('/v1/state/')) return undefined;
      body.value = hex(utf8Bytes('{"n":8}'));
      return body;
    };
    await assert.rejects(provenState(lying, 'kv/ibc-sdk'), refused('PROOF_INVALID'));
    // An answer about another key.
    tamper.rewrite = (path, body) =>
      path.startsWith('/v1/state/') ? { ...body, key: 'kv/x' } : undefined;
    await assert.rejects(provenState(lying, 'kv/ibc-sdk'), refused('PROOF_INVALID'));
    tamper.rewrite = undefined;
    assert.equal((await fetchHeader(lying, height)).height, height);
  });
});

describe('planClientUpdate over synthetic commits', () => {
  const profile = getProfile('standard');
  const keys = Array.from({ length: 6 }, () => profile.generateKeyPair());
  const v = (i: number, power = 10): ValidatorJson => ({
    name: `v${i}`,
    org: 'o',
    publicKey: hex(keys[i].publicKey),
    power,
  });
  const addr = (i: number) => address(profile, keys[i].publicKey);

  /** A source whose height h is signed by `signers(h)` and whose set after h is `setAfter(h)`. */
  class FakeSource extends HeaderSource {
    fetched: number[] = [];
    constructor(
      private readonly signers: (h: number) => number[],
      private readonly setAfter: (h: number) => ValidatorJson[],
    ) {
      super({ profile: async () => profile } as unknown as ArchiClient);
    }
    override async header(height: number): Promise<IbcHeader> {
      this.fetched.push(height);
      return {
        commitJson: {
          height,
          round: 0,
          blockHash: '',
          signatures: this.signers(height).map((i) => ({
            validator: addr(i),
            timestamp: 0,
            signature: '',
          })),
        },
      } as unknown as IbcHeader;
    }
    override async nextSetOf(trusted: number): Promise<ValidatorJson[]> {
      return this.setAfter(trusted);
    }
  }

  test('trustedSigned: more than a third of the trusted power, by address', () => {
    const set = [v(0), v(1), v(2)];
    const commit = (is: number[]) => ({
      height: 1,
      round: 0,
      blockHash: '',
      signatures: is.map((i) => ({ validator: addr(i), timestamp: 0, signature: '' })),
    });
    assert.equal(trustedSigned(profile, set, commit([0])), false, 'exactly a third is not enough');
    assert.equal(trustedSigned(profile, set, commit([0, 1])), true);
    assert.equal(trustedSigned(profile, set, commit([3, 4, 5])), false, 'strangers do not count');
    assert.equal(trustedSigned(profile, [v(0, 100), v(1), v(2)], commit([0])), true);
    assert.equal(trustedSigned(profile, set, commit([0, 0, 0])), false, 'a signer counts once');
  });

  test('one skipping step while the set stays', async () => {
    const src = new FakeSource(
      () => [0, 1, 2],
      () => [v(0), v(1), v(2)],
    );
    assert.deepEqual(await planClientUpdate(src, 10, 500), [500]);
    assert.deepEqual(await planClientUpdate(src, 10, 11), [11]);
  });

  test('bisection down to the change when the set was replaced, then skipping again', async () => {
    // Validators 0-2 sign up to height 100, validators 3-5 from 101 on.
    const old = [v(0), v(1), v(2)];
    const fresh = [v(3), v(4), v(5)];
    const src = new FakeSource(
      (h) => (h <= 100 ? [0, 1, 2] : [3, 4, 5]),
      (h) => (h < 100 ? old : fresh),
    );
    const steps = await planClientUpdate(src, 10, 500);
    assert.equal(steps[steps.length - 1], 500);
    // 100 is the last height the old set signs; its header names the new set for 101 on.
    assert.ok(steps.includes(100), `the change is reached before the skip: ${steps}`);
    for (let i = 1; i < steps.length; i++) assert.ok(steps[i] > steps[i - 1]);
    // Each step is either adjacent or vouched for by the set its start trusts.
    let trusted = 10;
    for (const s of steps) {
      const signers = s <= 100 ? [0, 1, 2] : [3, 4, 5];
      const set = trusted < 100 ? old : fresh;
      const vouched = set.some((x) => signers.map((i) => `v${i}`).includes(x.name));
      assert.ok(s === trusted + 1 || vouched, `step ${trusted} -> ${s}`);
      trusted = s;
    }
    assert.ok(steps.length < 12, `bisection, not a walk: ${steps.length} steps`);
  });

  test('a set that shrinks by less than two thirds is still skipped over', async () => {
    const src = new FakeSource(
      (h) => (h <= 50 ? [0, 1, 2] : [0, 1]),
      () => [v(0), v(1), v(2)],
    );
    assert.deepEqual(await planClientUpdate(src, 1, 80), [80]);
  });
});
