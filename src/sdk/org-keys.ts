/**
 * Member keys of a key-mode chain through a node's RPC: an organization admin registers and
 * revokes its own organization's `client` and `common` keys with the native `org_keys`
 * contract, without a governance vote (txs, waited for), and anyone lists an organization's
 * keys (a query). A registered key may sign txs from the block after the one that registered
 * it. Admin and consensus keys change only by governance (`add_org`). See docs/GOVERNANCE.md.
 */
import { hex } from '../types/hex.ts';
import type { ArchiClient, SubmitOptions } from './client.ts';
import { remoteError } from './errors.ts';
import type { Identity } from './identity.ts';
import type { CommittedAnswer, ReceiptJson } from './types.ts';

/** The native contract of registered member keys. */
export const ORG_KEYS = 'org_keys';

/** Roles `registerKey` may give (admin and consensus keys stay with governance). */
export type OrgKeyRole = 'client' | 'common';

/** A registered key as the chain reports it; `publicKey` is lower-case hex. */
export interface OrgKeyJson {
  org: string;
  name: string;
  role: string;
  publicKey: string;
}

/** The key to register: a name unique in the admin's org, its role, its public key. */
export interface OrgKeyInput {
  name: string;
  /** Default `client`. */
  role?: OrgKeyRole;
  /** Hex (optionally 0x-prefixed) of the uncompressed point, or its bytes. */
  publicKey: string | Uint8Array;
}

/** A committed `register` or `revoke`: the key it added or removed, with the tx and receipt. */
export interface OrgKeyResult {
  txId: string;
  height: number;
  key: OrgKeyJson;
  receipt: ReceiptJson;
}

export interface OrgKeyOptions extends Omit<SubmitOptions, 'wait'> {
  gasLimit?: bigint | number;
}

const keyHex = (k: string | Uint8Array): string => (typeof k === 'string' ? k : hex(k));

async function call(
  client: ArchiClient,
  admin: Identity,
  method: 'register' | 'revoke',
  args: Record<string, unknown>,
  what: string,
  opts: OrgKeyOptions = {},
): Promise<OrgKeyResult> {
  const answer = (await client.send(
    admin,
    { contract: ORG_KEYS, method, args, gasLimit: opts.gasLimit },
    { wait: true, timeoutMs: opts.timeoutMs },
  )) as CommittedAnswer;
  const r = answer.receipt;
  if (r.status !== 'ok') {
    throw remoteError(r.code, `${method} ${what} failed in block ${answer.height}: ${r.message}`);
  }
  return { txId: answer.txId, height: answer.height, key: r.result as OrgKeyJson, receipt: r };
}

/**
 * Register `key` with `admin`'s organization and wait for the commit; the key may sign from
 * the next block. Throws the receipt's ArchiError: TX_FORBIDDEN (admin is not an admin),
 * INVALID_ARGS (a cert-mode chain, a role other than client/common, a bad name or key, a key
 * already registered, a name taken, the org full).
 */
export function registerKey(
  client: ArchiClient,
  admin: Identity,
  key: OrgKeyInput,
  opts?: OrgKeyOptions,
): Promise<OrgKeyResult> {
  const args = { name: key.name, role: key.role ?? 'client', publicKey: keyHex(key.publicKey) };
  return call(client, admin, 'register', args, `${admin.org}/${key.name}`, opts);
}

/**
 * Remove a client or common key from `admin`'s organization and wait for the commit; txs it
 * signs are refused from the next block. NOT_FOUND when no org holds the key, TX_FORBIDDEN
 * when another org does (or `admin` is no admin), INVALID_ARGS for an admin or consensus key.
 */
export function revokeKey(
  client: ArchiClient,
  admin: Identity,
  publicKey: string | Uint8Array,
  opts?: OrgKeyOptions,
): Promise<OrgKeyResult> {
  const pk = keyHex(publicKey);
  return call(client, admin, 'revoke', { publicKey: pk }, `key ${pk.slice(0, 16)}…`, opts);
}

/** The keys registered with `org` in config order (NOT_FOUND for an unknown org). */
export async function listKeys(client: ArchiClient, org: string): Promise<OrgKeyJson[]> {
  return (await client.query(ORG_KEYS, 'list', { org })).result as OrgKeyJson[];
}
