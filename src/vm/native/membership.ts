/**
 * Membership changes decided by governance: organizations, member nodes and validator power.
 *
 * Organizations and nodes change from the next block, like every config change. Validator
 * power changes are scheduled instead: a change executed in block H is stored as a pending
 * validator set that becomes the set of height H + 2 (as in Tendermint, so every node knows
 * the set of a height one full block before it starts, and a light client following headers
 * sees the change coming). `promoteValidators` moves a due set into `validators` at the end of
 * block H + 1; the executor calls it for every block, empty ones included.
 *
 * Everything here is a pure function of the config and the args, so every validator decides
 * the same; failures are ArchiError(INVALID_ARGS) naming the problem.
 */
import {
  type ChainConfig,
  create,
  type NodeInfo,
  NodeInfoSchema,
  type Organization,
  OrganizationSchema,
  type Validator,
  ValidatorSchema,
  ValidatorSetUpdateSchema,
} from '../../codec/index.ts';
import { getProfile } from '../../crypto/profile.ts';
import { certFromPem, type ParsedCertificate, parseCertificate } from '../../crypto/x509.ts';
import { ArchiError } from '../../types/errors.ts';
import { ROLES, type Role } from '../../types/genesis.ts';
import { MAX_POWER, type MembershipKind } from '../../types/governance.ts';
import { hex, unhex } from '../../types/hex.ts';
import { onlyFields } from './args.ts';

/** Blocks between the block that executes a validator change and the first height it rules. */
export const VALIDATOR_UPDATE_DELAY = 2;
/** Largest total power: consensus keeps 3 * total exact (see consensus/tbft/proposer.ts). */
export const MAX_TOTAL_POWER = Math.floor(Number.MAX_SAFE_INTEGER / 3);

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
// host:port with a DNS name, IPv4 or [IPv6] host.
const ADDRESS = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]{0,252}):([0-9]{1,5})$/;
// The PEM certificate of an org CA is about 700 bytes; this bounds what a proposal stores.
const MAX_PEM = 16 * 1024;
/**
 * Most registered keys an organization holds in key mode, whether they came with add_org or
 * from `org_keys.register` (one bound on the org, not only on an add_org proposal's size).
 * Keys live in the chain config: every node holds it and scans an org's keys per tx, the RPC
 * serves it whole, and every config write re-encodes all of it and pays gas by the byte read
 * and written (a key is about 90-100 bytes, so about 1,000 gas). 256 keys are about 25 KB;
 * 10,000 would be about 1 MB, some 10-11M gas, past the default tx gas limit (10M) for every
 * later config write, the other organizations' governance votes included, and
 * `org_keys.register` needs no vote. More keys would need a registry stored one key per state
 * entry instead of in the config (and an identity resolver reading it).
 */
export const MAX_ORG_KEYS = 256;

function invalid(message: string): never {
  throw new ArchiError('INVALID_ARGS', message);
}

/** A member name (org, node or key): 1-64 letters, digits, '.', '_' or '-'; INVALID_ARGS else. */
export function nameArg(v: unknown, what: string): string {
  if (typeof v !== 'string' || !NAME.test(v)) {
    invalid(`${what} must be 1-64 letters, digits, '.', '_' or '-' (got ${JSON.stringify(v)})`);
  }
  return v;
}

function powerArg(v: unknown, kind: string): number {
  if (!Number.isSafeInteger(v) || (v as number) < 0 || (v as number) > MAX_POWER) {
    invalid(`${kind}: power must be an integer in 0..${MAX_POWER}`);
  }
  return v as number;
}

/** A CA certificate from PEM: parsed, a CA, named for `org`, self-signed under `check`. */
function caArg(
  v: unknown,
  what: string,
  org: string,
  check: (c: ParsedCertificate) => string | undefined,
): ParsedCertificate {
  if (typeof v !== 'string' || v.length > MAX_PEM) invalid(`${what} must be a PEM certificate`);
  let cert: ParsedCertificate;
  try {
    cert = parseCertificate(certFromPem(v));
  } catch (e) {
    return invalid(`${what} is not a readable certificate: ${(e as Error).message}`);
  }
  if (!cert.isCA) invalid(`${what} is not a CA certificate`);
  if (cert.subject.O !== org) {
    invalid(`${what} names organization ${JSON.stringify(cert.subject.O)}, not ${org}`);
  }
  const why = check(cert);
  if (why) invalid(`${what} ${why}`);
  return cert;
}

