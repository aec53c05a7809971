/** node.json: where a node keeps its data, which ports it serves and which keys it signs with. */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { defaultExecThreads } from '../app/parallel/pool.ts';
import { DEFAULT_MEMPOOL_LIMITS, type MempoolLimits } from '../mempool/mempool.ts';
import { ArchiError } from '../types/errors.ts';
import { type Genesis, validateGenesis } from '../types/genesis.ts';

/** One chain the node hosts: its genesis, its data and the keys it signs that chain's blocks with. */
export interface ChainEntry {
  chainId: string;
  /** Absolute paths, resolved against the node.json's directory. */
  genesisPath: string;
  dataDir: string;
  keyPath: string;
  certPath: string;
}

/**
 * A node.json. The top-level chainId, genesis, dataDir, key and cert describe the node's first
 * chain (what `/v1/...` and every client command without `--chain` mean); `chains` lists the
 * others, each with fields of the same names.
 */
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
  /** Every chain the node hosts, the first chain first. */
  chains: ChainEntry[];
  /**
   * Added to this node's clock readings in consensus (block and vote times, not timers): for
   * tests of clock skew between hosts, since network namespaces share one wall clock.
   */
  clockOffsetMs: number;
  /**
   * Threads each chain validates large blocks on, in parallel along their tx dependency graph
   * (`"execThreads"`; 0: the node's thread only). The default suits the machine: see
   * defaultExecThreads.
   */
  execThreads: number;
  /** Bounds of each chain's pool of pending txs (`"mempool"`); the defaults when absent. */
  mempool: MempoolLimits;
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
  const entry = (v: any, where: string): ChainEntry => {
    const field = (f: string): string => {
      if (typeof v?.[f] !== 'string' || v[f].length === 0)
        fail(path, `${where}.${f} must be a string`);
      return v[f];
    };
    return {
      chainId: field('chainId'),
      genesisPath: resolve(base, field('genesis')),
      dataDir: resolve(base, field('dataDir')),
      keyPath: resolve(base, field('key')),
      certPath: resolve(base, field('cert')),
    };
  };
  const first = entry(raw, 'node');
  const more = raw.chains ?? [];
  if (!Array.isArray(more))
    fail(path, 'chains must be a list of {chainId, genesis, dataDir, key, cert}');
  const chains = [first, ...more.map((c: unknown, i: number) => entry(c, `chains[${i}]`))];
  const ids = new Set<string>();
  const dirs = new Set<string>();
  for (const c of chains) {
    if (ids.has(c.chainId)) fail(path, `chain ${c.chainId} is listed twice`);
    if (dirs.has(c.dataDir)) fail(path, `two chains share the data directory ${c.dataDir}`);
    ids.add(c.chainId);
    dirs.add(c.dataDir);
  }
  const execThreads = raw.execThreads ?? defaultExecThreads();
  if (!Number.isInteger(execThreads) || execThreads < 0 || execThreads > 64) {
    fail(path, 'execThreads must be an integer 0..64');
  }
  const mempool = { ...DEFAULT_MEMPOOL_LIMITS, ...(raw.mempool ?? {}) };
  for (const [k, v] of Object.entries(mempool)) {
    if (!['maxTxs', 'maxBytes'].includes(k) || !Number.isSafeInteger(v) || (v as number) < 1) {
      fail(path, 'mempool must be {"maxTxs": n, "maxBytes": n} with positive integers');
    }
  }
  const offset = raw.clockOffsetMs ?? 0;
  if (!Number.isSafeInteger(offset)) fail(path, 'clockOffsetMs must be an integer');
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
    ...first,
    rpc: endpoint(path, raw.rpc, 'rpc'),
    p2p: endpoint(path, raw.p2p, 'p2p'),
    peers,
    logLevel: typeof raw.logLevel === 'string' ? raw.logLevel : 'info',
    tls: tlsConfig(path, base, raw.tls),
    chains,
    clockOffsetMs: offset,
    execThreads,
    mempool,
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
