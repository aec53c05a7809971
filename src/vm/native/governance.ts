/**
 * `governance`: on-chain proposals that change the chain config. An organization admin
 * proposes a change (the proposer's organization is its first approval); admins of the
 * other organizations approve or reject it, one voice per organization. When the approvals
 * meet the chain's governance policy (ANY, MAJORITY, ALL or n/m of the member
 * organizations) the change is applied in that same tx; when the rejections make the
 * policy unreachable the proposal is rejected. Pending proposals expire after
 * `expiresInBlocks` blocks.
 *
 * Applying a change rewrites the config stored under `chain_config`/`config`. A contract's
 * context only writes its own keys; this native (host) contract gets a context for
 * `chain_config` through `ctx.derive`, which shares the tx's state overlay, gas and
 * rollback, so the write is deterministic and undone with the tx if anything later fails.
 * Sandboxed contracts cannot do this: they only reach other contracts through their methods,
 * and `chain_config` has no write method. The executor resolves identities and checks txs
 * against the config as it was at the start of the block, so a change applies from the
 * next block (the chain reloads its config after committing a block that wrote it).
 *
 * Contract lifecycle kinds (`contract_deploy`, `contract_upgrade`, `contract_freeze`,
 * `contract_unfreeze`, `contract_revoke`) are settled against the lifecycle policy instead and,
 * once executed, run contract_manage's own action (`runLifecycle`) on a context for
 * `contract_manage` derived as the proposer's organization admin. They take effect at once.
 *
 * Membership kinds (`add_org`, `remove_org`, `add_node`, `remove_node`, `set_validator_power`)
 * are checked and applied by membership.ts; validator power changes take effect two blocks
 * after the executing block (see there).
 *
 * Interchain kinds (`ibc_create_client`, `ibc_recover_client`) run the `ibc` contract's client
 * actions (ibc/client.ts) on a context derived for `ibc`; which chains this one trusts is the
 * consortium's decision. They are checked against the `ibc` state when proposed and again when
 * executed, and take effect at once.
 */
import type { ChainConfig } from '../../codec/index.ts';
import { ArchiError } from '../../types/errors.ts';
import { MAX_BLOCK_GAS_BOUNDS, ROLES, type Role } from '../../types/genesis.ts';
import {
  MEMBERSHIP_KINDS,
  type MembershipKind,
  PROPOSAL_KINDS,
  PROPOSAL_STATUSES,
  type ProposalJson,
  type ProposalKind,
  type ProposalStatus,
  policyMet,
} from '../../types/governance.ts';
import { jsonBytes, parseJsonBytes, utf8Bytes, utf8Text } from '../../types/json.ts';
import {
  type CallContext,
  IBC_HOOKS,
  type NativeContract,
  type NativeMethod,
  type SenderInfo,
} from '../context.ts';
import { CONTRACT_NAME } from '../sandbox/limits.ts';
import { type ContractMeta, MANAGE, metaKey } from '../sandbox/meta.ts';
import { argsObject, onlyFields } from './args.ts';
import { CONFIG_CONTRACT, CONFIG_KEY, decodeConfig, encodeConfig } from './chain-config.ts';
import { type LifecycleAction, lifecycleArgs, runLifecycle } from './contract-manage.ts';
import { EVIDENCE_CONTRACT } from './evidence.ts';
import {
  createClient,
  recoverClient,
  validateCreateClient,
  validateRecoverClient,
} from './ibc/client.ts';
import { IBC } from './ibc/keys.ts';
import { kvContract } from './kv.ts';
import { applyMembership, validateMembership } from './membership.ts';
import { ORG_KEYS_CONTRACT } from './org-keys.ts';
import { tokenContract } from './token.ts';

export const GOVERNANCE_CONTRACT = 'governance';

export { PROPOSAL_KINDS, policyMet };

