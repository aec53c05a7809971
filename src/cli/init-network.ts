/**
 * `archi init`: generates a local network directory (org CAs, user and node identities,
 * P-256 TLS CAs and node TLS certificates, genesis, one node.json per node). Everything
 * is generated and written into a staging directory first, so bad input or a failure
 * halfway leaves the target untouched. `archi org new` (org-new.ts) adds an org to such a
 * directory with the same helpers: generateOrg, nodeConfigFile, writeStaged.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, isIPv4, isIPv6, type Server } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { type CryptoProfile, getProfile } from '../crypto/profile.ts';
import { certToPem, issueCertificate, issueSelfSignedCa } from '../crypto/x509.ts';
import { createTlsCa, issueTlsCert, type TlsCa } from '../p2p/tls-certs.ts';
import { ArchiError } from '../types/errors.ts';
import {
  DEFAULT_PARAMS,
  type Genesis,
  type GenesisOrg,
  type Role,
  validateGenesis,
} from '../types/genesis.ts';
import { hex } from '../types/hex.ts';

export const MAX_ORGS = 16;
export const DEFAULT_ORGS = 4;
export const DEFAULT_CHAIN = 'archipelago-local';
export const DEFAULT_VALIDITY_DAYS = 3650;
export const VALIDATOR_POWER = 10;
export const USERS = ['admin', 'client'] as const;
/**
 * First port of a network spread over hosts (`--hosts`) without --base-port: every node
 * serves RPC on it and p2p on the next, so one firewall rule fits every host.
 */
export const DEFAULT_HOSTS_BASE_PORT = 26700;

export interface InitOptions {
  dir: string;
  orgs?: number;
  chain?: string;
  crypto?: 'standard' | 'gm';
  consensus?: 'solo' | 'tbft';
  identity?: 'cert' | 'key';
  basePort?: number;
  host?: string;
  /**
   * One host (IPv4, IPv6 or DNS name) per org: node i listens on hosts[i] and its peers dial
   * it there. Excludes `host`; `orgs` defaults to the number of hosts.
   */
  hosts?: string[];
  validityDays?: number;
}

export interface NetworkNode {
  name: string;
  org: string;
  rpc: string;
  p2p: string;
}

export interface NetworkInfo {
  chain: string;
  crypto: 'standard' | 'gm';
  identityMode: 'cert' | 'key';
  consensus: 'solo' | 'tbft';
  nodes: NetworkNode[];
  console: string | null;
}

/** node.json as written by init and read by `archi node start` (paths relative to the file). */
export interface NodeConfigFile {
  name: string;
  org: string;
  chainId: string;
  genesis: string;
  dataDir: string;
  rpc: { host: string; port: number };
  p2p: { host: string; port: number };
  key: string;
  cert: string;
  caCerts: string;
  /** P-256 node-to-node TLS identity (every profile) and the TLS CAs of all member orgs. */
  tls: { key: string; cert: string; cas: string[] };
  peers: Array<{ name: string; address: string }>;
  logLevel: string;
}

interface Resolved {
  dir: string;
  orgs: number;
  chain: string;
  crypto: 'standard' | 'gm';
  consensus: 'solo' | 'tbft';
  identity: 'cert' | 'key';
  basePort: number | undefined;
  host: string;
  /** Per node, when the network spans hosts. */
  hosts: string[] | undefined;
  validityDays: number;
}

/**
 * Chain, org and node names: the shape genesis accepts for chain ids, so a name that init
 * (or `org new`) takes never fails later.
 */
export const SIMPLE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
// Entries init owns inside DIR; any of them present means a network (or a broken one) is
// there. network.json comes last: it is moved in last, marking the directory complete.
const OWNED = ['genesis.json', 'orgs', 'nodes', 'network.json'] as const;

function invalid(message: string): never {
  throw new ArchiError('CONFIG_INVALID', `init: ${message}`);
}

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v);
}

