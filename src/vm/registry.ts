/**
 * The contracts a chain can call, by name: native contracts (host code) and user contracts
 * (TypeScript, run in the sandbox), which are looked up in state through a reader: the
 * executor passes the block's overlay, admission falls back to committed state.
 */
import type { StateReader } from '../state/overlay.ts';
import { ArchiError } from '../types/errors.ts';
import type { NativeContract, NativeMethod } from './context.ts';
import { chainConfigContract } from './native/chain-config.ts';
import { contractManageContract } from './native/contract-manage.ts';
import { evidenceContract } from './native/evidence.ts';
import { governanceContract, NATIVE_NAMES } from './native/governance.ts';
import { ibcContract } from './native/ibc/index.ts';
import { kvContract } from './native/kv.ts';
import { orgKeysContract } from './native/org-keys.ts';
import { tokenContract } from './native/token.ts';
import { initSandbox } from './sandbox/host.ts';
import { CONTRACT_NAME } from './sandbox/limits.ts';
import { type ContractMeta, MANAGE, metaKey, readMeta } from './sandbox/meta.ts';
import { type Resolved, runUserMethod } from './sandbox/runner.ts';

/** A tx runs write methods; a query runs any method read-only (and may read frozen contracts). */
export type CallMode = 'tx' | 'query';

export interface ContractListing {
  name: string;
  kind: 'native' | 'contract';
  methods: Array<{ name: string; write: boolean }>;
  version?: number;
  status?: ContractMeta['status'];
  codeHash?: string;
}

export class ContractRegistry {
  private readonly contracts = new Map<string, NativeContract>();
  private committed?: StateReader;

  constructor(
    natives: NativeContract[] = [
      chainConfigContract,
      kvContract,
      tokenContract,
      evidenceContract,
      governanceContract,
      orgKeysContract,
      ibcContract,
    ],
  ) {
    for (const c of natives) {
      // Governance deploys check names against NATIVE_NAMES: a native missing there could be shadowed.
      if (!NATIVE_NAMES.has(c.name))
        throw new Error(`native contract ${c.name} is missing from NATIVE_NAMES`);
      this.contracts.set(c.name, c);
    }
    this.contracts.set(
      MANAGE,
      contractManageContract((name) => this.contracts.has(name)),
    );
    // A chain that may run user contracts starts the sandbox; a node awaits initSandbox()
    // before producing blocks, this only gets it going early.
    initSandbox().catch(() => {});
  }

  /** The committed state, used when a caller has no state of its own (admission, list). */
  bindState(reader: StateReader): void {
    this.committed = reader;
  }

  /** Whether `name` is a native contract. */
  isNative(name: string): boolean {
    return this.contracts.has(name);
  }

  /** Resolve a call target: a native method or a user contract's metadata; throws its refusal. */
  resolve(contract: string, method: string, state?: StateReader, mode: CallMode = 'tx'): Resolved {
    const c = this.contracts.get(contract);
    if (c) {
      if (!Object.hasOwn(c.methods, method)) {
        throw new ArchiError(
          'METHOD_NOT_FOUND',
          `contract ${contract} has no method ${JSON.stringify(method)}`,
        );
      }
      return { kind: 'native', method: c.methods[method] };
    }
    const reader = state ?? this.committed;
    const meta = CONTRACT_NAME.test(contract) && reader ? readMeta(reader, contract) : undefined;
    if (!meta) {
      throw new ArchiError('CONTRACT_NOT_FOUND', `unknown contract ${JSON.stringify(contract)}`);
    }
    if (meta.status === 'revoked') {
      throw new ArchiError('CONTRACT_REVOKED', `contract ${contract} is revoked`);
    }
    if (meta.status === 'frozen' && mode === 'tx') {
      throw new ArchiError('CONTRACT_FROZEN', `contract ${contract} is frozen`);
    }
    if (!meta.methods.includes(method)) {
      throw new ArchiError(
        'METHOD_NOT_FOUND',
        `contract ${contract} has no method ${JSON.stringify(method)} (it has ${meta.methods.join(', ')})`,
      );
    }
    return { kind: 'user', meta };
  }

  /**
   * The method, or ArchiError CONTRACT_NOT_FOUND / METHOD_NOT_FOUND / CONTRACT_FROZEN /
   * CONTRACT_REVOKED. User contracts are read from `state` (the committed state if absent).
   */
  method(
    contract: string,
    method: string,
    state?: StateReader,
    mode: CallMode = 'tx',
  ): NativeMethod {
    const r = this.resolve(contract, method, state, mode);
    if (r.kind === 'native') return r.method;
    const reader = (state ?? this.committed)!;
    const env = {
      state: reader,
      resolve: (c: string, m: string, md: CallMode) => this.resolve(c, m, reader, md),
    };
    return {
      write: mode === 'tx',
      run: (ctx, args) => runUserMethod(env, ctx, r.meta, method, args),
    };
  }

  /** The known contracts with their methods (user contracts from committed state). */
  list(): ContractListing[] {
    const out: ContractListing[] = [...this.contracts.values()].map((c) => ({
      name: c.name,
      kind: 'native' as const,
      methods: Object.entries(c.methods).map(([name, m]) => ({ name, write: m.write })),
    }));
    if (this.committed) {
      for (const [k, v] of this.committed.range(`${MANAGE}/${metaKey('')}`, 1000)) {
        if (!k.startsWith(`${MANAGE}/contract/`)) continue;
        const meta = JSON.parse(new TextDecoder().decode(v)) as ContractMeta;
        out.push({
          name: meta.name,
          kind: 'contract',
          methods: meta.methods.map((name) => ({ name, write: true })),
          version: meta.version,
          status: meta.status,
          codeHash: meta.codeHash,
        });
      }
    }
    return out;
  }
}
