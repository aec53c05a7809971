/**
 * Hand-driven clusters for scenario tests: a few machines whose messages the test delivers one
 * by one, so a tricky schedule from the paper can be written down exactly.
 */
import { proposer } from '../../src/consensus/tbft/proposer.ts';
import { TendermintMachine } from '../../src/consensus/tbft/state-machine.ts';
import type {
  Action,
  Hash,
  Input,
  Proposal,
  Step,
  TimeoutConfig,
  ValidatorSet,
  Vote,
  VoteKind,
} from '../../src/consensus/tbft/types.ts';

/** Timeouts used by scripted tests (only the durations in actions depend on them). */
export const TIMEOUTS: TimeoutConfig = { proposeMs: 1000, voteMs: 500, deltaMs: 100 };

/** Machines for validators with the given powers; addresses are 'a0', 'a1', ... (hex). */
export class Cluster {
  readonly set: ValidatorSet;
  readonly addrs: string[];
  readonly machines = new Map<string, TendermintMachine>();
  /** Every action each machine returned, in order. */
  readonly log = new Map<string, Action[]>();
  height = 1;

  constructor(powers: number[], observers: string[] = []) {
    this.addrs = powers.map((_, i) => `a${i}`);
    this.set = { validators: powers.map((power, i) => ({ address: this.addrs[i], power })) };
    for (const a of [...this.addrs, ...observers]) {
      this.machines.set(a, new TendermintMachine(a.startsWith('a') ? a : '', TIMEOUTS));
      this.log.set(a, []);
    }
  }

  /** Start every machine at `height`. */
  start(height = 1): void {
    this.height = height;
    for (const a of this.machines.keys()) {
      this.input(a, { type: 'start', height, validators: this.set });
    }
  }

  /** The proposer of `round` at the current height. */
  proposer(round: number): string {
    return proposer(this.set, this.height, round);
  }

  /** The machine of `node`. */
  m(node: string): TendermintMachine {
    const m = this.machines.get(node);
    if (!m) throw new Error(`no node ${node}`);
    return m;
  }

  /** Feed one input to one node; returns (and logs) its actions. */
  input(node: string, input: Input): Action[] {
    const out = this.m(node).handle(input);
    this.log.get(node)?.push(...out);
    return out;
  }

  /** A vote as `from` would sign it. */
  vote(from: string, kind: VoteKind, round: number, blockHash: Hash | null): Vote {
    return { kind, height: this.height, round, blockHash, validator: from };
  }

  /** Deliver a vote to some nodes. */
  deliverVote(vote: Vote, to: string[]): void {
    for (const n of to) this.input(n, { type: 'vote', vote });
  }

  /** Deliver a proposal (valid unless said otherwise) to some nodes. */
  deliverProposal(proposal: Proposal, to: string[], valid = true): void {
    for (const n of to) this.input(n, { type: 'proposal', proposal, valid });
  }

  /** Deliver the vote that `from` cast for (kind, round) to some nodes; it must exist. */
  relay(from: string, kind: VoteKind, round: number, to: string[]): void {
    const v = this.castVote(from, kind, round);
    if (!v) throw new Error(`${from} cast no ${kind} in round ${round}`);
    this.deliverVote(v, to);
  }

  /** Fire a timeout at a node; it must have scheduled it (keeps scripts honest). */
  timeout(node: string, step: Step, round: number): Action[] {
    if (!this.scheduled(node, step, round)) {
      throw new Error(`${node} never scheduled timeout ${step} for round ${round}`);
    }
    return this.input(node, { type: 'timeout', step, height: this.height, round });
  }

  /** The vote `node` cast for (kind, round) at the current height, if any. */
  castVote(node: string, kind: VoteKind, round: number): Vote | undefined {
    for (const a of this.log.get(node) ?? []) {
      if (a.type !== 'vote') continue;
      const v = a.vote;
      if (v.kind === kind && v.round === round && v.height === this.height) return v;
    }
    return undefined;
  }

  /** The proposal `node` made in `round` at the current height, if any. */
  proposalOf(node: string, round: number): Proposal | undefined {
    for (const a of this.log.get(node) ?? []) {
      if (a.type === 'propose' && a.proposal.round === round && a.proposal.height === this.height) {
        return a.proposal;
      }
    }
    return undefined;
  }

  /** Whether `node` asked for a block in `round`. */
  askedForBlock(node: string, round: number): boolean {
    return (this.log.get(node) ?? []).some(
      (a) => a.type === 'buildBlock' && a.round === round && a.height === this.height,
    );
  }

  /** The decide actions of `node`. */
  decisions(node: string): Extract<Action, { type: 'decide' }>[] {
    return (this.log.get(node) ?? []).filter(
      (a): a is Extract<Action, { type: 'decide' }> => a.type === 'decide',
    );
  }

  /** The evidence actions of `node`. */
  evidence(node: string): Extract<Action, { type: 'evidence' }>[] {
    return (this.log.get(node) ?? []).filter(
      (a): a is Extract<Action, { type: 'evidence' }> => a.type === 'evidence',
    );
  }

  /** Whether `node` scheduled a timeout for (step, round) at the current height. */
  scheduled(node: string, step: Step, round: number): boolean {
    return (this.log.get(node) ?? []).some(
      (a) =>
        a.type === 'scheduleTimeout' &&
        a.step === step &&
        a.round === round &&
        a.height === this.height,
    );
  }
}