function badArg(message: string): never {
  throw new ArchiError('INVALID_ARGS', `init: ${message}`);
}

// RFC 1123 labels; a last label of digits only is refused, so a mistyped IPv4 address
// ("10.0.0.256", "10.0.0") is not taken for a name.
const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Checks one --hosts entry and returns it as node.json spells it: an IPv4 address, an IPv6
 * address without brackets, or a lower-case DNS name. Throws ArchiError(INVALID_ARGS).
 */
export function checkHost(entry: string): string {
  const given = String(entry);
  const h = given.startsWith('[') && given.endsWith(']') ? given.slice(1, -1) : given;
  if (isIPv4(h) || isIPv6(h)) {
    // Peers must be able to dial the address, and a zone id means nothing on another host.
    if (h === '0.0.0.0' || /^[0:]+$/.test(h)) {
      badArg(`host "${given}" is the unspecified address, which peers cannot dial`);
    }
    if (h.includes('%')) badArg(`host "${given}" carries an IPv6 zone id; give a plain address`);
    return h.toLowerCase();
  }
  const name = h.toLowerCase().replace(/\.$/, '');
  const labels = name.split('.');
  if (
    name.length === 0 ||
    name.length > 253 ||
    !labels.every((l) => DNS_LABEL.test(l)) ||
    /^[0-9]+$/.test(labels[labels.length - 1])
  ) {
    badArg(`host "${given}" is not an IPv4 or IPv6 address or a DNS name`);
  }
  return name;
}

/** Splits a --hosts value ("h1,h2,...") into its entries; empty entries are refused. */
export function parseHostList(value: string): string[] {
  const hosts = String(value)
    .split(',')
    .map((h) => h.trim());
  const empty = hosts.indexOf('');
  if (empty >= 0) badArg(`--hosts entry ${empty + 1} is empty in "${value}"`);
  return hosts;
}

/** "host:port" as peers dial it; IPv6 addresses in brackets. */
export function hostPort(host: string, port: number): string {
  return `${isIPv6(host) ? `[${host}]` : host}:${port}`;
}

/**
 * Port pair index of each node: 0 for the first node on its host, 1 for the second...
 * Nodes on different hosts share ports; two orgs sharing a host need distinct ones.
 */
function slotsByHost(hosts: string[]): number[] {
  const seen = new Map<string, number>();
  return hosts.map((h) => {
    const k = seen.get(h) ?? 0;
    seen.set(h, k + 1);
    return k;
  });
}

