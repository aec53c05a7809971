/**
 * How much a proposer puts into a block. The block must reach the validators and be
 * re-executed by them before their propose timeout fires, so its size is bounded by time,
 * not only by the chain's tx and byte limits. A proposer's own clock bounds the loop that
 * runs txs, but not what follows it (state tree, roots, encoding), and validators run the
 * block slower than the proposer when they are busier (other chains on their node, txs they
 * have not verified yet). So the pacer also learns what a tx has cost on this node, over
 * blocks built and validated, and caps the count to fit the budget at that cost.
 * Which txs a proposer takes is its own choice, so neither bound makes execution
 * nondeterministic: validators run a block whole.
 */

/** The share of the propose timeout a block may take to execute; the rest is for sending it. */
const SHARE = 1 / 3;
/** Blocks smaller than this say little about the cost of a tx (fixed costs dominate). */
const MIN_SAMPLE = 50;
/** The cap never goes below this, so a slow sample cannot starve the chain. */
const MIN_TXS = 100;
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
   * The time budget and the most txs for a block proposed in `round`. Each failed round
   * halves both: a round after the first most often means the last proposal was too slow for
   * the validators, and a block grown to the longer timeout would be slower still, so rounds
   * would spiral (blocks of the 10,000-tx limit, seconds of validation on every node).
   */
  limits(proposeTimeoutMs: number, round: number): { budgetMs: number; maxTxs: number } {
    const budgetMs = (proposeTimeoutMs * SHARE) / 2 ** Math.min(round, 6);
    const maxTxs =
      this.msPerTx > 0
        ? Math.max(MIN_TXS, Math.floor(budgetMs / this.msPerTx))
        : Number.POSITIVE_INFINITY;
    return { budgetMs, maxTxs };
  }
}
