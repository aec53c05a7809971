/**
 * `contract_manage`: the lifecycle of user (TypeScript) contracts. Deploy, upgrade (state
 * kept, version bumped), freeze / unfreeze and revoke, each allowed by the chain's
 * lifecycle policy; code and metadata live in state under this contract.
 *
 * A direct tx works only under a policy one organization's admin can satisfy (ANY, or any
 * policy on a one-organization chain); others are refused with POLICY_NOT_MET and go through
 * governance proposals (`contract_deploy`, ...), which run the same actions via
 * `runLifecycle` once the proposal's approvals meet the lifecycle policy.
 */
import { ArchiError } from '../../types/errors.ts';
import { utf8Bytes, utf8Text } from '../../types/json.ts';
import type { CallContext, NativeContract, NativeMethod } from '../context.ts';
import { GAS } from '../context.ts';
import { CONTRACT_NAME, LIMITS, METHOD_NAME } from '../sandbox/limits.ts';
import {
  type ContractMeta,
  canonicalBytes,
  codeHash,
  codeKey,
  MANAGE,
  metaKey,
} from '../sandbox/meta.ts';
import { inspectCode } from '../sandbox/runner.ts';
import { argsObject, str } from './args.ts';

/** How many organizations' admins a lifecycle policy needs among `orgs` organizations. */
export function requiredOrgs(policy: string, orgs: number): number {
  if (policy === 'ANY') return 1;
  if (policy === 'ALL') return orgs;
  if (policy === 'MAJORITY') return Math.floor(orgs / 2) + 1;
  const m = /^([1-9][0-9]*)\/([1-9][0-9]*)$/.exec(policy);
  if (m) return Math.min(orgs, Math.max(1, Math.ceil((orgs * Number(m[1])) / Number(m[2]))));
  return orgs;
}

/** The lifecycle actions (method names) a governance proposal can also carry out. */
export const LIFECYCLE_ACTIONS = ['deploy', 'upgrade', 'freeze', 'unfreeze', 'revoke'] as const;
export type LifecycleAction = (typeof LIFECYCLE_ACTIONS)[number];

function authorize(ctx: CallContext, action: LifecycleAction): void {
  if (ctx.sender.role !== 'admin') {
    throw new ArchiError(
      'TX_FORBIDDEN',
      `only an organization admin may ${action} a contract (sender role is ${ctx.sender.role})`,
    );
  }
  const policy = ctx.config.lifecyclePolicy || 'ANY';
  const orgs = ctx.config.orgs.length;
  const needed = requiredOrgs(policy, orgs);
  if (needed > 1) {
    throw new ArchiError(
      'POLICY_NOT_MET',
      `the lifecycle policy ${policy} needs admins of ${needed} of ${orgs} organizations to ${action} a contract; propose it through governance instead: archi gov propose contract_${action} --args '{"name":"...${action === 'deploy' || action === 'upgrade' ? '","code":"..."' : '"'}}'`,
    );
  }
}

function nameArg(a: Record<string, unknown>): string {
  const name = a.name;
  if (typeof name !== 'string' || !CONTRACT_NAME.test(name)) {
    throw new ArchiError(
      'INVALID_ARGS',
      `name must match ${CONTRACT_NAME} (lower case letters, digits, _; 2..32 characters), got ${JSON.stringify(name)}`,
    );
  }
  return name;
}

function codeArg(a: Record<string, unknown>): string {
  const code = a.code;
  if (typeof code !== 'string' || code.length === 0) {
    throw new ArchiError('INVALID_ARGS', 'code must be the bundled contract (a non-empty string)');
  }
  if (Buffer.byteLength(code) > LIMITS.codeBytes) {
    throw new ArchiError('INVALID_ARGS', `code is limited to ${LIMITS.codeBytes} bytes`);
  }
  return code;
}

function getMeta(ctx: CallContext, name: string): ContractMeta | undefined {
  const v = ctx.get(metaKey(name));
  return v === undefined ? undefined : (JSON.parse(utf8Text(v)) as ContractMeta);
}

function existing(ctx: CallContext, name: string): ContractMeta {
  const meta = getMeta(ctx, name);
  if (!meta) throw new ArchiError('CONTRACT_NOT_FOUND', `no contract named ${name}`);
  if (meta.status === 'revoked') {
    throw new ArchiError('CONTRACT_REVOKED', `contract ${name} is revoked`);
  }
  return meta;
}

function putMeta(ctx: CallContext, meta: ContractMeta): void {
  ctx.set(metaKey(meta.name), canonicalBytes(meta));
}

/** Check the code loads, store it by hash; returns its hash and methods. */
function storeCode(
  ctx: CallContext,
  name: string,
  code: string,
): { hash: string; methods: string[] } {
  const exported = inspectCode(name, code, () => ctx.gas(GAS.interruptTick));
  const methods = exported.filter((m) => METHOD_NAME.test(m) && m !== 'default');
  if (methods.length === 0) {
    throw new ArchiError('CODE_INVALID', `the code of ${name} exports no methods (functions)`);
  }
  const hash = codeHash(ctx.config.crypto, code);
  if (ctx.get(codeKey(hash)) === undefined) ctx.set(codeKey(hash), utf8Bytes(code));
  return { hash, methods };
}

function view(meta: ContractMeta): ContractMeta {
  return meta;
}

/**
 * The args of a lifecycle action, checked as the action checks them (name rules; code present
 * and within the size limit for deploy and upgrade), without touching state or running code.
 */
