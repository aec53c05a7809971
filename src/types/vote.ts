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
    const body = voteBodyBytes(
      chainId,
      VoteType.PRECOMMIT,
      height,
      commit.round,
      blockHash,
      Number(s.timestamp),
      s.validator,
    );
    if (!profile.verify(v.publicKey, body, s.signature))
      return fail(`bad signature from validator ${v.name}`, signedPower);
    counted.add(addr);
    signedPower += Number(v.power);
  }
  if (signedPower * 3 <= totalPower * 2)
    return fail(`only ${signedPower} of ${totalPower} voting power signed`, signedPower);
  return { ok: true, signedPower, totalPower };
}
