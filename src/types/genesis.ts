/**
 * Genesis file (JSON, human-editable) and its conversion to the on-chain ChainConfig.
 * Validation here is structural; certificate checks happen where identities are resolved.
 */
import { type ChainConfig, ChainConfigSchema, create } from '../codec/index.ts';
import { certFromPem } from '../crypto/x509.ts';
import { ArchiError } from './errors.ts';
import { unhex } from './hex.ts';

export const ROLES = ['admin', 'client', 'consensus', 'common'] as const;
export type Role = (typeof ROLES)[number];

export interface GenesisOrg {
  id: string;
  caCert?: string; // PEM, cert mode
  keys?: Array<{ name: string; role: Role; publicKey: string }>; // hex, key mode
  tlsCaCert?: string; // PEM, P-256 CA of the org's node TLS certificates
}

export interface GenesisValidator {
  name: string;
  org: string;
  publicKey: string; // hex uncompressed point
  power: number;
}

export interface GenesisParams {
  maxBlockTxs: number;
  maxBlockBytes: number;
  maxTxBytes: number;
  blockIntervalMs: number;
  timeoutProposeMs: number;
  timeoutVoteMs: number;
  timeoutDeltaMs: number;
  /**
   * Most gas one block's receipts may charge together, its first tx excepted (a block of one
   * tx is never over); absent: no gas limit (see validateGenesis).
   */
  maxBlockGas?: number;
}

export interface Genesis {
  chainId: string;
  genesisTime: number;
  crypto: 'standard' | 'gm';
  identityMode: 'cert' | 'key';
  consensus: 'solo' | 'tbft';
  orgs: GenesisOrg[];
  validators: GenesisValidator[];
  params: GenesisParams;
  txRoles: Role[];
  kvWriteRoles: Role[];
  txTimeWindowMs: number;
  lifecyclePolicy: string;
  governancePolicy: string;
}

export const DEFAULT_PARAMS: GenesisParams = {
  maxBlockTxs: 10_000,
  maxBlockBytes: 16 * 1024 * 1024,
  maxTxBytes: 64 * 1024,
  blockIntervalMs: 200,
  timeoutProposeMs: 3000,
  timeoutVoteMs: 1000,
  timeoutDeltaMs: 500,
  // A block of maxBlockTxs token transfers fits (4,540 gas each: 45.4M), so transfer blocks are
  // bounded no tighter than before; it runs in about 0.8 s on a quiet 2-core machine, and 50M
  // gas of contract compute at the interrupt tick's price (~50k gas/ms) in about 1 s. A
  // TypeScript contract call charges several times less gas per ms of execution than either
  // (docs/GOVERNANCE.md, "Block gas limit").
  maxBlockGas: 50_000_000,
};

/**
 * Inclusive bounds of maxBlockGas, in genesis and in set_params. The floor still admits a few
 * hundred simple txs per block, so a mistaken value slows a chain down rather than starving it.
 */
export const MAX_BLOCK_GAS_BOUNDS: readonly [number, number] = [1_000_000, 1_000_000_000_000];

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const POLICY = /^(ANY|MAJORITY|ALL|[1-9][0-9]*\/[1-9][0-9]*)$/;

function fail(message: string): never {
  throw new ArchiError('CONFIG_INVALID', `genesis: ${message}`);
}

function isRole(r: unknown): r is Role {
  return typeof r === 'string' && (ROLES as readonly string[]).includes(r);
}

function posInt(v: unknown, what: string): number {
  if (!Number.isSafeInteger(v) || (v as number) <= 0) fail(`${what} must be a positive integer`);
  return v as number;
}

