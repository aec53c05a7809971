/**
 * Inputs, outputs and state of the Tendermint state machine (arXiv 1807.04938, Algorithm 1).
 * The machine is a pure function (state, input) -> (state, actions): no I/O, no clock, no
 * randomness. A driver turns actions into signed messages, timers, WAL entries and commits,
 * and feeds back what arrives from the network and the application.
 *
 * Block hashes are lower-case hex strings; `null` is nil. Validators are named by address (hex).
 */

export type Hash = string;
export type Step = 'propose' | 'prevote' | 'precommit';
export type VoteKind = 'prevote' | 'precommit';

export interface Validator {
  address: string;
  power: number;
}

/** The validator set of one height, in a fixed order (the proposer rotation depends on it). */
export interface ValidatorSet {
  validators: Validator[];
}

export interface Proposal {
  height: number;
  round: number;
  blockHash: Hash;
  /** The round in which the proposer saw a polka for this block, or -1. */
  polRound: number;
  proposer: string;
}

export interface Vote {
  kind: VoteKind;
  height: number;
  round: number;
  blockHash: Hash | null;
  validator: string;
}

export type Input =
  /** Begin a height (after the previous one was committed, or at start-up). */
  | { type: 'start'; height: number; validators: ValidatorSet }
  /** A proposal for the current height, with the application's verdict on its block (re-executed, roots matched). */
  | { type: 'proposal'; proposal: Proposal; valid: boolean }
  | { type: 'vote'; vote: Vote }
  | { type: 'timeout'; step: Step; height: number; round: number }
  /** The block this node asked for with `propose` (the driver built and executed it). */
  | { type: 'proposalBlock'; height: number; round: number; blockHash: Hash };

export type Action =
  /** This node is the proposer and has no valid value locked or seen: build a block and answer with `proposalBlock`. */
  | { type: 'buildBlock'; height: number; round: number }
  /** Sign and broadcast this proposal (the driver attaches the block). */
  | { type: 'propose'; proposal: Proposal }
  /** Sign and broadcast this vote (the signer refuses to sign twice for the same height/round/step). */
  | { type: 'vote'; vote: Vote }
  | { type: 'scheduleTimeout'; step: Step; height: number; round: number; durationMs: number }
  /** +2/3 precommits for blockHash in `round`: commit it with these precommits. */
  | { type: 'decide'; height: number; round: number; blockHash: Hash; precommits: Vote[] }
  /** Two different votes from one validator for the same height/round/kind. */
  | { type: 'evidence'; a: Vote; b: Vote };

export interface TimeoutConfig {
  proposeMs: number;
  voteMs: number;
  /** Added per round so timeouts grow until the network is synchronous again. */
  deltaMs: number;
}

/** How long a step of `round` waits before timing out: its base plus round x delta. */
export function timeoutMs(t: TimeoutConfig, step: Step, round: number): number {
  const base = step === 'propose' ? t.proposeMs : t.voteMs;
  return Math.min(base + round * t.deltaMs, Number.MAX_SAFE_INTEGER);
}
