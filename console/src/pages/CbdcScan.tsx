/**
 * The cbdc txs of the chain, newest first, read through the node's public RPC: non-empty
 * blocks page by page (GET /v1/blocks?nonEmpty), the cbdc (and ibc) txs each lists, and each
 * tx's receipt (its events). The contract keeps only today's M0 and no list of wallets, so the
 * M0 chart and an operator's wallet list are rebuilt from these.
 */
import type { Rpc } from '../api.ts';
import { CBDC, type CbdcTx, m0History, type Report } from '../cbdc.ts';
import { useCtx } from '../context.tsx';
import { useAsync } from '../ui.tsx';

/** Contracts whose txs move cbdc money: cbdc itself, and ibc, which calls its packet handlers. */
const SCANNED = new Set([CBDC, 'ibc']);

/** Most cbdc txs a page reads back (the newest; older ones are left out of the chart). */
export const SCAN_LIMIT = 500;

/** Run `fn` over `items`, `n` at a time, keeping their order. */
async function inBatches<T, R>(items: T[], n: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += n) {
    out.push(...(await Promise.all(items.slice(i, i + n).map(fn))));
  }
  return out;
}

/**
 * The cbdc txs at or below `upTo`, newest first, at most `limit`; `complete` when the scan
 * reached genesis without leaving any out.
 */
export async function scanCbdc(
  rpc: Rpc,
  upTo: number,
  limit = SCAN_LIMIT,
): Promise<{ txs: CbdcTx[]; complete: boolean }> {
  const txs: CbdcTx[] = [];
  let before: number | null = upTo + 1;
  while (before !== null && txs.length < limit) {
    const page = await rpc.blocks({ before, limit: 100, nonEmpty: true });
    const blocks = await inBatches(page.blocks, 8, (b) => rpc.block(b.height));
    for (const [i, block] of blocks.entries()) {
      const ids = block.txs.filter((t) => SCANNED.has(t.contract)).map((t) => t.txId);
      const read = await inBatches(ids.reverse(), 8, (id) => rpc.tx(id));
      for (const t of read) {
        if (t.contract !== CBDC && !t.receipt.events.some((e) => e.contract === CBDC)) continue;
        if (txs.length >= limit) return { txs, complete: false };
        txs.push({
          txId: t.txId,
          height: t.height,
          time: page.blocks[i].time,
          method: t.method,
          status: t.receipt.status,
          result: t.receipt.result,
          events: t.receipt.events,
        });
      }
    }
    before = page.next;
  }
  return { txs, complete: before === null };
}

/** The report now and the cbdc txs up to its height, with M0 rebuilt over them. */
export function useCbdcHistory() {
  const { rpc } = useCtx();
  return useAsync(async () => {
    const report = (await rpc.query(CBDC, 'report', null)).result as Report;
    const scan = await scanCbdc(rpc, report.height);
    return { report, ...scan, history: m0History(report, scan.txs, scan.complete) };
  }, [rpc]);
}
