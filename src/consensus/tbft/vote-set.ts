/** Power-weighted vote counting for one (height, round, kind), as the Tendermint rules need. */
import type { Hash, Vote, VoteKind } from './types.ts';

/** More than 2/3 of the total power (integer arithmetic, no rounding). */
export function isTwoThirds(power: number, total: number): boolean {
  return power * 3 > total * 2;
}

/** More than 1/3 of the total power: at least one correct validator is among them. */
export function isOneThird(power: number, total: number): boolean {
  return power * 3 > total;
}

/** Voting power by validator address, with the total. */
export interface PowerTable {
  readonly powers: ReadonlyMap<string, number>;
  readonly total: number;
}

/**
 * Distinct blocks one validator's votes are counted for in one (height, round, kind). The
 * paper counts messages per pattern, so an equivocator's vote for v counts toward v even if it
 * also voted for w; otherwise a polka that one correct node saw could never be confirmed by the
 * others and their locks could stay apart forever. The cap bounds the memory a faulty validator
 * can make us spend; it only matters to a validator that signs more than this many blocks.
 */
export const MAX_VALUES_PER_VOTER = 4;

/** Outcome of adding one vote to a VoteSet. */
export type AddVoteResult =
  | { status: 'added' }
  /** The same vote again (gossip duplicates): nothing changes. */
  | { status: 'duplicate' }
  /**
   * A different vote from a validator that already voted: equivocation. `existing` is its first
   * vote; `counted` says whether the new one was counted toward its own block (see
   * MAX_VALUES_PER_VOTER). The validator still counts once toward the totals.
   */
  | { status: 'conflict'; existing: Vote; counted: boolean }
  /** Not a vote of this set (other height/round/kind) or not from a validator. */
  | { status: 'rejected'; reason: string };

/**
 * Votes of one kind for one height and round. Each validator counts once toward the total
 * (its first vote) and once toward each block it voted for (at most MAX_VALUES_PER_VOTER).
 */
export class VoteSet {
  private readonly first = new Map<string, Vote>();
  private readonly byHash = new Map<Hash | null, Map<string, Vote>>();
  private readonly powerByHash = new Map<Hash | null, number>();
  private readonly valueCount = new Map<string, number>();
  private sum = 0;

  constructor(
    readonly height: number,
    readonly round: number,
    readonly kind: VoteKind,
    private readonly table: PowerTable,
  ) {}

  /** Count a vote; duplicates change nothing, conflicts are reported (and counted per block). */
  add(vote: Vote): AddVoteResult {
    if (vote.height !== this.height || vote.round !== this.round || vote.kind !== this.kind) {
      return { status: 'rejected', reason: 'wrong height, round or kind' };
    }
    const power = this.table.powers.get(vote.validator);
    if (power === undefined) return { status: 'rejected', reason: 'not a validator' };
    if (this.byHash.get(vote.blockHash)?.has(vote.validator)) return { status: 'duplicate' };
    const existing = this.first.get(vote.validator);
    const count = this.valueCount.get(vote.validator) ?? 0;
    if (existing && count >= MAX_VALUES_PER_VOTER) {
      return { status: 'conflict', existing: { ...existing }, counted: false };
    }
    // Keep our own copy so later changes to the caller's object cannot alter the count.
    const copy: Vote = { ...vote };
    let voters = this.byHash.get(vote.blockHash);
    if (!voters) {
      voters = new Map();
      this.byHash.set(vote.blockHash, voters);
    }
    voters.set(vote.validator, copy);
    this.powerByHash.set(vote.blockHash, (this.powerByHash.get(vote.blockHash) ?? 0) + power);
    this.valueCount.set(vote.validator, count + 1);
    if (existing) return { status: 'conflict', existing: { ...existing }, counted: true };
    this.first.set(vote.validator, copy);
    this.sum += power;
    return { status: 'added' };
  }

  /** The first vote counted for `validator`, if any. */
  get(validator: string): Vote | undefined {
    const v = this.first.get(validator);
    return v ? { ...v } : undefined;
  }

  /** Total power of the validators that voted, whatever for (each counted once). */
  get power(): number {
    return this.sum;
  }

  /** Number of validators that voted. */
  get size(): number {
    return this.first.size;
  }

  /** Power voting for `blockHash` (null = nil). */
  powerFor(blockHash: Hash | null): number {
    return this.powerByHash.get(blockHash) ?? 0;
  }

  /** +2/3 of the power voted, for anything (the paper's `2f + 1 <VOTE, h, r, *>`). */
  hasTwoThirdsAny(): boolean {
    return isTwoThirds(this.sum, this.table.total);
  }

  /** +2/3 of the power voted for `blockHash` (null = nil). */
  hasTwoThirdsFor(blockHash: Hash | null): boolean {
    return isTwoThirds(this.powerFor(blockHash), this.table.total);
  }

  /**
   * The hash (null for nil) with +2/3 of the power, or undefined. With less than 1/3 of the
   * power faulty at most one can have it; otherwise the smallest (nil first) is returned.
   */
  twoThirdsMajority(): Hash | null | undefined {
    let best: Hash | null | undefined;
    for (const [hash, power] of this.powerByHash) {
      if (!isTwoThirds(power, this.table.total)) continue;
      if (best === undefined || hash === null || (best !== null && hash < best)) best = hash;
    }
    return best;
  }

  /** The votes for `blockHash`, sorted by validator address. */
  votesFor(blockHash: Hash | null): Vote[] {
    const voters = this.byHash.get(blockHash);
    return voters ? sortVotes([...voters.values()]) : [];
  }

  /** The first vote of every validator, sorted by validator address. */
  all(): Vote[] {
    return sortVotes([...this.first.values()]);
  }
}

function sortVotes(votes: Vote[]): Vote[] {
  return votes
    .map((v) => ({ ...v }))
    .sort((a, b) => (a.validator < b.validator ? -1 : a.validator > b.validator ? 1 : 0));
}
