/**
 * IoT readings an event refers to, resolved against the iot app: the reading from the local
 * ingest store (DIR/iot/<chain>, src/apps/iot/store.ts) and its batch's anchor as the chain
 * records it now (the iot contract's `batch`), so a timeline says which device measured what,
 * and when the chain anchored it. Without a local store a reading stays a bare reference.
 */
import { existsSync } from 'node:fs';
import type { ArchiClient } from '../../sdk/client.ts';
import { ReadingStore, storePath } from '../iot/store.ts';
import { type AnchorRecord, IOT_CONTRACT } from '../iot/rules.ts';

/** What is known of a referenced reading. */
export interface ResolvedReading {
  id: string;
  /** `anchored`: in the store and its batch root is the one on chain; `stored`: not anchored yet. */
  status: 'anchored' | 'stored' | 'unknown';
  device?: string;
  seq?: number;
  ts?: number;
  data?: unknown;
  anchor?: { seq: number; height: number; time: number; root: string };
  /** Why the anchor is not confirmed, when the store names one the chain does not hold. */
  problem?: string;
}

/** Resolve reading ids against the iot store of `chainId` in `dir` and the chain's anchors. */
export async function resolveReadings(
  client: ArchiClient,
  dir: string,
  chainId: string,
  ids: string[],
): Promise<ResolvedReading[]> {
  if (ids.length === 0) return [];
  const path = storePath(dir, chainId);
  if (!existsSync(path)) return ids.map((id) => ({ id, status: 'unknown' }));
  const store = ReadingStore.open(path);
  try {
    const out: ResolvedReading[] = [];
    for (const id of ids) {
      const s = store.reading(id);
      if (!s) {
        out.push({ id, status: 'unknown' });
        continue;
      }
      const base = { id, device: s.r.device, seq: s.r.seq, ts: s.r.ts, data: s.r.data };
      const local = store.batch(s.batch)?.anchor;
      if (!local) {
        out.push({ ...base, status: 'stored' });
        continue;
      }
      const onChain = (await client.query(IOT_CONTRACT, 'batch', { seq: local.seq }))
        .result as AnchorRecord | null;
      if (!onChain || onChain.root !== local.root) {
        out.push({
          ...base,
          status: 'stored',
          problem: `the chain holds no iot batch ${local.seq} with root ${local.root}`,
        });
        continue;
      }
      const anchor = {
        seq: onChain.seq,
        height: onChain.height,
        time: onChain.time,
        root: onChain.root,
      };
      out.push({ ...base, status: 'anchored', anchor });
    }
    return out;
  } finally {
    await store.close();
  }
}
