/**
 * `org_keys`: on a key-mode chain, an organization's admin registers and revokes its own
 * members' public keys without a governance vote, as an org CA issues member certificates
 * without a vote on a cert-mode chain. Only `client` and `common` keys: admin and consensus
 * keys stay with governance (add_org), since they vote and sign blocks for the organization.
 *
 * Keys are part of the chain config (`orgs[].keys`), so a change rewrites the config stored
 * under `chain_config`/`config` through a context derived for `chain_config`, exactly as
 * governance does: it shares the tx's overlay, gas and rollback, the executor reports the
 * block's stored config as `configChanged`, and the change takes effect from the next block
 * (senders are resolved against the config as it was at the start of the block). Within a
 * block, each tx sees the config as the earlier txs left it, so two registrations of one key
 * in the same block cannot both pass.
 *
 * Everything is a pure function of the stored config, the sender and the args (no clock, no
 * randomness; keys keep their order in the config). A sandboxed contract calls in as a
 * `common` sender of no organization, so it can never register a key.
 */
import { type ChainConfig, create, RegisteredKeySchema } from '../../codec/index.ts';
import { ArchiError } from '../../types/errors.ts';
import { bytesEqual, hex } from '../../types/hex.ts';
import type { CallContext, NativeContract, NativeMethod } from '../context.ts';
import { argsObject, onlyFields } from './args.ts';
import { CONFIG_CONTRACT, CONFIG_KEY, decodeConfig, encodeConfig } from './chain-config.ts';
import { MAX_ORG_KEYS, nameArg, publicKeyArg } from './membership.ts';

export const ORG_KEYS_CONTRACT = 'org_keys';

/** The roles an admin may register without a vote. */
export const REGISTRABLE_ROLES = ['client', 'common'] as const;
export type RegistrableRole = (typeof REGISTRABLE_ROLES)[number];

/** One registered key as `register`, `revoke` and `list` answer (publicKey: lower-case hex). */
export interface OrgKeyJson {
  org: string;
  name: string;
  role: string;
  publicKey: string;
}

function invalid(message: string): never {
  throw new ArchiError('INVALID_ARGS', message);
}

/** A context on the stored chain config (host capability, as in governance.ts). */
function configContext(ctx: CallContext): CallContext {
  return ctx.derive(CONFIG_CONTRACT, ctx.sender);
}

/** The config as stored now (an earlier tx of this block may have changed it). */
function currentConfig(ctx: CallContext): ChainConfig {
  const bytes = configContext(ctx).get(CONFIG_KEY);
  if (!bytes) throw new ArchiError('INTERNAL', 'chain config missing from state');
  return decodeConfig(bytes);
}

/** The same permission check and code as governance's: only an organization admin. */
function requireAdmin(ctx: CallContext, action: string): void {
  if (ctx.sender.role !== 'admin') {
    throw new ArchiError(
      'TX_FORBIDDEN',
      `only an organization admin may ${action} (sender role is ${ctx.sender.role})`,
    );
  }
}

function requireKeyMode(config: ChainConfig, method: string): void {
  if (config.identityMode !== 'key') {
    invalid(
      `org_keys.${method} works on key-mode chains only; this chain is in ${config.identityMode} mode, where an organization's CA issues member certificates instead`,
    );
  }
}

/** The org holding `key` and its entry, if any org does. */
function findKey(config: ChainConfig, key: Uint8Array) {
  for (const org of config.orgs) {
    const k = org.keys.find((x) => bytesEqual(x.publicKey, key));
    if (k) return { org, key: k };
  }
  return undefined;
}

const keyJson = (org: string, k: { name: string; role: string; publicKey: Uint8Array }) => ({
  org,
  name: k.name,
  role: k.role,
  publicKey: hex(k.publicKey),
});

