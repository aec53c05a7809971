/**
 * `archi chain join` / `chain leave`: add a chain to a node's node.json `chains` list, or take
 * it off. The file is replaced atomically (a temp file checked by the node's own loader, then
 * renamed over it), and a running node picks the change up by itself (it re-reads node.json
 * when it changes); these wait until the node's `GET /v1/chains` shows the change. A node
 * leaves a chain with its data kept on disk, so joining again continues where it stopped.
 */
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { dirname, join, relative, resolve } from 'node:path';
import { getProfile } from '../crypto/profile.ts';
import { loadNodeConfig } from '../node/config.ts';
import { ArchiClient } from '../sdk/client.ts';
import { isUnreachable } from '../sdk/errors.ts';
import { ArchiError } from '../types/errors.ts';
import { type Genesis, validateGenesis } from '../types/genesis.ts';
import { checkChainId, networkDirOf, nodeChainPath } from './chain-layout.ts';
import { readNetwork } from './client-context.ts';
import { jsonText } from './init-network.ts';

/** How long join and leave wait for a running node to show the change, by default. */
export const DEFAULT_CHAIN_WAIT_MS = 60_000;
/** How long a node may take to answer before it counts as not running. */
const PROBE_TIMEOUT_MS = 3000;

/** What join or leave did to one node. */
export interface ChainChange {
  node: string;
  chain: string;
  /** False when node.json already said so (nothing written). */
  changed: boolean;
  /** Whether the node answered on its RPC port. */
  running: boolean;
  /** Whether the running node hosts the chain now (false when not running). */
  hosted: boolean;
  /** The chain's height on the node, when it hosts it now. */
  height: number | null;
  /** The node's data directory of the chain (kept on disk after a leave). */
  dataDir: string;
}

interface NodeFile {
  path: string;
  text: string;
  raw: Record<string, any>;
}

function broken(message: string): never {
  throw new ArchiError('CONFIG_INVALID', message);
}