/** Check a parsed genesis object and fill defaults; throws ArchiError(CONFIG_INVALID). */
export function validateGenesis(raw: unknown): Genesis {
  if (typeof raw !== 'object' || raw === null) fail('not a JSON object');
  const g = raw as Record<string, unknown>;
  if (typeof g.chainId !== 'string' || !NAME.test(g.chainId)) fail('chainId must be a simple name');
  if (g.crypto !== 'standard' && g.crypto !== 'gm') fail('crypto must be standard or gm');
  if (g.identityMode !== 'cert' && g.identityMode !== 'key')
    fail('identityMode must be cert or key');
  if (g.consensus !== 'solo' && g.consensus !== 'tbft') fail('consensus must be solo or tbft');
  const genesisTime = posInt(g.genesisTime, 'genesisTime');
  if (!Array.isArray(g.orgs) || g.orgs.length === 0) fail('orgs must be a non-empty list');
  const orgIds = new Set<string>();
  const orgs: GenesisOrg[] = g.orgs.map((o: any) => {
    if (typeof o?.id !== 'string' || !NAME.test(o.id)) fail('org id must be a simple name');
    if (orgIds.has(o.id)) fail(`duplicate org ${o.id}`);
    orgIds.add(o.id);
    if (g.identityMode === 'cert' && typeof o.caCert !== 'string') fail(`org ${o.id} needs caCert`);
    const keys = (o.keys ?? []).map((k: any) => {
      if (typeof k?.name !== 'string' || !isRole(k.role) || typeof k.publicKey !== 'string') {
        fail(`org ${o.id} has a malformed key entry`);
      }
      return { name: k.name, role: k.role, publicKey: k.publicKey };
    });
    if (g.identityMode === 'key' && keys.length === 0) fail(`org ${o.id} needs registered keys`);
    if (o.tlsCaCert !== undefined && typeof o.tlsCaCert !== 'string') {
      fail(`org ${o.id} tlsCaCert must be a PEM string`);
    }
    return o.tlsCaCert === undefined
      ? { id: o.id, caCert: o.caCert, keys }
      : { id: o.id, caCert: o.caCert, keys, tlsCaCert: o.tlsCaCert };
  });
  if (!Array.isArray(g.validators) || g.validators.length === 0)
    fail('validators must be a non-empty list');
  const validatorNames = new Set<string>();
  const validatorKeys = new Set<string>();
  const validators: GenesisValidator[] = g.validators.map((v: any) => {
    if (typeof v?.name !== 'string' || !NAME.test(v.name))
      fail('validator name must be a simple name');
    if (validatorNames.has(v.name)) fail(`duplicate validator ${v.name}`);
    validatorNames.add(v.name);
    if (typeof v.publicKey === 'string') {
      if (validatorKeys.has(v.publicKey.toLowerCase()))
        fail(`validator ${v.name} repeats another validator's publicKey`);
      validatorKeys.add(v.publicKey.toLowerCase());
    }
    if (!orgIds.has(v.org)) fail(`validator ${v.name} belongs to unknown org ${v.org}`);
    if (typeof v.publicKey !== 'string') fail(`validator ${v.name} needs publicKey`);
    return { name: v.name, org: v.org, publicKey: v.publicKey, power: posInt(v.power, 'power') };
  });
  // Consensus keeps 3 * total power exact (consensus/tbft/proposer.ts).
  const total = validators.reduce((n, v) => n + v.power, 0);
  if (total > Math.floor(Number.MAX_SAFE_INTEGER / 3)) fail('total validator power is too large');
  // A genesis without maxBlockGas is not given the default: the validated genesis is what a
  // data directory's genesis hash covers, and the config it yields is the genesis state, so
  // filling it in would make every existing chain's files and blocks another chain's.
  const { maxBlockGas: _, ...legacyDefaults } = DEFAULT_PARAMS;
  const p = { ...legacyDefaults, ...((g.params as object) ?? {}) } as GenesisParams;
  for (const [k, v] of Object.entries(p)) {
    if (k !== 'maxBlockGas') posInt(v, `params.${k}`);
  }
  if (p.maxBlockGas !== undefined) {
    const [min, max] = MAX_BLOCK_GAS_BOUNDS;
    if (!Number.isSafeInteger(p.maxBlockGas) || p.maxBlockGas < min || p.maxBlockGas > max) {
      fail(`params.maxBlockGas must be an integer in ${min}..${max} (or absent: no gas limit)`);
    }
  }
  const roles = (v: unknown, what: string, dflt: Role[]): Role[] => {
    if (v === undefined) return dflt;
    if (!Array.isArray(v) || !v.every(isRole)) fail(`${what} must be a list of roles`);
    return v as Role[];
  };
  const policy = (v: unknown, what: string, dflt: string): string => {
    if (v === undefined) return dflt;
    if (typeof v !== 'string' || !POLICY.test(v)) fail(`${what} must be ANY, MAJORITY, ALL or n/m`);
    return v;
  };
  return {
    chainId: g.chainId,
    genesisTime,
    crypto: g.crypto,
    identityMode: g.identityMode,
    consensus: g.consensus,
    orgs,
    validators,
    params: p,
    txRoles: roles(g.txRoles, 'txRoles', ['admin', 'client', 'common']),
    kvWriteRoles: roles(g.kvWriteRoles, 'kvWriteRoles', ['admin', 'client']),
    txTimeWindowMs:
      g.txTimeWindowMs === undefined ? 600_000 : posInt(g.txTimeWindowMs, 'txTimeWindowMs'),
    lifecyclePolicy: policy(g.lifecyclePolicy, 'lifecyclePolicy', 'ANY'),
    governancePolicy: policy(g.governancePolicy, 'governancePolicy', 'MAJORITY'),
  };
}

