/**
 * The one place a chain's parts are made: the chain itself takes them ready-built, so
 * which mempool, executor, registry or verifier runs is chosen here and nowhere else.
 */
import { Executor } from '../app/executor.ts';
import { ExecPool } from '../app/parallel/pool.ts';
import { IdentityResolver } from '../app/identity.ts';
import { SignatureCache, type TxCheckEnv } from '../app/tx-check.ts';
import { Chain } from '../chain/chain.ts';
import { asyncVerifier } from '../crypto/async-verify.ts';
import type { CryptoProfile } from '../crypto/profile.ts';
import { DEFAULT_MEMPOOL_LIMITS, Mempool, type MempoolLimits } from '../mempool/mempool.ts';
import { type ChainStore, storeReader } from '../storage/chain-store.ts';
import type { Genesis } from '../types/genesis.ts';
import { ContractRegistry } from '../vm/registry.ts';

export interface BuildChainOptions {
  profile: CryptoProfile;
  /** An open store; the chain writes the genesis block into it when it is empty. */
  store: ChainStore;
  genesis: Genesis;
  /** Bounds of the pending-tx pool; DEFAULT_MEMPOOL_LIMITS when absent. */
  mempool?: MempoolLimits;
  /**
   * Threads that validate large blocks in parallel along their tx dependency graph; 0 or
   * absent: blocks run on the node's thread only.
   */
  execThreads?: number;
  /** Told when the execution threads fail (blocks then run on the node's thread). */
  onExecThreadsBroken?: (why: string) => void;
  /** Fewest txs of a block worth running on the threads (tests set it low). */
  execMinTxs?: number;
}

/** Build a chain with its mempool, contract registry, identities, signature cache, executor and verifier. */
export function buildChain(o: BuildChainOptions): Chain {
  const env: TxCheckEnv = {
    profile: o.profile,
    identities: new IdentityResolver(o.profile),
    registry: new ContractRegistry(),
    sigCache: new SignatureCache(),
  };
  return new Chain({
    profile: o.profile,
    store: o.store,
    genesis: o.genesis,
    mempool: new Mempool(o.mempool ?? DEFAULT_MEMPOOL_LIMITS),
    env,
    // Binds the registry to committed state, so admission finds user contracts.
    executor: new Executor(
      env,
      storeReader(o.store),
      o.execThreads
        ? new ExecPool({
            storePath: o.store.path,
            profile: o.profile.name,
            threads: o.execThreads,
            onBroken: o.onExecThreadsBroken,
            minTxs: o.execMinTxs,
          })
        : undefined,
    ),
    verifier: asyncVerifier(o.profile),
  });
}
