/**
 * `archi init`: generates a local network directory (org CAs, user and node identities,
 * P-256 TLS CAs and node TLS certificates, genesis, one node.json per node). Everything
 * is generated and written into a staging directory first, so bad input or a failure
 * halfway leaves the target untouched.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, isIPv4, type Server } from 'node:net';
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

export interface InitOptions {
  dir: string;
  orgs?: number;
  chain?: string;
  crypto?: 'standard' | 'gm';
  consensus?: 'solo' | 'tbft';
  identity?: 'cert' | 'key';
  basePort?: number;
  host?: string;
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
  validityDays: number;
}

// Same shape genesis accepts for chain ids, so a name that init takes never fails later.
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
// Entries init owns inside DIR; any of them present means a network (or a broken one) is
// there. network.json comes last: it is moved in last, marking the directory complete.
const OWNED = ['genesis.json', 'orgs', 'nodes', 'network.json'] as const;

function invalid(message: string): never {
  throw new ArchiError('CONFIG_INVALID', `init: ${message}`);
}

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v);
}

/** Checks options and fills defaults; throws ArchiError(CONFIG_INVALID) on bad input. */
export function resolveInitOptions(opts: InitOptions): Resolved {
  if (typeof opts?.dir !== 'string' || opts.dir.trim() === '') invalid('--dir is required');
  const orgs = opts.orgs ?? DEFAULT_ORGS;
  if (!isInt(orgs) || orgs < 1 || orgs > MAX_ORGS) {
    invalid(`orgs must be an integer from 1 to ${MAX_ORGS}, got ${String(opts.orgs)}`);
  }
  const chain = opts.chain ?? DEFAULT_CHAIN;
  if (typeof chain !== 'string' || !NAME.test(chain)) {
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
  const basePort = opts.basePort;
  if (basePort !== undefined) {
    const last = isInt(basePort) ? basePort + 2 * orgs - 1 : Number.NaN;
    if (!isInt(basePort) || basePort < 1024 || !(last <= 65535)) {
      invalid(
        `base port must be an integer from 1024 with room for ${2 * orgs} ports below 65536, got ${String(basePort)}`,
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

interface Identity {
  keyPem: string;
  certPem: string;
  publicKey: Uint8Array;
}

interface Validity {
  notBefore: Date;
  notAfter: Date;
}

function issueIdentity(
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

function selfSignedCa(profile: CryptoProfile, org: string, validity: Validity): Identity {
  const ca = issueSelfSignedCa(profile, { O: org, CN: `ca.${org}` }, validity);
  return { keyPem: ca.privateKeyPem, certPem: certToPem(ca.der), publicKey: ca.publicKey };
}

/** Files to write, relative to DIR; `secret` files get mode 0600. */
type FilePlan = Array<{ path: string; data: string; secret?: boolean }>;

function json(v: unknown): string {
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

  const ports = o.basePort === undefined ? await freePorts(2 * o.orgs, o.host) : undefined;
  const portOf = (i: number, which: 0 | 1): number =>
    ports ? ports[2 * i + which] : (o.basePort as number) + 2 * i + which;

  // Backdated so a node whose clock runs a little behind the one that ran init still
  // accepts these certificates at the genesis time.
  const now = Date.now();
  const validity: Validity = {
    notBefore: new Date(now - 3600_000),
    notAfter: new Date(now + o.validityDays * 86_400_000),
  };

  const files: FilePlan = [];
  const genesisOrgs: GenesisOrg[] = [];
  const validators: Genesis['validators'] = [];
  const nodes: Array<NetworkNode & { rpcPort: number; p2pPort: number }> = [];
  const tlsCas: TlsCa[] = [];

  for (let i = 0; i < o.orgs; i++) {
    const org = `org${i + 1}`;
    const nodeName = `node${i + 1}`;
    const ca = selfSignedCa(profile, org, validity);
    files.push(
      { path: `orgs/${org}/ca/cert.pem`, data: ca.certPem },
      { path: `orgs/${org}/ca/key.pem`, data: ca.keyPem, secret: true },
    );
    // gm org CAs are SM2, which OpenSSL's TLS cannot verify, so transport has its own CA.
    const tlsCa = createTlsCa(org, validity);
    tlsCas.push(tlsCa);
    files.push(
      { path: `orgs/${org}/tlsca/cert.pem`, data: tlsCa.certPem },
      { path: `orgs/${org}/tlsca/key.pem`, data: tlsCa.keyPem, secret: true },
    );
    const keys: Array<{ name: string; role: Role; publicKey: string }> = [];
    for (const user of USERS) {
      const id = issueIdentity(
        profile,
        { keyPem: ca.keyPem, org },
        { OU: user, CN: `${user}.${org}` },
        validity,
      );
      const base = `orgs/${org}/users/${user}`;
      files.push(
        { path: `${base}/key.pem`, data: id.keyPem, secret: true },
        { path: `${base}/cert.pem`, data: id.certPem },
        { path: `${base}/public.hex`, data: `${hex(id.publicKey)}\n` },
      );
      keys.push({ name: user, role: user, publicKey: hex(id.publicKey) });
    }
    const node = issueIdentity(
      profile,
      { keyPem: ca.keyPem, org },
      { OU: 'consensus', CN: `${nodeName}.${org}` },
      validity,
    );
    files.push(
      { path: `nodes/${nodeName}/node.key.pem`, data: node.keyPem, secret: true },
      { path: `nodes/${nodeName}/node.cert.pem`, data: node.certPem },
    );
    const tlsId = issueTlsCert(tlsCa, nodeName, validity);
    files.push(
      { path: `nodes/${nodeName}/tls.key.pem`, data: tlsId.keyPem, secret: true },
      { path: `nodes/${nodeName}/tls.cert.pem`, data: tlsId.certPem },
    );
    keys.push({ name: nodeName, role: 'consensus', publicKey: hex(node.publicKey) });
    // Key mode still carries the CA: node transport authenticates peers by it.
    genesisOrgs.push(
      o.identity === 'key'
        ? { id: org, caCert: ca.certPem, keys, tlsCaCert: tlsCa.certPem }
        : { id: org, caCert: ca.certPem, tlsCaCert: tlsCa.certPem },
    );
    validators.push({
      name: nodeName,
      org,
      publicKey: hex(node.publicKey),
      power: VALIDATOR_POWER,
    });
    const rpcPort = portOf(i, 0);
    const p2pPort = portOf(i, 1);
    nodes.push({
      name: nodeName,
      org,
      rpc: `http://${o.host}:${rpcPort}`,
      p2p: `${o.host}:${p2pPort}`,
      rpcPort,
      p2pPort,
    });
  }

  const raw = {
    chainId: o.chain,
    genesisTime: now,
    crypto: o.crypto,
    identityMode: o.identity,
    consensus: o.consensus,
    orgs: genesisOrgs,
    validators,
    params: { ...DEFAULT_PARAMS },
  };
  // Written with every default spelled out so the file documents what the chain runs with;
  // orgs keep their raw form so cert mode carries no empty key lists.
  const genesis = { ...validateGenesis(raw), orgs: genesisOrgs };
  files.push({ path: 'genesis.json', data: json(genesis) });

  for (const n of nodes) {
    const cfg: NodeConfigFile = {
      name: n.name,
      org: n.org,
      chainId: o.chain,
      genesis: '../../genesis.json',
      dataDir: 'data',
      rpc: { host: o.host, port: n.rpcPort },
      p2p: { host: o.host, port: n.p2pPort },
      key: 'node.key.pem',
      cert: 'node.cert.pem',
      caCerts: '../../orgs',
      tls: {
        key: 'tls.key.pem',
        cert: 'tls.cert.pem',
        cas: tlsCas.map((ca) => `../../orgs/${ca.org}/tlsca/cert.pem`),
      },
      peers: nodes.filter((p) => p !== n).map((p) => ({ name: p.name, address: p.p2p })),
      logLevel: 'info',
    };
    files.push({ path: `nodes/${n.name}/node.json`, data: json(cfg) });
  }

  const info: NetworkInfo = {
    chain: o.chain,
    crypto: o.crypto,
    identityMode: o.identity,
    consensus: o.consensus,
    nodes: nodes.map(({ name, org, rpc, p2p }) => ({ name, org, rpc, p2p })),
    console: null,
  };
  files.push({ path: 'network.json', data: json(info) });

  await writeStaged(o.dir, files);
  return info;
}

// Stages everything under DIR/.init-*, then moves the top-level entries in with
// network.json last: a directory holding network.json is always complete.
async function writeStaged(dir: string, files: FilePlan): Promise<void> {
  await mkdir(dir, { recursive: true });
  const stage = await mkdtemp(join(dir, '.init-'));
  const moved: string[] = [];
  try {
    for (const f of files) {
      const p = join(stage, f.path);
      await mkdir(dirname(p), { recursive: true });
      await writeFile(p, f.data, { mode: f.secret ? 0o600 : 0o644, flag: 'wx' });
    }
    // A concurrent init may have raced us since the first check.
    await refuseExisting(dir);
    for (const name of OWNED) {
      await rename(join(stage, name), join(dir, name));
      moved.push(name);
    }
  } catch (e) {
    await Promise.all(moved.map((n) => rm(join(dir, n), { recursive: true, force: true })));
    throw e;
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}
