/**
 * The dependency graph of a block's txs, made from what each tx read, listed and wrote.
 *
 * A tx depends on an earlier one when their accesses conflict: it reads or writes a key the
 * earlier one wrote, writes a key the earlier one read, or lists a prefix the earlier one wrote
 * under (or writes under a prefix the earlier one listed). Only the edges that are not already
 * implied through the key's last writer are listed, so a hot account gives a chain, not a
 * clique. The graph is a pure function of the serial execution's accesses: the proposer
 * records it, and a validator that ran the txs in parallel along it must get exactly the same
 * graph back from its own run, which holds exactly when its run was equivalent to the serial
 * one (every conflicting pair ran in block order).
 */
import { create, decode, encode, type TxDag, TxDagSchema } from '../codec/index.ts';
import type { TxAccess } from '../state/overlay.ts';
import { ArchiError } from '../types/errors.ts';

/** For each tx of a block, the indexes of the earlier txs it depends on, ascending. */
export type TxDeps = number[][];

/** The dependency graph of txs whose accesses are `accesses`, in block order. */
export function dependencyGraph(accesses: TxAccess[]): TxDeps {
  const lastWriter = new Map<string, number>();
  // Readers of a key since its last write: a later writer of the key must wait for them.
  const readersSince = new Map<string, number[]>();
  const listers: Array<{ prefix: string; tx: number }> = [];
  return accesses.map((a, j) => {
    const deps = new Set<number>();
    for (const k of a.reads) {
      const w = lastWriter.get(k);
      if (w !== undefined) deps.add(w);
    }
    for (const p of a.ranges) {
      for (const [k, w] of lastWriter) if (k.startsWith(p)) deps.add(w);
    }
    for (const k of a.writes) {
      const w = lastWriter.get(k);
      if (w !== undefined) deps.add(w);
      for (const r of readersSince.get(k) ?? []) deps.add(r);
      // A lister before the key's last writer is already ordered through that writer.
      for (const l of listers) if (l.tx > (w ?? -1) && k.startsWith(l.prefix)) deps.add(l.tx);
    }
    for (const k of a.writes) {
      lastWriter.set(k, j);
      readersSince.delete(k);
    }
    const written = new Set(a.writes);
    for (const k of a.reads) {
      if (written.has(k)) continue;
      const readers = readersSince.get(k);
      if (readers) readers.push(j);
      else readersSince.set(k, [j]);
    }
    for (const prefix of a.ranges) listers.push({ prefix, tx: j });
    return [...deps].sort((x, y) => x - y);
  });
}

/** The first tx whose dependencies differ between `got` (execution) and `claimed` (the block), described. */
export function graphMismatch(got: TxDeps, claimed: TxDeps): string | undefined {
  if (got.length !== claimed.length)
    return `the graph lists ${claimed.length} txs, the block ran ${got.length}`;
  for (let i = 0; i < got.length; i++) {
    const g = got[i];
    const c = claimed[i];
    if (g.length !== c.length || g.some((x, k) => x !== c[k])) {
      return `tx ${i} depends on [${g.join(', ')}], the block says [${c.join(', ')}]`;
    }
  }
  return undefined;
}

/** The wire form of a graph (a TxDag message). */
export function encodeGraph(deps: TxDeps): Uint8Array {
  const counts: number[] = [];
  const distances: number[] = [];
  deps.forEach((d, i) => {
    counts.push(d.length);
    for (const j of d) distances.push(i - j);
  });
  return encode(TxDagSchema, create(TxDagSchema, { counts, distances }));
}

/**
 * Decode a block's graph of `txCount` txs; throws BLOCK_INVALID unless every tx lists distinct
 * earlier txs in ascending order (so one graph has one encoding and no cycle can be written).
 */
export function decodeGraph(bytes: Uint8Array, txCount: number): TxDeps {
  const bad = (why: string): never => {
    throw new ArchiError('BLOCK_INVALID', `tx dependency graph: ${why}`);
  };
  let dag: TxDag;
  try {
    dag = decode(TxDagSchema, bytes, 'BAD_REQUEST');
  } catch {
    return bad('not a TxDag message');
  }
  if (dag.counts.length !== txCount) bad(`${dag.counts.length} entries for ${txCount} txs`);
  const out: TxDeps = [];
  let at = 0;
  for (let i = 0; i < txCount; i++) {
    const n = dag.counts[i];
    if (n > i || at + n > dag.distances.length) bad(`tx ${i} lists ${n} dependencies`);
    const deps: number[] = [];
    for (let k = 0; k < n; k++) {
      const d = dag.distances[at++];
      const j = i - d;
      if (d < 1 || j < 0) bad(`tx ${i} depends on a tx that is not earlier`);
      if (deps.length > 0 && j <= deps[deps.length - 1])
        bad(`tx ${i} lists its dependencies out of order`);
      deps.push(j);
    }
    out.push(deps);
  }
  if (at !== dag.distances.length) bad('trailing distances');
  return out;
}
