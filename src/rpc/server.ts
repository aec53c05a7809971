import cors from '@fastify/cors';
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import { BLOCK_PAGE_DEFAULT } from '../chain/chain.ts';
import { decode, TxBatchSchema } from '../codec/index.ts';
import { maxTxBytes } from '../app/tx-check.ts';
import { ArchiError } from '../types/errors.ts';
import { fromBase64, hex } from '../types/hex.ts';
import type { ChainSummaryJson, ValidatorSetJson } from '../types/rpc-json.ts';
import { configToJson, validatorJson } from '../vm/native/chain-config.ts';
import type { RpcChain } from './chain-api.ts';
import { type BodyErrors, createApiServer } from './http-errors.ts';
import { intParam, txIdParam } from './params.ts';
import { attachWebSocket, ChainFeed, type WebSocketRouting } from './ws.ts';
import { TxWaiters } from './tx-waiters.ts';

/** One chain the node hosts, as the RPC serves it. */
export interface RpcHostedChain {
  chain: RpcChain;
  /** Live consensus view of this chain here: whether this node votes, its round and step. */
  consensus(): { validator: boolean; round: number; step: string };
}

/** The node behind the RPC. */
export interface RpcNode {
  node: string;
  org: string;
  /** The node's p2p peers (shared by all its chains). */
  peers(): PeerJson[];
  /** The chains the node hosts now, its first chain first (`/v1/...` means the first). */
  chains(): RpcHostedChain[];
}

export interface PeerJson {
  name: string;
  connected: boolean;
}

/**
 * The metrics the RPC feeds and serves. The node's prom-client metrics (src/node/metrics.ts)
 * fit it as they are; the RPC names only this shape, since node/ sits above it.
 */
export interface RpcMetrics {
  txsRejected: { inc(labels: { code: string }): void };
  mempoolSize: { set(value: number): void };
  registry: { readonly contentType: string; metrics(): Promise<string> };
}

export interface RpcServerOptions {
  node: RpcNode;
  metrics: RpcMetrics;
}

/** A hosted chain with what the RPC keeps for it: commit waiters and WebSocket feed. */
interface Served {
  hosted: RpcHostedChain;
  chain: RpcChain;
  waiters: TxWaiters;
  feed: ChainFeed;
}

/** One chain's line in `GET /v1/chains` and in status. */
function chainSummary(h: RpcHostedChain): ChainSummaryJson {
  const { chain } = h;
  const c = h.consensus();
  return {
    id: chain.chainId,
    height: chain.height,
    hash: hex(chain.latestHash),
    stateRoot: chain.latestHeader.stateRoot,
    round: c.round,
    validator: c.validator,
    crypto: chain.config.crypto as ChainSummaryJson['crypto'],
    consensus: chain.config.consensus,
  };
}

const MAX_BATCH_TXS = 1000;

/** Body errors of the tx routes: a body too large or empty is about the tx. */
const TX_BODY: { bodyErrors: BodyErrors } = {
  bodyErrors: { tooLarge: 'TX_TOO_LARGE', empty: 'TX_MALFORMED' },
};

