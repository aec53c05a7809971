/**
 * A node process: the one place that wires config, keys, storage, chain, consensus and
 * RPC together. Everything below it is I/O-free or takes its I/O as parameters.
 */
import { readFileSync } from 'node:fs';
import { mkdirSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import type { BlockEvent, Chain } from '../chain/chain.ts';
import { GuardedSigner } from '../consensus/signer.ts';
import { SoloEngine } from '../consensus/solo/solo.ts';
import { TbftDriver } from '../consensus/tbft/driver.ts';
import { Wal } from '../consensus/wal.ts';
import { initSandbox } from '../vm/sandbox/index.ts';
import { P2PNode } from '../p2p/node.ts';
import type { PeerJson } from '../rpc/server.ts';
import { getProfile, type Signer } from '../crypto/profile.ts';
import { createRpcServer } from '../rpc/server.ts';
import { ChainStore } from '../storage/chain-store.ts';
import { ArchiError } from '../types/errors.ts';
import { bytesEqual } from '../types/hex.ts';
import { buildChain } from './build-chain.ts';
import { loadGenesis, loadNodeConfig, type NodeConfig } from './config.ts';
import {
  AdmissionWatch,
  initialPeers,
  peerAllowed,
  syncMembership,
  trustedCas,
} from './membership-sync.ts';
import { NodeMetrics } from './metrics.ts';

export interface StartedNode {
  config: NodeConfig;
  chain: Chain;
  rpcUrl: string;
  /** True while the chain does not list this node (it waits for a governance vote). */
  waitingForAdmission(): boolean;
  stop(): Promise<void>;
}

/** Start the node described by a node.json; resolves once the RPC is listening. */
export async function startNode(configPath: string, log?: Logger): Promise<StartedNode> {
  const config = loadNodeConfig(configPath);
  const logger = log ?? pino({ level: config.logLevel, base: { node: config.name } });
  const genesis = loadGenesis(config.genesisPath);
  if (genesis.chainId !== config.chainId) {
    throw new ArchiError(
      'CONFIG_INVALID',
      `node.json is for chain ${config.chainId}, genesis is ${genesis.chainId}`,
    );
  }
  const profile = getProfile(genesis.crypto);
  let signer: ReturnType<typeof profile.signerFromPem>;
  try {
    signer = profile.signerFromPem(readFileSync(config.keyPath, 'utf8'));
  } catch (e) {
    throw new ArchiError(
      'CONFIG_INVALID',
      `${config.keyPath}: cannot load node key: ${(e as Error).message}`,
    );
  }
  mkdirSync(config.dataDir, { recursive: true });
  // The contract sandbox thread must be ready before the first block runs a contract.
  await initSandbox();
  const store = ChainStore.open(config.dataDir);
  let chain: Chain;
  try {
    chain = buildChain({ profile, store, genesis });
  } catch (e) {
    await store.close();
    throw e;
  }
  const isValidator = chain.config.validators.some((v) =>
    bytesEqual(v.publicKey, signer.publicKey),
  );
  let engine: Engine;
  try {
    engine =
      genesis.consensus === 'solo'
        ? soloEngine(chain, signer, isValidator, config, logger)
        : await tbftEngine(chain, signer, config, logger);
  } catch (e) {
    await chain.close();
    throw e;
  }
  const metrics = new NodeMetrics();
  metrics.height.set(chain.height);
  chain.on('block', (b: BlockEvent) => {
    metrics.height.set(b.height);
    metrics.blockTxs.observe(b.txs.length);
    let ok = 0;
    for (const t of b.txs) if (t.receipt.status === 'ok') ok++;
    metrics.txsCommitted.inc({ status: 'ok' }, ok);
    metrics.txsCommitted.inc({ status: 'error' }, b.txs.length - ok);
    logger.debug({ height: b.height, txs: b.txs.length }, 'committed block');
  });
  const rpc: FastifyInstance = createRpcServer({
    chain,
    info: { node: config.name, org: config.org, consensus: () => engine.status() },
    metrics,
  });
  try {
    await rpc.listen({ host: config.rpc.host, port: config.rpc.port });
  } catch (e) {
    await chain.close();
    throw new ArchiError(
      'CONFIG_INVALID',
      `cannot listen on ${config.rpc.host}:${config.rpc.port}: ${(e as Error).message}`,
    );
  }
  await engine.start();
  const addr = rpc.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.rpc.port;
  const rpcUrl = `http://${config.rpc.host}:${port}`;
  logger.info({ height: chain.height, rpc: rpcUrl, chain: chain.chainId }, 'node started');
  // A node made by `archi org new` starts before governance admits it: say so, and keep
  // saying so now and then, instead of sitting at height 0 in silence.
  const admission = new AdmissionWatch(chain, config, logger);
  let stopping: Promise<void> | undefined;
  return {
    config,
    chain,
    rpcUrl,
    waitingForAdmission: () => admission.waiting,
    stop() {
      stopping ??= (async () => {
        admission.stop();
        await rpc.close();
        await engine.stop();
        await chain.close();
        logger.info({ height: chain.height }, 'node stopped');
      })();
      return stopping;
    },
  };
}

/** A running consensus engine as the node sees it. */
interface Engine {
  start(): Promise<void>;
  stop(): Promise<void>;
  status(): { validator: boolean; round: number; step: string; peers: PeerJson[] };
}

function soloEngine(
  chain: Chain,
  signer: Signer,
  isValidator: boolean,
  config: NodeConfig,
  log: Logger,
): Engine {
  if (!isValidator) {
    throw new ArchiError(
      'CONFIG_INVALID',
      `node ${config.name} is not the solo validator of ${chain.chainId}`,
    );
  }
  const solo = new SoloEngine(chain, signer, log);
  return {
    async start() {
      solo.start();
    },
    async stop() {
      solo.stop();
    },
    status: () => ({ validator: true, round: 0, step: 'solo', peers: [] }),
  };
}

async function tbftEngine(
  chain: Chain,
  signer: Signer,
  config: NodeConfig,
  log: Logger,
): Promise<Engine> {
  if (!config.tls)
    throw new ArchiError(
      'CONFIG_INVALID',
      `${config.name}: node.json lacks "tls" (needed by tbft)`,
    );
  const read = (path: string): string => {
    try {
      return readFileSync(path, 'utf8');
    } catch (e) {
      throw new ArchiError('CONFIG_INVALID', `cannot read ${path}: ${(e as Error).message}`);
    }
  };
  const filePems = config.tls.caPaths.map(read);
  const tls = {
    key: read(config.tls.keyPath),
    cert: read(config.tls.certPath),
    cas: trustedCas(chain.config, config.org, filePems),
  };
  const net = new P2PNode({
    self: config.name,
    listen: config.p2p,
    peers: initialPeers(chain.config, config.name, config.peers),
    tls,
    // Only member nodes of the chain config, with a certificate from their own org.
    allowed: (peer, cert) => peerAllowed(chain.config, peer, cert),
    logger: log,
  });
  let membership = chain.config;
  const onConfig = (next: typeof membership): void => {
    try {
      syncMembership(net, membership, next, config, filePems);
    } catch (e) {
      log.warn({ err: (e as Error).message }, 'p2p: membership update failed');
    }
    membership = next;
  };
  chain.on('config', onConfig);
  const wal = Wal.open(config.dataDir);
  const driver = new TbftDriver({
    chain,
    signer: GuardedSigner.open(config.dataDir, signer),
    net,
    wal,
    log,
  });
  net.on('message', (peer: string, channel: number, bytes: Uint8Array) =>
    driver.onMessage(peer, channel, bytes),
  );
  net.on('peer:up', (peer: string) => driver.onPeerUp(peer));
  return {
    async start() {
      await net.start();
      driver.start();
    },
    async stop() {
      chain.off('config', onConfig);
      driver.stop();
      await net.stop();
      wal.close();
    },
    status: () => {
      const s = driver.status;
      return {
        validator: s.validator,
        round: s.round,
        step: s.step,
        peers: net.peers().map((p) => ({ name: p.name, connected: p.connected })),
      };
    },
  };
}