/** Checks options and fills defaults; throws ArchiError(CONFIG_INVALID) on bad input. */
export function resolveInitOptions(opts: InitOptions): Resolved {
  if (typeof opts?.dir !== 'string' || opts.dir.trim() === '') invalid('--dir is required');
  if (opts.hosts !== undefined && !Array.isArray(opts.hosts)) badArg('--hosts must be a list');
  const orgs = opts.orgs ?? (opts.hosts?.length || DEFAULT_ORGS);
  if (!isInt(orgs) || orgs < 1 || orgs > MAX_ORGS) {
    invalid(`orgs must be an integer from 1 to ${MAX_ORGS}, got ${String(opts.orgs)}`);
  }
  const chain = opts.chain ?? DEFAULT_CHAIN;
  if (typeof chain !== 'string' || !SIMPLE_NAME.test(chain)) {
    invalid(
      `chain name "${String(chain)}" must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit`,
    );
  }
  const crypto = opts.crypto ?? 'standard';
  if (crypto !== 'standard' && crypto !== 'gm')
    invalid(`crypto must be standard or gm, got ${String(crypto)}`);
  const identity = opts.identity ?? 'cert';
  if (identity !== 'cert' && identity !== 'key')
    invalid(`identity must be cert or key, got ${String(identity)}`);
  const consensus = opts.consensus ?? (orgs === 1 ? 'solo' : 'tbft');
  if (consensus !== 'solo' && consensus !== 'tbft') {
    invalid(`consensus must be solo or tbft, got ${String(consensus)}`);
  }
  // Every org runs one validator, and solo commits with a single signature.
  if (consensus === 'solo' && orgs !== 1)
    invalid(`solo consensus runs one node; use --orgs 1 or --consensus tbft`);
  const host = opts.host ?? '127.0.0.1';
  if (typeof host !== 'string' || !isIPv4(host))
    invalid(`host must be an IPv4 address, got ${String(host)}`);
  let hosts: string[] | undefined;
  if (opts.hosts !== undefined) {
    if (opts.host !== undefined) badArg('give either a host or --hosts, not both');
    hosts = opts.hosts.map(checkHost);
    if (hosts.length !== orgs) {
      badArg(
        `--hosts names ${hosts.length} host${hosts.length === 1 ? '' : 's'} for ${orgs} org${orgs === 1 ? '' : 's'}; give one host per org`,
      );
    }
  }
  const basePort = opts.basePort;
  // Across hosts only the nodes sharing one host need ports of their own.
  const pairs = hosts ? Math.max(...slotsByHost(hosts)) + 1 : orgs;
  if (basePort !== undefined) {
    const last = isInt(basePort) ? basePort + 2 * pairs - 1 : Number.NaN;
    if (!isInt(basePort) || basePort < 1024 || !(last <= 65535)) {
      invalid(
        `base port must be an integer from 1024 with room for ${2 * pairs} ports below 65536, got ${String(basePort)}`,
      );
    }
  }
  const validityDays = opts.validityDays ?? DEFAULT_VALIDITY_DAYS;
  if (!isInt(validityDays) || validityDays < 1 || validityDays > 36_500) {
    invalid(`validity days must be an integer from 1 to 36500, got ${String(opts.validityDays)}`);
  }
  return {
    dir: resolve(opts.dir),
    orgs,
    chain,
    crypto,
    consensus,
    identity,
    basePort,
    host,
    hosts,
    validityDays,
  };
}

/**
 * Ports the kernel hands to outgoing connections. A listening port picked inside this range
 * can be taken by some client socket while its node is down, and the node then cannot
 * restart, so listening ports are chosen below it.
 */
function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    if (Number.isInteger(lo) && Number.isInteger(hi)) return [lo, hi];
  } catch {
    // not Linux: use the IANA dynamic range
  }
  return [49152, 65535];
}

function tryListen(port: number, host: string): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(undefined));
    srv.listen(port, host, () => resolve(srv));
  });
}

/** `count` distinct ports that are free now, outside the ephemeral range. */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const [ephemeralLo] = ephemeralRange();
  const lo = 10_000;
  const hi = Math.min(ephemeralLo, 65_536) - 1;
  if (hi - lo < count * 10)
    throw new ArchiError('INTERNAL', 'no port range below the ephemeral ports');
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let attempt = 0; ports.length < count && attempt < count * 100; attempt++) {
      // Random candidates keep parallel inits (tests) from racing for the same ports.
      const port = lo + Math.floor(Math.random() * (hi - lo));
      if (ports.includes(port)) continue;
      const srv = await tryListen(port, host);
      if (!srv) continue;
      servers.push(srv);
      ports.push(port);
    }
    if (ports.length < count)
      throw new ArchiError('INTERNAL', `found only ${ports.length} free ports`);
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((ok) => s.close(() => ok()))));
  }
}

/** A key pair with its certificate (PEM) and raw public key. */
export interface Identity {
  keyPem: string;
  certPem: string;
  publicKey: Uint8Array;
}

/** Certificate validity window. */
export interface Validity {
  notBefore: Date;
  notAfter: Date;
}

/**
 * `days` of validity from now, backdated an hour so a node whose clock runs a little behind
 * the one that issued the certificates still accepts them.
 */
