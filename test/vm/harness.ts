/**
 * In-process chain for contract tests: a real Chain on LMDB with the sandbox started,
 * members that sign txs, and helpers that commit a block per call and return receipts.
 */
import type { Chain } from '../../src/chain/chain.ts';
import type { ReceiptJson } from '../../src/types/block.ts';
import { buildContract } from '../../src/vm/sandbox/build.ts';
import { initSandbox } from '../../src/vm/sandbox/host.ts';
import { type Fixture, type Member, makeFixture } from '../unit/chain-fixture.ts';

export interface ContractChain {
  fx: Fixture;
  chain: Chain;
  admin: Member;
  client: Member;
  /** Bundle FILE and deploy it as NAME (as the admin); returns the receipt. */
  deploy(name: string, file: string): Promise<ReceiptJson>;
  /** Deploy already-bundled code. */
  deployCode(name: string, code: string): Promise<ReceiptJson>;
  /** Send one tx, commit a block, return its receipt. */
  send(
    who: Member,
    contract: string,
    method: string,
    args?: unknown,
    gasLimit?: bigint,
  ): Promise<ReceiptJson>;
  /** Send several txs and commit them in one block; receipts in order. */
  sendMany(
    calls: Array<{ who: Member; contract: string; method: string; args?: unknown }>,
  ): Promise<ReceiptJson[]>;
  query(contract: string, method: string, args?: unknown): unknown;
  close(): Promise<void>;
}

const bundles = new Map<string, string>();

/** Bundle a contract file once per process. */
export async function bundle(file: string): Promise<string> {
  let code = bundles.get(file);
  if (code === undefined) {
    code = (await buildContract(file)).code;
    bundles.set(file, code);
  }
  return code;
}

/** A chain of one organization, or of `opts.orgs` (each member in `fx.orgs`). */
export async function contractChain(
  profile: 'standard' | 'gm' = 'standard',
  opts: Parameters<typeof makeFixture>[1] = {},
): Promise<ContractChain> {
  await initSandbox();
  const fx = makeFixture(profile, opts);
  const chain = fx.open();
  let time = Date.now();
  const commit = () => {
    time = Math.max(time + 1, Date.now());
    fx.commit(chain, time);
  };
  const send: ContractChain['send'] = async (who, contract, method, args, gasLimit) => {
    const id = await who.send(chain, { contract, method, args: args ?? null, gasLimit });
    commit();
    return chain.getTx(id).receipt;
  };
  const deployCode = (name: string, code: string) =>
    send(fx.admin, 'contract_manage', 'deploy', { name, code });
  return {
    fx,
    chain,
    admin: fx.admin,
    client: fx.client,
    deployCode,
    deploy: async (name, file) => deployCode(name, await bundle(file)),
    send,
    async sendMany(calls) {
      const ids: string[] = [];
      for (const c of calls) {
        ids.push(
          await c.who.send(chain, { contract: c.contract, method: c.method, args: c.args ?? null }),
        );
      }
      commit();
      return ids.map((id) => chain.getTx(id).receipt);
    },
    query: (contract, method, args) => chain.query(contract, method, args ?? null, false).result,
    close: () => fx.cleanup(),
  };
}