/** The contract_manage action of a contract lifecycle kind, or undefined for config kinds. */
function lifecycleAction(kind: ProposalKind): LifecycleAction | undefined {
  switch (kind) {
    case 'contract_deploy':
      return 'deploy';
    case 'contract_upgrade':
      return 'upgrade';
    case 'contract_freeze':
      return 'freeze';
    case 'contract_unfreeze':
      return 'unfreeze';
    case 'contract_revoke':
      return 'revoke';
    default:
      return undefined;
  }
}

/**
 * The built-in native contracts' names, which a deploy may not take (governance has no
 * registry; contract_manage gets the registry's own test).
 */
export const NATIVE_NAMES: ReadonlySet<string> = new Set([
  CONFIG_CONTRACT,
  kvContract.name,
  tokenContract.name,
  EVIDENCE_CONTRACT,
  GOVERNANCE_CONTRACT,
  MANAGE,
  ORG_KEYS_CONTRACT,
  IBC,
]);

const isMembership = (kind: string): kind is MembershipKind =>
  (MEMBERSHIP_KINDS as readonly string[]).includes(kind);

/** A proposal as stored: `expired` is only ever derived from the height (see view). */
export interface Proposal extends Omit<ProposalJson, 'status'> {
  status: Exclude<ProposalStatus, 'expired'>;
}

export const DEFAULT_EXPIRES_IN_BLOCKS = 100;
export const MAX_EXPIRES_IN_BLOCKS = 100_000;
const LIST_LIMIT = 1000;
const NEXT_KEY = 'next';
const POLICY = /^(ANY|MAJORITY|ALL|([1-9][0-9]{0,5})\/([1-9][0-9]{0,5}))$/;

/**
 * Inclusive bounds of each settable param; maxTxBytes stays large enough for governance txs.
 * A chain without a gas limit gets one by set_params; none is taken away again (0 is outside
 * MAX_BLOCK_GAS_BOUNDS, whose top is as good as none).
 */
const PARAM_BOUNDS: Record<string, readonly [number, number]> = {
  maxBlockTxs: [1, 1_000_000],
  maxBlockBytes: [4096, 1024 * 1024 * 1024],
  maxTxBytes: [4096, 64 * 1024 * 1024],
  blockIntervalMs: [1, 3_600_000],
  timeoutProposeMs: [1, 3_600_000],
  timeoutVoteMs: [1, 3_600_000],
  timeoutDeltaMs: [1, 3_600_000],
  maxBlockGas: MAX_BLOCK_GAS_BOUNDS,
};

const proposalKey = (id: number): string => `proposal/${String(id).padStart(12, '0')}`;

function invalid(message: string): never {
  throw new ArchiError('INVALID_ARGS', message);
}

function rolesArg(a: Record<string, unknown>, kind: string): Role[] {
  onlyFields(a, ['roles'], kind);
  const roles = a.roles;
  if (!Array.isArray(roles)) invalid(`${kind}: roles must be a list of roles`);
  for (const r of roles) {
    if (typeof r !== 'string' || !(ROLES as readonly string[]).includes(r)) {
      invalid(`${kind}: unknown role ${JSON.stringify(r)} (roles: ${ROLES.join(', ')})`);
    }
  }
  if (new Set(roles).size !== roles.length) invalid(`${kind}: roles must not repeat`);
  return roles as Role[];
}

/** The params a set_params proposal would leave, or INVALID_ARGS. */
function mergedParams(
  config: ChainConfig,
  changes: Record<string, number>,
): Record<string, number> {
  const p = config.params;
  const merged: Record<string, number> = {
    maxBlockTxs: p?.maxBlockTxs ?? 0,
    maxBlockBytes: Number(p?.maxBlockBytes ?? 0n),
    maxTxBytes: p?.maxTxBytes ?? 0,
    blockIntervalMs: p?.blockIntervalMs ?? 0,
    timeoutProposeMs: p?.timeoutProposeMs ?? 0,
    timeoutVoteMs: p?.timeoutVoteMs ?? 0,
    timeoutDeltaMs: p?.timeoutDeltaMs ?? 0,
    // 0: no gas limit; it stays 0, and absent from the stored config, unless a change sets it.
    maxBlockGas: Number(p?.maxBlockGas ?? 0n),
    ...changes,
  };
  if (merged.maxTxBytes > merged.maxBlockBytes) {
    invalid(
      `set_params: maxTxBytes ${merged.maxTxBytes} would exceed maxBlockBytes ${merged.maxBlockBytes}`,
    );
  }
  return merged;
}

