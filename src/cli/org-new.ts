/**
 * `archi org new`: creates a new organization and its node next to an existing network
 * directory made by `archi init`. It generates the org's identities the way init does (in
 * the chain's crypto profile and identity mode, read from genesis.json), writes the node's
 * node.json, appends the node to network.json and to the other nodes' node.json files (so
 * restarts trust and dial it), and returns the add_org and add_node governance proposals
 * that make the org a member on chain. genesis.json is never changed: the new node syncs
 * the same chain from height 0. Files are staged and moved in, so bad input or a failure
 * halfway leaves the directory untouched.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { join, resolve } from 'node:path';
import { getProfile } from '../crypto/profile.ts';
import { ArchiError } from '../types/errors.ts';
import { type Genesis, validateGenesis } from '../types/genesis.ts';
import { hex } from '../types/hex.ts';
import { MAX_POWER } from '../types/governance.ts';
import {
  DEFAULT_VALIDITY_DAYS,
  type FilePlan,
  freePorts,
  generateOrg,
  jsonText,
  type NetworkNode,
  nodeConfigFile,
  type OrgKey,
  SIMPLE_NAME,
  tlsCaPath,
  VALIDATOR_POWER,
  validityWindow,
  writeStaged,
} from './init-network.ts';

export interface NewOrgOptions {
  /** Network directory made by `archi init`. */
  dir: string;
  /** Name of the new organization. */
  name: string;
  /** Name of its node; default node<k>, k = 1 + the nodes in network.json, bumped until free. */
  node?: string;
  /**
   * Voting power the add_node proposal asks for; 0 makes a non-validator. Default 10
   * (VALIDATOR_POWER), or 0 on a solo chain, which takes no more validators.
   */
  power?: number;
  /** IPv4 address the node listens on and peers dial; default 127.0.0.1. */
  host?: string;
  /** Default: a free port. */
  rpcPort?: number;
  /** Default: a free port. */
  p2pPort?: number;
}

/** Args of an add_org proposal; `keys` only in key identity mode. */
export interface AddOrgArgs {
  id: string;
  caCert: string;
  tlsCaCert: string;
  keys?: OrgKey[];
}

/** Args of an add_node proposal. */
export interface AddNodeArgs {
  name: string;
  org: string;
  /** Hex of the node's consensus public key. */
  publicKey: string;
  /** host:p2pPort */
  address: string;
  power: number;
}

export type OrgProposal =
  | { kind: 'add_org'; args: AddOrgArgs }
  | { kind: 'add_node'; args: AddNodeArgs };

export interface NewOrgResult {
  org: string;
  node: string;
  /** RPC URL of the new node. */
  rpc: string;
  /** host:port of the new node's p2p listener. */
  p2p: string;
  /** add_org, then add_node; also written to orgs/<org>/proposals.json, and each one's args to orgs/<org>/<kind>.json. */
  proposals: [{ kind: 'add_org'; args: AddOrgArgs }, { kind: 'add_node'; args: AddNodeArgs }];
  /** An org already in genesis (the first), whose admin can propose the two changes. */
  proposer: string;
}

function invalid(message: string): never {
  throw new ArchiError('CONFIG_INVALID', `org new: ${message}`);
}

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v);
}

function checkName(what: string, v: unknown): string {
  if (typeof v !== 'string' || !SIMPLE_NAME.test(v)) {
    invalid(
      `${what} "${String(v)}" must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit`,
    );
  }
  return v;
}

function checkPort(what: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (!isInt(v) || v < 1024 || v > 65535) {
    invalid(`${what} must be an integer from 1024 to 65535, got ${String(v)}`);
  }
  return v;
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    return invalid(`cannot read ${path}: ${(e as Error).message}`);
  }
}

function parseJson(path: string, text: string): any {
  try {
    return JSON.parse(text);
  } catch (e) {
    return invalid(`${path} is not JSON: ${(e as Error).message}`);
  }
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Port of a node's "http://host:port" RPC URL or "host:port" p2p address, if it has one. */
function portOf(address: string): { host: string; port: number } | undefined {
  const m = /^(?:[a-z]+:\/\/)?([^/:]+):([0-9]{1,5})\/?$/.exec(address);
  return m ? { host: m[1], port: Number(m[2]) } : undefined;
}

/** `count` free ports outside `taken` (ports of stopped nodes look free too). */
async function pickPorts(count: number, host: string, taken: Set<number>): Promise<number[]> {
  const out: number[] = [];
  for (let attempt = 0; out.length < count && attempt < 20; attempt++) {
    for (const p of await freePorts(count - out.length, host)) {
      if (!taken.has(p) && !out.includes(p)) out.push(p);
    }
  }
  if (out.length < count) throw new ArchiError('INTERNAL', `found only ${out.length} free ports`);
  return out;
}

/** A node.json of the network that the new node must be added to. */
interface PeerConfig {
  /** Relative to DIR. */
  path: string;
  text: string;
  raw: Record<string, any>;
}

function readPeerConfig(dir: string, name: string): PeerConfig | undefined {
  const path = `nodes/${name}/node.json`;
  const abs = join(dir, path);
  if (!existsSync(abs)) return undefined;
  const text = readText(abs);
  const raw = parseJson(abs, text);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    invalid(`${abs} is not a JSON object`);
  }
  if (raw.peers !== undefined && !Array.isArray(raw.peers)) invalid(`${abs}: peers must be a list`);
  if (raw.tls !== undefined && !Array.isArray(raw.tls?.cas)) {
    invalid(`${abs}: tls.cas must be a list`);
  }
  return { path, text, raw };
}

