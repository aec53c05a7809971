/**
 * A node process: the one place that wires config, keys, storage, chains, consensus and RPC
 * together. A node hosts one or more chains (node.json's first chain and its `chains` list):
 * each has its own store, state, mempool and consensus, and they share one p2p transport
 * (messages carry their chain id; a peer hears only about chains it is a member of) and one
 * RPC port. Chains can be joined and left while the node runs (node.json is re-read when it
 * changes or on SIGHUP). Everything below it is I/O-free or takes its I/O as parameters.
 */
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import type { BlockEvent, Chain } from '../chain/chain.ts';
import type { ChainConfig } from '../codec/index.ts';
import { offsetClock, systemClock } from '../consensus/clock.ts';
import type { ConsensusNet } from '../consensus/reactor.ts';
import { P2PNode, type PeerCertInfo } from '../p2p/node.ts';
import { createRpcServer } from '../rpc/server.ts';
import { ArchiError } from '../types/errors.ts';
import { initSandbox } from '../vm/sandbox/index.ts';
import { type ChainEntry, loadNodeConfig, type NodeConfig } from './config.ts';
import { type HostedChain, openHostedChain } from './hosted-chain.ts';
import {
  AdmissionWatch,
  initialPeers,
  peerAllowed,
  syncMembership,
  trustedCasOf,
} from './membership-sync.ts';
import { NodeMetrics } from './metrics.ts';

export interface StartedNode {
  config: NodeConfig;
  /** The node's first chain. */
  chain: Chain;
  /** Every chain the node hosts now, the first chain first. */
  chains(): Chain[];
  rpcUrl: string;
  /** True while the first chain does not list this node (it waits for a governance vote). */
  waitingForAdmission(): boolean;
  /** Re-reads node.json and starts or stops chains to match its list. */
  reload(): Promise<void>;
  stop(): Promise<void>;
}

/** How often node.json is checked for a changed chain list. */
const CONFIG_POLL_MS = 1000;