/** A context on the `ibc` contract as `sender` (host capability, as configContext). */
function ibcContext(ctx: CallContext, sender: SenderInfo = ctx.sender): CallContext {
  return ctx.derive(IBC, sender);
}

/**
 * The args of a contract_call: an active TypeScript contract, one of its methods (not an IBC
 * hook) and the method's args (any JSON value, default null).
 */
function validateCall(ctx: CallContext, a: Record<string, unknown>): Record<string, unknown> {
  onlyFields(a, ['contract', 'method', 'args'], 'contract_call');
  const { contract, method } = a;
  if (typeof contract !== 'string' || !CONTRACT_NAME.test(contract)) {
    invalid(`contract_call: contract must match ${CONTRACT_NAME}`);
  }
  if (NATIVE_NAMES.has(contract)) {
    invalid(
      `contract_call: ${contract} is a native contract; only TypeScript contracts are called`,
    );
  }
  const raw = ctx.derive(MANAGE, ctx.sender).get(metaKey(contract));
  if (raw === undefined)
    throw new ArchiError('CONTRACT_NOT_FOUND', `no contract named ${contract}`);
  const meta = parseJsonBytes(raw, 'value', 'contract metadata') as unknown as ContractMeta;
  if (meta.status === 'frozen') {
    throw new ArchiError('CONTRACT_FROZEN', `contract ${contract} is frozen`);
  }
  if (meta.status === 'revoked') {
    throw new ArchiError('CONTRACT_REVOKED', `contract ${contract} is revoked`);
  }
  if (typeof method !== 'string' || !meta.methods.includes(method)) {
    throw new ArchiError(
      'METHOD_NOT_FOUND',
      `contract ${contract} has no method ${JSON.stringify(method)} (methods: ${meta.methods.join(', ')})`,
    );
  }
  if (IBC_HOOKS.has(method)) invalid(`contract_call: ${method} is an IBC hook`);
  return { contract, method, args: a.args ?? null };
}

