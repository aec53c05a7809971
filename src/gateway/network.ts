/**
 * What the gateway reads from and records in a network directory D (as `archi init` lays it
 * out): network.json's nodes and crypto profile, the gateway organization's CA and admin in
 * each crypto profile (orgs/<org> for the network's own, orgs/<org>/profiles/<crypto> for the
 * other), and network.json's `gateway` entry. The CLI's layout helpers sit above the gateway,
 * so the two paths it needs are spelled here (src/cli/chain-layout.ts: orgProfileBase).
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ArchiError } from '../errors/index.ts';
import type { CryptoName } from './store.ts';

/** One node as network.json lists it. */
export interface NetworkNodeEntry {
  name: string;
  org?: string;
  rpc: string;
}

/** network.json's `gateway` entry. */
export interface GatewayRecord {
  url: string;
  id: string;
  org: string;
  db: 'pglite' | 'postgres';
}

/** The parts of network.json the gateway uses. */
export interface NetworkFile {
  crypto: CryptoName;
  nodes: NetworkNodeEntry[];
  gateway?: GatewayRecord;
}

const invalid = (message: string) => new ArchiError('CONFIG_INVALID', message);

/** Reads D/network.json; CONFIG_INVALID when it is missing or lacks nodes. */
export function readNetwork(dir: string): NetworkFile {
  const path = join(dir, 'network.json');
  let raw: any;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw invalid(`cannot read ${path}: ${(e as Error).message}`);
  }
  const nodes = Array.isArray(raw?.nodes) ? raw.nodes : [];
  const list: NetworkNodeEntry[] = [];
  for (const n of nodes) {
    if (typeof n?.rpc !== 'string' || typeof n?.name !== 'string') continue;
    list.push({ name: n.name, org: typeof n.org === 'string' ? n.org : undefined, rpc: n.rpc });
  }
  if (list.length === 0) throw invalid(`${path} lists no nodes with an rpc URL`);
  return {
    crypto: raw.crypto === 'gm' ? 'gm' : 'standard',
    nodes: list,
    gateway: raw.gateway && typeof raw.gateway.url === 'string' ? raw.gateway : undefined,
  };
}

/** Writes `gateway` into D/network.json, keeping every other field (write and rename). */
export function recordGateway(dir: string, record: GatewayRecord): void {
  const path = join(dir, 'network.json');
  const raw = JSON.parse(readFileSync(path, 'utf8'));
  raw.gateway = record;
  const tmp = `${path}.${process.pid}.gw.tmp`;
  writeFileSync(tmp, `${JSON.stringify(raw, null, 2)}\n`);
  renameSync(tmp, path);
}

/** Where an org's CA and users of `crypto` live under D (as src/cli/chain-layout.ts says). */
export function orgBase(dir: string, org: string, crypto: CryptoName, networkCrypto: CryptoName) {
  return crypto === networkCrypto
    ? join(dir, 'orgs', org)
    : join(dir, 'orgs', org, 'profiles', crypto);
}

/** The gateway organization's files of one crypto profile. */
export interface OrgFiles {
  /** CA private key PEM (issues app identities' certificates). */
  caKeyPem: string;
  caCertPem: string;
  /** The org admin's user directory (key.pem, cert.pem, public.hex). */
  adminDir: string;
}

/** Reads the org's CA and finds its admin for `crypto`; CONFIG_INVALID when D lacks them. */
export function readOrgFiles(
  dir: string,
  org: string,
  crypto: CryptoName,
  networkCrypto: CryptoName,
): OrgFiles {
  const base = orgBase(dir, org, crypto, networkCrypto);
  const caKey = join(base, 'ca', 'key.pem');
  const caCert = join(base, 'ca', 'cert.pem');
  const adminDir = join(base, 'users', 'admin');
  if (!existsSync(caKey) || !existsSync(caCert)) {
    throw invalid(`the gateway organization ${org} has no ${crypto} CA under ${base}/ca`);
  }
  if (!existsSync(join(adminDir, 'key.pem'))) {
    throw invalid(`the gateway organization ${org} has no ${crypto} admin under ${adminDir}`);
  }
  return {
    caKeyPem: readFileSync(caKey, 'utf8'),
    caCertPem: readFileSync(caCert, 'utf8'),
    adminDir,
  };
}