/** Build (not start) the RPC server of a node and the chains it hosts. */
export function createRpcServer(o: RpcServerOptions): FastifyInstance {
  const { metrics } = o;
  const firstChain = (): RpcHostedChain => {
    const h = o.node.chains()[0];
    if (!h) throw new ArchiError('NOT_READY', 'this node hosts no chain');
    return h;
  };
  // Room for the largest tx any chain of the node admits, in base64 JSON.
  const bodyLimit = Math.max(
    8 * 1024 * 1024,
    ...o.node.chains().map((h) => maxTxBytes(h.chain.config) * 2 + 1024),
  );
  const app = createApiServer({ fastify: { bodyLimit, keepAliveTimeout: 60_000 } });
  // Waiters and feeds per chain object: a chain left and joined again is a new object.
  const served = new WeakMap<RpcChain, Served>();
  const feeds = new Set<Served>();
  const serve = (h: RpcHostedChain): Served => {
    let s = served.get(h.chain);
    if (!s) {
      s = {
        hosted: h,
        chain: h.chain,
        waiters: new TxWaiters(h.chain),
        feed: new ChainFeed(h.chain),
      };
      served.set(h.chain, s);
      feeds.add(s);
    }
    return s;
  };
  const byId = (req: FastifyRequest): Served => {
    const id = (req.params as { chainId?: string }).chainId;
    const h = o.node.chains().find((c) => c.chain.chainId === id);
    if (!h)
      throw new ArchiError(
        'CHAIN_NOT_FOUND',
        `this node does not host chain ${JSON.stringify(id)}`,
      );
    return serve(h);
  };
  // The web console (served by `archi up` on its own port) and any other browser explorer
  // read each node directly, so the Network page sees every node's own view rather than one
  // proxy's. /v1 is a public API whose only write, POST /v1/txs, needs a signed tx, so
  // letting any origin call it gives a page nothing a non-browser client lacks. WebSocket
  // upgrades are not subject to CORS.
  app.register(cors, {
    delegator: (req, cb) =>
      cb(null, { origin: req.url?.startsWith('/v1') ? '*' : false, methods: ['GET', 'POST'] }),
  });

  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_req, body, done) =>
    done(null, body),
  );

  const ws = attachWebSocket(app);
  // Every chain endpoint twice: under /v1 for the first chain, under /v1/chains/:chainId for any.
  app.register(
    chainRoutes(o, () => serve(firstChain()), metrics, ws),
    { prefix: '/v1' },
  );
  app.register(chainRoutes(o, byId, metrics, ws), { prefix: '/v1/chains/:chainId' });

  app.get('/v1/chains', async () => ({ chains: o.node.chains().map(chainSummary) }));

  app.get('/metrics', async (_req, reply) => {
    metrics.mempoolSize.set(firstChain().chain.mempool.size);
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  app.addHook('onClose', async () => {
    for (const s of feeds) {
      s.waiters.close();
      s.feed.close();
    }
  });
  return app;
}

/** The endpoints of one chain, answering for the chain `resolve` picks per request. */
function chainRoutes(
  o: RpcServerOptions,
  resolve: (req: FastifyRequest) => Served,
  metrics: RpcMetrics,
  ws: WebSocketRouting,
): FastifyPluginAsync {
  return async (app) => {
    app.get('/status', async (req) => {
      const { chain, hosted } = resolve(req);
      const c = hosted.consensus();
      return {
        chainId: chain.chainId,
        node: o.node.node,
        org: o.node.org,
        height: chain.height,
        hash: Buffer.from(chain.latestHash).toString('hex'),
        stateRoot: chain.latestHeader.stateRoot,
        time: chain.latestHeader.time,
        crypto: chain.config.crypto,
        identityMode: chain.config.identityMode,
        consensus: chain.config.consensus,
        validator: c.validator,
        round: c.round,
        step: c.step,
        peers: o.node.peers(),
        // 'waiting' until the chain lists this node (an `archi org new` node before its vote).
        admission: [...chain.config.nodes, ...chain.config.validators].some(
          (n) => n.name === o.node.node,
        )
          ? 'member'
          : 'waiting',
        mempool: { size: chain.mempool.size, bytes: chain.mempool.sizeBytes },
        // Every chain this node hosts (the first is the one /v1/... means).
        chains: o.node.chains().map(chainSummary),
      };
    });

    /** Admit one tx, counting refusals by code; empty bytes are TX_MALFORMED. */
    const submit = async (chain: RpcChain, bytes: Uint8Array): Promise<string> => {
      try {
        // Zero bytes would decode as a tx with every field empty and be refused for its chain.
        if (bytes.length === 0) throw new ArchiError('TX_MALFORMED', 'the tx is empty');
        return await chain.submitTx(bytes);
      } catch (e) {
        const err =
          e instanceof ArchiError
            ? e
            : new ArchiError('INTERNAL', e instanceof Error ? e.message : String(e));
        metrics.txsRejected.inc({ code: err.code });
        throw err;
      }
    };

    app.post('/txs', { config: TX_BODY }, async (req, reply) => {
      const { chain, waiters } = resolve(req);
      let bytes: Uint8Array;
      const body = req.body as unknown;
      if (body === undefined) bytes = new Uint8Array(0);
      else if (Buffer.isBuffer(body)) bytes = body;
      else if (typeof body === 'object' && body !== null && typeof (body as any).tx === 'string') {
        bytes = fromBase64((body as any).tx, 'tx');
      } else {
        throw new ArchiError(
          'BAD_REQUEST',
          'send the encoded tx as application/octet-stream or {"tx": "<base64>"}',
        );
      }
      const q = req.query as Record<string, string>;
      const wait = q.wait === 'true' || q.wait === '1';
      const txId = await submit(chain, bytes);
      if (!wait) return reply.code(202).send({ txId });
      const timeoutMs = q.timeoutMs
        ? Math.min(intParam(q.timeoutMs, 'timeoutMs'), 300_000)
        : 30_000;
      return waiters.wait(txId, timeoutMs);
    });

    app.post('/txs/batch', { config: TX_BODY }, async (req) => {
      const { chain } = resolve(req);
      const body = req.body === undefined ? Buffer.alloc(0) : req.body;
      if (!Buffer.isBuffer(body)) {
        throw new ArchiError('BAD_REQUEST', 'send an encoded TxBatch as application/octet-stream');
      }
      const batch = decode(TxBatchSchema, body, 'TX_MALFORMED');
      if (batch.txs.length === 0) throw new ArchiError('TX_MALFORMED', 'the batch holds no txs');
      if (batch.txs.length > MAX_BATCH_TXS) {
        throw new ArchiError('BAD_REQUEST', `a batch holds at most ${MAX_BATCH_TXS} txs`);
      }
      const results = await Promise.all(
        batch.txs.map((tx) =>
          submit(chain, tx).then(
            (txId) => ({ txId }),
            (e: ArchiError) => ({ error: e.toJSON() }),
          ),
        ),
      );
      return { results };
    });

    app.get('/txs/:txId', async (req) =>
      resolve(req).chain.getTx(txIdParam((req.params as any).txId, 'tx id')),
    );

    // A page of block summaries, newest first, bounded however many blocks are empty.
    app.get('/blocks', async (req) => {
      const q = req.query as Record<string, unknown>;
      const nonEmpty = q.nonEmpty ?? 'false';
      if (nonEmpty !== 'true' && nonEmpty !== 'false' && nonEmpty !== '1' && nonEmpty !== '0') {
        throw new ArchiError('BAD_REQUEST', 'nonEmpty must be true or false');
      }
      return resolve(req).chain.listBlocks({
        before: q.before === undefined ? undefined : intParam(q.before, 'before'),
        limit: q.limit === undefined ? BLOCK_PAGE_DEFAULT : intParam(q.limit, 'limit'),
        nonEmpty: nonEmpty === 'true' || nonEmpty === '1',
      });
    });
    app.get('/blocks/latest', async (req) => resolve(req).chain.getBlock('latest'));
    app.get('/blocks/:height', async (req) =>
      resolve(req).chain.getBlock(intParam((req.params as any).height, 'height')),
    );

    app.post('/query', async (req) => {
      const { chain } = resolve(req);
      const b = req.body as any;
      if (
        typeof b !== 'object' ||
        b === null ||
        typeof b.contract !== 'string' ||
        typeof b.method !== 'string'
      ) {
        throw new ArchiError(
          'BAD_REQUEST',
          'body must be {"contract": string, "method": string, "args": any, "prove"?: bool}',
        );
      }
      return chain.query(b.contract, b.method, b.args ?? null, b.prove === true);
    });

    app.get('/state/:contract/:key', async (req) => {
      const p = req.params as any;
      return resolve(req).chain.stateWithProof(p.contract, p.key);
    });

    app.get('/config', async (req) => configToJson(resolve(req).chain.config));
    const validatorSet = (chain: RpcChain, height: number): ValidatorSetJson => {
      const set = chain.validatorsAt(height);
      return {
        height,
        hash: hex(chain.hashValidators(set)),
        totalPower: set.reduce((n, v) => n + Number(v.power), 0),
        validators: set.map(validatorJson),
      };
    };
    app.get('/validators', async (req) => {
      const { chain } = resolve(req);
      return validatorSet(chain, chain.height + 1);
    });
    app.get('/validators/:height', async (req) =>
      validatorSet(resolve(req).chain, intParam((req.params as any).height, 'height')),
    );
    app.get('/contracts', async (req) => resolve(req).chain.registry.list());
    ws.route(app, '/ws', (req) => resolve(req).feed);
  };
}
