/**
 * How much a proposer puts into a block. The block must reach the validators and be
 * re-executed by them before their propose timeout fires, so its size is bounded by time,
 * not only by the chain's tx and byte limits. In round 0 the proposer's own clock bounds the
 * loop that runs txs. That loop is not all of it (state tree, roots and encoding follow), and
 * validators run the block slower than the proposer when they are busier (other chains on
 * their node, txs they have not verified yet); when that makes a round fail, the next
 * proposer would build to a longer timeout from a fuller pool, and rounds would spiral
 * (blocks of the 10,000-tx limit, seconds of validation on every node). So the pacer learns
 * what a tx has cost on this node, over blocks built and validated, and from round 1 on caps
 * the count to fit the budget at that cost, halving both per failed round. Round 0 gets a
 * looser cap (ROUND0_SLACK): with only the time bound, a proposer with a backlog (two chains
 * on every node) built 10,000-tx blocks in 2.2 s (the tx loop stopped in time, the tree and
 * roots after it did not) that validators took 2.5 s to run, and the round failed every time
 * (debug logs of bench:bft --chains 2); capping it at the plain budget made blocks smaller
 * and cost throughput.
 * Which txs a proposer takes is its own choice, so neither bound makes execution
 * nondeterministic: validators run a block whole.
 */

/** The share of the propose timeout a block may take to execute; the rest is for sending it. */
const SHARE = 1 / 3;
/** Blocks smaller than this say little about the cost of a tx (fixed costs dominate). */
const MIN_SAMPLE = 50;
/** The cap never goes below this, so a slow sample cannot starve the chain. */
const MIN_TXS = 100;
/** Round 0's cap allows this much more than the budget at the learned cost. */
const ROUND0_SLACK = 1.25;
/** Weight of the newest sample in the running cost. */
const ALPHA = 0.3;

export class BlockPacer {
  private msPerTx = 0;

  /** A block of `txs` txs took `ms` to build or validate on this node. */
  observe(txs: number, ms: number): void {
    if (txs < MIN_SAMPLE || !(ms >= 0)) return;
    const x = ms / txs;
    this.msPerTx = this.msPerTx === 0 ? x : this.msPerTx * (1 - ALPHA) + x * ALPHA;
  }

  /**
   * The time budget and the most txs for a block proposed in `round`: the count that fits the
   * budget at the learned cost (ROUND0_SLACK times that in round 0), the budget halved per
   * failed round; before any sample, the time budget alone.
   */
  limits(proposeTimeoutMs: number, round: number): { budgetMs: number; maxTxs: number } {
    const budgetMs = (proposeTimeoutMs * SHARE) / 2 ** Math.min(round, 6);
    const maxTxs =
      this.msPerTx > 0
        ? Math.max(
            MIN_TXS,
            Math.floor(((round === 0 ? ROUND0_SLACK : 1) * budgetMs) / this.msPerTx),
          )
        : Number.POSITIVE_INFINITY;
    return { budgetMs, maxTxs };
  }
}
