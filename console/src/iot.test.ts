/**
 * The IoT page's proof check: a proof file built here the way `archi iot prove` builds one
 * (the node's own state tree, header codec, Merkle tree and device signatures, in both
 * crypto profiles) passes, and each kind of tampering fails with the CLI's code.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  merklePath,
  merkleRoot,
  verifyMerklePath as nodeMerklePath,
} from '../../src/apps/iot/merkle.ts';
import { readingBytes as nodeReadingBytes, signReading } from '../../src/apps/iot/reading.ts';
import { deviceIdOf, keys } from '../../src/apps/iot/rules.ts';
import { create, encode, HeaderSchema, ValidatorSchema, VoteType } from '../../src/codec/index.ts';
import { address, type CryptoProfile, getProfile } from '../../src/crypto/profile.ts';
import { MemoryNodeStore } from '../../src/state/memory-nodes.ts';
import { proofToJson } from '../../src/state/proof.ts';
import { EMPTY_ROOT, SparseMerkleTree } from '../../src/state/smt.ts';
import { validatorsRoot, voteBodyBytes } from '../../src/types/vote.ts';
import { toHex } from './chain.ts';
import {
  checkProof,
  PROOF_FORMAT,
  parseProof,
  proofHeight,
  readingBytes,
  verifyMerklePath,
  verifyHeaderFrom,
  verifySignature,
} from './iot.ts';

const enc = (s: string) => new TextEncoder().encode(s);

/** A validator set of `n` fresh keys (power 1 each), as the codec and as JSON. */
function validatorSet(profile: CryptoProfile, n: number, tag: string) {
  const keys = Array.from({ length: n }, () =>
    profile.signerFromPem(profile.generateKeyPair().privateKeyPem),
  );
  const codec = keys.map((k, i) =>
    create(ValidatorSchema, {
      name: `${tag}${i}`,
      org: `org${i + 1}`,
      publicKey: k.publicKey,
      power: 1n,
    }),
  );
  const json = codec.map((v) => ({
    name: v.name,
    org: v.org,
    publicKey: toHex(v.publicKey),
    power: 1,
  }));
  return { keys, codec, json };
}

type VSet = ReturnType<typeof validatorSet>;

/** A block at `height` naming `set` (and `next`), its commit signed by the first `signers`. */
function signedBlock(
  profile: CryptoProfile,
  height: number,
  set: VSet,
  next: VSet,
  signers: number,
  stateRoot: Uint8Array = randomBytes(32),
) {
  const header = create(HeaderSchema, {
    chainId: 'test-chain',
    height: BigInt(height),
    time: BigInt(1_700_000_000_000 + height * 1000),
    prevHash: randomBytes(32),
    txRoot: randomBytes(32),
    stateRoot,
    resultsRoot: randomBytes(32),
    validatorsHash: validatorsRoot(profile, set.codec),
    nextValidatorsHash: validatorsRoot(profile, next.codec),
    proposer: randomBytes(20),
    lastCommitHash: randomBytes(32),
    evidenceHash: randomBytes(32),
    txCount: 1,
  });
  const headerBytes = encode(HeaderSchema, header);
  const hash = profile.hash(headerBytes);
  const signatures = set.keys.slice(0, signers).map((k, i) => {
    const validator = Buffer.from(address(profile, k.publicKey), 'hex');
    const timestamp = 1_700_000_000_500 + height * 1000 + i;
    const body = voteBodyBytes(
      'test-chain',
      VoteType.PRECOMMIT,
      height,
      0,
      hash,
      timestamp,
      validator,
    );
    return { validator: toHex(validator), timestamp, signature: toHex(k.sign(body)) };
  });
  return {
    height,
    hash: toHex(hash),
    headerBytes: toHex(headerBytes),
    commit: { height, round: 0, blockHash: toHex(hash), signatures },
  };
}

