/**
 * The trace verification page without React: an item's view rebuilt from the proven records
 * its `item` query read (src/apps/trace/rules.ts, the rules the contract itself runs), the
 * verdict words, and the console server's public verification endpoint.
 */
import {
  type ItemView,
  ID,
  itemFromRecords,
  type Reveal,
  type Recall,
  verdictOf,
} from '../../src/apps/trace/rules.ts';
import { ApiError } from './api.ts';
import type { ReadJson } from './chain.ts';
import { fromHex } from './chain.ts';

export { type ItemView, verdictOf };

/** The contract the browser reads. */
export const TRACE = 'trace';

/** Whether `text` can be a serial (so the page asks the chain about it). */
export function isSerial(text: string): boolean {
  return ID.test(text);
}

/** What the proven reads say about `serial`: its view, or null when proven unregistered. */
export type ProvenItem = { ok: true; item: ItemView | null } | { ok: false; reason: string };

/**
 * Rebuild `serial`'s view from the reads of its item query and compare it with the node's
 * `result`. Never throws: a read missing from the proof, a malformed record or a result that
 * differs is `{ ok: false, reason }`. The reads themselves are checked by verifyReads.
 */
export function provenItem(serial: string, reads: ReadJson[], result: unknown): ProvenItem {
  const values = new Map(reads.map((r) => [r.key, r.value]));
  try {
    const item = itemFromRecords(serial, (k) => {
      const key = `${TRACE}/${k}`;
      if (!values.has(key)) throw new Error(`the proof does not cover ${key}`);
      const v = values.get(key);
      return v ? JSON.parse(new TextDecoder().decode(fromHex(v))) : null;
    });
    if (canonical(item) !== canonical(result)) {
      return {
        ok: false,
        reason: `the node's answer differs from the proven records of ${serial}`,
      };
    }
    return { ok: true, item };
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
}

/** What the verification endpoint answers (src/apps/trace/public-verify.ts). */
export type VerifyOutcome =
  | {
      ok: true;
      height: number;
      txId: string;
      verdict: 'authentic' | 'counterfeit';
      first: Reveal;
      repeats: number;
      recalled: Recall | null;
      product: string;
      maker: string;
    }
  | { ok: false; error: string; message: string; height: number; txId: string };

/** Reveal `code` of `serial` through the console server (it signs with its configured identity). */
export async function postVerify(body: {
  serial: string;
  code: string;
  place?: string;
  chain?: string;
}): Promise<VerifyOutcome> {
  const res = await fetch('/console-api/trace/verify', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  });
  const answer = await res.json().catch(() => null);
  if (!res.ok) {
    const err = answer?.error;
    throw new ApiError(
      err?.code ?? `HTTP_${res.status}`,
      err?.message ?? res.statusText,
      res.status,
    );
  }
  return answer as VerifyOutcome;
}

/** One sentence for a verification outcome, and whether it is good news. */
export function outcomeText(o: VerifyOutcome): { good: boolean; title: string; detail: string } {
  if (!o.ok) {
    if (o.error === 'TRACE_NOT_AUTHENTIC') {
      return {
        good: false,
        title: 'Not authentic',
        detail: 'This code is not the one the maker committed to for this serial.',
      };
    }
    return { good: false, title: o.error, detail: o.message };
  }
  const first = `${o.first.place}, ${new Date(o.first.time).toISOString()} (block ${o.first.height})`;
  if (o.verdict === 'counterfeit') {
    return {
      good: false,
      title: 'Likely counterfeit',
      detail: `This code was already verified: first at ${first}. Verified ${o.repeats + 1} times in all.`,
    };
  }
  if (o.recalled) {
    return {
      good: false,
      title: 'Authentic, but recalled',
      detail: `Genuine ${o.product} by ${o.maker}, but its batch was recalled: ${o.recalled.reason}.`,
    };
  }
  return {
    good: true,
    title: 'Authentic',
    detail: `Genuine ${o.product} by ${o.maker}: first verification, recorded at ${first}.`,
  };
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v) =>
    v === null || typeof v !== 'object' || Array.isArray(v)
      ? v
      : Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, v[k]]),
        ),
  );
}