export function lifecycleArgs(action: LifecycleAction, args: unknown): Record<string, unknown> {
  const a = argsObject(args);
  const name = nameArg(a);
  return action === 'deploy' || action === 'upgrade' ? { name, code: codeArg(a) } : { name };
}

const STATUS_CHANGES: Record<
  'freeze' | 'unfreeze',
  { from: ContractMeta['status'][]; to: ContractMeta['status']; event: string }
> = {
  freeze: { from: ['active'], to: 'frozen', event: 'Frozen' },
  unfreeze: { from: ['frozen'], to: 'active', event: 'Unfrozen' },
};

/**
 * Carry out a lifecycle action on a context for `contract_manage`, as `ctx.sender`, without
 * the lifecycle policy check: the contract's methods check it first, governance runs this
 * once a proposal's approvals meet it. `isNative` tells names that belong to native contracts.
 */
export function runLifecycle(
  ctx: CallContext,
  action: LifecycleAction,
  args: unknown,
  isNative: (name: string) => boolean,
): ContractMeta {
  switch (action) {
    case 'deploy': {
      const a = argsObject(args);
      const name = nameArg(a);
      if (isNative(name)) {
        throw new ArchiError('CONTRACT_EXISTS', `${name} is a native contract`);
      }
      const old = getMeta(ctx, name);
      if (old) {
        throw new ArchiError(
          'CONTRACT_EXISTS',
          old.status === 'revoked'
            ? `contract ${name} was revoked; names are not reused`
            : `contract ${name} already exists (version ${old.version}): upgrade it instead`,
        );
      }
      const code = codeArg(a);
      const { hash, methods } = storeCode(ctx, name, code);
      const meta: ContractMeta = {
        name,
        version: 1,
        codeHash: hash,
        codeSize: Buffer.byteLength(code),
        status: 'active',
        methods,
        deployer: { org: ctx.sender.org, id: ctx.sender.id },
        deployedAt: ctx.block.height,
        updatedAt: ctx.block.height,
      };
      putMeta(ctx, meta);
      ctx.emit('Deployed', { name, version: 1, codeHash: hash });
      return view(meta);
    }
    case 'upgrade': {
      const a = argsObject(args);
      const name = nameArg(a);
      const meta = existing(ctx, name);
      const code = codeArg(a);
      const { hash, methods } = storeCode(ctx, name, code);
      const next: ContractMeta = {
        ...meta,
        version: meta.version + 1,
        codeHash: hash,
        codeSize: Buffer.byteLength(code),
        methods,
        updatedAt: ctx.block.height,
      };
      putMeta(ctx, next);
      ctx.emit('Upgraded', {
        name,
        version: next.version,
        codeHash: hash,
        previousCodeHash: meta.codeHash,
      });
      return view(next);
    }
    case 'freeze':
    case 'unfreeze': {
      const { from, to, event } = STATUS_CHANGES[action];
      const name = nameArg(argsObject(args));
      const meta = existing(ctx, name);
      if (!from.includes(meta.status)) {
        if (meta.status === 'frozen')
          throw new ArchiError('CONTRACT_FROZEN', `contract ${name} is already frozen`);
        throw new ArchiError('INVALID_ARGS', `contract ${name} is ${meta.status}, not frozen`);
      }
      const next: ContractMeta = { ...meta, status: to, updatedAt: ctx.block.height };
      putMeta(ctx, next);
      ctx.emit(event, { name, version: meta.version });
      return view(next);
    }
    case 'revoke': {
      const name = nameArg(argsObject(args));
      const meta = existing(ctx, name);
      const next: ContractMeta = { ...meta, status: 'revoked', updatedAt: ctx.block.height };
      putMeta(ctx, next);
      ctx.emit('Revoked', { name, version: meta.version });
      return view(next);
    }
  }
}

/** The lifecycle contract; `isNative` tells names that belong to native contracts. */
export function contractManageContract(isNative: (name: string) => boolean): NativeContract {
  const write = (run: NativeMethod['run']): NativeMethod => ({ write: true, run });
  const read = (run: NativeMethod['run']): NativeMethod => ({ write: false, run });
  const lifecycle = (action: LifecycleAction): NativeMethod =>
    write((ctx, args) => {
      authorize(ctx, action);
      return runLifecycle(ctx, action, args, isNative);
    });
  return {
    name: MANAGE,
    methods: {
      deploy: lifecycle('deploy'),
      upgrade: lifecycle('upgrade'),
      freeze: lifecycle('freeze'),
      unfreeze: lifecycle('unfreeze'),
      revoke: lifecycle('revoke'),
      info: read((ctx, args) => {
        const name = str(argsObject(args), 'name', 64);
        const meta = getMeta(ctx, name);
        if (!meta) throw new ArchiError('CONTRACT_NOT_FOUND', `no contract named ${name}`);
        return view(meta);
      }),
      list: read((ctx) =>
        ctx.range('contract/', LIMITS.rangeRows).map(([, v]) => JSON.parse(utf8Text(v))),
      ),
      code: read((ctx, args) => {
        const name = str(argsObject(args), 'name', 64);
        const meta = getMeta(ctx, name);
        if (!meta) throw new ArchiError('CONTRACT_NOT_FOUND', `no contract named ${name}`);
        const code = ctx.get(codeKey(meta.codeHash));
        return {
          name,
          version: meta.version,
          codeHash: meta.codeHash,
          code: code ? utf8Text(code) : null,
        };
      }),
    },
  };
}
