/**
 * The reactors of one BFT chain on a node, wired to each other: consensus (the driver), block
 * sync, evidence gossip and tx gossip. The node and the simulator both build a chain's
 * services here, so the simulator runs exactly what a node runs.
 */
import type { CandidateBlock, ConsensusChain, EvidencePool, TxPool } from '../chain-api.ts';
import type { Clock } from '../clock.ts';
import { type ConsensusNet, ReactorRouter, type ReactorLogger } from '../reactor.ts';
import { BlockSyncReactor } from '../reactors/blocksync.ts';
import { EvidenceReactor } from '../reactors/evidence.ts';
import { MempoolReactor } from '../reactors/mempool.ts';
import type { GuardedSigner } from '../signer.ts';
import type { ConsensusWal } from '../wal.ts';
import { TbftDriver } from './driver.ts';

export interface TbftServicesOptions<B extends CandidateBlock> {
  chain: ConsensusChain<B> & EvidencePool;
  /** Tx gossip is left out when undefined (the simulator's chains have no mempool). */
  pool?: TxPool;
  signer: GuardedSigner;
  net: ConsensusNet;
  wal: ConsensusWal;
  clock: Clock;
  log: ReactorLogger;
}

export interface TbftServices<B extends CandidateBlock> {
  driver: TbftDriver<B>;
  blockSync: BlockSyncReactor<B>;
  evidence: EvidenceReactor;
  /** Routes the chain's p2p messages and peer events to its reactors. */
  router: ReactorRouter;
}

/** Builds a chain's reactors and connects their hooks; start with router.start(). */
export function createTbftServices<B extends CandidateBlock>(
  o: TbftServicesOptions<B>,
): TbftServices<B> {
  const evidence = new EvidenceReactor({ pool: o.chain, net: o.net, log: o.log });
  const blockSync: BlockSyncReactor<B> = new BlockSyncReactor<B>({
    chain: o.chain,
    net: o.net,
    clock: o.clock,
    log: o.log,
    onSynced(block) {
      evidence.committed(block);
      driver.synced(block);
    },
  });
  const driver: TbftDriver<B> = new TbftDriver<B>({
    chain: o.chain,
    signer: o.signer,
    net: o.net,
    wal: o.wal,
    log: o.log,
    clock: o.clock,
    reportEvidence: (ev) => evidence.report(ev),
    onCommitted(block) {
      evidence.committed(block);
      blockSync.announce();
    },
    onMissingBlock: () => blockSync.announce(),
  });
  const reactors = [driver, blockSync, evidence];
  const router = new ReactorRouter(
    o.pool
      ? [...reactors, new MempoolReactor({ pool: o.pool, net: o.net, clock: o.clock })]
      : reactors,
    o.log,
  );
  return { driver, blockSync, evidence, router };
}
