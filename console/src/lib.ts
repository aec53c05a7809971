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

/** What scanForTxs found. */
export interface TxScan<B> {
  /** The blocks that hold txs, newest first. */
  blocks: B[];
  /** The lowest height looked at (the scan covered lowest..top); top + 1 when none. */
  lowest: number;
  /** Blocks fetched (requests made). */
  fetched: number;
}

/**
 * Walk back from `top` through the chain until the blocks found hold `want` txs, the genesis
 * block has been looked at, or `maxFetch` blocks have been fetched, `parallel` at a time.
 * A height whose tx count `known` already gives (from the live feed) costs no request when
 * it is 0. Heights are looked at newest first, so the blocks found are the newest with txs.
 */
export async function scanForTxs<B extends { height: number; txs: unknown[] }>(opts: {
  top: number;
  want: number;
  maxFetch: number;
  fetch: (height: number) => Promise<B>;
  known?: (height: number) => number | undefined;
  parallel?: number;
  /** Checked between rounds of requests: true ends the scan early. */
  stopped?: () => boolean;
  /** Called after every round with what was found so far. */
  progress?: (scan: TxScan<B>) => void;
}): Promise<TxScan<B>> {
  const parallel = Math.max(1, opts.parallel ?? 8);
  const scan: TxScan<B> = { blocks: [], lowest: opts.top + 1, fetched: 0 };
  let txs = 0;
  let h = opts.top;
  while (h >= 0 && txs < opts.want && scan.fetched < opts.maxFetch && !opts.stopped?.()) {
    const fetchable: number[] = [];
    let low = scan.lowest;
    while (
      h >= 0 &&
      fetchable.length < parallel &&
      scan.fetched + fetchable.length < opts.maxFetch
    ) {
      if (opts.known?.(h) !== 0) fetchable.push(h);
      low = h;
      h--;
    }
    const got = await Promise.all(fetchable.map((x) => opts.fetch(x)));
    scan.fetched += fetchable.length;
    scan.lowest = low;
    for (const b of got) {
      if (b.txs.length === 0) continue;
      scan.blocks.push(b);
      txs += b.txs.length;
    }
    scan.blocks.sort((a, b) => b.height - a.height);
    opts.progress?.({ ...scan, blocks: [...scan.blocks] });
  }
  return scan;
}
