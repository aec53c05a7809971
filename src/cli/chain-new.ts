/**
 * `archi chain new`: a new chain among some organizations of a network directory made by
 * `archi init`, with its own genesis, crypto profile and consensus. For each member org whose
 * identities are in another profile it makes the org's CA, admin and client in the chain's
 * profile (orgs/<org>/profiles/<crypto>/, reused by later chains of that profile); for each
 * member node a signing key and certificate for this chain. The genesis orgs carry those CA
 * certificates and each org's existing P-256 TLS CA (the nodes' one transport is shared by
 * all their chains). network.json records the chain; node.json files are not touched
 * (`archi chain join`, `archi up`). Files are staged and moved in, so bad input or a failure
 * halfway leaves the directory as it was. Layout: chain-layout.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { getProfile } from '../crypto/profile.ts';
import { ArchiError } from '../types/errors.ts';
import type { Genesis, GenesisOrg } from '../types/genesis.ts';
import { MAX_POWER } from '../types/governance.ts';
import {
  type ChainRecord,
  chainDir,
  chainGenesisPath,
  checkChainId,
  nodeChainDir,
  orgProfileBase,
  readChainRecords,
} from './chain-layout.ts';
import {
  DEFAULT_VALIDITY_DAYS,
  type FilePlan,
  generateNodeIdentity,
  generateOrgIdentities,
  genesisDocument,
  genesisOrg,
  jsonText,
  type OrgKey,
  USERS,
  VALIDATOR_POWER,
  validityWindow,
  writeStaged,
} from './init-network.ts';

export interface NewChainOptions {
  /** Network directory made by `archi init`. */
  dir: string;
  /** The chain id. */
  name: string;
  /** Member organizations (each must run a node in network.json). */
  orgs: string[];
  /** Default: the network's profile. */
  crypto?: 'standard' | 'gm';
  /** Default: solo for one member node, else tbft. */
  consensus?: 'solo' | 'tbft';
  /** Voting power of each member org's node (default VALIDATOR_POWER each). */
  power?: Record<string, number>;
}

export interface NewChainResult {
  chain: ChainRecord;
  /** Orgs that got a CA, admin and client in the chain's profile by this command, and where. */
  newProfiles: Array<{ org: string; dir: string }>;
  validators: Array<{ name: string; org: string; power: number }>;
}

function badArg(message: string): never {
  throw new ArchiError('INVALID_ARGS', `chain new: ${message}`);
}

function broken(message: string): never {
  throw new ArchiError('CONFIG_INVALID', `chain new: ${message}`);
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    return broken(`cannot read ${path}: ${(e as Error).message}`);
  }
}

/** Splits an --orgs value ("org1,org2") into names; empty entries are refused. */
export function parseOrgList(value: string): string[] {
  const orgs = String(value)
    .split(',')
    .map((o) => o.trim());
  if (orgs.some((o) => o === '')) badArg(`--orgs "${value}" has an empty entry`);
  return orgs;
}

/** Parses --power "org1=10,org2=5" into a map; shapes only (members are checked by newChain). */
export function parsePowerList(value: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of String(value).split(',')) {
    const m = /^\s*([^=\s]+)\s*=\s*([0-9]{1,16})\s*$/.exec(part);
    if (!m) badArg(`--power entries are ORG=N, got "${part}"`);
    out[m[1]] = Number(m[2]);
  }
  return out;
}

/** The path of the first missing directory on the way to `rel` inside `dir` (what to move in). */
function firstMissing(dir: string, rel: string): string {
  const parts = rel.split('/');
  for (let i = 1; i <= parts.length; i++) {
    const p = parts.slice(0, i).join('/');
    if (!existsSync(join(dir, p))) return p;
  }
  return rel;
}

/** An org's CA key, CA certificate and user keys in one profile, read from the directory. */
function existingIdentities(
  dir: string,
  base: string,
): { caKeyPem: string; caCertPem: string; keys: OrgKey[] } {
  const keys: OrgKey[] = USERS.map((user) => ({
    name: user,
    role: user,
    publicKey: readText(join(dir, base, 'users', user, 'public.hex')).trim(),
  }));
  return {
    caKeyPem: readText(join(dir, base, 'ca', 'key.pem')),
    caCertPem: readText(join(dir, base, 'ca', 'cert.pem')),
    keys,
  };
}

