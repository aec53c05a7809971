/**
 * The Tendermint state machine: Algorithm 1 of "The latest gossip on BFT consensus"
 * (Buchman, Kwon, Milosevic, arXiv 1807.04938). Line numbers in comments refer to it.
 *
 * Deterministic and free of I/O: the same sequence of inputs always yields the same actions.
 * Conventions the driver can rely on:
 * - The machine delivers its own proposal and votes to itself (counts them at once); looping
 *   them back through the network is harmless, they are recognised as duplicates.
 * - Equivocation: the first of two different votes from one validator for one (height, round,
 *   kind) emits `evidence`, once. The validator still counts once toward "+2/3 of anything" and
 *   f + 1, but each of its votes counts toward its own block, as in the paper's per-pattern
 *   counting (see MAX_VALUES_PER_VOTER in vote-set.ts for why and for the memory bound).
 * - A vote is only cast once per (height, round, kind); if a vote of ours for that slot is
 *   already known (e.g. relayed back to us after a restart), no second one is produced.
 * - Messages for other heights are ignored (the driver buffers the next height's messages).
 * - Proposals are accepted for past rounds, the current round and the next one (CometBFT keeps
 *   only the current one); a proposal that is not from proposer(height, round) is ignored.
 * - Votes are accepted for any round up to round + 1; beyond that, each validator may occupy at
 *   most MAX_CATCHUP_ROUNDS further rounds, so a faulty validator cannot make us store an
 *   unbounded number of rounds (CometBFT's peerCatchupRounds, per validator instead of per peer).
 * - The proposer also schedules timeoutPropose (as CometBFT does; the paper only schedules it on
 *   non-proposers), so a slow block build cannot stall the round; a block that arrives after
 *   the proposer has left the propose step is not proposed any more.
 * - After `decide` everything but `start` is ignored until the driver starts the next height.
 * - `handle` throws only on a malformed `start` (bad height or validator set): a driver bug.
 */
import { normalizeValidators, proposer as proposerOf } from './proposer.ts';
import {
  type Action,
  type Hash,
  type Input,
  type Proposal,
  type Step,
  type TimeoutConfig,
  timeoutMs,
  type ValidatorSet,
  type Vote,
  type VoteKind,
} from './types.ts';
import { isOneThird, type PowerTable, VoteSet } from './vote-set.ts';

/** Distinct proposals kept per round; an equivocating proposer cannot make us keep more. */
export const MAX_PROPOSALS_PER_ROUND = 4;
/** Rounds above round + 1 in which one validator's messages are kept. */
export const MAX_CATCHUP_ROUNDS = 2;

interface StoredProposal {
  proposal: Proposal;
  valid: boolean;
}

/** Everything seen in one round of the current height, plus the paper's "first time" flags. */
class RoundData {
  readonly prevotes: VoteSet;
  readonly precommits: VoteSet;
  readonly proposals: StoredProposal[] = [];
  /** Validators with any message in this round, for the f + 1 round skip (line 55). */
  readonly senders = new Set<string>();
  senderPower = 0;
  /** Line 34 fired. */
  prevoteTimeoutScheduled = false;
  /** Line 47 fired. */
  precommitTimeoutScheduled = false;
  /** Line 36 fired. */
  polkaHandled = false;

  constructor(height: number, round: number, table: PowerTable) {
    this.prevotes = new VoteSet(height, round, 'prevote', table);
    this.precommits = new VoteSet(height, round, 'precommit', table);
  }
}

/** A read-only picture of the machine for status pages and logs. */
export interface MachineSnapshot {
  self: string;
  started: boolean;
  decided: boolean;
  height: number;
  round: number;
  step: Step;
  lockedRound: number;
  lockedValue: Hash | null;
  validRound: number;
  validValue: Hash | null;
  /** Proposer of the current round ('' before the first `start`). */
  proposer: string;
  totalPower: number;
  /** Power of the prevotes and precommits counted in the current round. */
  prevotePower: number;
  precommitPower: number;
  /** Block hashes proposed in the current round. */
  proposals: Hash[];
}

