/**
 * Governance proposals without React: the kinds the console proposes, a change in words, the
 * policy arithmetic, and the argument builders of the propose form for the membership kinds
 * (organizations, member nodes, validator power). The builders check what the governance
 * contract checks (src/vm/native/membership.ts) as far as the browser can, so the form says
 * what is wrong before anything is signed; the contract validates again, against the config
 * as it is when the proposal executes. Pure functions of their inputs: unit tested in Node.
 */
import {
  CONFIG_KINDS,
  MAX_POWER,
  MEMBERSHIP_KINDS,
  policyMet,
} from '../../src/types/governance.ts';
import type { ChainConfigJson } from './api.ts';
import { toHex } from './chain.ts';
import { plural } from './lib.ts';
import { parseCert } from './x509.ts';

/** The kinds the propose form offers (the SDK's GOVERNANCE_KINDS but contract lifecycle). */
export const KINDS = [...CONFIG_KINDS, ...MEMBERSHIP_KINDS] as const;
export type Kind = (typeof KINDS)[number];

export const KIND_LABELS: Record<Kind, string> = {
  set_kv_write_roles: 'Who may write kv',
  set_tx_roles: 'Who may send txs',
  set_params: 'Block and consensus params',
  set_policy: 'Governance or lifecycle policy',
  revoke_cert: 'Revoke a certificate',
  add_org: 'Admit an organization',
  remove_org: 'Remove an organization',
  add_node: 'Add a member node',
  remove_node: 'Remove a member node',
  set_validator_power: "Change a node's voting power",
};

/** Member roles (src/types/genesis.ts ROLES). */
export const ROLES = ['admin', 'client', 'consensus', 'common'] as const;

/** Longest PEM certificate a proposal may carry (MAX_PEM in src/vm/native/membership.ts). */
export const MAX_PEM = 16 * 1024;

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
// host:port with a DNS name, IPv4 or [IPv6] host: the contract's own pattern.
const ADDRESS = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]{0,252}):([0-9]{1,5})$/;
const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/;

export { MAX_POWER, policyMet };

export function shorten(s: string, keep = 8): string {
  return s.length <= keep * 2 + 1 ? s : `${s.slice(0, keep)}…${s.slice(-keep)}`;
}

/** How many organization approvals the policy needs (orgs + 1 when it can never pass). */
export function approvalsNeeded(policy: string, orgs: number): number {
  for (let k = 0; k <= orgs; k++) if (policyMet(policy, k, orgs)) return k;
  return orgs + 1;
}

export const list = (v: unknown): string =>
  Array.isArray(v) && v.length > 0 ? v.map(String).join(', ') : 'nobody';

const num = (v: unknown): string =>
  typeof v === 'number' ? v.toLocaleString('en') : String(v ?? '?');

/** A proposal's change in words. */
export function describeChange(kind: string, args: Record<string, unknown>): string {
  switch (kind) {
    case 'set_kv_write_roles':
      return `kv writers become: ${list(args.roles)}`;
    case 'set_tx_roles':
      return `tx senders become: ${list(args.roles)}`;
    case 'set_params':
      return Object.entries(args)
        .map(([k, v]) => `${k} becomes ${num(v)}`)
        .join(', ');
    case 'set_policy':
      return `${args.which} policy becomes: ${args.policy}`;
    case 'revoke_cert':
      return `revoke certificate ${shorten(String(args.certHash ?? ''), 8)}`;
    case 'add_org': {
      const keys = Array.isArray(args.keys) ? args.keys.length : 0;
      return `admit organization ${args.id}${
        keys > 0 ? ` with ${plural(keys, 'registered key')}` : ''
      }`;
    }
    case 'remove_org':
      return `remove organization ${args.id}`;
    case 'add_node': {
      const power = args.power === undefined ? 0 : args.power;
      const as =
        typeof power === 'number' && power === 0
          ? 'as non-validator'
          : `as validator with power ${num(power)}`;
      const where =
        typeof args.address === 'string' && args.address !== '' ? `at ${args.address}` : 'dials in';
      return `add node ${args.name} of ${args.org} ${as} (${where})`;
    }
    case 'remove_node':
      return `remove node ${args.name}`;
    case 'set_validator_power':
      return `${args.name}'s voting power becomes ${num(args.power)}${
        args.power === 0 ? ' (leaves the validator set)' : ''
      } two blocks after execution`;
    default:
      return `${kind} ${JSON.stringify(args)}`;
  }
}

