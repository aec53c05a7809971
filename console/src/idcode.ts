/**
 * The idcode code browser without React: a code's view rebuilt from the proven records its
 * resolve query read (src/apps/idcode/rules.ts, the rules the contract itself runs), so the
 * page shows what the proofs say rather than what the node computed.
 */
import {
  ancestorsOf,
  type CodeRecord,
  type CodeView,
  keys,
  parseCode,
  viewOf,
} from '../../src/apps/idcode/rules.ts';
import type { ReadJson } from './chain.ts';
import { fromHex } from './chain.ts';

export { parseCode, type CodeView };

/** The contract the browser reads. */
export const IDCODE = 'idcode';

/** What the proven reads say about `code`: its view, or null when proven not issued. */
export type ProvenView = { ok: true; view: CodeView | null } | { ok: false; reason: string };

/**
 * Rebuild `code`'s view from the reads of its resolve query and compare it with the node's
 * `result`. Never throws: a read missing from the proof, a malformed record or a result that
 * differs is `{ ok: false, reason }`. The reads themselves are checked by verifyReads.
 */
export function provenView(code: string, reads: ReadJson[], result: unknown): ProvenView {
  const values = new Map(reads.map((r) => [r.key, r.value]));
  const recordOf = (c: string): CodeRecord | null => {
    const key = `${IDCODE}/${keys.code(c)}`;
    if (!values.has(key)) throw new Error(`the proof does not cover ${key}`);
    const v = values.get(key);
    return v ? (JSON.parse(new TextDecoder().decode(fromHex(v))) as CodeRecord) : null;
  };
  try {
    const own = recordOf(code);
    let view: CodeView | null = null;
    if (own) {
      const lineage = [own];
      for (const a of ancestorsOf(code)) {
        const rec = recordOf(a);
        if (!rec) throw new Error(`${code} is stored without its ancestor ${a}`);
        lineage.push(rec);
      }
      view = viewOf(lineage);
    }
    if (canonical(view) !== canonical(result)) {
      return { ok: false, reason: `the node's answer differs from the proven records of ${code}` };
    }
    return { ok: true, view };
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
}

/** Whether a search box's text is a code to resolve (else a prefix to search by). */
export function isCode(text: string): boolean {
  return parseCode(text.trim()) !== null;
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