export function validityWindow(days: number, now = Date.now()): Validity {
  return { notBefore: new Date(now - 3600_000), notAfter: new Date(now + days * 86_400_000) };
}

/** Issues a leaf identity (O=<org>, OU=<role>, CN=<name>) under an org CA. */
export function issueIdentity(
  profile: CryptoProfile,
  ca: { keyPem: string; org: string },
  subject: { OU: string; CN: string },
  validity: Validity,
): Identity {
  const kp = profile.generateKeyPair();
  const der = issueCertificate({
    profile,
    issuer: profile.signerFromPem(ca.keyPem),
    issuerName: { O: ca.org, CN: `ca.${ca.org}` },
    subjectName: { O: ca.org, OU: subject.OU, CN: subject.CN },
    subjectPublicKey: kp.publicKey,
    ...validity,
    isCA: false,
  });
  return { keyPem: kp.privateKeyPem, certPem: certToPem(der), publicKey: kp.publicKey };
}

/** Creates an org's self-signed CA (O=<org>, CN=ca.<org>) in the given profile. */
export function selfSignedCa(profile: CryptoProfile, org: string, validity: Validity): Identity {
  const ca = issueSelfSignedCa(profile, { O: org, CN: `ca.${org}` }, validity);
  return { keyPem: ca.privateKeyPem, certPem: certToPem(ca.der), publicKey: ca.publicKey };
}

/** Files to write, relative to DIR; `secret` files get mode 0600. */
export type FilePlan = Array<{ path: string; data: string; secret?: boolean }>;

/** A key registered for an org in key identity mode. */
export interface OrgKey {
  name: string;
  role: Role;
  publicKey: string;
}

/** Everything generated for one organization and its node. */
export interface OrgMaterial {
  org: string;
  ca: Identity;
  tlsCa: TlsCa;
  /** The node's consensus identity; its public key is the validator key. */
  node: Identity;
  /** admin, client and the node's consensus key, as key mode registers them. */
  keys: OrgKey[];
  /** orgs/<org>/{ca,tlsca,users} and nodes/<node>/ key, certificate and TLS files. */
  files: FilePlan;
}

/** An org's CA and its users admin and client in one crypto profile, as files under `base`. */
export interface OrgIdentities {
  ca: Identity;
  /** admin and client, as key mode registers them. */
  keys: OrgKey[];
  files: FilePlan;
}

/**
 * Generates an org's CA (O=<org>, CN=ca.<org>) in `profile` and users admin and client
 * under it, as `base`/{ca,users/<user>}/ (default orgs/<org>, the org's first profile).
 */
export function generateOrgIdentities(
  profile: CryptoProfile,
  org: string,
  validity: Validity,
  base = `orgs/${org}`,
): OrgIdentities {
  const ca = selfSignedCa(profile, org, validity);
  const files: FilePlan = [
    { path: `${base}/ca/cert.pem`, data: ca.certPem },
    { path: `${base}/ca/key.pem`, data: ca.keyPem, secret: true },
  ];
  const keys: OrgKey[] = [];
  for (const user of USERS) {
    const id = issueIdentity(
      profile,
      { keyPem: ca.keyPem, org },
      { OU: user, CN: `${user}.${org}` },
      validity,
    );
    const dir = `${base}/users/${user}`;
    files.push(
      { path: `${dir}/key.pem`, data: id.keyPem, secret: true },
      { path: `${dir}/cert.pem`, data: id.certPem },
      { path: `${dir}/public.hex`, data: `${hex(id.publicKey)}\n` },
    );
    keys.push({ name: user, role: user, publicKey: hex(id.publicKey) });
  }
  return { ca, keys, files };
}

/**
 * Issues a node's consensus identity (OU=consensus, CN=<node>.<org>) under its org's CA, as
 * `base`/node.{key,cert}.pem (default nodes/<node>, the node's first chain).
 */
