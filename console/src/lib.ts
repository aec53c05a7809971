/**
 * Small pure helpers of the console: no DOM, no React, so lib.test.ts runs them in Node.
 */

/** The noun for `n` things: `one` when n is 1, else `many` (default: `one` + "s"). */
export function noun(n: number, one: string, many = `${one}s`): string {
  return n === 1 ? one : many;
}

/** A count with its noun in the right number: "1 method", "3 methods", "20,000 txs". */
export function plural(n: number, one: string, many?: string): string {
  return `${n.toLocaleString('en-US')} ${noun(n, one, many)}`;
}

/**
 * The newest blocks (of `blocks`, newest first) that together hold `want` txs: the fewest
 * such, or all of them when they hold fewer.
 */
export function newestHolding<T extends { txCount: number }>(blocks: T[], want: number): T[] {
  const out: T[] = [];
  let txs = 0;
  for (const b of blocks) {
    if (txs >= want) break;
    out.push(b);
    txs += b.txCount;
  }
  return out;
}
