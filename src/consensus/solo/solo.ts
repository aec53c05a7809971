/**
 * Solo consensus for development: the single validator cuts a block whenever txs are
 * pending and the block interval has passed, signs its own precommit and commits.
 */
import { type Commit, CommitSchema, create, VoteType } from '../../codec/index.ts';
import type { Signer } from '../../crypto/profile.ts';
import { address } from '../../crypto/profile.ts';
import { unhex } from '../../types/hex.ts';
import { voteBodyBytes } from '../../types/vote.ts';
import type { ConsensusChain, TxPool } from '../chain-api.ts';
import type { Clock, Timer } from '../clock.ts';

/** What the solo engine needs of its chain: the consensus view and the pending pool. */
export type SoloChain = ConsensusChain & TxPool & { readonly mempool: { readonly size: number } };

export interface SoloLogger {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export class SoloEngine {
  private timer: Timer | undefined;
  private stopped = false;
  private lastBlockAt = 0;
  private lastCommit: Commit | undefined;
  private readonly validator: Uint8Array;

  constructor(
    private readonly chain: SoloChain,
    private readonly signer: Signer,
    private readonly log: SoloLogger,
    private readonly clock: Clock,
  ) {
    this.validator = unhex(address(chain.profile, signer.publicKey));
    this.lastCommit = chain.seenCommitAt(chain.height);
  }

  /** Start producing blocks. */
  start(): void {
    this.stopped = false;
    this.chain.on('pending', this.onPending);
  }

  /** Stop producing blocks; a block being built finishes first (building is synchronous). */
  stop(): void {
    this.stopped = true;
    this.chain.off('pending', this.onPending);
    this.timer?.cancel();
    this.timer = undefined;
  }

  private readonly onPending = (): void => {
    if (this.timer || this.stopped) return;
    const interval = this.chain.config.params?.blockIntervalMs ?? 200;
    const wait = Math.max(0, this.lastBlockAt + interval - this.clock.now());
    this.timer = this.clock.setTimeout(this.produce, wait);
  };

  private readonly produce = (): void => {
    this.timer = undefined;
    if (this.stopped || this.chain.mempool.size === 0) return;
    try {
      // Block time must grow strictly even if the clock steps back.
      const time = Math.max(this.clock.now(), this.chain.latestHeader.time + 1);
      const proposed = this.chain.proposeBlock(time, this.validator, this.lastCommit);
      const signature = this.signer.sign(
        voteBodyBytes(
          this.chain.chainId,
          VoteType.PRECOMMIT,
          proposed.height,
          0,
          proposed.blockHash,
          time,
          this.validator,
        ),
      );
      const commit = create(CommitSchema, {
        height: BigInt(proposed.height),
        round: 0,
        blockHash: proposed.blockHash,
        signatures: [{ validator: this.validator, timestamp: BigInt(time), signature }],
      });
      this.chain.commitBlock(proposed, commit);
      this.lastCommit = commit;
      this.lastBlockAt = this.clock.now();
    } catch (e) {
      this.log.error({ err: e }, 'block production failed');
      this.lastBlockAt = this.clock.now();
    }
    if (this.chain.mempool.size > 0) this.onPending();
  };
}
