/**
 * The small parts of a chain that consensus and its reactors use: what to propose, validate
 * and commit, and what to read. `Chain` provides them; the simulator provides an in-memory
 * chain instead, so it runs the real driver and reactors.
 */
import type { Block, ChainConfig, Commit, DuplicateVoteEvidence } from '../codec/index.ts';
import type { CryptoProfile } from '../crypto/profile.ts';

/** A block executed and ready to vote on or commit. */
export interface CandidateBlock {
  height: number;
  block: Block;
  blockBytes: Uint8Array;
  blockHash: Uint8Array;
}

/** What the consensus driver and block sync need of a chain. */
export interface ConsensusChain<B extends CandidateBlock = CandidateBlock> {
  readonly chainId: string;
  readonly profile: CryptoProfile;
  /** Height of the last committed block (0: genesis only). */
  readonly height: number;
  /** Time of the last committed block, ms. */
  readonly latestHeader: { time: number };
  /** The config after the last committed block: the validators of the next height, timeouts. */
  readonly config: Pick<ChainConfig, 'validators' | 'params'>;
  /**
   * Builds and executes the next block from pending txs and evidence; `full`, asked before
   * each tx, ends the block early (the proposer's time budget); at most `maxTxs` txs.
   */
  proposeBlock(
    time: number,
    proposer: Uint8Array,
    lastCommit?: Commit,
    full?: () => boolean,
    maxTxs?: number,
  ): B;
  /** Decodes, checks and executes a block for the next height; throws when it is invalid. */
  validateBlock(blockBytes: Uint8Array): B;
  /** Persists a decided block with the precommits that decided it. */
  commitBlock(block: B, commit: Commit): void;
  /** The committed block at `height`, encoded; undefined when not held. */
  blockBytesAt(height: number): Uint8Array | undefined;
  /** The precommits this node saw for the block at `height`. */
  seenCommitAt(height: number): Commit | undefined;
  /**
   * Compact proposals (a block's txs named by id) need the three below; a chain without them
   * has its proposals carry whole blocks.
   * The ids of a block's txs, in block order.
   */
  txIds?(block: B): Uint8Array[];
  /** The bytes of each pending tx of the pool by id; undefined where the pool lacks it. */
  pendingTxs?(ids: Uint8Array[]): Array<Uint8Array | undefined>;
  /** The id of an encoded tx; undefined when the bytes are not a tx. */
  txIdOf?(bytes: Uint8Array): Uint8Array | undefined;
}

/** The evidence pool: checks and holds double-sign evidence until a block carries it. */
export interface EvidencePool {
  readonly height: number;
  /** True when the evidence is valid and new to the pool. */
  addEvidence(ev: DuplicateVoteEvidence): boolean;
}

/** The mempool as tx gossip sees it. */
export interface TxPool {
  on(event: 'pending', listener: (txId: string, bytes?: Uint8Array) => void): unknown;
  off(event: 'pending', listener: (txId: string, bytes?: Uint8Array) => void): unknown;
  /** Admits a tx received from a peer (gossip: false, so it is not passed on again). */
  submitTx(bytes: Uint8Array, opts: { gossip?: boolean }): Promise<string>;
}
