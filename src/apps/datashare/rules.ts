/**
 * The rules of the `datashare` app shared by its contract (contracts/apps/datashare.ts bundles
 * this file), the CLI and the console: state keys, record shapes, error codes, and when a
 * grant is live. Import-free and deterministic: it runs inside the contract sandbox too.
 */

/** Stable error codes; a contract revert message starts with one of them and ": ". */
export const DATA_ERRORS = [
  'DATA_INVALID_ARGS',
  'DATA_FORBIDDEN',
  'DATA_UNKNOWN',
  'DATA_EXISTS',
  'DATA_NOT_OWNER',
  'DATA_UNKNOWN_ORG',
  'DATA_NOT_GRANTED',
  'DATA_REVOKED',
  'DATA_EXPIRED',
  'DATA_NO_KEY',
  'DATA_NOT_STORED',
  'DATA_HASH_MISMATCH',
] as const;
export type DataError = (typeof DATA_ERRORS)[number];

/** The contract's name on chain. */
export const DATA_CONTRACT = 'datashare';
/** Datasets and audit entries per page of a listing. */
export const PAGE_SIZE = 100;
/** Longest schema text, in characters. */
export const MAX_SCHEMA = 4096;
/** Longest terms text, in characters. */
export const MAX_TERMS = 2048;
/** Most users one grant wraps the key to. */
export const MAX_WRAPS = 64;
/** Longest sealed key (base64 of an ephemeral point, nonce/IV, a 32-byte key and a tag). */
export const MAX_SEALED = 512;
/** Longest enrolled certificate, in hex characters of its DER. */
export const MAX_CERT_HEX = 8192;

const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const HEX_32 = /^[0-9a-f]{64}$/;
const USER = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Whether `v` is a dataset name: 1..64 of a-z 0-9 . _ -, starting with a letter or digit. */
export function isDatasetName(v: unknown): v is string {
  return typeof v === 'string' && NAME.test(v);
}

/** Whether `v` is a 32-byte hash in lower-case hex. */
export function isHash(v: unknown): v is string {
  return typeof v === 'string' && HEX_32.test(v);
}

/** Whether `v` is a member's name (a certificate CN or a registered key's name). */
export function isUserName(v: unknown): v is string {
  return typeof v === 'string' && USER.test(v);
}

/** Whether `v` is a sealed key as src/apps/seal.ts writes it (base64, bounded). */
export function isSealed(v: unknown): v is string {
  return typeof v === 'string' && v.length <= MAX_SEALED && v.length >= 96 && BASE64.test(v);
}

/** The bulk cipher and hash a crypto profile uses for datasets. */
export function suiteOf(crypto: string): { cipher: string; hash: string } {
  return crypto === 'gm'
    ? { cipher: 'SM4-CTR+HMAC-SM3', hash: 'SM3' }
    : { cipher: 'AES-256-GCM', hash: 'SHA-256' };
}

/** A dataset as stored under `ds/<name>`. */
export interface DatasetRecord {
  name: string;
  /** The publishing organization: only it grants, revokes and re-publishes. */
  owner: string;
  /** The member who published (this version). */
  publisher: string;
  /** Key version: 1 at publish, +1 at each re-publish under a new key. */
  version: number;
  /** Plaintext size in bytes. */
  size: number;
  /** Hash of the plaintext (checked after decryption). */
  plainHash: string;
  /** Hash of the ciphertext: its address in the content-addressed store. */
  cipherHash: string;
  cipherSize: number;
  /** `AES-256-GCM` or `SM4-CTR+HMAC-SM3`. */
  cipher: string;
  /** `SHA-256` or `SM3`: of both hashes. */
  hash: string;
  schema: string;
  terms: string;
  /** The data key sealed to the publisher's own key, so it can fetch from anywhere. */
  ownerKey: string;
  /** Index in publish order (the `dsn/` listing). */
  n: number;
  /** Grants recorded so far (any state). */
  grants: number;
  /** Audit entries so far (the `audit/<name>/` log). */
  audits: number;
  createdAt: number;
  updatedAt: number;
  /** Block time of the latest publish. */
  time: number;
}

/** A grant as stored under `grant/<name>/<org>`: one per grantee organization. */
export interface GrantRecord {
  dataset: string;
  org: string;
  /** The data key sealed to each user of `org` the grant covers (user name -> sealed). */
  keys: { [user: string]: string };
  /** Block time (ms) from which it no longer opens; null: no end. */
  until: number | null;
  status: 'live' | 'revoked';
  /** The dataset's key version the sealed keys open. */
  version: number;
  grantedBy: string;
  grantedAt: number;
  revokedAt: number | null;
  revokedBy: string | null;
}

/** A grant as listings show it: the sealed keys left out, the state judged at a block time. */
export interface GrantView {
  dataset: string;
  org: string;
  users: string[];
  until: number | null;
  state: 'live' | 'revoked' | 'expired';
  version: number;
  grantedBy: string;
  grantedAt: number;
  revokedAt: number | null;
  revokedBy: string | null;
}

/** One entry of a dataset's audit trail, under `audit/<name>/<seq>`. */
export interface AuditEntry {
  seq: number;
  action: 'publish' | 'republish' | 'grant' | 'revoke' | 'fetch';
  /** The acting organization and member. */
  org: string;
  user: string;
  /** The acting member's address. */
  id: string;
  /** The grantee organization for grant and revoke; null otherwise. */
  grantee: string | null;
  version: number;
  height: number;
  time: number;
  txId: string;
}

/** A member's certificate enrolled under `member/<org>/<user>` (cert chains). */
export interface MemberRecord {
  org: string;
  user: string;
  /** The enrolling signer's address: the certificate's key must hash to it. */
  id: string;
  /** The certificate, DER in hex. */
  cert: string;
  height: number;
}

/** The state of a grant at block time `now`. */
export function grantState(g: GrantRecord, now: number): 'live' | 'revoked' | 'expired' {
  if (g.status === 'revoked') return 'revoked';
  if (g.until !== null && now >= g.until) return 'expired';
  return 'live';
}

/** A grant as listings show it at block time `now`. */
export function grantView(g: GrantRecord, now: number): GrantView {
  return {
    dataset: g.dataset,
    org: g.org,
    users: Object.keys(g.keys).sort(),
    until: g.until,
    state: grantState(g, now),
    version: g.version,
    grantedBy: g.grantedBy,
    grantedAt: g.grantedAt,
    revokedAt: g.revokedAt,
    revokedBy: g.revokedBy,
  };
}

/** State keys, under the contract's own prefix. */
export const keys = {
  dataset: (name: string) => `ds/${name}`,
  datasetAt: (n: number) => `dsn/${String(n).padStart(8, '0')}`,
  grant: (name: string, org: string) => `grant/${name}/${org}`,
  grants: (name: string) => `grant/${name}/`,
  audit: (name: string, seq: number) => `audit/${name}/${String(seq).padStart(10, '0')}`,
  member: (org: string, user: string) => `member/${org}/${user}`,
  members: (org: string) => `member/${org}/`,
  meta: 'meta',
};

/** Counters kept under `meta`. */
export interface Meta {
  datasets: number;
  fetches: number;
}

/** The stable DATA_* code inside a message (a contract revert), with the rest of the text. */
export function dataErrorOf(message: string): { code: DataError; text: string } | undefined {
  const m = /^((?:[\s\S]*?: )?)(DATA_[A-Z_]+): ([\s\S]*)$/.exec(message);
  if (!m || !(DATA_ERRORS as readonly string[]).includes(m[2])) return undefined;
  return { code: m[2] as DataError, text: `${m[1]}${m[3]}` };
}