/** The on-chain ChainConfig that a genesis describes. */
export function genesisToConfig(g: Genesis): ChainConfig {
  const decodePem = (o: GenesisOrg, field: 'caCert' | 'tlsCaCert'): Uint8Array => {
    const pem = o[field];
    if (!pem) return new Uint8Array(0);
    try {
      return certFromPem(pem);
    } catch (e) {
      return fail(`org ${o.id} ${field}: ${(e as Error).message}`);
    }
  };
  return create(ChainConfigSchema, {
    chainId: g.chainId,
    crypto: g.crypto,
    identityMode: g.identityMode,
    consensus: g.consensus,
    orgs: g.orgs.map((o) => ({
      id: o.id,
      caCert: decodePem(o, 'caCert'),
      keys: (o.keys ?? []).map((k) => ({
        name: k.name,
        role: k.role,
        publicKey: unhex(k.publicKey),
      })),
      tlsCaCert: decodePem(o, 'tlsCaCert'),
    })),
    // Genesis validators are the first member nodes; their dial addresses live in node.json.
    nodes: g.validators.map((v) => ({
      name: v.name,
      org: v.org,
      publicKey: unhex(v.publicKey, 'validator publicKey'),
      address: '',
    })),
    pendingValidators: [],
    validators: g.validators.map((v) => ({
      name: v.name,
      org: v.org,
      publicKey: unhex(v.publicKey, 'validator publicKey'),
      power: BigInt(v.power),
    })),
    params: {
      maxBlockTxs: g.params.maxBlockTxs,
      maxBlockBytes: BigInt(g.params.maxBlockBytes),
      maxTxBytes: g.params.maxTxBytes,
      blockIntervalMs: g.params.blockIntervalMs,
      timeoutProposeMs: g.params.timeoutProposeMs,
      timeoutVoteMs: g.params.timeoutVoteMs,
      timeoutDeltaMs: g.params.timeoutDeltaMs,
      // 0 is proto3's absent field: the config of a genesis without a limit encodes as before.
      maxBlockGas: BigInt(g.params.maxBlockGas ?? 0),
    },
    txRoles: g.txRoles,
    kvWriteRoles: g.kvWriteRoles,
    revokedCerts: [],
    txTimeWindowMs: BigInt(g.txTimeWindowMs),
    lifecyclePolicy: g.lifecyclePolicy,
    governancePolicy: g.governancePolicy,
  });
}