function buildFile(crypto: 'standard' | 'gm') {
  const profile = getProfile(crypto);
  const pair = profile.generateKeyPair();
  const signer = profile.signerFromPem(pair.privateKeyPem);
  const publicKey = toHex(pair.publicKey);
  const device = deviceIdOf(publicKey);
  const readings = Array.from({ length: 5 }, (_, i) =>
    signReading(profile, signer, device, {
      data: { t: 20 + i },
      ts: 1_700_000_000_000 + i,
      seq: i,
    }),
  );
  const ids = readings.map((r) => r.id);
  const deviceRec = {
    id: device,
    name: 'meter-1',
    owner: 'org1',
    curve: crypto === 'gm' ? 'SM2' : 'P-256',
    publicKey,
    status: 'active',
    n: 0,
    createdAt: 3,
    updatedAt: 3,
  };
  const anchor = {
    seq: 0,
    root: merkleRoot(profile, ids),
    count: ids.length,
    org: 'org1',
    by: 'admin',
    height: 5,
    time: 1_700_000_001_000,
    txId: 'ab'.repeat(32),
  };
  const store = new MemoryNodeStore();
  const tree = new SparseMerkleTree((d) => profile.hash(d), store);
  const devKey = `iot/${keys.device(device)}`;
  const batchKey = `iot/${keys.batch(0)}`;
  const { root, newNodes } = tree.update(EMPTY_ROOT, [
    { key: enc(devKey), value: enc(JSON.stringify(deviceRec)) },
    { key: enc(batchKey), value: enc(JSON.stringify(anchor)) },
  ]);
  for (const [h, e] of newNodes) store.put(h, e);
  const genesis = validatorSet(profile, 4, 'v');
  const block = signedBlock(profile, 7, genesis, genesis, 3, root);
  const read = (key: string, value: unknown) => ({
    key,
    value: toHex(enc(JSON.stringify(value))),
    proof: proofToJson(tree.prove(root, enc(key))),
  });
  const file = {
    format: PROOF_FORMAT,
    chainId: 'test-chain',
    crypto,
    contract: 'iot',
    reading: readings[2],
    batch: { seq: 0, index: 2, count: ids.length, path: merklePath(profile, ids, 2) },
    query: {
      result: { device: deviceRec, batch: anchor },
      height: 7,
      stateRoot: toHex(root),
      proof: {
        height: 7,
        stateRoot: toHex(root),
        reads: [read(devKey, deviceRec), read(batchKey, anchor)],
      },
    },
    blocks: [block],
    validatorSets: [] as Array<{ height: number; set: { validators: typeof genesis.json } }>,
  };
  return { file, genesis, profile, signer, readings };
}

for (const crypto of ['standard', 'gm'] as const) {
  describe(`checkProof (${crypto})`, () => {
    const { file, genesis, profile } = buildFile(crypto);
    const chain = { chainId: 'test-chain', crypto, genesis: genesis.json };
    const failsWith = (f: unknown, code: string, reason: RegExp, on = chain) => {
      const v = checkProof(f, on);
      assert.equal(v.ok, false, JSON.stringify(v));
      assert.equal((v as { code: string }).code, code);
      assert.match((v as { reason: string }).reason, reason);
    };

    it('verifies a reading, its device and its anchoring under a header the genesis set signed', () => {
      const text = JSON.stringify(file);
      assert.equal(proofHeight(parseProof(text)), 7);
      const v = checkProof(parseProof(text), chain);
      assert.equal(v.ok, true, JSON.stringify(v));
      if (!v.ok) return;
      assert.equal(v.device.name, 'meter-1');
      assert.equal(v.anchored.height, 5);
      assert.equal(v.proofHeight, 7);
      assert.equal(v.reading.id, file.reading.id);
    });

    it('refuses a changed reading, a bad path, a forged record or another block', () => {
      failsWith(
        { ...file, reading: { ...file.reading, data: { t: 99 } } },
        'IOT_BAD_PROOF',
        /not signed by device/,
      );
      const path = structuredClone(file);
      path.batch.path[0].hash = '00'.repeat(32);
      failsWith(path, 'IOT_BAD_PROOF', /not in batch 0/);
      const count = structuredClone(file);
      count.batch.count = 4;
      failsWith(count, 'IOT_BAD_PROOF', /holds 5 readings/);
      const forged = structuredClone(file);
      const anchor = JSON.parse(
        Buffer.from(forged.query.proof.reads[1].value, 'hex').toString('utf8'),
      );
      forged.query.proof.reads[1].value = Buffer.from(
        JSON.stringify({ ...anchor, time: 1 }),
      ).toString('hex');
      failsWith(forged, 'PROOF_INVALID', /does not lead to the state root/);
      const noBlock = { ...file, blocks: [] };
      failsWith(noBlock, 'PROOF_INVALID', /no block 7/);
    });

    it('refuses a header without +2/3 of the trusted power, or with a bad signature', () => {
      const few = structuredClone(file);
      few.blocks[0].commit.signatures = few.blocks[0].commit.signatures.slice(0, 2);
      failsWith(few, 'PROOF_INVALID', /only 2 of 4 voting power signed/);
      const twice = structuredClone(file);
      const sigs = twice.blocks[0].commit.signatures;
      twice.blocks[0].commit.signatures = [sigs[0], sigs[0], sigs[1]];
      failsWith(twice, 'PROOF_INVALID', /only 2 of 4/);
      const forgedSig = structuredClone(file);
      forgedSig.blocks[0].commit.signatures[1].signature =
        file.blocks[0].commit.signatures[0].signature;
      failsWith(forgedSig, 'PROOF_INVALID', /bad signature from validator v1/);
      // Trusting other validators (another chain's genesis) refuses the header.
      const strangers = validatorSet(profile, 4, 'x');
      failsWith(file, 'PROOF_INVALID', /names a validator set other than the trusted one/, {
        ...chain,
        genesis: strangers.json,
      });
    });

    it('follows a validator-set change header by header, checking each set against its header', () => {
      const next = validatorSet(profile, 3, 'n');
      const b1 = signedBlock(profile, 1, genesis, next, 3);
      const b2 = signedBlock(profile, 2, next, next, 3);
      const sets = [{ height: 2, set: { validators: next.json } }];
      const h = verifyHeaderFrom(crypto, 'test-chain', genesis.json, [b1, b2], sets, 2);
      assert.equal(Number(h.height), 2);
      const wrong = [{ height: 2, set: { validators: validatorSet(profile, 3, 'w').json } }];
      assert.throws(
        () => verifyHeaderFrom(crypto, 'test-chain', genesis.json, [b1, b2], wrong, 2),
        /is not the one block 1 names/,
      );
      assert.throws(
        () => verifyHeaderFrom(crypto, 'test-chain', genesis.json, [b2], sets, 2),
        /names a validator set other than the trusted one/,
      );
    });

    it('refuses what is not a proof of this chain', () => {
      failsWith(parseProof('not json'), 'IOT_BAD_PROOF', /not a reading proof/);
      failsWith({ ...file, chainId: 'other' }, 'IOT_BAD_PROOF', /of chain other/);
      failsWith(
        { ...file, crypto: crypto === 'gm' ? 'standard' : 'gm' },
        'IOT_BAD_PROOF',
        /chain is/,
      );
      assert.equal(proofHeight({ query: {} }), null);
    });
  });
}