/** Creates chain `opts.name` in `opts.dir`; see the file comment. */
export async function newChain(opts: NewChainOptions): Promise<NewChainResult> {
  if (typeof opts?.dir !== 'string' || opts.dir.trim() === '') badArg('--dir is required');
  const dir = resolve(opts.dir);
  const id = checkChainId(opts.name);
  const networkPath = join(dir, 'network.json');
  if (!existsSync(networkPath)) {
    broken(`no network at ${dir} (no network.json); create one with archi init`);
  }
  const networkText = readText(networkPath);
  let network: any;
  try {
    network = JSON.parse(networkText);
  } catch (e) {
    return broken(`${networkPath} is not JSON: ${(e as Error).message}`);
  }
  if (
    typeof network?.chain !== 'string' ||
    (network.crypto !== 'standard' && network.crypto !== 'gm') ||
    (network.identityMode !== 'cert' && network.identityMode !== 'key') ||
    !Array.isArray(network.nodes)
  ) {
    broken(`${networkPath} needs chain, crypto, identityMode and nodes`);
  }
  const records = readChainRecords(network.chains, networkPath);
  const nodes = (network.nodes as any[]).filter(
    (n): n is { name: string; org: string } =>
      typeof n?.name === 'string' && typeof n?.org === 'string',
  );

  if (id === network.chain || records.some((c) => c.id === id)) {
    badArg(`chain ${id} already exists in ${networkPath}`);
  }
  if (existsSync(join(dir, chainDir(id)))) badArg(`${join(dir, chainDir(id))} already exists`);

  if (!Array.isArray(opts.orgs) || opts.orgs.length === 0) badArg('--orgs names no organization');
  const orgs = opts.orgs.map(String);
  const dup = orgs.find((o, i) => orgs.indexOf(o) !== i);
  if (dup) badArg(`--orgs names ${dup} twice`);
  const known = [...new Set(nodes.map((n) => n.org))];
  for (const org of orgs) {
    if (!known.includes(org)) {
      badArg(`unknown org ${org}: network.json has no node of it (orgs: ${known.join(', ')})`);
    }
  }
  const members = nodes.filter((n) => orgs.includes(n.org));

  const crypto = opts.crypto ?? network.crypto;
  if (crypto !== 'standard' && crypto !== 'gm') {
    badArg(`crypto must be standard or gm, got ${String(crypto)}`);
  }
  const consensus = opts.consensus ?? (members.length === 1 ? 'solo' : 'tbft');
  if (consensus !== 'solo' && consensus !== 'tbft') {
    badArg(`consensus must be solo or tbft, got ${String(consensus)}`);
  }
  // Solo commits with its one validator's signature: one member node only.
  if (consensus === 'solo' && members.length !== 1) {
    badArg(
      `solo consensus runs one node; --orgs ${orgs.join(',')} has ${members.length}: give one org or --consensus tbft`,
    );
  }
  const power = opts.power ?? {};
  for (const [org, p] of Object.entries(power)) {
    if (!orgs.includes(org)) badArg(`--power names ${org}, which is not in --orgs`);
    if (!Number.isSafeInteger(p) || p < 1 || p > MAX_POWER) {
      badArg(`--power of ${org} must be an integer from 1 to ${MAX_POWER}, got ${String(p)}`);
    }
  }
  for (const n of members) {
    const path = join(dir, nodeChainDir(n.name, id));
    if (existsSync(path)) badArg(`${path} already exists (left over from another chain ${id}?)`);
  }

  const profile = getProfile(crypto);
  const validity = validityWindow(DEFAULT_VALIDITY_DAYS);
  const files: FilePlan = [];
  const entries: string[] = [];
  const newProfiles: NewChainResult['newProfiles'] = [];
  const genesisOrgs: GenesisOrg[] = [];
  const validators: Genesis['validators'] = [];
  for (const org of orgs) {
    const tlsCaCertPem = readText(join(dir, 'orgs', org, 'tlsca', 'cert.pem'));
    const base = orgProfileBase(org, crypto, network.crypto);
    let ca: { keyPem: string; certPem: string };
    let keys: OrgKey[];
    if (existsSync(join(dir, base, 'ca', 'key.pem'))) {
      const found = existingIdentities(dir, base);
      ca = { keyPem: found.caKeyPem, certPem: found.caCertPem };
      keys = found.keys;
    } else {
      if (crypto === network.crypto) broken(`${join(dir, base, 'ca', 'key.pem')} is missing`);
      const made = generateOrgIdentities(profile, org, validity, base);
      files.push(...made.files);
      entries.push(firstMissing(dir, base));
      newProfiles.push({ org, dir: base });
      ca = made.ca;
      keys = made.keys;
    }
    for (const n of members.filter((m) => m.org === org)) {
      const made = generateNodeIdentity(
        profile,
        { keyPem: ca.keyPem, org },
        n.name,
        validity,
        nodeChainDir(n.name, id),
      );
      files.push(...made.files);
      entries.push(firstMissing(dir, nodeChainDir(n.name, id)));
      keys = [...keys, made.key];
      validators.push({
        name: n.name,
        org,
        publicKey: made.key.publicKey,
        power: power[org] ?? VALIDATOR_POWER,
      });
    }
    genesisOrgs.push(
      genesisOrg({ org, caCertPem: ca.certPem, tlsCaCertPem, keys }, network.identityMode),
    );
  }
  const genesis = genesisDocument({
    chainId: id,
    genesisTime: Date.now(),
    crypto,
    identityMode: network.identityMode,
    consensus,
    orgs: genesisOrgs,
    validators,
  });
  files.push({ path: chainGenesisPath(id), data: jsonText(genesis) });
  entries.push(firstMissing(dir, chainDir(id)));

  const record: ChainRecord = {
    id,
    crypto,
    consensus,
    orgs,
    nodes: members.map((n) => n.name),
    genesis: chainGenesisPath(id),
  };
  files.push({
    path: 'network.json',
    data: jsonText({ ...network, chains: [...records, record] }),
  });
  const created = [...entries];
  await writeStaged(dir, files, {
    prefix: '.chain-new-',
    // network.json last: until it records the chain, no command knows of it.
    entries: [...created, 'network.json'],
    replace: ['network.json'],
    recheck: async () => {
      const appeared = created.filter((e) => existsSync(join(dir, e)));
      if (appeared.length > 0) {
        badArg(`${appeared.join(', ')} appeared in ${dir} meanwhile; nothing was written`);
      }
      if (readText(networkPath) !== networkText) {
        broken(`${networkPath} changed meanwhile; nothing was written, run it again`);
      }
    },
  });
  return {
    chain: record,
    newProfiles,
    validators: validators.map(({ name, org, power: p }) => ({ name, org, power: p })),
  };
}