export function generateNodeIdentity(
  profile: CryptoProfile,
  ca: { keyPem: string; org: string },
  nodeName: string,
  validity: Validity,
  base = `nodes/${nodeName}`,
): { node: Identity; key: OrgKey; files: FilePlan } {
  const node = issueIdentity(
    profile,
    ca,
    { OU: 'consensus', CN: `${nodeName}.${ca.org}` },
    validity,
  );
  return {
    node,
    key: { name: nodeName, role: 'consensus', publicKey: hex(node.publicKey) },
    files: [
      { path: `${base}/node.key.pem`, data: node.keyPem, secret: true },
      { path: `${base}/node.cert.pem`, data: node.certPem },
    ],
  };
}

/**
 * Generates an org: its CA (in `profile`), its P-256 TLS CA, users admin and client, and
 * the consensus and TLS identities of its node `nodeName` (CN <node>.<org>).
 */
export function generateOrg(
  profile: CryptoProfile,
  org: string,
  nodeName: string,
  validity: Validity,
): OrgMaterial {
  const ids = generateOrgIdentities(profile, org, validity);
  const files: FilePlan = [...ids.files];
  // gm org CAs are SM2, which OpenSSL's TLS cannot verify, so transport has its own CA.
  const tlsCa = createTlsCa(org, validity);
  files.push(
    { path: `orgs/${org}/tlsca/cert.pem`, data: tlsCa.certPem },
    { path: `orgs/${org}/tlsca/key.pem`, data: tlsCa.keyPem, secret: true },
  );
  const n = generateNodeIdentity(profile, { keyPem: ids.ca.keyPem, org }, nodeName, validity);
  files.push(...n.files);
  const tlsId = issueTlsCert(tlsCa, nodeName, validity);
  files.push(
    { path: `nodes/${nodeName}/tls.key.pem`, data: tlsId.keyPem, secret: true },
    { path: `nodes/${nodeName}/tls.cert.pem`, data: tlsId.certPem },
  );
  return { org, ca: ids.ca, tlsCa, node: n.node, keys: [...ids.keys, n.key], files };
}

/**
 * The org's entry as genesis lists it (and as an add_org proposal carries it): the CA and
 * TLS CA certificates, plus the registered keys in key mode. Key mode still carries the
 * CA: node transport authenticates peers by it.
 */
export function genesisOrg(
  o: { org: string; caCertPem: string; tlsCaCertPem: string; keys: OrgKey[] },
  identity: 'cert' | 'key',
): GenesisOrg {
  return identity === 'key'
    ? { id: o.org, caCert: o.caCertPem, keys: o.keys, tlsCaCert: o.tlsCaCertPem }
    : { id: o.org, caCert: o.caCertPem, tlsCaCert: o.tlsCaCertPem };
}

function orgEntry(m: OrgMaterial, identity: 'cert' | 'key'): GenesisOrg {
  return genesisOrg(
    { org: m.org, caCertPem: m.ca.certPem, tlsCaCertPem: m.tlsCa.certPem, keys: m.keys },
    identity,
  );
}

/**
 * A genesis.json document: every default spelled out so the file documents what the chain
 * runs with; orgs keep their raw form so cert mode carries no empty key lists.
 */
export function genesisDocument(
  g: Pick<
    Genesis,
    'chainId' | 'genesisTime' | 'crypto' | 'identityMode' | 'consensus' | 'orgs' | 'validators'
  >,
): Genesis {
  return { ...validateGenesis({ ...g, params: { ...DEFAULT_PARAMS } }), orgs: g.orgs };
}

/** Path of an org's TLS CA certificate as node.json names it (relative to nodes/<node>/). */
export function tlsCaPath(org: string): string {
  return `../../orgs/${org}/tlsca/cert.pem`;
}