/** Strict validation of a proposal's args; returns them normalized. */
function validateChange(
  ctx: CallContext,
  kind: unknown,
  raw: unknown,
  config: ChainConfig,
): { kind: ProposalKind; args: Record<string, unknown> } {
  const supported = `supported kinds: ${PROPOSAL_KINDS.join(', ')}`;
  if (typeof kind !== 'string') invalid(`kind must be a string (${supported})`);
  if (!(PROPOSAL_KINDS as readonly string[]).includes(kind)) {
    invalid(`unknown proposal kind ${JSON.stringify(kind)} (${supported})`);
  }
  const a = argsObject(raw ?? null);
  if (isMembership(kind)) return { kind, args: validateMembership(kind, a, config) };
  if (kind === 'contract_call') return { kind, args: validateCall(ctx, a) };
  const action = lifecycleAction(kind as ProposalKind);
  if (action) {
    onlyFields(a, action === 'deploy' || action === 'upgrade' ? ['name', 'code'] : ['name'], kind);
    return { kind: kind as ProposalKind, args: lifecycleArgs(action, a) };
  }
  switch (kind as ProposalKind) {
    case 'set_kv_write_roles':
      return { kind: 'set_kv_write_roles', args: { roles: rolesArg(a, kind) } };
    case 'set_tx_roles': {
      const roles = rolesArg(a, kind);
      if (!roles.includes('admin')) {
        invalid('set_tx_roles: roles must include admin, or governance could never run again');
      }
      return { kind: 'set_tx_roles', args: { roles } };
    }
    case 'set_params': {
      const names = Object.keys(PARAM_BOUNDS);
      onlyFields(a, names, kind);
      const changes: Record<string, number> = {};
      for (const name of names) {
        if (!(name in a)) continue;
        const v = a[name];
        const [min, max] = PARAM_BOUNDS[name];
        if (!Number.isSafeInteger(v) || (v as number) < min || (v as number) > max) {
          invalid(`set_params: ${name} must be an integer in ${min}..${max}`);
        }
        changes[name] = v as number;
      }
      if (Object.keys(changes).length === 0) {
        invalid(`set_params: give at least one of ${names.join(', ')}`);
      }
      mergedParams(config, changes);
      return { kind: 'set_params', args: changes };
    }
    case 'set_policy': {
      onlyFields(a, ['which', 'policy'], kind);
      if (a.which !== 'governance' && a.which !== 'lifecycle') {
        invalid('set_policy: which must be governance or lifecycle');
      }
      const m = typeof a.policy === 'string' ? POLICY.exec(a.policy) : null;
      if (!m) invalid('set_policy: policy must be ANY, MAJORITY, ALL or n/m');
      if (m[2] !== undefined && Number(m[2]) > Number(m[3])) {
        invalid(`set_policy: ${a.policy} needs n <= m`);
      }
      return { kind: 'set_policy', args: { which: a.which, policy: a.policy } };
    }
    case 'ibc_create_client':
      return { kind: 'ibc_create_client', args: validateCreateClient(ibcContext(ctx), a) };
    case 'ibc_recover_client':
      return { kind: 'ibc_recover_client', args: validateRecoverClient(ibcContext(ctx), a) };
    case 'revoke_cert': {
      onlyFields(a, ['certHash'], kind);
      const h = a.certHash;
      if (typeof h !== 'string' || !/^(0x)?[0-9a-fA-F]{64}$/.test(h)) {
        invalid('revoke_cert: certHash must be the 64-hex-character hash of the certificate');
      }
      return { kind: 'revoke_cert', args: { certHash: h.replace(/^0x/, '').toLowerCase() } };
    }
    default:
      return invalid(`unknown proposal kind ${JSON.stringify(kind)} (${supported})`);
  }
}

/** A context on the stored chain config (host capability; see the file comment). */
function configContext(ctx: CallContext): CallContext {
  return ctx.derive(CONFIG_CONTRACT, ctx.sender);
}

/**
 * The config as stored now: ctx.config is the config at the start of the block, while an
 * earlier tx of this block may already have changed the stored one.
 */
function currentConfig(ctx: CallContext): ChainConfig {
  const bytes = configContext(ctx).get(CONFIG_KEY);
  if (!bytes) throw new ArchiError('INTERNAL', 'chain config missing from state');
  return decodeConfig(bytes);
}

