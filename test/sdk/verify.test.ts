import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VoteType } from '../../src/codec/index.ts';
import { address } from '../../src/crypto/profile.ts';
import type { BlockJson, ProvenRead, QueryProof, StateAnswer } from '../../src/sdk/types.ts';
import { verifyQueryProof, verifyStateProof } from '../../src/sdk/verify.ts';
import type { CommitJson } from '../../src/types/block.ts';
import { ArchiError } from '../../src/types/errors.ts';
import { hex, unhex } from '../../src/types/hex.ts';
import { voteBodyBytes } from '../../src/types/vote.ts';
import { blockJsonFor, headerBytesFor, PROFILES, proofFixture } from './fixtures.ts';

function clone<T>(v: T): T {
  return structuredClone(v);
}

/** Flip the last hex digit of a hex string. */
function flip(h: string): string {
  const last = h[h.length - 1];
  return h.slice(0, -1) + (last === '0' ? '1' : '0');
}

function rejects(fn: () => unknown, pattern?: RegExp): void {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof ArchiError, `expected ArchiError, got ${e}`);
    assert.equal(e.code, 'PROOF_INVALID');
    if (pattern) assert.match(e.message, pattern);
    return true;
  });
}

for (const name of PROFILES) {
  describe(`verifyQueryProof (${name})`, () => {
    const fx = proofFixture(name);
    const proof = (): QueryProof => ({
      height: fx.height,
      stateRoot: fx.stateRoot,
      reads: clone(fx.reads),
    });

    it('accepts a correct proof with membership and non-membership reads', () => {
      const r = verifyQueryProof(fx.profile, fx.block, proof());
      assert.equal(r.height, fx.height);
      assert.equal(r.stateRoot, fx.stateRoot);
      assert.equal(r.blockHash, fx.block.hash);
      assert.equal(r.reads, 4);
      assert.equal(r.commitChecked, false);
      assert.ok(fx.reads.some((x) => x.value === null));
    });

    it('accepts a proof with no reads (the header checks still apply)', () => {
      verifyQueryProof(fx.profile, fx.block, { ...proof(), reads: [] });
      rejects(() =>
        verifyQueryProof(fx.profile, fx.block, {
          ...proof(),
          reads: [],
          stateRoot: flip(fx.stateRoot),
        }),
      );
    });

    it('rejects a tampered value', () => {
      const p = proof();
      p.reads[0].value = flip(p.reads[0].value!);
      rejects(() => verifyQueryProof(fx.profile, fx.block, p), /kv\/key3/);
    });

    it('rejects a present key claimed absent and an absent key claimed present', () => {
      const p = proof();
      p.reads[1].value = null;
      rejects(() => verifyQueryProof(fx.profile, fx.block, p), /absence/);
      const q = proof();
      q.reads[2].value = hex(new TextEncoder().encode('"forged"'));
      rejects(() => verifyQueryProof(fx.profile, fx.block, q));
    });

    it('rejects a read moved to another key', () => {
      const p = proof();
      p.reads[0].key = 'kv/key4';
      rejects(() => verifyQueryProof(fx.profile, fx.block, p));
    });

    it('rejects a tampered sibling, leaf or malformed proof', () => {
      const p = proof();
      const read = p.reads.find((r) => r.proof.siblings.length > 0)!;
      read.proof.siblings[0] = flip(read.proof.siblings[0]);
      rejects(() => verifyQueryProof(fx.profile, fx.block, p));

      const q = proof();
      q.reads[0].proof.leaf!.valueHash = flip(q.reads[0].proof.leaf!.valueHash);
      rejects(() => verifyQueryProof(fx.profile, fx.block, q));

      const m = proof();
      (m.reads[0].proof as any).siblings = ['zz'];
      rejects(() => verifyQueryProof(fx.profile, fx.block, m), /malformed/);

      const x = proof();
      (x.reads[0].proof as any).extra = 1;
      rejects(() => verifyQueryProof(fx.profile, fx.block, x));
    });

    it('rejects a proof whose root or height differs from the header', () => {
      rejects(
        () => verifyQueryProof(fx.profile, fx.block, { ...proof(), stateRoot: flip(fx.stateRoot) }),
        /state root/,
      );
      rejects(
        () => verifyQueryProof(fx.profile, fx.block, { ...proof(), height: fx.height + 1 }),
        /height/,
      );
    });

    it('rejects a tampered header or block hash', () => {
      // Header bytes changed but the hash left alone: the hash no longer matches.
      const b1: BlockJson = clone(fx.block);
      b1.headerBytes = flip(b1.headerBytes);
      rejects(() => verifyQueryProof(fx.profile, b1, proof()), /hash/);

      // A consistent block for another state root: the hash matches, the root does not.
      const other = headerBytesFor('test-chain', fx.height, unhex(flip(fx.stateRoot)));
      const b2 = blockJsonFor(fx.profile, other);
      rejects(() => verifyQueryProof(fx.profile, b2, proof()), /state root/);

      // The JSON header lies about the state root; only the hashed bytes count.
      const b3: BlockJson = clone(b2);
      b3.header.stateRoot = fx.stateRoot;
      rejects(() => verifyQueryProof(fx.profile, b3, proof()));

      const b4: BlockJson = { ...clone(fx.block), hash: flip(fx.block.hash) };
      rejects(() => verifyQueryProof(fx.profile, b4, proof()), /hash/);

      const b5: BlockJson = { ...clone(fx.block), headerBytes: 'not hex' };
      rejects(() => verifyQueryProof(fx.profile, b5, proof()));
    });

    it('checks the commit against a validator set when one is given', () => {
      const keys = [0, 1, 2, 3].map(() => fx.profile.generateKeyPair());
      const validators = keys.map((k, i) => ({
        name: `node${i + 1}`,
        org: `org${i + 1}`,
        publicKey: hex(k.publicKey),
        power: 10,
      }));
      const commitBy = (signers: number[], blockHash = fx.block.hash): CommitJson => ({
        height: fx.height,
        round: 0,
        blockHash,
        signatures: signers.map((i) => {
          const validator = unhex(address(fx.profile, keys[i].publicKey));
          const body = voteBodyBytes(
            'test-chain',
            VoteType.PRECOMMIT,
            fx.height,
            0,
            unhex(blockHash),
            1_700_000_000_500,
            validator,
          );
          const signature = fx.profile.signerFromPem(keys[i].privateKeyPem).sign(body);
          return {
            validator: hex(validator),
            timestamp: 1_700_000_000_500,
            signature: hex(signature),
          };
        }),
      });

      const ok = { ...clone(fx.block), commit: commitBy([0, 1, 2]) };
      assert.equal(verifyQueryProof(fx.profile, ok, proof(), validators).commitChecked, true);

      rejects(() => verifyQueryProof(fx.profile, fx.block, proof(), validators), /no commit/);
      const few = { ...clone(fx.block), commit: commitBy([0, 1]) };
      rejects(() => verifyQueryProof(fx.profile, few, proof(), validators), /voting power/);
      const forged = clone(ok);
      forged.commit!.signatures[0].signature = flip(forged.commit!.signatures[0].signature);
      rejects(() => verifyQueryProof(fx.profile, forged, proof(), validators), /signature/);
      const otherBlock = {
        ...clone(fx.block),
        commit: commitBy([0, 1, 2, 3], flip(fx.block.hash)),
      };
      rejects(() => verifyQueryProof(fx.profile, otherBlock, proof(), validators), /another block/);
    });
  });

  describe(`verifyStateProof (${name})`, () => {
    const fx = proofFixture(name);
    const answer = (read: ProvenRead): StateAnswer => ({
      ...clone(read),
      height: fx.height,
      stateRoot: fx.stateRoot,
    });

    it('accepts present and absent keys and checks the key asked for', () => {
      assert.equal(verifyStateProof(fx.profile, fx.block, answer(fx.reads[0])).reads, 1);
      verifyStateProof(fx.profile, fx.block, answer(fx.reads[2]), undefined, 'kv/missing');
      rejects(
        () => verifyStateProof(fx.profile, fx.block, answer(fx.reads[0]), undefined, 'kv/key4'),
        /not/,
      );
    });

    it('rejects a tampered value or root', () => {
      const a = answer(fx.reads[1]);
      a.value = flip(a.value!);
      rejects(() => verifyStateProof(fx.profile, fx.block, a));
      rejects(() =>
        verifyStateProof(fx.profile, fx.block, {
          ...answer(fx.reads[1]),
          stateRoot: flip(fx.stateRoot),
        }),
      );
    });
  });
}