/** A public key (hex, uncompressed point) valid on the chain's curve; INVALID_ARGS else. */
export function publicKeyArg(config: ChainConfig, v: unknown, what: string): Uint8Array {
  let key: Uint8Array;
  try {
    key = unhex(typeof v === 'string' ? v.replace(/^0x/, '') : '', what);
  } catch {
    return invalid(`${what} must be the hex of an uncompressed public key`);
  }
  if (key.length !== 65) invalid(`${what} must be a 65-byte uncompressed public key`);
  try {
    getProfile(config.crypto).publicKeyToPem(key);
  } catch {
    invalid(`${what} is not a point on the ${config.crypto} curve`);
  }
  return key;
}

/** The validator set the chain will have once every pending change has applied. */
export function latestValidators(config: ChainConfig): Validator[] {
  const last = config.pendingValidators.at(-1);
  return last ? last.validators : config.validators;
}

/** Whether `name` votes now or in a pending set (its node must stay reachable until it leaves). */
export function isOrWillBeValidator(config: ChainConfig, name: string): boolean {
  return (
    config.validators.some((v) => v.name === name) ||
    config.pendingValidators.some((u) => u.validators.some((v) => v.name === name))
  );
}

/** The org of a member node or (current or pending) validator named `name`, if any. */
export function memberOrg(config: ChainConfig, name: string): string | undefined {
  const node = config.nodes.find((n) => n.name === name);
  if (node) return node.org;
  const all = [config.validators, ...config.pendingValidators.map((u) => u.validators)];
  for (const set of all) {
    const v = set.find((x) => x.name === name);
    if (v) return v.org;
  }
  return undefined;
}

function orgOf(config: ChainConfig, id: string): Organization | undefined {
  return config.orgs.find((o) => o.id === id);
}

function nodeOf(config: ChainConfig, name: string): NodeInfo | undefined {
  return config.nodes.find((n) => n.name === name);
}

/** The set after giving `node` `power` (0 removes it); refuses an empty or unchanged result. */
function withPower(
  config: ChainConfig,
  node: NodeInfo,
  power: number,
  kind: string,
): Validator[] | undefined {
  const current = latestValidators(config);
  const had = current.find((v) => v.name === node.name);
  if (Number(had?.power ?? 0n) === power) return undefined;
  if (config.consensus === 'solo') {
    invalid(`${kind}: a solo chain's validator is fixed; validator changes need tbft consensus`);
  }
  const next = had
    ? current
        .map((v) => (v.name === node.name ? { ...v, power: BigInt(power) } : v))
        .filter((v) => v.power > 0n)
    : [
        ...current,
        create(ValidatorSchema, {
          name: node.name,
          org: node.org,
          publicKey: node.publicKey,
          power: BigInt(power),
        }),
      ];
  if (next.length === 0) invalid(`${kind}: the chain would have no validator left`);
  const total = next.reduce((n, v) => n + v.power, 0n);
  if (total > BigInt(MAX_TOTAL_POWER)) {
    invalid(`${kind}: total voting power ${total} would exceed ${MAX_TOTAL_POWER}`);
  }
  return next.map((v) => create(ValidatorSchema, v));
}

/** Record `validators` as the set of height `executedAt + VALIDATOR_UPDATE_DELAY`. */
function schedule(config: ChainConfig, validators: Validator[], executedAt: number): void {
  const height = BigInt(executedAt + VALIDATOR_UPDATE_DELAY);
  const last = config.pendingValidators.at(-1);
  if (last && last.height === height) last.validators = validators;
  else config.pendingValidators.push(create(ValidatorSetUpdateSchema, { height, validators }));
}