function applyChange(ctx: CallContext, p: Proposal): void {
  // As if the proposer's organization admin ran it, policy now met.
  const sender = { org: p.proposer.org, role: 'admin' as const, id: p.proposer.id, name: '' };
  const action = lifecycleAction(p.kind);
  if (action) {
    runLifecycle(ctx.derive(MANAGE, sender), action, p.args, (n) => NATIVE_NAMES.has(n));
    return;
  }
  if (p.kind === 'ibc_create_client') {
    createClient(ibcContext(ctx, sender), p.args);
    return;
  }
  if (p.kind === 'ibc_recover_client') {
    recoverClient(ibcContext(ctx, sender), p.args);
    return;
  }
  if (p.kind === 'contract_call') {
    // As governance itself: the callee's ctx.caller is 'governance'.
    ctx.call(p.args.contract as string, p.args.method as string, p.args.args ?? null);
    return;
  }
  const config = currentConfig(ctx);
  const a = p.args;
  if (isMembership(p.kind)) {
    applyMembership(p.kind, a, config, ctx.block.height);
    configContext(ctx).set(CONFIG_KEY, encodeConfig(config));
    return;
  }
  switch (p.kind) {
    case 'set_kv_write_roles':
      config.kvWriteRoles = [...(a.roles as string[])];
      break;
    case 'set_tx_roles':
      config.txRoles = [...(a.roles as string[])];
      break;
    case 'set_params': {
      // Re-checked against the config as it is now; a failure reverts the approving tx.
      const m = mergedParams(config, a as Record<string, number>);
      if (!config.params) throw new ArchiError('INTERNAL', 'chain config has no params');
      config.params.maxBlockTxs = m.maxBlockTxs;
      config.params.maxBlockBytes = BigInt(m.maxBlockBytes);
      config.params.maxTxBytes = m.maxTxBytes;
      config.params.blockIntervalMs = m.blockIntervalMs;
      config.params.timeoutProposeMs = m.timeoutProposeMs;
      config.params.timeoutVoteMs = m.timeoutVoteMs;
      config.params.timeoutDeltaMs = m.timeoutDeltaMs;
      config.params.maxBlockGas = BigInt(m.maxBlockGas);
      break;
    }
    case 'set_policy':
      if (a.which === 'governance') config.governancePolicy = a.policy as string;
      else config.lifecyclePolicy = a.policy as string;
      break;
    case 'revoke_cert':
      if (!config.revokedCerts.includes(a.certHash as string)) {
        config.revokedCerts = [...config.revokedCerts, a.certHash as string];
      }
      break;
    default:
      throw new ArchiError('INTERNAL', `proposal kind ${p.kind} changes no config`);
  }
  configContext(ctx).set(CONFIG_KEY, encodeConfig(config));
}

function load(ctx: CallContext, id: number): Proposal | undefined {
  const v = ctx.get(proposalKey(id));
  return v === undefined ? undefined : (parseJsonBytes(v, 'value', 'proposal') as Proposal);
}

function store(ctx: CallContext, p: Proposal): void {
  ctx.set(proposalKey(p.id), jsonBytes(p, 'value', 'proposal'));
}

/**
 * Whether a pending proposal is past its last votable height. A tx runs at the block's
 * height; a query sees the latest committed height, and the next vote would land one higher.
 */
function isExpired(ctx: CallContext, p: Proposal): boolean {
  const height = ctx.readOnly ? ctx.block.height + 1 : ctx.block.height;
  return p.status === 'pending' && height > p.expiresAt;
}

function view(ctx: CallContext, p: Proposal): ProposalJson {
  return isExpired(ctx, p) ? { ...p, status: 'expired' } : p;
}

function requireAdmin(ctx: CallContext, action: string): void {
  if (ctx.sender.role !== 'admin') {
    throw new ArchiError(
      'TX_FORBIDDEN',
      `only an organization admin may ${action} (sender role is ${ctx.sender.role})`,
    );
  }
}

function idArg(args: unknown): number {
  const a = argsObject(args);
  onlyFields(a, ['id'], 'args');
  if (!Number.isSafeInteger(a.id) || (a.id as number) < 1) {
    invalid('id must be a positive integer');
  }
  return a.id as number;
}

/** Execute or reject the proposal if its votes settle it under the current policy. */
function settle(ctx: CallContext, p: Proposal): void {
  const config = currentConfig(ctx);
  // Contract lifecycle kinds answer to the lifecycle policy (contract_manage's default ANY).
  const policy = lifecycleAction(p.kind)
    ? config.lifecyclePolicy || 'ANY'
    : config.governancePolicy || 'MAJORITY';
  const orgIds = config.orgs.map((o) => o.id);
  const approvals = p.approvals.filter((o) => orgIds.includes(o)).length;
  const rejections = p.rejections.filter((o) => orgIds.includes(o)).length;
  if (policyMet(policy, approvals, orgIds.length)) {
    applyChange(ctx, p);
    p.status = 'executed';
    p.closedAt = ctx.block.height;
    ctx.emit('Executed', { id: p.id, kind: p.kind, args: p.args });
  } else if (!policyMet(policy, orgIds.length - rejections, orgIds.length)) {
    p.status = 'rejected';
    p.closedAt = ctx.block.height;
    ctx.emit('Rejected', { id: p.id, kind: p.kind });
  }
}