/** A PEM certificate's DER as hex; throws Error when there is no readable CERTIFICATE block. */
export function pemToDerHex(pem: string): string {
  // The first CERTIFICATE block, as the node's pemDecode reads it.
  const m = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(pem);
  if (!m) throw new Error('no -----BEGIN CERTIFICATE----- block');
  const b64 = m[1].replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) {
    throw new Error('the certificate is not valid base64');
  }
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return toHex(bytes);
}

/** One line for a PEM value: its label, size, subject and the ends of its base64. */
export function pemSummary(pem: string): string {
  const m = PEM_BLOCK.exec(pem);
  if (!m) return shorten(pem, 24);
  const b64 = m[2].replace(/\s+/g, '');
  let about = '';
  if (m[1] === 'CERTIFICATE') {
    try {
      const c = parseCert(pemToDerHex(pem));
      const subject = Object.entries(c.subject)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ');
      about = `, ${subject}${c.isCA ? ', CA' : ''}`;
    } catch {
      about = ', unreadable';
    }
  }
  return `PEM ${m[1]} (${pem.length} chars${about}) ${shorten(b64, 10)}`;
}

/** Proposal args for display: PEM strings shortened to one line, everything else as is. */
export function displayArgs(v: unknown): unknown {
  if (typeof v === 'string') return v.includes('-----BEGIN ') ? pemSummary(v) : v;
  if (Array.isArray(v)) return v.map(displayArgs);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, displayArgs(x)]));
  }
  return v;
}

type Config = ChainConfigJson;
type Validator = Config['validators'][number];
/** What a builder returns: the proposal args, or a one-line reason the form cannot send them. */
export type Built = Record<string, unknown> | string;

const NO_CONFIG = 'waiting for the chain config';

/** The validator set once every pending change has applied. */
export function latestValidators(config: Config): Validator[] {
  const last = config.pendingValidators.at(-1);
  return last ? last.validators : config.validators;
}

/** Voting power of `name` now (0 when it is not a validator). */
export function powerNow(config: Config, name: string): number {
  return config.validators.find((v) => v.name === name)?.power ?? 0;
}

/** Pending power changes of `name`: the power it will have from each pending height. */
export function pendingPowers(
  config: Config,
  name: string,
): Array<{ height: number; power: number }> {
  const out: Array<{ height: number; power: number }> = [];
  let before = powerNow(config, name);
  for (const u of config.pendingValidators) {
    const power = u.validators.find((v) => v.name === name)?.power ?? 0;
    if (power !== before) out.push({ height: u.height, power });
    before = power;
  }
  return out;
}

/** What changes from one validator set to the next: "node5 joins with 10", "node2 leaves", "node1 10 → 20". */
export function validatorChanges(before: Validator[], after: Validator[]): string[] {
  const out: string[] = [];
  for (const v of after) {
    const was = before.find((b) => b.name === v.name);
    if (!was) out.push(`${v.name} joins with ${v.power.toLocaleString('en')}`);
    else if (was.power !== v.power) {
      out.push(`${v.name} ${was.power.toLocaleString('en')} → ${v.power.toLocaleString('en')}`);
    }
  }
  for (const b of before) if (!after.some((v) => v.name === b.name)) out.push(`${b.name} leaves`);
  return out;
}

/** A node name the chain does not use yet: node<k> for the next free k. */
export function nextNodeName(config: Config | undefined): string {
  const taken = new Set([
    ...(config?.nodes.map((n) => n.name) ?? []),
    ...(config ? [config.validators, ...config.pendingValidators.map((u) => u.validators)] : [])
      .flat()
      .map((v) => v.name),
  ]);
  let k = 1;
  while (taken.has(`node${k}`)) k++;
  return `node${k}`;
}

function badName(v: string, what: string): string | undefined {
  return NAME.test(v) ? undefined : `${what} must be 1-64 letters, digits, '.', '_' or '-'`;
}

