/**
 * The rules of city identifier codes (CIDIS), shared by the `idcode` contract
 * (contracts/apps/idcode.ts bundles this file), the CLI and the console, so all three agree
 * on what a code is and on what a code's stored records say about it. Import-free and
 * deterministic: it runs inside the contract sandbox too.
 *
 * A code is `MA.<country>.<region>(.<segment>)*`: `MA` (the ISO/IEC 15459 issuing agency
 * code), a 3-digit country (156 is China), a 4-digit region (1301 is Shijiazhuang), then at
 * most 8 segments of 1..16 characters out of 0-9 and A-Z. `MA.<country>` alone is a root,
 * whose owner only governance sets.
 */

/** Stable error codes; a contract revert message starts with one of them and ": ". */
export const IDCODE_ERRORS = [
  'IDCODE_BAD_FORMAT',
  'IDCODE_INVALID_ARGS',
  'IDCODE_UNKNOWN_PARENT',
  'IDCODE_NOT_FOUND',
  'IDCODE_NOT_OWNER',
  'IDCODE_EXISTS',
  'IDCODE_REVOKED',
  'IDCODE_FORBIDDEN',
  'IDCODE_UNKNOWN_ORG',
  'IDCODE_NOT_DELEGATED',
] as const;
export type IdcodeError = (typeof IDCODE_ERRORS)[number];

/** Most segments below the region. */
export const MAX_SEGMENTS = 8;
/** Longest name, in characters. */
export const MAX_NAME = 128;
/** Longest metadata, in characters of its JSON text. */
export const MAX_METADATA = 2048;
/** Children and history entries per page. */
export const PAGE_SIZE = 100;
/** Most rows a search returns. */
export const MAX_SEARCH = 100;

const COUNTRY = /^[0-9]{3}$/;
const REGION = /^[0-9]{4}$/;
const SEGMENT = /^[0-9A-Z]{1,16}$/;
/** Kinds are free words (city, department, facility, device, ...). */
export const KIND = /^[a-z][a-z0-9_-]{0,31}$/;
/** Characters a search prefix may hold. */
export const PREFIX = /^[0-9A-Z.]{0,160}$/;

/** What the format says of a well-formed code: its parent (null for a root) and depth. */
export interface ParsedCode {
  code: string;
  /** `MA.156.1301` for `MA.156.1301.02`; null for a root. */
  parent: string | null;
  /** 0 for a root, 1 for a region, 2+ below. */
  depth: number;
}

/** The format in one line, for error messages. */
export const FORMAT_HINT =
  'MA.<country: 3 digits>.<region: 4 digits>(.<segment>)*, segments 1-16 of 0-9 A-Z, at most 8';

/** `code` parsed, or null when it is not a well-formed code. */
export function parseCode(code: unknown): ParsedCode | null {
  if (typeof code !== 'string' || code.length > 160) return null;
  const parts = code.split('.');
  if (parts[0] !== 'MA' || parts.length < 2 || !COUNTRY.test(parts[1])) return null;
  if (parts.length === 2) return { code, parent: null, depth: 0 };
  if (!REGION.test(parts[2]) || parts.length > 3 + MAX_SEGMENTS) return null;
  for (let i = 3; i < parts.length; i++) if (!SEGMENT.test(parts[i])) return null;
  return { code, parent: parts.slice(0, -1).join('.'), depth: parts.length - 2 };
}

/** Codes from `code`'s parent up to its root, nearest first ([] for a root). */
export function ancestorsOf(code: string): string[] {
  const parts = code.split('.');
  const out: string[] = [];
  for (let n = parts.length - 1; n >= 2; n--) out.push(parts.slice(0, n).join('.'));
  return out;
}

/** A code as the contract stores it under `code/<code>`. */
export interface CodeRecord {
  code: string;
  parent: string | null;
  name: string;
  kind: string;
  /** The organization that holds the code. */
  owner: string;
  /** The organization the owner delegated issuing in this subtree to, or null. */
  delegate: string | null;
  /** The organization that issued it (the owner, a delegate, or governance for a root). */
  issuer: string;
  metadata: { [key: string]: unknown } | null;
  status: 'active' | 'revoked';
  createdAt: number;
  updatedAt: number;
  revokedAt: number | null;
  /** Children issued so far (their index runs 0..children-1). */
  children: number;
  /** History entries so far. */
  history: number;
}

/** A code as resolve answers it: the record with what its ancestors make of it. */
export interface CodeView extends Omit<CodeRecord, 'status'> {
  /** revoked when it or an ancestor is. */
  status: 'active' | 'revoked';
  /** The revoked ancestor (or the code itself) that makes it revoked, else null. */
  revokedVia: string | null;
  /** Organizations that may issue its children now: the owner, then delegates. */
  issuers: string[];
}

/**
 * The organizations that may issue children of `lineage[0]` (lineage: the code, then its
 * ancestors up to the root): its owner, and the delegate of it or of any ancestor held by the
 * same owner (a delegation covers the owner's subtree down to where another organization
 * holds a code).
 */
export function issuersOf(lineage: CodeRecord[]): string[] {
  const owner = lineage[0].owner;
  const out = [owner];
  for (const rec of lineage) {
    if (rec.owner !== owner) break;
    if (rec.delegate !== null && !out.includes(rec.delegate)) out.push(rec.delegate);
  }
  return out;
}

/** The first revoked code of a lineage (the code itself first), or null. */
export function revokedIn(lineage: CodeRecord[]): string | null {
  for (const rec of lineage) if (rec.status === 'revoked') return rec.code;
  return null;
}

/** What resolve answers for a lineage: the code, then its ancestors up to the root. */
export function viewOf(lineage: CodeRecord[]): CodeView {
  const revokedVia = revokedIn(lineage);
  return {
    ...lineage[0],
    status: revokedVia === null ? 'active' : 'revoked',
    revokedVia,
    issuers: revokedVia === null ? issuersOf(lineage) : [],
  };
}

/** State keys (under the contract) of a code's record, child index and history. */
export const keys = {
  code: (code: string): string => `code/${code}`,
  root: (code: string): string => `root/${code}`,
  child: (parent: string, n: number): string => `child/${parent}/${pad(n)}`,
  hist: (code: string, n: number): string => `hist/${code}/${pad(n)}`,
  /** The prefix of page `page` (PAGE_SIZE entries) of a numbered index. */
  page: (base: 'child' | 'hist', code: string, page: number): string =>
    `${base}/${code}/${String(page).padStart(6, '0')}`,
};

/** 8 digits: with 6-digit page prefixes, a page is exactly PAGE_SIZE (100) entries. */
function pad(n: number): string {
  return String(n).padStart(8, '0');
}

/**
 * The stable code in a contract revert message `IDCODE_...: text`, also when a caller put
 * context before it (`approve proposal 2 failed in block 95: IDCODE_...: text`, kept in
 * `text`); undefined when there is none.
 */
export function idcodeErrorOf(message: string): { code: IdcodeError; text: string } | undefined {
  const m = /^((?:[\s\S]*?: )?)(IDCODE_[A-Z_]+): ([\s\S]*)$/.exec(message);
  if (!m || !(IDCODE_ERRORS as readonly string[]).includes(m[2])) return undefined;
  return { code: m[2] as IdcodeError, text: `${m[1]}${m[3]}` };
}
