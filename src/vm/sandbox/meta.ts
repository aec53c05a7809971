/**
 * User contracts as stored in state under `contract_manage`: metadata at `contract/<name>`
 * and code (the bundled JS module) at `code/<codeHash>`. Values are canonical JSON.
 */
import type { ChainConfig } from '../../codec/index.ts';
import { getProfile } from '../../crypto/profile.ts';
import { peekState, type StateReader, stateKey } from '../../state/overlay.ts';
import { hex } from '../../types/hex.ts';
import { utf8Bytes, utf8Text } from '../../types/json.ts';
import type { SenderInfo } from '../context.ts';

export const MANAGE = 'contract_manage';

export type ContractStatus = 'active' | 'frozen' | 'revoked';

export interface ContractMeta {
  name: string;
  version: number;
  codeHash: string;
  codeSize: number;
  status: ContractStatus;
  methods: string[];
  deployer: { org: string; id: string };
  deployedAt: number;
  updatedAt: number;
}

export const metaKey = (name: string): string => `contract/${name}`;
export const codeKey = (hash: string): string => `code/${hash}`;

/** JSON with object keys sorted at every level (deterministic bytes for state). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => {
    if (typeof v === 'bigint') return v.toString();
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) out[k] = v[k];
    return out;
  });
}

/** Canonical JSON bytes of a value. */
export function canonicalBytes(value: unknown): Uint8Array {
  return utf8Bytes(canonicalJson(value));
}

/** Metadata of a user contract from full state (raw reader, nothing recorded or charged). */
export function readMeta(state: StateReader, name: string): ContractMeta | undefined {
  const v = state.get(stateKey(MANAGE, metaKey(name)));
  return v === undefined ? undefined : (JSON.parse(utf8Text(v)) as ContractMeta);
}

/** Hash of contract code under the chain's crypto profile (hex). */
export function codeHash(crypto: string, code: string): string {
  return hex(getProfile(crypto).hash(utf8Bytes(code)));
}

/** The account id of a contract: like a key's address, from the hash of `contract:<name>`. */
export function contractAddress(config: ChainConfig, name: string): string {
  return hex(
    getProfile(config.crypto)
      .hash(utf8Bytes(`contract:${name}`))
      .slice(0, 20),
  );
}

/** Who a contract is when it calls another contract. */
export function contractSender(config: ChainConfig, name: string): SenderInfo {
  return { org: '', role: 'common', id: contractAddress(config, name), name: `contract:${name}` };
}

const codeCache = new Map<string, string>();
const CODE_CACHE_ENTRIES = 256;

/** Code by hash (content-addressed, so caching it is safe); undefined when absent. */
export function loadCode(state: StateReader, hash: string): string | undefined {
  const hit = codeCache.get(hash);
  if (hit !== undefined) return hit;
  // Not an access of the tx: whether the cache had it differs per node, and code under its hash
  // never changes (the call read the contract's metadata naming it).
  const v = peekState(state, stateKey(MANAGE, codeKey(hash)));
  if (v === undefined) return undefined;
  const code = utf8Text(v);
  if (codeCache.size >= CODE_CACHE_ENTRIES) codeCache.delete(codeCache.keys().next().value!);
  codeCache.set(hash, code);
  return code;
}