/** Strict validation of a membership proposal against `config`; returns normalized args. */
export function validateMembership(
  kind: MembershipKind,
  a: Record<string, unknown>,
  config: ChainConfig,
): Record<string, unknown> {
  const profile = getProfile(config.crypto);
  switch (kind) {
    case 'add_org': {
      onlyFields(a, ['id', 'caCert', 'tlsCaCert', 'keys'], kind);
      const id = nameArg(a.id, 'add_org: id');
      if (orgOf(config, id)) invalid(`add_org: organization ${id} is already a member`);
      const out: Record<string, unknown> = { id };
      if (a.caCert !== undefined || config.identityMode === 'cert') {
        // The chain's algorithm and a valid self-signature, so member certificates can verify.
        caArg(a.caCert, 'add_org: caCert', id, (c) =>
          c.signatureAlgorithmOid === profile.signatureAlgorithmOid &&
          c.publicKeyCurveOid === profile.curveOid &&
          profile.verify(c.publicKey, c.tbs, c.signature)
            ? undefined
            : `is not a self-signed ${config.crypto} CA`,
        );
        out.caCert = a.caCert;
      }
      if (a.tlsCaCert !== undefined || config.consensus === 'tbft') {
        // Node transport is TLS with P-256 under both profiles (see p2p/tls-certs.ts).
        caArg(a.tlsCaCert, 'add_org: tlsCaCert', id, (c) =>
          c.publicKeyCurveOid === getProfile('standard').curveOid
            ? undefined
            : 'is not a P-256 CA (node TLS uses P-256 under every profile)',
        );
        out.tlsCaCert = a.tlsCaCert;
      }
      if (a.keys !== undefined || config.identityMode === 'key') {
        if (!Array.isArray(a.keys) || a.keys.length === 0 || a.keys.length > MAX_ORG_KEYS) {
          invalid(`add_org: keys must be a list of 1..${MAX_ORG_KEYS} {name, role, publicKey}`);
        }
        const names = new Set<string>();
        out.keys = a.keys.map((k: unknown, i) => {
          if (typeof k !== 'object' || k === null || Array.isArray(k)) {
            invalid(`add_org: keys[${i}] must be an object`);
          }
          const e = k as Record<string, unknown>;
          onlyFields(e, ['name', 'role', 'publicKey'], `add_org: keys[${i}]`);
          const name = nameArg(e.name, `add_org: keys[${i}].name`);
          if (names.has(name)) invalid(`add_org: key name ${name} repeats`);
          names.add(name);
          if (typeof e.role !== 'string' || !(ROLES as readonly string[]).includes(e.role)) {
            invalid(`add_org: keys[${i}].role must be one of ${ROLES.join(', ')}`);
          }
          const key = publicKeyArg(config, e.publicKey, `add_org: keys[${i}].publicKey`);
          return { name, role: e.role as Role, publicKey: hex(key) };
        });
      }
      return out;
    }
    case 'remove_org': {
      onlyFields(a, ['id'], kind);
      const id = nameArg(a.id, 'remove_org: id');
      if (!orgOf(config, id)) invalid(`remove_org: ${id} is not a member organization`);
      if (config.orgs.length === 1) invalid('remove_org: the chain would have no organization');
      const nodes = config.nodes.filter((n) => n.org === id).map((n) => n.name);
      const voting = latestValidators(config).some((v) => v.org === id);
      if (nodes.length > 0 || voting) {
        invalid(
          `remove_org: ${id} still has nodes (${nodes.join(', ')}); remove them first with remove_node`,
        );
      }
      return { id };
    }
    case 'add_node': {
      onlyFields(a, ['name', 'org', 'publicKey', 'address', 'power'], kind);
      const name = nameArg(a.name, 'add_node: name');
      if (nodeOf(config, name) || isOrWillBeValidator(config, name)) {
        invalid(`add_node: node ${name} is already a member`);
      }
      const org = nameArg(a.org, 'add_node: org');
      if (!orgOf(config, org)) invalid(`add_node: ${org} is not a member organization`);
      const key = publicKeyArg(config, a.publicKey, 'add_node: publicKey');
      if (config.nodes.some((n) => hex(n.publicKey) === hex(key))) {
        invalid('add_node: another node already has this publicKey');
      }
      const out: Record<string, unknown> = { name, org, publicKey: hex(key) };
      if (a.address !== undefined) {
        const m = typeof a.address === 'string' ? ADDRESS.exec(a.address) : null;
        if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) {
          invalid('add_node: address must be host:port');
        }
        out.address = a.address;
      }
      out.power = a.power === undefined ? 0 : powerArg(a.power, kind);
      if ((out.power as number) > 0 && config.consensus === 'solo') {
        invalid('add_node: a solo chain cannot take validators; give power 0 or use tbft');
      }
      return out;
    }
    case 'remove_node': {
      onlyFields(a, ['name'], kind);
      const name = nameArg(a.name, 'remove_node: name');
      const node = nodeOf(config, name);
      if (!node) invalid(`remove_node: ${name} is not a member node`);
      withPower(config, node, 0, kind);
      return { name };
    }
    case 'set_validator_power': {
      onlyFields(a, ['name', 'power'], kind);
      const name = nameArg(a.name, 'set_validator_power: name');
      const node = nodeOf(config, name);
      if (!node) invalid(`set_validator_power: ${name} is not a member node (add_node first)`);
      const power = powerArg(a.power, kind);
      if (!withPower(config, node, power, kind)) {
        invalid(`set_validator_power: ${name} already has power ${power}`);
      }
      return { name, power };
    }
  }
}