/** Whole number in 0..MAX_POWER from a text field; `empty` stands for an empty field. */
function parsePower(text: string, empty?: number): number | string {
  const t = text.trim().replace(/[_,]/g, '');
  if (t === '' && empty !== undefined) return empty;
  if (!/^[0-9]{1,13}$/.test(t) || Number(t) > MAX_POWER) {
    return `power must be a whole number in 0..${MAX_POWER.toLocaleString('en')}`;
  }
  return Number(t);
}

/** Hex of an uncompressed public key (65 bytes, 04…), lower case; undefined when malformed. */
export function normalizeKey(text: string): string | undefined {
  const k = text.trim().replace(/^0x/i, '').toLowerCase();
  return /^04[0-9a-f]{128}$/.test(k) ? k : undefined;
}

/** Refusal when giving `name` `power` would be refused by the contract (withPower there). */
function powerChangeProblem(config: Config, name: string, power: number): string | undefined {
  const current = latestValidators(config);
  const had = current.find((v) => v.name === name)?.power ?? 0;
  if (had === power) return undefined;
  if (config.consensus === 'solo') {
    return "a solo chain's validator is fixed; validator changes need tbft consensus";
  }
  if (power === 0 && current.every((v) => v.name === name)) {
    return 'the chain would have no validator left';
  }
  return undefined;
}

export function setValidatorPowerArgs(
  f: { name: string; power: string },
  config: Config | undefined,
): Built {
  if (!config) return NO_CONFIG;
  if (!f.name) return 'pick a member node';
  if (!config.nodes.some((n) => n.name === f.name)) {
    return `${f.name} is not a member node (add_node first)`;
  }
  const power = parsePower(f.power);
  if (typeof power === 'string') return power;
  const latest = latestValidators(config).find((v) => v.name === f.name)?.power ?? 0;
  if (latest === power) {
    return `${f.name} already has power ${power}${
      config.pendingValidators.length > 0 ? ' (counting pending changes)' : ''
    }`;
  }
  return powerChangeProblem(config, f.name, power) ?? { name: f.name, power };
}

export function removeNodeArgs(name: string, config: Config | undefined): Built {
  if (!config) return NO_CONFIG;
  if (!name) return 'pick a member node';
  if (!config.nodes.some((n) => n.name === name)) return `${name} is not a member node`;
  const why = powerChangeProblem(config, name, 0);
  return why ? `cannot remove ${name}: ${why}` : { name };
}

export function removeOrgArgs(id: string, config: Config | undefined): Built {
  if (!config) return NO_CONFIG;
  if (!id) return 'pick a member organization';
  if (!config.orgs.some((o) => o.id === id)) return `${id} is not a member organization`;
  if (config.orgs.length === 1) return 'the chain would have no organization';
  const nodes = config.nodes.filter((n) => n.org === id).map((n) => n.name);
  if (nodes.length > 0 || latestValidators(config).some((v) => v.org === id)) {
    return `${id} still has nodes (${nodes.join(', ')}); remove them first with remove_node`;
  }
  return { id };
}

export interface AddNodeFields {
  name: string;
  org: string;
  publicKey: string;
  address: string;
  power: string;
}

export function addNodeArgs(f: AddNodeFields, config: Config | undefined): Built {
  if (!config) return NO_CONFIG;
  const name = f.name.trim();
  const bad = badName(name, 'node name');
  if (bad) return bad;
  const taken =
    config.nodes.some((n) => n.name === name) ||
    [config.validators, ...config.pendingValidators.map((u) => u.validators)].some((s) =>
      s.some((v) => v.name === name),
    );
  if (taken) return `node ${name} is already a member`;
  if (!config.orgs.some((o) => o.id === f.org)) return `pick a member organization for ${name}`;
  const publicKey = normalizeKey(f.publicKey);
  if (!publicKey) {
    return "publicKey must be the node's consensus key: 130 hex characters starting 04";
  }
  if (config.nodes.some((n) => n.publicKey.toLowerCase() === publicKey)) {
    return 'another node already has this publicKey';
  }
  const out: Record<string, unknown> = { name, org: f.org, publicKey };
  const address = f.address.trim();
  if (address !== '') {
    const m = ADDRESS.exec(address);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) {
      return 'address must be host:port (or empty when the node dials in)';
    }
    out.address = address;
  }
  const power = parsePower(f.power, 0);
  if (typeof power === 'string') return power;
  if (power > 0 && config.consensus === 'solo') {
    return 'a solo chain cannot take validators: give power 0 (validators need tbft)';
  }
  out.power = power;
  return out;
}

