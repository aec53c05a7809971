/**
 * TypeScript contracts through a node's RPC: deploy, upgrade, freeze, unfreeze and revoke
 * (txs to the native `contract_manage`, waited for), and their metadata (queries). Invoke a
 * deployed contract like any other: `client.send(identity, { contract, method, args })` and
 * `client.query(contract, method, args)`. Bundling a .ts file is `archi contract build`
 * (or `buildContract` in src/vm/sandbox), which needs esbuild and so is not part of the SDK.
 */
import type { ContractMetaJson } from '../types/rpc-json.ts';
import type { CryptoProfile } from '../crypto/profile.ts';
import { hex } from '../types/hex.ts';
import { utf8Bytes } from '../types/json.ts';
import type { ArchiClient, SubmitOptions } from './client.ts';
import { remoteError } from './errors.ts';
import type { Identity } from './identity.ts';
import type { CommittedAnswer, ReceiptJson } from './types.ts';

/** The native contract that manages TypeScript contracts. */
export const CONTRACT_MANAGE = 'contract_manage';

export type { ContractMetaJson };

/** A committed lifecycle tx: the contract's metadata after it, with the tx and receipt. */
export interface LifecycleResult {
  txId: string;
  height: number;
  contract: ContractMetaJson;
  receipt: ReceiptJson;
}

export interface LifecycleOptions extends Omit<SubmitOptions, 'wait'> {
  gasLimit?: bigint | number;
}

/** Hash of contract code as the chain records it (hex of the profile's hash of the UTF-8 code). */
export function contractCodeHash(profile: CryptoProfile, code: string): string {
  return hex(profile.hash(utf8Bytes(code)));
}

/** The account id a contract has as a sender when it calls other contracts. */
export function contractAddress(profile: CryptoProfile, name: string): string {
  return hex(profile.hash(utf8Bytes(`contract:${name}`)).slice(0, 20));
}

/** Lifecycle and metadata of TypeScript contracts on one node. */
export class Contracts {
  constructor(readonly client: ArchiClient) {}

  private async lifecycle(
    identity: Identity,
    method: string,
    args: Record<string, unknown>,
    opts: LifecycleOptions = {},
  ): Promise<LifecycleResult> {
    const answer = (await this.client.send(
      identity,
      { contract: CONTRACT_MANAGE, method, args, gasLimit: opts.gasLimit },
      { wait: true, timeoutMs: opts.timeoutMs },
    )) as CommittedAnswer;
    const r = answer.receipt;
    if (r.status !== 'ok') {
      throw remoteError(
        r.code,
        `${method} ${String(args.name)} failed in block ${answer.height}: ${r.message}`,
      );
    }
    return {
      txId: answer.txId,
      height: answer.height,
      contract: r.result as ContractMetaJson,
      receipt: r,
    };
  }

  /** Deploy bundled code (see `archi contract build`) under `name`. */
  deploy(
    identity: Identity,
    name: string,
    code: string,
    opts?: LifecycleOptions,
  ): Promise<LifecycleResult> {
    return this.lifecycle(identity, 'deploy', { name, code }, opts);
  }

  /** Replace the code of `name`; its state is kept and its version goes up by one. */
  upgrade(
    identity: Identity,
    name: string,
    code: string,
    opts?: LifecycleOptions,
  ): Promise<LifecycleResult> {
    return this.lifecycle(identity, 'upgrade', { name, code }, opts);
  }

  /** Refuse txs to `name` until it is unfrozen (queries still work). */
  freeze(identity: Identity, name: string, opts?: LifecycleOptions): Promise<LifecycleResult> {
    return this.lifecycle(identity, 'freeze', { name }, opts);
  }

  unfreeze(identity: Identity, name: string, opts?: LifecycleOptions): Promise<LifecycleResult> {
    return this.lifecycle(identity, 'unfreeze', { name }, opts);
  }

  /** Retire `name` for good: txs and queries are refused and the name is never reused. */
  revoke(identity: Identity, name: string, opts?: LifecycleOptions): Promise<LifecycleResult> {
    return this.lifecycle(identity, 'revoke', { name }, opts);
  }

  /** Metadata of one contract; CONTRACT_NOT_FOUND when there is none. */
  async info(name: string): Promise<ContractMetaJson> {
    return (await this.client.query(CONTRACT_MANAGE, 'info', { name })).result as ContractMetaJson;
  }

  /** Metadata of every deployed contract (revoked ones included). */
  async list(): Promise<ContractMetaJson[]> {
    return (await this.client.query(CONTRACT_MANAGE, 'list', {})).result as ContractMetaJson[];
  }

  /** The deployed code of a contract. */
  async code(
    name: string,
  ): Promise<{ name: string; version: number; codeHash: string; code: string | null }> {
    return (await this.client.query(CONTRACT_MANAGE, 'code', { name })).result as {
      name: string;
      version: number;
      codeHash: string;
      code: string | null;
    };
  }
}
