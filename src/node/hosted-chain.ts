/**
 * One chain hosted by a node: its genesis, store, chain, signer and consensus engine (solo,
 * or the BFT reactors over the node's shared p2p transport). A node hosts any number of these
 * side by side; each has its own data directory, WAL, mempool and state.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Chain } from '../chain/chain.ts';
import type { Clock } from '../consensus/clock.ts';
import type { ConsensusNet } from '../consensus/reactor.ts';
import type { ReactorRouter } from '../consensus/reactor.ts';
import { GuardedSigner } from '../consensus/signer.ts';
import { SoloEngine } from '../consensus/solo/solo.ts';
import { createTbftServices } from '../consensus/tbft/services.ts';
import { Wal } from '../consensus/wal.ts';
import { getProfile, type Signer } from '../crypto/profile.ts';
import { ChainStore } from '../storage/chain-store.ts';
import { ArchiError } from '../types/errors.ts';
import type { Genesis } from '../types/genesis.ts';
import { bytesEqual } from '../types/hex.ts';
import { memberOrg } from '../vm/native/membership.ts';
import type { MempoolLimits } from '../mempool/mempool.ts';
import { buildChain } from './build-chain.ts';
import { type ChainEntry, loadGenesis } from './config.ts';

/** Consensus state of one chain, for status and RPC. */
export interface ChainConsensusStatus {
  validator: boolean;
  round: number;
  step: string;
}

/** A chain open on this node, with its engine built but not yet started. */
export interface HostedChain {
  readonly id: string;
  readonly entry: ChainEntry;
  readonly genesis: Genesis;
  readonly chain: Chain;
  /** The chain's p2p reactors (BFT chains only). */
  readonly router?: ReactorRouter;
  status(): ChainConsensusStatus;
  /** True when `peer` is a node of this chain and connected with its own org's certificate. */
  isMember(peer: string): boolean;
  start(): void;
  /** Stops the engine and closes the store; data stays on disk. */
  stop(): Promise<void>;
}

/** What a hosted chain shares with the node's other chains. */
export interface ChainHostDeps {
  node: { name: string; org: string };
  clock: Clock;
  log: Logger;
  /** Sends this chain's messages to its member peers (undefined: the node has no transport). */
  net?: (chainId: string, isMember: (peer: string) => boolean) => ConsensusNet;
  /** The org a connected peer's TLS certificate names. */
  peerOrg(peer: string): string | undefined;
  /** Threads that validate large blocks in parallel (NodeConfig.execThreads). */
  execThreads?: number;
  /** Bounds of the chain's pool of pending txs (NodeConfig.mempool). */
  mempool?: MempoolLimits;
}

function loadSigner(entry: ChainEntry, genesis: Genesis): Signer {
  try {
    return getProfile(genesis.crypto).signerFromPem(readFileSync(entry.keyPath, 'utf8'));
  } catch (e) {
    throw new ArchiError(
      'CONFIG_INVALID',
      `${entry.keyPath}: cannot load the key of chain ${entry.chainId}: ${(e as Error).message}`,
    );
  }
}

/** Opens the chain of `entry` (store, state, engine); start() runs its engine. */
export function openHostedChain(entry: ChainEntry, deps: ChainHostDeps): HostedChain {
  const genesis = loadGenesis(entry.genesisPath);
  if (genesis.chainId !== entry.chainId) {
    throw new ArchiError(
      'CONFIG_INVALID',
      `node.json lists chain ${entry.chainId}, its genesis is ${genesis.chainId}`,
    );
  }
  const profile = getProfile(genesis.crypto);
  const signer = loadSigner(entry, genesis);
  mkdirSync(entry.dataDir, { recursive: true });
  const store = ChainStore.open(entry.dataDir);
  let chain: Chain;
  try {
    chain = buildChain({
      profile,
      store,
      genesis,
      execThreads: deps.execThreads,
      mempool: deps.mempool,
      onExecThreadsBroken: (why) =>
        deps.log.warn(
          { chain: entry.chainId, err: why },
          'execution threads failed: blocks now run on the node thread only',
        ),
    });
  } catch (e) {
    void store.close();
    throw e;
  }
  const log = deps.log.child({ chain: entry.chainId });
  const isMember = (peer: string): boolean => {
    const org = deps.peerOrg(peer);
    return org !== undefined && memberOrg(chain.config, peer) === org;
  };
  try {
    const base = { id: entry.chainId, entry, genesis, chain, isMember };
    if (genesis.consensus === 'solo') {
      if (!chain.config.validators.some((v) => bytesEqual(v.publicKey, signer.publicKey))) {
        throw new ArchiError(
          'CONFIG_INVALID',
          `node ${deps.node.name} is not the solo validator of ${chain.chainId}`,
        );
      }
      const solo = new SoloEngine(chain, signer, log, deps.clock);
      return {
        ...base,
        status: () => ({ validator: true, round: 0, step: 'solo' }),
        start: () => solo.start(),
        async stop() {
          solo.stop();
          await chain.close();
        },
      };
    }
    if (!deps.net) {
      throw new ArchiError(
        'CONFIG_INVALID',
        `${deps.node.name}: node.json lacks "tls" (needed by the BFT chain ${chain.chainId})`,
      );
    }
    const wal = Wal.open(entry.dataDir);
    const { driver, router } = createTbftServices({
      chain,
      pool: chain,
      signer: GuardedSigner.open(entry.dataDir, signer),
      net: deps.net(entry.chainId, isMember),
      wal,
      clock: deps.clock,
      log,
    });
    return {
      ...base,
      router,
      status: () => {
        const s = driver.status;
        return { validator: s.validator, round: s.round, step: s.step };
      },
      start: () => router.start(),
      async stop() {
        router.stop();
        wal.close();
        await chain.close();
      },
    };
  } catch (e) {
    void chain.close();
    throw e;
  }
}
