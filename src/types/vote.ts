/** Vote bodies and commits: what validators sign, and how anyone checks a commit. */
import {
  type ChainConfig,
  type Commit,
  create,
  encode,
  type Validator,
  ValidatorSchema,
  VoteBodySchema,
  VoteType,
} from '../codec/index.ts';
import { merkleRoot } from '../codec/merkle.ts';
import { address, type CryptoProfile } from '../crypto/profile.ts';
import { hex } from './hex.ts';

/** Merkle root of the encoded validators: a header's validatorsHash / nextValidatorsHash. */
export function validatorsRoot(profile: CryptoProfile, validators: Validator[]): Uint8Array {
  return merkleRoot(
    (d) => profile.hash(d),
    validators.map((v) => encode(ValidatorSchema, v)),
  );
}

/** Encoded VoteBody that a validator signs. */
export function voteBodyBytes(
  chainId: string,
  type: VoteType,
  height: number,
  round: number,
  blockHash: Uint8Array,
  timestamp: number,
  validator: Uint8Array,
): Uint8Array {
  return encode(
    VoteBodySchema,
    create(VoteBodySchema, {
      chainId,
      type,
      height: BigInt(height),
      round,
      blockHash,
      timestamp: BigInt(timestamp),
      validator,
    }),
  );
}

export interface CommitCheck {
  ok: boolean;
  signedPower: number;
  totalPower: number;
  reason?: string;
}

/** Hooks of a commit tally for callers that pay for, or share, signature checks. */
export interface TallyOptions {
  /** Called before each signature check (an on-chain light client charges gas here). */
  beforeVerify?: () => void;
  /**
   * Addresses whose precommit in this same commit already verified: counted without a second
   * check, so one commit tallied against two sets verifies each signature once.
   */
  verified?: Set<string>;
}

/**
 * The voting power of `validators` whose precommits for `blockHash` `commit` carries (each
 * validator counted once; signers outside the set are ignored). `ok` is false when the commit
 * is for another height or block or carries a bad signature of a member; no threshold applies.
 */
export function tallyCommit(
  profile: CryptoProfile,
  chainId: string,
  validators: ChainConfig['validators'],
  commit: Commit,
  height: number,
  blockHash: Uint8Array,
  opts: TallyOptions = {},
): CommitCheck {
  const byAddr = new Map(validators.map((v) => [address(profile, v.publicKey), v]));
  const totalPower = validators.reduce((s, v) => s + Number(v.power), 0);
  const fail = (reason: string, signedPower = 0): CommitCheck => ({
    ok: false,
    signedPower,
    totalPower,
    reason,
  });
  if (Number(commit.height) !== height)
    return fail(`commit is for height ${commit.height}, not ${height}`);
  if (hex(commit.blockHash) !== hex(blockHash)) return fail('commit is for another block');
  const counted = new Set<string>();
  let signedPower = 0;
  for (const s of commit.signatures) {
    const addr = hex(s.validator);
    const v = byAddr.get(addr);
    if (!v || counted.has(addr)) continue;
    if (!opts.verified?.has(addr)) {
      const body = voteBodyBytes(
        chainId,
        VoteType.PRECOMMIT,
        height,
        commit.round,
        blockHash,
        Number(s.timestamp),
        s.validator,
      );
      opts.beforeVerify?.();
      if (!profile.verify(v.publicKey, body, s.signature))
        return fail(`bad signature from validator ${v.name}`, signedPower);
      opts.verified?.add(addr);
    }
    counted.add(addr);
    signedPower += Number(v.power);
  }
  return { ok: true, signedPower, totalPower };
}

/**
 * Check that `commit` carries valid precommits for `blockHash` from more than 2/3 of the
 * voting power of `validators` (each validator counted once).
 */
export function verifyCommit(
  profile: CryptoProfile,
  chainId: string,
  validators: ChainConfig['validators'],
  commit: Commit,
  height: number,
  blockHash: Uint8Array,
  opts: TallyOptions = {},
): CommitCheck {
  const tally = tallyCommit(profile, chainId, validators, commit, height, blockHash, opts);
  if (!tally.ok) return tally;
  const { signedPower, totalPower } = tally;
  if (signedPower * 3 <= totalPower * 2) {
    return {
      ...tally,
      ok: false,
      reason: `only ${signedPower} of ${totalPower} voting power signed`,
    };
  }
  return tally;
}