/** Start the node described by a node.json; resolves once the RPC is listening. */
export async function startNode(configPath: string, log?: Logger): Promise<StartedNode> {
  const config = loadNodeConfig(configPath);
  const logger = log ?? pino({ level: config.logLevel, base: { node: config.name } });
  const clock = offsetClock(systemClock, config.clockOffsetMs);
  if (config.clockOffsetMs !== 0) {
    logger.warn({ offsetMs: config.clockOffsetMs }, 'consensus clock offset from the wall clock');
  }
  // The contract sandbox thread must be ready before the first block runs a contract.
  await initSandbox();
  const hosted = new Map<string, HostedChain>();
  /** The org each connected peer's certificate names (recorded when the transport admits it). */
  const peerOrgs = new Map<string, string>();
  const configs = (): ChainConfig[] => [...hosted.values()].map((h) => h.chain.config);
  let net: P2PNode | undefined;
  const filePems = config.tls ? config.tls.caPaths.map(readPem) : [];
  const chainNet = (chainId: string, isMember: (peer: string) => boolean): ConsensusNet => ({
    broadcast: (channel, bytes) => net!.broadcast(channel, bytes, chainId, isMember),
    send: (peer, channel, bytes) => isMember(peer) && net!.send(peer, channel, bytes, chainId),
  });
  const deps = {
    node: { name: config.name, org: config.org },
    clock,
    log: logger,
    net: config.tls ? chainNet : undefined,
    peerOrg: (peer: string) => peerOrgs.get(peer),
    execThreads: config.execThreads,
    mempool: config.mempool,
  };
  // Membership as the transport last saw it, to diff against after a change.
  let membership: ChainConfig[] = [];
  const resync = (): void => {
    const next = configs();
    if (net) {
      try {
        syncMembership(net, membership, next, config, filePems);
      } catch (e) {
        logger.warn({ err: (e as Error).message }, 'p2p: membership update failed');
      }
    }
    membership = next;
  };
  const onConfig = (): void => resync();

  const open = (entry: ChainEntry): HostedChain => {
    const h = openHostedChain(entry, deps);
    hosted.set(h.id, h);
    h.chain.on('config', onConfig);
    return h;
  };
  const close = async (h: HostedChain): Promise<void> => {
    h.chain.off('config', onConfig);
    hosted.delete(h.id);
    await h.stop();
  };
  try {
    for (const entry of config.chains) open(entry);
  } catch (e) {
    for (const h of [...hosted.values()]) await close(h);
    throw e;
  }
  const first = hosted.get(config.chainId)!;
  membership = configs();
  const metrics = new NodeMetrics();
  /** Peer/chain pairs whose messages for an unhosted chain were logged. */
  const unhosted = new Set<string>();
  if ([...hosted.values()].some((h) => h.router)) {
    net = createTransport(config, filePems, membership, logger, (peer, cert) => {
      // Allowed when some hosted chain lists the peer under its certificate's org.
      const ok = configs().some((c) => peerAllowed(c, peer, cert));
      if (ok) peerOrgs.set(peer, cert.org);
      return ok;
    });
    net.on('message', (peer, channel, bytes, chainId) => {
      const h = chainId === '' ? first : hosted.get(chainId);
      // A chain this node does not host, or a peer that is not its member: nothing to say, but
      // counted (and said once per peer and chain), so that what peers send here is visible.
      if (!h) {
        metrics.p2pDropped.inc({ reason: 'unhosted_chain' });
        const key = `${peer}/${chainId}`;
        if (!unhosted.has(key) && unhosted.size < 1000) {
          unhosted.add(key);
          logger.info(
            { peer, chain: chainId },
            'p2p: dropping messages of a chain not hosted here',
          );
        }
        return;
      }
      if (!h.router || !h.isMember(peer)) {
        metrics.p2pDropped.inc({ reason: h.router ? 'not_member' : 'solo_chain' });
        return;
      }
      h.router.receive(peer, channel, bytes);
    });
    net.on('peer:up', (peer) => {
      for (const h of hosted.values()) if (h.router && h.isMember(peer)) h.router.peerUp(peer);
    });
  }

  metrics.height.set(first.chain.height);
  first.chain.on('block', (b: BlockEvent) => {
    metrics.height.set(b.height);
    metrics.blockTxs.observe(b.txs.length);
    const exec = first.chain.executor.parallel?.stats;
    if (exec) for (const [what, n] of Object.entries(exec)) metrics.execParallel.set({ what }, n);
    let ok = 0;
    for (const t of b.txs) if (t.receipt.status === 'ok') ok++;
    metrics.txsCommitted.inc({ status: 'ok' }, ok);
    metrics.txsCommitted.inc({ status: 'error' }, b.txs.length - ok);
    logger.debug({ height: b.height, txs: b.txs.length }, 'committed block');
  });
  const rpc: FastifyInstance = createRpcServer({
    node: {
      node: config.name,
      org: config.org,
      peers: () => (net ? net.peers().map((p) => ({ name: p.name, connected: p.connected })) : []),
      chains: () => [...hosted.values()].map((h) => ({ chain: h.chain, consensus: h.status })),
    },
    metrics,
  });
  try {
    await rpc.listen({ host: config.rpc.host, port: config.rpc.port });
  } catch (e) {
    for (const h of [...hosted.values()]) await close(h);
    throw new ArchiError(
      'CONFIG_INVALID',
      `cannot listen on ${config.rpc.host}:${config.rpc.port}: ${(e as Error).message}`,
    );
  }
  if (net) await net.start();
  for (const h of hosted.values()) h.start();
  const addr = rpc.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.rpc.port;
  const rpcUrl = `http://${config.rpc.host}:${port}`;
  logger.info(
    { height: first.chain.height, rpc: rpcUrl, chain: first.id, chains: [...hosted.keys()] },
    'node started',
  );
  // A node made by `archi org new` starts before governance admits it: say so, and keep
  // saying so now and then, instead of sitting at height 0 in silence.
  const admission = new AdmissionWatch(first.chain, config, logger);

  // Joining and leaving chains at run time: node.json is the record of what the node hosts.
  let reloading: Promise<void> = Promise.resolve();
  const reload = (): Promise<void> => {
    reloading = reloading.then(async () => {
      let next: NodeConfig;
      try {
        next = loadNodeConfig(configPath);
      } catch (e) {
        logger.warn({ err: (e as Error).message }, 'node.json changed but does not load; ignored');
        return;
      }
      const wanted = new Map(next.chains.map((c) => [c.chainId, c]));
      for (const h of [...hosted.values()]) {
        if (h.id === first.id || wanted.has(h.id)) continue;
        await close(h);
        logger.info({ chain: h.id }, 'left chain');
      }
      for (const entry of next.chains) {
        if (hosted.has(entry.chainId)) continue;
        try {
          const h = open(entry);
          if (h.router && !net) {
            await close(h);
            throw new ArchiError('CONFIG_INVALID', 'a BFT chain needs a node started with "tls"');
          }
          h.start();
          logger.info({ chain: h.id, height: h.chain.height }, 'joined chain');
        } catch (e) {
          logger.error({ chain: entry.chainId, err: (e as Error).message }, 'cannot host chain');
        }
      }
      resync();
    });
    return reloading;
  };
  watchFile(configPath, { interval: CONFIG_POLL_MS, persistent: false }, (cur, prev) => {
    if (cur.mtimeMs !== prev.mtimeMs) void reload();
  });
  const onHup = (): void => void reload();
  process.on('SIGHUP', onHup);

  let stopping: Promise<void> | undefined;
  return {
    config,
    chain: first.chain,
    chains: () => [...hosted.values()].map((h) => h.chain),
    rpcUrl,
    waitingForAdmission: () => admission.waiting,
    reload,
    stop() {
      stopping ??= (async () => {
        unwatchFile(configPath);
        process.off('SIGHUP', onHup);
        await reloading;
        admission.stop();
        await rpc.close();
        for (const h of [...hosted.values()].reverse()) h.router?.stop();
        if (net) await net.stop();
        for (const h of [...hosted.values()].reverse()) await close(h);
        logger.info({ height: first.chain.height }, 'node stopped');
      })();
      return stopping;
    },
  };
}

function readPem(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new ArchiError('CONFIG_INVALID', `cannot read ${path}: ${(e as Error).message}`);
  }
}

/** The node's one p2p transport, trusting and dialing what the hosted chains name. */
function createTransport(
  config: NodeConfig,
  filePems: string[],
  configs: ChainConfig[],
  log: Logger,
  allowed: (peer: string, cert: PeerCertInfo) => boolean,
): P2PNode {
  const tls = config.tls!;
  return new P2PNode({
    self: config.name,
    listen: config.p2p,
    peers: initialPeers(configs, config.name, config.peers),
    tls: {
      key: readPem(tls.keyPath),
      cert: readPem(tls.certPath),
      cas: trustedCasOf(configs, config.org, filePems),
    },
    // Only member nodes of a hosted chain, each with a certificate from its own org.
    allowed,
    logger: log,
  });
}