/** Creates org `opts.name` and its node in `opts.dir`; see the file comment. */
export async function newOrg(opts: NewOrgOptions): Promise<NewOrgResult> {
  if (typeof opts?.dir !== 'string' || opts.dir.trim() === '') invalid('--dir is required');
  const dir = resolve(opts.dir);
  const org = checkName('org name', opts.name);
  if (opts.node !== undefined) checkName('node name', opts.node);
  if (
    opts.power !== undefined &&
    (!isInt(opts.power) || opts.power < 0 || opts.power > MAX_POWER)
  ) {
    invalid(
      `power must be an integer from 0 (a non-validator) to ${MAX_POWER}, got ${String(opts.power)}`,
    );
  }
  const host = opts.host ?? '127.0.0.1';
  if (typeof host !== 'string' || !isIPv4(host)) {
    invalid(`host must be an IPv4 address, got ${String(host)}`);
  }
  const rpcGiven = checkPort('RPC port', opts.rpcPort);
  const p2pGiven = checkPort('p2p port', opts.p2pPort);
  if (rpcGiven !== undefined && rpcGiven === p2pGiven) {
    invalid(`RPC and p2p ports must differ, both are ${rpcGiven}`);
  }

  const networkPath = join(dir, 'network.json');
  const genesisPath = join(dir, 'genesis.json');
  if (!existsSync(networkPath) || !existsSync(genesisPath)) {
    invalid(
      `no network at ${dir} (it needs network.json and genesis.json); create one with archi init`,
    );
  }
  for (const sub of ['orgs', 'nodes']) {
    if (!isDir(join(dir, sub))) invalid(`${join(dir, sub)} is not a directory`);
  }
  let genesis: Genesis;
  try {
    genesis = validateGenesis(parseJson(genesisPath, readText(genesisPath)));
  } catch (e) {
    if (e instanceof ArchiError && e.message.startsWith('org new:')) throw e;
    return invalid(`${genesisPath}: ${(e as Error).message}`);
  }
  // Solo consensus commits with its one validator's signature: new nodes there only follow.
  const power = opts.power ?? (genesis.consensus === 'solo' ? 0 : VALIDATOR_POWER);
  if (power > 0 && genesis.consensus === 'solo') {
    invalid(`${dir} runs solo consensus, which takes no more validators; give --power 0`);
  }
  const networkText = readText(networkPath);
  const network = parseJson(networkPath, networkText);
  if (typeof network !== 'object' || network === null || !Array.isArray(network.nodes)) {
    invalid(`${networkPath} must be an object with a nodes list`);
  }
  const nodes = network.nodes as NetworkNode[];
  for (const [i, n] of nodes.entries()) {
    if (typeof n?.name !== 'string' || typeof n.p2p !== 'string') {
      invalid(`${networkPath}: nodes[${i}] needs a name and a p2p address`);
    }
  }

  // The org must be new everywhere the directory or the chain's genesis could know it.
  if (genesis.orgs.some((o) => o.id === org)) invalid(`org ${org} already exists in genesis.json`);
  if (existsSync(join(dir, 'orgs', org))) {
    invalid(`org ${org} already exists in ${join(dir, 'orgs')}`);
  }
  if (nodes.some((n) => n.org === org)) invalid(`org ${org} already runs nodes in network.json`);

  const nodeTaken = (name: string): string | undefined => {
    if (nodes.some((n) => n.name === name)) return 'network.json';
    if (existsSync(join(dir, 'nodes', name))) return join(dir, 'nodes');
    if (genesis.validators.some((v) => v.name === name)) return 'genesis.json';
    return undefined;
  };
  let node = opts.node;
  if (node !== undefined) {
    const where = nodeTaken(node);
    if (where) invalid(`node ${node} already exists in ${where}`);
  } else {
    let k = nodes.length + 1;
    while (nodeTaken(`node${k}`)) k++;
    node = `node${k}`;
  }

  // Ports of the other nodes are taken even when those nodes are down (and look free).
  const taken = new Map<string, string>();
  for (const n of nodes) {
    for (const a of [n.rpc, n.p2p]) {
      const ep = typeof a === 'string' ? portOf(a) : undefined;
      if (ep) taken.set(`${ep.host}:${ep.port}`, n.name);
    }
  }
  for (const [what, port] of [
    ['RPC', rpcGiven],
    ['p2p', p2pGiven],
  ] as const) {
    const owner = port === undefined ? undefined : taken.get(`${host}:${port}`);
    if (owner) invalid(`${what} port ${port} on ${host} is already used by ${owner}`);
  }
  const missing = [rpcGiven, p2pGiven].filter((p) => p === undefined).length;
  const picked =
    missing === 0
      ? []
      : await pickPorts(
          missing,
          host,
          new Set([
            ...[...taken.keys()].map((k) => Number(k.slice(k.lastIndexOf(':') + 1))),
            ...[rpcGiven, p2pGiven].filter((p): p is number => p !== undefined),
          ]),
        );
  const rpcPort = rpcGiven ?? (picked.shift() as number);
  const p2pPort = p2pGiven ?? (picked.shift() as number);
  const address = `${host}:${p2pPort}`;

  const peerConfigs = nodes
    .map((n) => readPeerConfig(dir, n.name))
    .filter((c): c is PeerConfig => c !== undefined);

  // TLS CAs the new node trusts: every org of the directory that has one, then its own.
  const known = [...genesis.orgs.map((o) => o.id), ...readdirSync(join(dir, 'orgs')).sort()].filter(
    (o, i, all) => all.indexOf(o) === i,
  );
  const tlsCaOrgs = [
    ...known.filter((o) => existsSync(join(dir, 'orgs', o, 'tlsca', 'cert.pem'))),
    org,
  ];

  const profile = getProfile(genesis.crypto);
  const m = generateOrg(profile, org, node, validityWindow(DEFAULT_VALIDITY_DAYS));
  // What genesis would list for the org: in key mode also the keys init registers per org.
  const addOrg: AddOrgArgs = {
    id: org,
    caCert: m.ca.certPem,
    tlsCaCert: m.tlsCa.certPem,
    ...(genesis.identityMode === 'key' ? { keys: m.keys } : {}),
  };
  const addNode: AddNodeArgs = {
    name: node,
    org,
    publicKey: hex(m.node.publicKey),
    address,
    power,
  };
  const result: NewOrgResult = {
    org,
    node,
    rpc: `http://${host}:${rpcPort}`,
    p2p: address,
    proposals: [
      { kind: 'add_org', args: addOrg },
      { kind: 'add_node', args: addNode },
    ],
    proposer: genesis.orgs[0].id,
  };

  const files: FilePlan = [...m.files];
  files.push({ path: `orgs/${org}/proposals.json`, data: jsonText(result.proposals) });
  // One args file per proposal, for `archi gov propose KIND --args @FILE`.
  for (const p of result.proposals) {
    files.push({ path: `orgs/${org}/${p.kind}.json`, data: jsonText(p.args) });
  }
  const cfg = nodeConfigFile({
    name: node,
    org,
    chainId: genesis.chainId,
    host,
    rpcPort,
    p2pPort,
    tlsCaOrgs,
    peers: nodes.map((n) => ({ name: n.name, address: n.p2p })),
  });
  files.push({ path: `nodes/${node}/node.json`, data: jsonText(cfg) });
  for (const c of peerConfigs) {
    const raw = { ...c.raw };
    const peers: Array<{ name: string }> = raw.peers ?? [];
    if (!peers.some((p) => p?.name === node)) raw.peers = [...peers, { name: node, address }];
    if (raw.tls && !raw.tls.cas.includes(tlsCaPath(org))) {
      raw.tls = { ...raw.tls, cas: [...raw.tls.cas, tlsCaPath(org)] };
    }
    files.push({ path: c.path, data: jsonText(raw) });
  }
  const newNode: NetworkNode = { name: node, org, rpc: result.rpc, p2p: address };
  files.push({ path: 'network.json', data: jsonText({ ...network, nodes: [...nodes, newNode] }) });

  const replaced = [...peerConfigs.map((c) => c.path), 'network.json'];
  await writeStaged(dir, files, {
    prefix: '.org-new-',
    // network.json last: until it names the node, `archi up` and --node do not see it.
    entries: [`orgs/${org}`, `nodes/${node}`, ...replaced],
    replace: replaced,
    recheck: async () => {
      if (existsSync(join(dir, 'orgs', org)) || existsSync(join(dir, 'nodes', node))) {
        invalid(`org ${org} or node ${node} appeared in ${dir} meanwhile; nothing was written`);
      }
      for (const [path, text] of [
        ['network.json', networkText],
        ...peerConfigs.map((c) => [c.path, c.text]),
      ]) {
        const now = existsSync(join(dir, path)) ? readFileSync(join(dir, path), 'utf8') : '';
        if (now !== text) {
          invalid(`${join(dir, path)} changed meanwhile; nothing was written, run it again`);
        }
      }
    },
  });
  return result;
}
