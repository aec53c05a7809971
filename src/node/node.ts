/**
 * A node process: the one place that wires config, keys, storage, chain, consensus and
 * RPC together. Everything below it is I/O-free or takes its I/O as parameters.
 */
import { readFileSync } from 'node:fs';
import { mkdirSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { type BlockEvent, Chain } from '../chain/chain.ts';
import { SoloEngine } from '../consensus/solo/solo.ts';
import { getProfile } from '../crypto/profile.ts';
import { createRpcServer } from '../rpc/server.ts';
import { ChainStore } from '../storage/chain-store.ts';
import { ArchiError } from '../types/errors.ts';
import { bytesEqual } from '../types/hex.ts';
import { loadGenesis, loadNodeConfig, type NodeConfig } from './config.ts';
import { NodeMetrics } from './metrics.ts';

export interface StartedNode {
  config: NodeConfig;
  chain: Chain;
  rpcUrl: string;
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
  const store = ChainStore.open(config.dataDir);
  let chain: Chain;
  try {
    chain = new Chain({ profile, store, genesis });
  } catch (e) {
    await store.close();
    throw e;
  }
  const isValidator = chain.config.validators.some((v) =>
    bytesEqual(v.publicKey, signer.publicKey),
  );
  if (genesis.consensus === 'tbft') {
    await chain.close();
    throw new ArchiError(
      'CONFIG_INVALID',
      'consensus tbft is not available in this version: use --consensus solo',
    );
  }
  if (!isValidator) {
    await chain.close();
    throw new ArchiError(
      'CONFIG_INVALID',
      `node ${config.name} is not the solo validator of ${genesis.chainId}`,
    );
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
  const engine = new SoloEngine(chain, signer, logger);
  const rpc: FastifyInstance = createRpcServer({
    chain,
    info: { node: config.name, org: config.org, validator: isValidator },
    metrics,
    consoleDir: config.consoleDir,
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
  engine.start();
  const addr = rpc.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.rpc.port;
  const rpcUrl = `http://${config.rpc.host}:${port}`;
  logger.info({ height: chain.height, rpc: rpcUrl, chain: chain.chainId }, 'node started');
  let stopping: Promise<void> | undefined;
  return {
    config,
    chain,
    rpcUrl,
    stop() {
      stopping ??= (async () => {
        engine.stop();
        await rpc.close();
        await chain.close();
        logger.info({ height: chain.height }, 'node stopped');
      })();
      return stopping;
    },
  };
}