const EMPTY_TABLE: PowerTable = { powers: new Map(), total: 0 };

function isRound(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

function isHash(h: unknown): h is Hash {
  return typeof h === 'string' && h.length > 0;
}

/** Tendermint consensus for one node; feed it inputs, carry out the actions it returns. */
export class TendermintMachine {
  private _height = 0;
  private _round = 0;
  private _step: Step = 'propose';
  private _lockedRound = -1;
  private _lockedValue: Hash | null = null;
  private _validRound = -1;
  private _validValue: Hash | null = null;
  private started = false;
  private decided = false;
  private table: PowerTable = EMPTY_TABLE;
  private validators: ValidatorSet = { validators: [] };
  private rounds = new Map<number, RoundData>();
  private maxRound = 0;
  /** Rounds in which each validator has a stored message (for the catch-up bound). */
  private validatorRounds = new Map<string, Set<number>>();
  private proposers = new Map<number, string>();
  private evidenceSeen = new Set<string>();
  private proposedRounds = new Set<number>();
  /** Round whose block we asked for with `buildBlock`, or -1. */
  private awaitingBlock = -1;
  /** Rounds that got a proposal or a precommit since the decide rule last looked. */
  private dirty = new Set<number>();
  private out: Action[] = [];

  constructor(
    readonly self: string,
    readonly timeouts: TimeoutConfig,
  ) {}

  /** Current height (0 before the first `start`). */
  get height(): number {
    return this._height;
  }

  /** Current round. */
  get round(): number {
    return this._round;
  }

  /** Current step. */
  get step(): Step {
    return this._step;
  }

  /** Round of the lock, or -1. */
  get lockedRound(): number {
    return this._lockedRound;
  }

  /** Locked block hash, or null. */
  get lockedValue(): Hash | null {
    return this._lockedValue;
  }

  /** Round of the last polka seen for a valid proposal, or -1. */
  get validRound(): number {
    return this._validRound;
  }

  /** Block hash of the last polka seen for a valid proposal, or null. */
  get validValue(): Hash | null {
    return this._validValue;
  }

  /** True from `decide` until the next `start`. */
  get hasDecided(): boolean {
    return this.decided;
  }

  /** True if this node votes at the current height. */
  get isValidator(): boolean {
    return this.self !== '' && this.table.powers.has(this.self);
  }

  /** The proposer of `round` at the current height. */
  proposerFor(round: number): string {
    let p = this.proposers.get(round);
    if (p === undefined) {
      p = proposerOf(this.validators, this._height, round);
      this.proposers.set(round, p);
    }
    return p;
  }

  /** The first vote of each validator of one kind in `round` (this height), by validator. */
  votes(round: number, kind: VoteKind): Vote[] {
    const rd = this.rounds.get(round);
    if (!rd) return [];
    return (kind === 'prevote' ? rd.prevotes : rd.precommits).all();
  }

  /** Proposals kept for `round` of the current height, with the application's verdict. */
  proposals(round: number): { proposal: Proposal; valid: boolean }[] {
    const rd = this.rounds.get(round);
    if (!rd) return [];
    return rd.proposals.map((p) => ({ proposal: { ...p.proposal }, valid: p.valid }));
  }

  /** A copy of the visible state, for status display. */
  snapshot(): MachineSnapshot {
    const rd = this.rounds.get(this._round);
    return {
      self: this.self,
      started: this.started,
      decided: this.decided,
      height: this._height,
      round: this._round,
      step: this._step,
      lockedRound: this._lockedRound,
      lockedValue: this._lockedValue,
      validRound: this._validRound,
      validValue: this._validValue,
      proposer: this.started ? this.proposerFor(this._round) : '',
      totalPower: this.table.total,
      prevotePower: rd?.prevotes.power ?? 0,
      precommitPower: rd?.precommits.power ?? 0,
      proposals: rd ? rd.proposals.map((p) => p.proposal.blockHash).sort() : [],
    };
  }

  /** Process one input and return the actions to carry out, in order. */
  handle(input: Input): Action[] {
    this.out = [];
    switch (input.type) {
      case 'start':
        this.onStart(input.height, input.validators);
        break;
      case 'proposal':
        this.onProposal(input.proposal, input.valid);
        break;
      case 'vote':
        this.onVote(input.vote);
        break;
      case 'timeout':
        this.onTimeout(input.step, input.height, input.round);
        break;
      case 'proposalBlock':
        this.onProposalBlock(input.height, input.round, input.blockHash);
        break;
    }
    this.run();
    const out = this.out;
    this.out = [];
    return out;
  }

  private get active(): boolean {
    return this.started && !this.decided;
  }

  private onStart(height: number, validators: ValidatorSet): void {
    if (!isRound(height)) throw new Error(`bad height ${height}`);
    const { members, total } = normalizeValidators(validators);
    this.table = { powers: new Map(members.map((m) => [m.address, m.power])), total };
    this.validators = { validators: members.map((m) => ({ ...m })) };
    this._height = height;
    this._lockedRound = -1;
    this._lockedValue = null;
    this._validRound = -1;
    this._validValue = null;
    this.rounds = new Map();
    this.maxRound = 0;
    this.validatorRounds = new Map();
    this.proposers = new Map();
    this.evidenceSeen = new Set();
    this.proposedRounds = new Set();
    this.dirty = new Set();
    this.started = true;
    this.decided = false;
    this.startRound(0);
  }

  private onProposal(p: Proposal, valid: boolean): void {
    if (!this.active || !p || p.height !== this._height) return;
    if (!isRound(p.round) || p.round > this._round + 1 || !isHash(p.blockHash)) return;
    if (!Number.isSafeInteger(p.polRound) || p.polRound < -1 || p.polRound >= p.round) return;
    if (p.proposer !== this.proposerFor(p.round)) return;
    this.storeProposal(p, valid === true);
  }

  private storeProposal(p: Proposal, valid: boolean): void {
    const rd = this.roundData(p.round);
    const same = rd.proposals.some(
      (s) => s.proposal.blockHash === p.blockHash && s.proposal.polRound === p.polRound,
    );
    if (same || rd.proposals.length >= MAX_PROPOSALS_PER_ROUND) return;
    rd.proposals.push({
      proposal: {
        height: p.height,
        round: p.round,
        blockHash: p.blockHash,
        polRound: p.polRound,
        proposer: p.proposer,
      },
      valid,
    });
    this.addSender(rd, p.round, p.proposer);
    this.dirty.add(p.round);
  }

  private onVote(v: Vote): void {
    if (!this.active || !v || v.height !== this._height || !isRound(v.round)) return;
    if (v.kind !== 'prevote' && v.kind !== 'precommit') return;
    if (v.blockHash !== null && !isHash(v.blockHash)) return;
    if (!this.table.powers.has(v.validator)) return;
    if (!this.admitsRound(v.validator, v.round)) return;
    const rd = this.roundData(v.round);
    const vote: Vote = {
      kind: v.kind,
      height: v.height,
      round: v.round,
      blockHash: v.blockHash,
      validator: v.validator,
    };
    const res = (v.kind === 'prevote' ? rd.prevotes : rd.precommits).add(vote);
    if (res.status === 'conflict') {
      const key = `${v.validator}/${v.round}/${v.kind}`;
      if (!this.evidenceSeen.has(key)) {
        this.evidenceSeen.add(key);
        this.out.push({ type: 'evidence', a: res.existing, b: vote });
      }
      if (res.counted && v.kind === 'precommit') this.dirty.add(v.round);
      return;
    }
    if (res.status !== 'added') return;
    this.addSender(rd, v.round, v.validator);
    if (v.kind === 'precommit') this.dirty.add(v.round);
  }

  /** Lines 57-65. */
  private onTimeout(step: Step, height: number, round: number): void {
    if (!this.active || height !== this._height || round !== this._round) return;
    if (step === 'propose' && this._step === 'propose') {
      this.castVote('prevote', null);
      this._step = 'prevote';
    } else if (step === 'prevote' && this._step === 'prevote') {
      this.castVote('precommit', null);
      this._step = 'precommit';
    } else if (step === 'precommit') {
      this.startRound(round + 1);
    }
  }

  private onProposalBlock(height: number, round: number, blockHash: Hash): void {
    if (!this.active || height !== this._height || round !== this._round) return;
    // Once we have prevoted, a signer that orders propose < prevote would refuse the proposal.
    if (this._step !== 'propose' || this.awaitingBlock !== round || !isHash(blockHash)) return;
    if (this.proposedRounds.has(round)) return;
    this.awaitingBlock = -1;
    // StartRound found no validValue, so the paper's proposal carries validRound = -1.
    this.propose(blockHash, -1);
  }

  /** StartRound (line 11). */
  private startRound(round: number): void {
    this._round = round;
    this._step = 'propose';
    this.awaitingBlock = -1;
    this.roundData(round);
    if (this.isValidator && this.proposerFor(round) === this.self) {
      if (this._validValue !== null) {
        this.propose(this._validValue, this._validRound);
      } else {
        this.awaitingBlock = round;
        this.out.push({ type: 'buildBlock', height: this._height, round });
      }
    }
    this.schedule('propose', round);
  }

  private propose(blockHash: Hash, polRound: number): void {
    this.proposedRounds.add(this._round);
    const proposal: Proposal = {
      height: this._height,
      round: this._round,
      blockHash,
      polRound,
      proposer: this.self,
    };
    this.out.push({ type: 'propose', proposal: { ...proposal } });
    // Our own block: built and executed by us, or the validValue we already accepted.
    this.storeProposal(proposal, true);
  }

  private castVote(kind: VoteKind, blockHash: Hash | null): void {
    if (!this.isValidator) return;
    const rd = this.roundData(this._round);
    const set = kind === 'prevote' ? rd.prevotes : rd.precommits;
    if (set.get(this.self)) return;
    const vote: Vote = {
      kind,
      height: this._height,
      round: this._round,
      blockHash,
      validator: this.self,
    };
    set.add(vote);
    this.addSender(rd, this._round, this.self);
    if (kind === 'precommit') this.dirty.add(this._round);
    this.out.push({ type: 'vote', vote: { ...vote } });
  }

  private schedule(step: Step, round: number): void {
    const durationMs = timeoutMs(this.timeouts, step, round);
    this.out.push({ type: 'scheduleTimeout', step, height: this._height, round, durationMs });
  }

  /** Apply the "upon" rules until none fires (one input can enable a cascade of them). */
  private run(): void {
    while (this.active) {
      if (this.tryDecide()) return;
      if (this.tryRoundSkip()) continue;
      if (!this.tryCurrentRound()) return;
    }
  }

  /** Line 49, for any round of this height: a valid proposal and +2/3 precommits for it. */
  private tryDecide(): boolean {
    const rounds = [...this.dirty].sort((a, b) => a - b);
    this.dirty.clear();
    for (const r of rounds) {
      const rd = this.rounds.get(r);
      const hash = rd?.precommits.twoThirdsMajority();
      if (!rd || hash === undefined || hash === null) continue;
      if (!rd.proposals.some((p) => p.valid && p.proposal.blockHash === hash)) continue;
      this.decided = true;
      this.out.push({
        type: 'decide',
        height: this._height,
        round: r,
        blockHash: hash,
        precommits: rd.precommits.votesFor(hash),
      });
      return true;
    }
    return false;
  }

  /** Line 55: f + 1 of the power has sent messages for a higher round; go there. */
  private tryRoundSkip(): boolean {
    if (this.maxRound <= this._round) return false;
    let target = -1;
    for (const [r, rd] of this.rounds) {
      if (r > this._round && r > target && isOneThird(rd.senderPower, this.table.total)) {
        target = r;
      }
    }
    if (target < 0) return false;
    this.startRound(target);
    return true;
  }

  /** Lines 22-48 for the current round; true if anything changed. */
  private tryCurrentRound(): boolean {
    const r = this._round;
    const rd = this.roundData(r);
    if (this._step === 'propose') {
      for (const { proposal, valid } of this.sortedProposals(rd)) {
        const v = proposal.blockHash;
        const vr = proposal.polRound;
        if (vr === -1) {
          // Line 22.
          const ok = valid && (this._lockedRound === -1 || this._lockedValue === v);
          this.castVote('prevote', ok ? v : null);
          this._step = 'prevote';
          return true;
        }
        if (vr < r && this.rounds.get(vr)?.prevotes.hasTwoThirdsFor(v)) {
          // Line 28.
          const ok = valid && (this._lockedRound <= vr || this._lockedValue === v);
          this.castVote('prevote', ok ? v : null);
          this._step = 'prevote';
          return true;
        }
      }
    }
    let changed = false;
    if (this._step === 'prevote' && !rd.prevoteTimeoutScheduled && rd.prevotes.hasTwoThirdsAny()) {
      // Line 34.
      rd.prevoteTimeoutScheduled = true;
      this.schedule('prevote', r);
      changed = true;
    }
    if (this._step !== 'propose' && !rd.polkaHandled) {
      // Line 36.
      const v = rd.prevotes.twoThirdsMajority();
      if (isHash(v) && rd.proposals.some((p) => p.valid && p.proposal.blockHash === v)) {
        rd.polkaHandled = true;
        if (this._step === 'prevote') {
          this._lockedValue = v;
          this._lockedRound = r;
          this.castVote('precommit', v);
          this._step = 'precommit';
        }
        this._validValue = v;
        this._validRound = r;
        return true;
      }
    }
    if (this._step === 'prevote' && rd.prevotes.hasTwoThirdsFor(null)) {
      // Line 44.
      this.castVote('precommit', null);
      this._step = 'precommit';
      return true;
    }
    if (!rd.precommitTimeoutScheduled && rd.precommits.hasTwoThirdsAny()) {
      // Line 47.
      rd.precommitTimeoutScheduled = true;
      this.schedule('precommit', r);
      changed = true;
    }
    return changed;
  }

  private sortedProposals(rd: RoundData): StoredProposal[] {
    if (rd.proposals.length < 2) return rd.proposals;
    return [...rd.proposals].sort((a, b) =>
      a.proposal.blockHash < b.proposal.blockHash
        ? -1
        : a.proposal.blockHash > b.proposal.blockHash
          ? 1
          : a.proposal.polRound - b.proposal.polRound,
    );
  }

  private roundData(round: number): RoundData {
    let rd = this.rounds.get(round);
    if (!rd) {
      rd = new RoundData(this._height, round, this.table);
      this.rounds.set(round, rd);
      if (round > this.maxRound) this.maxRound = round;
    }
    return rd;
  }

  private addSender(rd: RoundData, round: number, validator: string): void {
    if (rd.senders.has(validator)) return;
    rd.senders.add(validator);
    rd.senderPower += this.table.powers.get(validator) ?? 0;
    let rounds = this.validatorRounds.get(validator);
    if (!rounds) {
      rounds = new Set();
      this.validatorRounds.set(validator, rounds);
    }
    rounds.add(round);
  }

  /** Rounds up to round + 1 are always kept; beyond, a few per validator. */
  private admitsRound(validator: string, round: number): boolean {
    if (round <= this._round + 1) return true;
    const rounds = this.validatorRounds.get(validator);
    if (!rounds) return true;
    if (rounds.has(round)) return true;
    let ahead = 0;
    for (const r of rounds) if (r > this._round + 1) ahead++;
    return ahead < MAX_CATCHUP_ROUNDS;
  }
}
