/** Double-sign evidence: two different signed votes of one validator for the same height, round and type. */
import {
  type DuplicateVoteEvidence,
  decode,
  type Validator,
  VoteBodySchema,
  VoteType,
} from '../codec/index.ts';
import { address, type CryptoProfile } from '../crypto/profile.ts';
import { bytesEqual, hex } from './hex.ts';

export interface EvidenceJson {
  validator: string;
  name: string;
  height: number;
  round: number;
  type: 'prevote' | 'precommit';
  blockHashA: string;
  blockHashB: string;
}

/**
 * Check evidence against the validator set of its height (`validatorsAt` returns undefined
 * for a height it has no set for); returns its JSON view or the reason it is not evidence.
 */
export function checkEvidence(
  profile: CryptoProfile,
  chainId: string,
  validatorsAt: (height: number) => Validator[] | undefined,
  ev: DuplicateVoteEvidence,
): { ok: true; json: EvidenceJson } | { ok: false; reason: string } {
  if (!ev.voteA || !ev.voteB) return { ok: false, reason: 'evidence needs two votes' };
  let a: ReturnType<typeof decode<typeof VoteBodySchema>>;
  let b: typeof a;
  try {
    a = decode(VoteBodySchema, ev.voteA.body);
    b = decode(VoteBodySchema, ev.voteB.body);
  } catch {
    return { ok: false, reason: 'malformed vote' };
  }
  if (a.chainId !== chainId || b.chainId !== chainId) return { ok: false, reason: 'wrong chain' };
  if (a.height !== b.height || a.round !== b.round || a.type !== b.type) {
    return { ok: false, reason: 'votes are for different height, round or type' };
  }
  if (a.type !== VoteType.PREVOTE && a.type !== VoteType.PRECOMMIT)
    return { ok: false, reason: 'bad vote type' };
  if (!bytesEqual(a.validator, b.validator))
    return { ok: false, reason: 'votes are from different validators' };
  if (bytesEqual(a.blockHash, b.blockHash)) return { ok: false, reason: 'votes agree' };
  const addr = hex(a.validator);
  const set = validatorsAt(Number(a.height));
  if (!set) return { ok: false, reason: `no validator set known for height ${a.height}` };
  const v = set.find((x) => address(profile, x.publicKey) === addr);
  if (!v) return { ok: false, reason: 'not a validator' };
  if (!profile.verify(v.publicKey, ev.voteA.body, ev.voteA.signature))
    return { ok: false, reason: 'bad signature A' };
  if (!profile.verify(v.publicKey, ev.voteB.body, ev.voteB.signature))
    return { ok: false, reason: 'bad signature B' };
  // Order the pair so the same double sign always has the same identity.
  const [x, y] = hex(a.blockHash) < hex(b.blockHash) ? [a, b] : [b, a];
  return {
    ok: true,
    json: {
      validator: addr,
      name: v.name,
      height: Number(a.height),
      round: a.round,
      type: a.type === VoteType.PREVOTE ? 'prevote' : 'precommit',
      blockHashA: hex(x.blockHash),
      blockHashB: hex(y.blockHash),
    },
  };
}

/** State key (within the `evidence` contract) of a piece of evidence. */
export function evidenceKey(e: EvidenceJson): string {
  return `${String(e.height).padStart(12, '0')}/${e.round}/${e.type}/${e.validator}`;
}