function register(ctx: CallContext, args: unknown): OrgKeyJson {
  requireAdmin(ctx, 'register keys');
  const config = currentConfig(ctx);
  requireKeyMode(config, 'register');
  const a = argsObject(args);
  onlyFields(a, ['name', 'role', 'publicKey'], 'register');
  const name = nameArg(a.name, 'register: name');
  if (!(REGISTRABLE_ROLES as readonly unknown[]).includes(a.role)) {
    invalid(
      `register: role must be ${REGISTRABLE_ROLES.join(' or ')} (got ${JSON.stringify(a.role)}); admin and consensus keys are added by governance (add_org)`,
    );
  }
  const role = a.role as RegistrableRole;
  const publicKey = publicKeyArg(config, a.publicKey, 'register: publicKey');
  const org = config.orgs.find((o) => o.id === ctx.sender.org);
  if (!org) invalid(`register: ${ctx.sender.org} is no longer a member organization`);
  const held = findKey(config, publicKey);
  if (held) {
    invalid(`register: this publicKey is already registered as ${held.org.id}/${held.key.name}`);
  }
  const node = [...config.nodes, ...config.validators].find((n) =>
    bytesEqual(n.publicKey, publicKey),
  );
  if (node) invalid(`register: this publicKey is the consensus key of node ${node.name}`);
  if (org.keys.some((k) => k.name === name)) {
    invalid(`register: ${org.id} already has a key named ${name}`);
  }
  if (org.keys.length >= MAX_ORG_KEYS) {
    invalid(
      `register: ${org.id} already holds ${org.keys.length} keys, the most an organization may hold; revoke one first`,
    );
  }
  org.keys.push(create(RegisteredKeySchema, { name, role, publicKey }));
  configContext(ctx).set(CONFIG_KEY, encodeConfig(config));
  const out = keyJson(org.id, { name, role, publicKey });
  ctx.emit('key_registered', out);
  return out;
}

function revoke(ctx: CallContext, args: unknown): OrgKeyJson {
  requireAdmin(ctx, 'revoke keys');
  const config = currentConfig(ctx);
  requireKeyMode(config, 'revoke');
  const a = argsObject(args);
  onlyFields(a, ['publicKey'], 'revoke');
  const publicKey = publicKeyArg(config, a.publicKey, 'revoke: publicKey');
  const held = findKey(config, publicKey);
  if (!held) throw new ArchiError('NOT_FOUND', 'revoke: this publicKey is not registered');
  if (held.org.id !== ctx.sender.org) {
    throw new ArchiError(
      'TX_FORBIDDEN',
      `revoke: the key belongs to ${held.org.id}; only an admin of ${held.org.id} may revoke it`,
    );
  }
  // Admin and consensus keys leave through governance; so the org keeps its admins here.
  if (!(REGISTRABLE_ROLES as readonly string[]).includes(held.key.role)) {
    invalid(
      `revoke: ${held.org.id}/${held.key.name} is a ${held.key.role} key; only ${REGISTRABLE_ROLES.join(' and ')} keys are revoked here (admin and consensus keys change by governance)`,
    );
  }
  held.org.keys = held.org.keys.filter((k) => k !== held.key);
  configContext(ctx).set(CONFIG_KEY, encodeConfig(config));
  const out = keyJson(held.org.id, held.key);
  ctx.emit('key_revoked', out);
  return out;
}

function list(ctx: CallContext, args: unknown): OrgKeyJson[] {
  const a = argsObject(args);
  onlyFields(a, ['org'], 'list');
  const id = nameArg(a.org, 'list: org');
  const org = currentConfig(ctx).orgs.find((o) => o.id === id);
  if (!org) throw new ArchiError('NOT_FOUND', `list: ${id} is not a member organization`);
  return org.keys.map((k) => keyJson(org.id, k));
}

const write = (run: NativeMethod['run']): NativeMethod => ({ write: true, run });
const read = (run: NativeMethod['run']): NativeMethod => ({ write: false, run });

export const orgKeysContract: NativeContract = {
  name: ORG_KEYS_CONTRACT,
  methods: {
    register: write(register),
    revoke: write(revoke),
    list: read(list),
  },
};