/**
 * Apply a validated membership change to `config` (mutated) as executed in block `height`.
 * Re-checks against the config as it is now: an earlier change may have made it invalid.
 */
export function applyMembership(
  kind: MembershipKind,
  args: Record<string, unknown>,
  config: ChainConfig,
  height: number,
): void {
  const a = validateMembership(kind, args, config);
  switch (kind) {
    case 'add_org':
      config.orgs.push(
        create(OrganizationSchema, {
          id: a.id as string,
          caCert: a.caCert ? certFromPem(a.caCert as string) : new Uint8Array(0),
          tlsCaCert: a.tlsCaCert ? certFromPem(a.tlsCaCert as string) : new Uint8Array(0),
          keys: ((a.keys ?? []) as Array<{ name: string; role: string; publicKey: string }>).map(
            (k) => ({ name: k.name, role: k.role, publicKey: unhex(k.publicKey) }),
          ),
        }),
      );
      return;
    case 'remove_org':
      config.orgs = config.orgs.filter((o) => o.id !== a.id);
      return;
    case 'add_node': {
      const node = create(NodeInfoSchema, {
        name: a.name as string,
        org: a.org as string,
        publicKey: unhex(a.publicKey as string),
        address: (a.address as string | undefined) ?? '',
      });
      config.nodes.push(node);
      const set = withPower(config, node, a.power as number, kind);
      if (set) schedule(config, set, height);
      return;
    }
    case 'remove_node': {
      const node = nodeOf(config, a.name as string) as NodeInfo;
      const set = withPower(config, node, 0, kind);
      if (set) schedule(config, set, height);
      config.nodes = config.nodes.filter((n) => n.name !== node.name);
      return;
    }
    case 'set_validator_power': {
      const node = nodeOf(config, a.name as string) as NodeInfo;
      const set = withPower(config, node, a.power as number, kind);
      if (set) schedule(config, set, height);
      return;
    }
  }
}

/**
 * The validator set of height `height + 1` given the config at the start of block `height`:
 * a change that block executes cannot apply before `height + 2`, so this is known before
 * the block is built (headers commit to it as nextValidatorsHash).
 */
export function nextValidators(config: ChainConfig, height: number): Validator[] {
  const due = config.pendingValidators[0];
  return due && due.height === BigInt(height + 1) ? due.validators : config.validators;
}

/**
 * The config to store after block `height` when a pending validator set is due at
 * `height + 1`; undefined when none is.
 */
export function promoteValidators(config: ChainConfig, height: number): ChainConfig | undefined {
  const due = config.pendingValidators[0];
  if (!due || due.height !== BigInt(height + 1)) return undefined;
  return {
    ...config,
    validators: due.validators,
    pendingValidators: config.pendingValidators.slice(1),
  };
}