function readNodeFile(configPath: string): NodeFile {
  const path = resolve(configPath);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    return broken(`cannot read ${path}: ${(e as Error).message}`);
  }
  let raw: any;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return broken(`${path} is not JSON: ${(e as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    broken(`${path} is not a JSON object`);
  }
  if (typeof raw.name !== 'string' || typeof raw.chainId !== 'string') {
    broken(`${path} is not a node.json (it needs name and chainId)`);
  }
  if (raw.chains !== undefined && !Array.isArray(raw.chains))
    broken(`${path}: chains must be a list`);
  return { path, text, raw };
}

/**
 * Replaces node.json with `raw`: written next to it, loaded as the node would load it (so a
 * file the node would refuse is never put in place), then renamed over it unless the file
 * changed meanwhile.
 */
function replaceNodeFile(f: NodeFile, raw: Record<string, any>): void {
  const tmp = join(dirname(f.path), `.node.json.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, jsonText(raw), { flag: 'w' });
    try {
      loadNodeConfig(tmp);
    } catch (e) {
      const why = (e as Error).message.replaceAll(tmp, f.path);
      broken(`the node would refuse the changed file: ${why}; nothing was written`);
    }
    if (readFileSync(f.path, 'utf8') !== f.text) {
      broken(`${f.path} changed meanwhile; nothing was written, run it again`);
    }
    renameSync(tmp, f.path);
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** The node's RPC URL as a client on this host reaches it. */
export function nodeRpcUrl(raw: Record<string, any>): string {
  const host = String(raw.rpc?.host ?? '127.0.0.1');
  const port = Number(raw.rpc?.port);
  const reach = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${isIPv6(reach) ? `[${reach}]` : reach}:${port}`;
}

/** The chains a running node hosts, or undefined when nothing answers at `rpc`. */
async function hostedChains(rpc: string): Promise<Map<string, number> | undefined> {
  try {
    const chains = await new ArchiClient(rpc, { timeoutMs: PROBE_TIMEOUT_MS }).chains();
    return new Map(chains.map((c) => [c.id, c.height]));
  } catch (e) {
    if (isUnreachable(e) || (e instanceof ArchiError && e.code === 'TIMEOUT')) return undefined;
    throw e;
  }
}

/**
 * Waits until the node at `rpc` hosts `chainId` (or, with `present` false, no longer does).
 * Answers whether the node runs, and the chain's height on it. TIMEOUT after `timeoutMs`.
 */
export async function waitForChain(
  node: string,
  rpc: string,
  chainId: string,
  present: boolean,
  timeoutMs = DEFAULT_CHAIN_WAIT_MS,
): Promise<{ running: boolean; height: number | null }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const chains = await hostedChains(rpc);
    if (!chains) return { running: false, height: null };
    if (chains.has(chainId) === present) {
      return { running: true, height: chains.get(chainId) ?? null };
    }
    if (Date.now() > deadline) {
      throw new ArchiError(
        'TIMEOUT',
        present
          ? `${node} (${rpc}) did not start hosting chain ${chainId} within ${timeoutMs} ms; its log says why (look for "cannot host chain")`
          : `${node} (${rpc}) still hosts chain ${chainId} after ${timeoutMs} ms`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

function loadGenesisFile(path: string): Genesis {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    return broken(`cannot read the genesis ${path}: ${(e as Error).message}`);
  }
  return validateGenesis(raw);
}

/**
 * The genesis of `chainId` for the node of `configPath`: --genesis when given, else the one
 * network.json records for the chain in the node's network directory.
 */
function genesisFor(configPath: string, chainId: string, given?: string): string {
  if (given !== undefined) return resolve(given);
  const dir = networkDirOf(configPath);
  const network = readNetwork(dir);
  const record = network?.chains.find((c) => c.id === chainId);
  if (!record) {
    const known = network ? network.chains.map((c) => c.id).join(', ') || 'none' : undefined;
    throw new ArchiError(
      'CHAIN_NOT_FOUND',
      known === undefined
        ? `no network.json in ${dir} to find chain ${chainId} in; give --genesis PATH`
        : `no chain ${chainId} in ${join(dir, 'network.json')} (chains made by chain new: ${known}); give --genesis PATH or run archi chain new`,
    );
  }
  return join(dir, record.genesis);
}

/**
 * Adds `chainId` to the node.json at `configPath` (nothing when it is there already); the
 * node's key and certificate for the chain are expected where `archi chain new` put them.
 */
export function addChainEntry(
  configPath: string,
  chainId: string,
  genesisPath?: string,
): { node: string; changed: boolean; dataDir: string; rpc: string } {
  checkChainId(chainId);
  const f = readNodeFile(configPath);
  const base = dirname(f.path);
  const chains: any[] = f.raw.chains ?? [];
  const rpc = nodeRpcUrl(f.raw);
  const existing = f.raw.chainId === chainId ? f.raw : chains.find((c) => c?.chainId === chainId);
  if (existing) {
    return {
      node: f.raw.name,
      changed: false,
      dataDir: resolve(base, String(existing.dataDir)),
      rpc,
    };
  }
  const genesisFile = genesisFor(f.path, chainId, genesisPath);
  const genesis = loadGenesisFile(genesisFile);
  if (genesis.chainId !== chainId) {
    broken(`${genesisFile} is the genesis of chain ${genesis.chainId}, not ${chainId}`);
  }
  const validator = genesis.validators.find((v) => v.name === f.raw.name);
  if (!validator || validator.org !== f.raw.org) {
    throw new ArchiError(
      'INVALID_ARGS',
      `${f.raw.name} (${f.raw.org}) is not a member of chain ${chainId}; its genesis lists ${genesis.validators.map((v) => `${v.name} (${v.org})`).join(', ')}`,
    );
  }
  if (genesis.consensus === 'tbft' && f.raw.tls === undefined) {
    broken(`${f.path} has no "tls", which the BFT chain ${chainId} needs`);
  }
  const dir = nodeChainPath(chainId);
  const entry = {
    chainId,
    genesis: relative(base, genesisFile),
    dataDir: `${dir}/data`,
    key: `${dir}/node.key.pem`,
    cert: `${dir}/node.cert.pem`,
  };
  // Refused here rather than by the node, whose log would be the only place saying so.
  const keyPath = join(base, entry.key);
  if (!existsSync(keyPath) || !existsSync(join(base, entry.cert))) {
    broken(
      `${f.raw.name} has no key for chain ${chainId} (${keyPath}); archi chain new makes it in the network directory`,
    );
  }
  let publicKey: string;
  try {
    const signer = getProfile(genesis.crypto).signerFromPem(readFileSync(keyPath, 'utf8'));
    publicKey = Buffer.from(signer.publicKey).toString('hex');
  } catch (e) {
    return broken(`${keyPath}: not a ${genesis.crypto} key: ${(e as Error).message}`);
  }
  if (publicKey !== validator.publicKey.toLowerCase()) {
    broken(`${keyPath} is not the key chain ${chainId}'s genesis lists for ${f.raw.name}`);
  }
  replaceNodeFile(f, { ...f.raw, chains: [...chains, entry] });
  return { node: f.raw.name, changed: true, dataDir: resolve(base, entry.dataDir), rpc };
}