/** The node.json of a node of this network layout (paths relative to nodes/<name>/). */
export function nodeConfigFile(n: {
  name: string;
  org: string;
  chainId: string;
  host: string;
  rpcPort: number;
  p2pPort: number;
  /** Orgs whose TLS CAs the node trusts. */
  tlsCaOrgs: string[];
  peers: Array<{ name: string; address: string }>;
}): NodeConfigFile {
  return {
    name: n.name,
    org: n.org,
    chainId: n.chainId,
    genesis: '../../genesis.json',
    dataDir: 'data',
    rpc: { host: n.host, port: n.rpcPort },
    p2p: { host: n.host, port: n.p2pPort },
    key: 'node.key.pem',
    cert: 'node.cert.pem',
    caCerts: '../../orgs',
    tls: { key: 'tls.key.pem', cert: 'tls.cert.pem', cas: n.tlsCaOrgs.map(tlsCaPath) },
    peers: n.peers,
    logLevel: 'info',
  };
}

/** Pretty JSON with a final newline, as every JSON file of a network directory is written. */
export function jsonText(v: unknown): string {
  return `${JSON.stringify(v, null, 2)}\n`;
}

async function refuseExisting(dir: string): Promise<void> {
  let st: Awaited<ReturnType<typeof stat>> | undefined;
  try {
    st = await stat(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    invalid(`cannot use ${dir}: ${(e as Error).message}`);
  }
  if (!st.isDirectory()) invalid(`${dir} exists and is not a directory`);
  if (existsSync(join(dir, 'network.json'))) {
    invalid(`${dir} already holds a network (network.json); choose another --dir or remove it`);
  }
  const found = OWNED.filter((n) => existsSync(join(dir, n)));
  if (found.length > 0) {
    invalid(`${dir} already holds ${found.join(', ')}; choose another --dir or remove them`);
  }
}

/** Generates a network into opts.dir and returns its description (also written as network.json). */
export async function initNetwork(opts: InitOptions): Promise<NetworkInfo> {
  const o = resolveInitOptions(opts);
  await refuseExisting(o.dir);
  const profile = getProfile(o.crypto);

  // Free ports can only be probed here, so a network across hosts gets fixed ones.
  const ports =
    o.basePort === undefined && !o.hosts ? await freePorts(2 * o.orgs, o.host) : undefined;
  const slots = o.hosts ? slotsByHost(o.hosts) : undefined;
  const base = o.basePort ?? DEFAULT_HOSTS_BASE_PORT;
  const portOf = (i: number, which: 0 | 1): number =>
    ports ? ports[2 * i + which] : base + 2 * (slots ? slots[i] : i) + which;
  const hostOf = (i: number): string => o.hosts?.[i] ?? o.host;

  const now = Date.now();
  const validity = validityWindow(o.validityDays, now);

  const files: FilePlan = [];
  const genesisOrgs: GenesisOrg[] = [];
  const validators: Genesis['validators'] = [];
  const nodes: Array<NetworkNode & { host: string; rpcPort: number; p2pPort: number }> = [];

  for (let i = 0; i < o.orgs; i++) {
    const org = `org${i + 1}`;
    const nodeName = `node${i + 1}`;
    const m = generateOrg(profile, org, nodeName, validity);
    files.push(...m.files);
    genesisOrgs.push(orgEntry(m, o.identity));
    validators.push({
      name: nodeName,
      org,
      publicKey: hex(m.node.publicKey),
      power: VALIDATOR_POWER,
    });
    const rpcPort = portOf(i, 0);
    const p2pPort = portOf(i, 1);
    const host = hostOf(i);
    nodes.push({
      name: nodeName,
      org,
      rpc: `http://${hostPort(host, rpcPort)}`,
      p2p: hostPort(host, p2pPort),
      host,
      rpcPort,
      p2pPort,
    });
  }

  const genesis = genesisDocument({
    chainId: o.chain,
    genesisTime: now,
    crypto: o.crypto,
    identityMode: o.identity,
    consensus: o.consensus,
    orgs: genesisOrgs,
    validators,
  });
  files.push({ path: 'genesis.json', data: jsonText(genesis) });

  for (const n of nodes) {
    const cfg = nodeConfigFile({
      name: n.name,
      org: n.org,
      chainId: o.chain,
      host: n.host,
      rpcPort: n.rpcPort,
      p2pPort: n.p2pPort,
      tlsCaOrgs: nodes.map((p) => p.org),
      peers: nodes.filter((p) => p !== n).map((p) => ({ name: p.name, address: p.p2p })),
    });
    files.push({ path: `nodes/${n.name}/node.json`, data: jsonText(cfg) });
  }

  const info: NetworkInfo = {
    chain: o.chain,
    crypto: o.crypto,
    identityMode: o.identity,
    consensus: o.consensus,
    nodes: nodes.map(({ name, org, rpc, p2p }) => ({ name, org, rpc, p2p })),
    console: null,
  };
  files.push({ path: 'network.json', data: jsonText(info) });

  await writeStaged(o.dir, files);
  return info;
}

/** How writeStaged moves the staged files into DIR. */
export interface StageOptions {
  /**
   * Paths relative to DIR (files or directories of the plan) moved in, in this order;
   * default: init's genesis.json, orgs, nodes, network.json.
   */
  entries?: readonly string[];
  /** Entries that may exist in DIR and are replaced (and put back if a later move fails). */
  replace?: readonly string[];
  /** Runs after staging, right before the first move; throws to refuse. Default: init's check. */
  recheck?: () => Promise<void>;
  /** Name prefix of the staging directory inside DIR. */
  prefix?: string;
}

/**
 * Writes `files` under a staging directory inside DIR, then moves `entries` in. A failure
 * before or during the moves undoes the moves done so far, so DIR is either untouched or
 * complete; with init's default entries network.json comes last, so a directory holding
 * network.json is always complete.
 */
export async function writeStaged(
  dir: string,
  files: FilePlan,
  opts: StageOptions = {},
): Promise<void> {
  const entries = opts.entries ?? OWNED;
  const replace = new Set(opts.replace ?? []);
  await mkdir(dir, { recursive: true });
  const stage = await mkdtemp(join(dir, opts.prefix ?? '.init-'));
  const fresh = join(stage, 'new');
  const old = join(stage, 'old');
  const moved: Array<{ entry: string; replaced: boolean }> = [];
  let keepStage = false;
  try {
    for (const f of files) {
      const p = join(fresh, f.path);
      await mkdir(dirname(p), { recursive: true });
      await writeFile(p, f.data, { mode: f.secret ? 0o600 : 0o644, flag: 'wx' });
    }
    // A concurrent writer may have raced us since the first check.
    await (opts.recheck ?? (() => refuseExisting(dir)))();
    for (const entry of entries) {
      const target = join(dir, entry);
      if (replace.has(entry) && existsSync(target)) {
        await mkdir(dirname(join(old, entry)), { recursive: true });
        await rename(target, join(old, entry));
        // Recorded before the move in, so the original goes back even if that move fails.
        moved.push({ entry, replaced: true });
        await rename(join(fresh, entry), target);
      } else {
        await rename(join(fresh, entry), target);
        moved.push({ entry, replaced: false });
      }
    }
  } catch (e) {
    for (const { entry, replaced } of moved.reverse()) {
      try {
        await rm(join(dir, entry), { recursive: true, force: true });
        if (replaced) await rename(join(old, entry), join(dir, entry));
      } catch {
        // An original could not go back: keep the stage, which holds it, and say where.
        keepStage = true;
      }
    }
    if (keepStage && e instanceof Error) {
      e.message += ` (could not restore everything; originals are under ${old})`;
    }
    throw e;
  } finally {
    if (!keepStage) await rm(stage, { recursive: true, force: true });
  }
}