describe('verifySignature', () => {
  for (const crypto of ['standard', 'gm'] as const) {
    it(`checks ${crypto} device signatures like the node's profile`, () => {
      const { profile, signer, readings } = buildFile(crypto);
      const key = toHex(signer.publicKey);
      for (const r of readings) {
        const bytes = readingBytes(r);
        assert.equal(profile.verify(signer.publicKey, bytes, Buffer.from(r.sig, 'hex')), true);
        assert.equal(verifySignature(crypto, key, bytes, r.sig), true);
        assert.equal(verifySignature(crypto, key, enc('other'), r.sig), false);
      }
      const other = profile.signerFromPem(profile.generateKeyPair().privateKeyPem);
      const bytes = readingBytes(readings[0]);
      assert.equal(verifySignature(crypto, toHex(other.publicKey), bytes, readings[0].sig), false);
      assert.equal(verifySignature(crypto, key, bytes, 'zz'), false);
      assert.equal(verifySignature(crypto, key, bytes, `${readings[0].sig}00`), false);
    });
  }
});

describe('the restated app rules', () => {
  for (const crypto of ['standard', 'gm'] as const) {
    it(`sign the same bytes and walk the same Merkle paths as src/apps/iot (${crypto})`, () => {
      const { profile, readings } = buildFile(crypto);
      const odd = { ...readings[0], seq: undefined, data: { z: [1, { b: 2, a: 'x' }] } };
      for (const r of [...readings, odd]) {
        assert.deepEqual(readingBytes(r), nodeReadingBytes(r));
      }
      const ids = readings.map((r) => r.id);
      const root = merkleRoot(profile, ids);
      for (let i = 0; i < ids.length; i++) {
        const path = merklePath(profile, ids, i);
        assert.equal(verifyMerklePath(crypto, ids[i], path, root), true);
        assert.equal(nodeMerklePath(profile, ids[i], path, root), true);
        assert.equal(verifyMerklePath(crypto, ids[(i + 1) % ids.length], path, root), false);
      }
      assert.equal(
        verifyMerklePath(crypto, ids[0], [{ side: 'up' as 'left', hash: ids[1] }], root),
        false,
      );
    });
  }
});