/** Takes `chainId` off the node.json at `configPath`; the first chain cannot be left. */
export function removeChainEntry(
  configPath: string,
  chainId: string,
): { node: string; dataDir: string; rpc: string } {
  checkChainId(chainId);
  const f = readNodeFile(configPath);
  if (f.raw.chainId === chainId) {
    throw new ArchiError(
      'INVALID_ARGS',
      `${chainId} is ${f.raw.name}'s first chain (node.json's top-level chainId), which it cannot leave`,
    );
  }
  const chains: any[] = f.raw.chains ?? [];
  const entry = chains.find((c) => c?.chainId === chainId);
  if (!entry) {
    const listed = [f.raw.chainId, ...chains.map((c) => c?.chainId)].join(', ');
    throw new ArchiError(
      'CHAIN_NOT_FOUND',
      `${f.raw.name} does not host chain ${chainId} (its node.json lists ${listed})`,
    );
  }
  const rest = chains.filter((c) => c !== entry);
  const { chains: _dropped, ...others } = f.raw;
  replaceNodeFile(f, rest.length > 0 ? { ...others, chains: rest } : others);
  return {
    node: f.raw.name,
    dataDir: resolve(dirname(f.path), String(entry.dataDir)),
    rpc: nodeRpcUrl(f.raw),
  };
}

/** `archi chain join`: adds the chain to node.json and waits for a running node to host it. */
export async function joinChain(o: {
  config: string;
  chain: string;
  genesis?: string;
  timeoutMs?: number;
}): Promise<ChainChange> {
  const added = addChainEntry(o.config, o.chain, o.genesis);
  const seen = await waitForChain(added.node, added.rpc, o.chain, true, o.timeoutMs);
  return {
    node: added.node,
    chain: o.chain,
    changed: added.changed,
    running: seen.running,
    hosted: seen.running,
    height: seen.height,
    dataDir: added.dataDir,
  };
}

/** `archi chain leave`: takes the chain off node.json and waits for a running node to drop it. */
export async function leaveChain(o: {
  config: string;
  chain: string;
  timeoutMs?: number;
}): Promise<ChainChange> {
  const removed = removeChainEntry(o.config, o.chain);
  const seen = await waitForChain(removed.node, removed.rpc, o.chain, false, o.timeoutMs);
  return {
    node: removed.node,
    chain: o.chain,
    changed: true,
    running: seen.running,
    hosted: false,
    height: null,
    dataDir: removed.dataDir,
  };
}

/** One node.json change made by joinNetworkChains. */
export interface NetworkJoin {
  node: string;
  chain: string;
  rpc: string;
}

/**
 * Adds every chain network.json records (`archi chain new`) to the node.json of each of its
 * member nodes that does not list it yet; answers what it added. What `archi up` does.
 */
export function joinNetworkChains(dir: string): NetworkJoin[] {
  const network = readNetwork(dir);
  const out: NetworkJoin[] = [];
  for (const c of network?.chains ?? []) {
    for (const node of c.nodes) {
      const config = join(dir, 'nodes', node, 'node.json');
      const added = addChainEntry(config, c.id, join(dir, c.genesis));
      if (added.changed) out.push({ node, chain: c.id, rpc: added.rpc });
    }
  }
  return out;
}
