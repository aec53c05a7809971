/** node.json: where a node keeps its data, which ports it serves and which keys it signs with. */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ArchiError } from '../types/errors.ts';
import { type Genesis, validateGenesis } from '../types/genesis.ts';

export interface NodeConfig {
  name: string;
  org: string;
  chainId: string;
  /** Absolute paths, resolved against the node.json's directory. */
  genesisPath: string;
  dataDir: string;
  keyPath: string;
  certPath: string;
  rpc: { host: string; port: number };
  p2p: { host: string; port: number };
  peers: Array<{ name: string; address: string }>;
  logLevel: string;
  /** P-256 transport identity and the member orgs' TLS CAs (absolute paths); BFT networks only. */
  tls?: { keyPath: string; certPath: string; caPaths: string[] };
}

function fail(path: string, message: string): never {
  throw new ArchiError('CONFIG_INVALID', `${path}: ${message}`);
}

function endpoint(path: string, v: any, what: string): { host: string; port: number } {
  if (typeof v?.host !== 'string' || !Number.isInteger(v?.port) || v.port < 0 || v.port > 65535) {
    fail(path, `${what} must be {"host": string, "port": 0..65535}`);
  }
  return { host: v.host, port: v.port };
}

function tlsConfig(path: string, base: string, v: any): NodeConfig['tls'] {
  if (v === undefined) return undefined;
  if (
    typeof v?.key !== 'string' ||
    typeof v?.cert !== 'string' ||
    !Array.isArray(v?.cas) ||
    !v.cas.every((c: unknown) => typeof c === 'string')
  ) {
    fail(path, 'tls must be {"key": path, "cert": path, "cas": [path, ...]}');
  }
  return {
    keyPath: resolve(base, v.key),
    certPath: resolve(base, v.cert),
    caPaths: v.cas.map((c: string) => resolve(base, c)),
  };
}

/** Read and check a node.json. */
export function loadNodeConfig(path: string): NodeConfig {
  let raw: any;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    fail(path, `cannot read: ${(e as Error).message}`);
  }
  const base = dirname(resolve(path));
  const str = (field: string): string => {
    if (typeof raw?.[field] !== 'string' || raw[field].length === 0)
      fail(path, `${field} must be a string`);
    return raw[field];
  };
  const peers = raw.peers ?? [];
  if (
    !Array.isArray(peers) ||
    !peers.every((p: any) => typeof p?.name === 'string' && typeof p?.address === 'string')
  ) {
    fail(path, 'peers must be a list of {name, address}');
  }
  return {
    name: str('name'),
    org: str('org'),
    chainId: str('chainId'),
    genesisPath: resolve(base, str('genesis')),
    dataDir: resolve(base, str('dataDir')),
    keyPath: resolve(base, str('key')),
    certPath: resolve(base, str('cert')),
    rpc: endpoint(path, raw.rpc, 'rpc'),
    p2p: endpoint(path, raw.p2p, 'p2p'),
    peers,
    logLevel: typeof raw.logLevel === 'string' ? raw.logLevel : 'info',
    tls: tlsConfig(path, base, raw.tls),
  };
}

/** Read and check a genesis file. */
export function loadGenesis(path: string): Genesis {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ArchiError('CONFIG_INVALID', `${path}: cannot read genesis: ${(e as Error).message}`);
  }
  return validateGenesis(raw);
}