function vote(ctx: CallContext, args: unknown, approve: boolean): unknown {
  requireAdmin(ctx, approve ? 'approve a proposal' : 'reject a proposal');
  const id = idArg(args);
  const p = load(ctx, id);
  if (!p) throw new ArchiError('NOT_FOUND', `no proposal ${id}`);
  if (p.status !== 'pending') {
    throw new ArchiError('PROPOSAL_CLOSED', `proposal ${id} is already ${p.status}`);
  }
  if (isExpired(ctx, p)) {
    throw new ArchiError(
      'PROPOSAL_EXPIRED',
      `proposal ${id} expired after block ${p.expiresAt} (this is block ${ctx.block.height})`,
    );
  }
  const org = ctx.sender.org;
  if (p.approvals.includes(org) || p.rejections.includes(org)) {
    throw new ArchiError(
      'ALREADY_VOTED',
      `organization ${org} already ${p.approvals.includes(org) ? 'approved' : 'rejected'} proposal ${id}`,
    );
  }
  if (approve) p.approvals.push(org);
  else p.rejections.push(org);
  ctx.emit('Voted', { id, org, approve });
  settle(ctx, p);
  store(ctx, p);
  return view(ctx, p);
}

const write = (run: NativeMethod['run']): NativeMethod => ({ write: true, run });
const read = (run: NativeMethod['run']): NativeMethod => ({ write: false, run });

export const governanceContract: NativeContract = {
  name: GOVERNANCE_CONTRACT,
  methods: {
    propose: write((ctx, args) => {
      requireAdmin(ctx, 'propose a change');
      const a = argsObject(args);
      onlyFields(a, ['kind', 'args', 'expiresInBlocks'], 'propose');
      const change = validateChange(ctx, a.kind, a.args, currentConfig(ctx));
      const ttl = a.expiresInBlocks ?? DEFAULT_EXPIRES_IN_BLOCKS;
      if (
        !Number.isSafeInteger(ttl) ||
        (ttl as number) < 1 ||
        (ttl as number) > MAX_EXPIRES_IN_BLOCKS
      ) {
        invalid(`expiresInBlocks must be an integer in 1..${MAX_EXPIRES_IN_BLOCKS}`);
      }
      const next = ctx.get(NEXT_KEY);
      const id = next === undefined ? 1 : Number(utf8Text(next));
      ctx.set(NEXT_KEY, utf8Bytes(String(id + 1)));
      const p: Proposal = {
        id,
        kind: change.kind,
        args: change.args,
        proposer: { org: ctx.sender.org, id: ctx.sender.id },
        createdAt: ctx.block.height,
        expiresAt: ctx.block.height + (ttl as number),
        status: 'pending',
        approvals: [ctx.sender.org],
        rejections: [],
        closedAt: null,
      };
      ctx.emit('Proposed', {
        id,
        kind: p.kind,
        args: p.args,
        org: p.proposer.org,
        expiresAt: p.expiresAt,
      });
      settle(ctx, p);
      store(ctx, p);
      return view(ctx, p);
    }),
    approve: write((ctx, args) => vote(ctx, args, true)),
    reject: write((ctx, args) => vote(ctx, args, false)),
    get: read((ctx, args) => {
      const id = idArg(args);
      const p = load(ctx, id);
      if (!p) throw new ArchiError('NOT_FOUND', `no proposal ${id}`);
      return view(ctx, p);
    }),
    list: read((ctx, args) => {
      const a = argsObject(args ?? {});
      onlyFields(a, ['status'], 'list');
      if (a.status !== undefined && !PROPOSAL_STATUSES.includes(a.status as ProposalStatus)) {
        invalid(`status must be one of ${PROPOSAL_STATUSES.join(', ')}`);
      }
      return ctx
        .range('proposal/', LIST_LIMIT)
        .map(([, v]) => view(ctx, parseJsonBytes(v, 'value', 'proposal') as Proposal))
        .filter((p) => a.status === undefined || p.status === a.status);
    }),
  },
};