export interface AddOrgFields {
  id: string;
  caCert: string;
  tlsCaCert: string;
  /** JSON list of {name, role, publicKey} (key identity mode). */
  keys: string;
}

/** Why `pem` is not a CA certificate of organization `org` with a `key` key, if it is not. */
export function caProblem(pem: string, what: string, org: string, key: string): string | undefined {
  if (pem.length > MAX_PEM) return `${what} is longer than ${MAX_PEM} characters`;
  let cert: ReturnType<typeof parseCert>;
  try {
    cert = parseCert(pemToDerHex(pem));
  } catch (e) {
    return `${what} is not a readable PEM certificate: ${(e as Error).message}`;
  }
  if (!cert.isCA) return `${what} is not a CA certificate`;
  if (cert.subject.O !== org) {
    return `${what} names organization ${JSON.stringify(cert.subject.O ?? '')}, not ${org}`;
  }
  if (cert.keyAlgorithm !== key) return `${what} has a ${cert.keyAlgorithm} key, not ${key}`;
  return undefined;
}

function parseKeys(text: string): Array<Record<string, string>> | string {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return `keys is not JSON: ${(e as Error).message}`;
  }
  if (!Array.isArray(v) || v.length === 0 || v.length > 256) {
    return 'keys must be a JSON list of 1..256 {"name","role","publicKey"}';
  }
  const names = new Set<string>();
  const out: Array<Record<string, string>> = [];
  for (const [i, k] of v.entries()) {
    if (typeof k !== 'object' || k === null || Array.isArray(k)) {
      return `keys[${i}] must be an object`;
    }
    const e = k as Record<string, unknown>;
    const extra = Object.keys(e).find((x) => !['name', 'role', 'publicKey'].includes(x));
    if (extra) return `keys[${i}] has unknown field ${JSON.stringify(extra)}`;
    const name = typeof e.name === 'string' ? e.name : '';
    const bad = badName(name, `keys[${i}].name`);
    if (bad) return bad;
    if (names.has(name)) return `key name ${name} repeats`;
    names.add(name);
    if (typeof e.role !== 'string' || !(ROLES as readonly string[]).includes(e.role)) {
      return `keys[${i}].role must be one of ${ROLES.join(', ')}`;
    }
    const publicKey = typeof e.publicKey === 'string' ? normalizeKey(e.publicKey) : undefined;
    if (!publicKey) return `keys[${i}].publicKey must be 130 hex characters starting 04`;
    out.push({ name, role: e.role, publicKey });
  }
  return out;
}

export function addOrgArgs(f: AddOrgFields, config: Config | undefined): Built {
  if (!config) return NO_CONFIG;
  const id = f.id.trim();
  const bad = badName(id, 'organization id');
  if (bad) return bad;
  if (config.orgs.some((o) => o.id === id)) return `organization ${id} is already a member`;
  const out: Record<string, unknown> = { id };
  const caCert = f.caCert.trim();
  if (caCert !== '' || config.identityMode === 'cert') {
    if (caCert === '') return 'caCert is required: paste the PEM of the new org CA';
    const why = caProblem(caCert, 'caCert', id, config.crypto === 'gm' ? 'SM2' : 'P-256');
    if (why) return why;
    out.caCert = `${caCert}\n`;
  }
  const tlsCaCert = f.tlsCaCert.trim();
  if (tlsCaCert !== '' || config.consensus === 'tbft') {
    if (tlsCaCert === '') return 'tlsCaCert is required: paste the PEM of the org TLS CA';
    // Node transport is TLS with P-256 under both crypto profiles.
    const why = caProblem(tlsCaCert, 'tlsCaCert', id, 'P-256');
    if (why) return why;
    out.tlsCaCert = `${tlsCaCert}\n`;
  }
  const keys = f.keys.trim();
  if (keys !== '' || config.identityMode === 'key') {
    if (keys === '') return 'keys is required in key identity mode';
    const parsed = parseKeys(keys);
    if (typeof parsed === 'string') return parsed;
    out.keys = parsed;
  }
  return out;
}
