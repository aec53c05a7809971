/**
 * `DIR/evm.json`: the EVM bridges a network directory deployed (`archi evm deploy`), one per
 * Archipelago chain of the directory, and what every other command needs to reach them: the
 * EVM node, the contracts, the two client ids and the attestors' N. Read and written here
 * only, checked on read so a hand-edited file fails with one clear error.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ArchiError } from '../errors/index.ts';

/** One bridge between an Archipelago chain and an EVM chain. */
export interface EvmBridgeRecord {
  /** Archipelago's chain id. */
  chainId: string;
  /** JSON-RPC URL of the EVM node used at deployment (commands may name another with --evm). */
  evmUrl: string;
  /** EIP-155 chain id, decimal. */
  evmChainId: string;
  lightClient: string;
  bridge: string;
  /** The bridge's own client id (Archipelago's packets name it `destClient`). */
  bridgeClientId: string;
  /** Archipelago's attested client of the EVM chain (`evm-<evmChainId>`). */
  archiClientId: string;
  /** Blocks the attestors wait (the attested client's `confirmations`). */
  confirmations: number;
  /** The EVM block the bridge was deployed in: where event scans start. */
  deployBlock: number;
  /** Archipelago's height the light client trusts from deployment. */
  trustedHeight: number;
  /** created: the attested client exists; proposed / printed: governance still has to make it. */
  client: 'created' | 'proposed' | 'printed';
  proposalId?: number;
  /** The proposal's args file when printed. */
  proposalFile?: string;
}

/** The file's shape: records by Archipelago chain id. */
export interface EvmFile {
  bridges: Record<string, EvmBridgeRecord>;
}

/** Path of a directory's evm.json. */
export function evmFilePath(dir: string): string {
  return join(dir, 'evm.json');
}

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

function checkRecord(r: unknown, where: string): EvmBridgeRecord {
  const bad = (what: string): never => {
    throw new ArchiError('CONFIG_INVALID', `${where}: ${what}`);
  };
  if (typeof r !== 'object' || r === null) return bad('not an object');
  const o = r as Record<string, unknown>;
  for (const k of ['chainId', 'evmUrl', 'evmChainId', 'bridgeClientId', 'archiClientId']) {
    if (typeof o[k] !== 'string' || o[k] === '') bad(`${k} must be a non-empty string`);
  }
  for (const k of ['lightClient', 'bridge']) {
    if (typeof o[k] !== 'string' || !ADDRESS.test(o[k] as string)) bad(`${k} must be an address`);
  }
  for (const k of ['confirmations', 'deployBlock', 'trustedHeight']) {
    if (!Number.isSafeInteger(o[k]) || (o[k] as number) < 0) bad(`${k} must be an integer >= 0`);
  }
  if (!['created', 'proposed', 'printed'].includes(o.client as string)) {
    bad('client must be created, proposed or printed');
  }
  return o as unknown as EvmBridgeRecord;
}

/** DIR/evm.json, checked; empty when there is none. Throws CONFIG_INVALID. */
export function readEvmFile(dir: string): EvmFile {
  const path = evmFilePath(dir);
  if (!existsSync(path)) return { bridges: {} };
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ArchiError('CONFIG_INVALID', `${path} is not valid JSON: ${(e as Error).message}`);
  }
  const bridges = (raw as { bridges?: unknown })?.bridges;
  if (typeof bridges !== 'object' || bridges === null || Array.isArray(bridges)) {
    throw new ArchiError('CONFIG_INVALID', `${path}: bridges must be an object`);
  }
  const out: EvmFile = { bridges: {} };
  for (const [chain, r] of Object.entries(bridges)) {
    out.bridges[chain] = checkRecord(r, `${path} bridges.${chain}`);
  }
  return out;
}

/** The bridge of `chainId` in DIR/evm.json; IBC_CLIENT_NOT_FOUND when none was deployed. */
export function evmRecordOf(dir: string, chainId: string, hint: string): EvmBridgeRecord {
  const r = readEvmFile(dir).bridges[chainId];
  if (!r) {
    throw new ArchiError(
      'IBC_CLIENT_NOT_FOUND',
      `no EVM bridge of chain ${chainId} in ${evmFilePath(dir)}: deploy one first (${hint})`,
    );
  }
  return r;
}

/** Writes (replaces) the record of `r.chainId` in DIR/evm.json, atomically. */
export function writeEvmRecord(dir: string, r: EvmBridgeRecord): void {
  const file = readEvmFile(dir);
  file.bridges[r.chainId] = r;
  const path = evmFilePath(dir);
  writeFileSync(`${path}.tmp`, `${JSON.stringify(file, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
}
