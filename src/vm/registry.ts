/** The contracts a chain can call, by name. User contracts join here when the sandbox lands. */
import { ArchiError } from '../types/errors.ts';
import type { NativeContract, NativeMethod } from './context.ts';
import { chainConfigContract } from './native/chain-config.ts';
import { evidenceContract } from './native/evidence.ts';
import { kvContract } from './native/kv.ts';
import { tokenContract } from './native/token.ts';

export class ContractRegistry {
  private readonly contracts = new Map<string, NativeContract>();

  constructor(
    natives: NativeContract[] = [chainConfigContract, kvContract, tokenContract, evidenceContract],
  ) {
    for (const c of natives) this.contracts.set(c.name, c);
  }

  /** The method, or ArchiError CONTRACT_NOT_FOUND / METHOD_NOT_FOUND. */
  method(contract: string, method: string): NativeMethod {
    const c = this.contracts.get(contract);
    if (!c)
      throw new ArchiError('CONTRACT_NOT_FOUND', `unknown contract ${JSON.stringify(contract)}`);
    if (!Object.hasOwn(c.methods, method)) {
      throw new ArchiError(
        'METHOD_NOT_FOUND',
        `contract ${contract} has no method ${JSON.stringify(method)}`,
      );
    }
    return c.methods[method];
  }

  /** Names of the known contracts with their methods. */
  list(): Array<{ name: string; methods: Array<{ name: string; write: boolean }> }> {
    return [...this.contracts.values()].map((c) => ({
      name: c.name,
      methods: Object.entries(c.methods).map(([name, m]) => ({ name, write: m.write })),
    }));
  }
}
