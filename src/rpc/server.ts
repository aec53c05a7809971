import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import { BLOCK_PAGE_DEFAULT } from '../chain/chain.ts';
import { decode, TxBatchSchema } from '../codec/index.ts';
import { maxTxBytes } from '../app/tx-check.ts';
import { ArchiError } from '../types/errors.ts';
import { fromBase64, hex } from '../types/hex.ts';
import type { ValidatorSetJson } from '../types/rpc-json.ts';
import { configToJson, validatorJson } from '../vm/native/chain-config.ts';
import type { RpcChain } from './chain-api.ts';
import { type BodyErrors, createApiServer } from './http-errors.ts';
import { intParam, txIdParam } from './params.ts';
import { attachWebSocket } from './ws.ts';
import { TxWaiters } from './tx-waiters.ts';

export interface RpcInfo {
  node: string;
  org: string;
  /** Live consensus view: whether this node votes, its round, and its peers. */
  consensus(): { validator: boolean; round: number; step: string; peers: PeerJson[] };
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
  chain: RpcChain;
  info: RpcInfo;
  metrics: RpcMetrics;
}

const MAX_BATCH_TXS = 1000;

/** Body errors of the tx routes: a body too large or empty is about the tx. */
const TX_BODY: { bodyErrors: BodyErrors } = {
  bodyErrors: { tooLarge: 'TX_TOO_LARGE', empty: 'TX_MALFORMED' },
};

/** Build (not start) the RPC server of a chain. */
export function createRpcServer(o: RpcServerOptions): FastifyInstance {
  const { chain, metrics } = o;
  const bodyLimit = Math.max(8 * 1024 * 1024, maxTxBytes(chain.config) * 2 + 1024);
  const app = createApiServer({ fastify: { bodyLimit, keepAliveTimeout: 60_000 } });
  const waiters = new TxWaiters(chain);
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

  app.get('/v1/status', async () => {
    const c = o.info.consensus();
    return {
      chainId: chain.chainId,
      node: o.info.node,
      org: o.info.org,
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
      peers: c.peers,
      // 'waiting' until the chain lists this node (an `archi org new` node before its vote).
      admission: [...chain.config.nodes, ...chain.config.validators].some(
        (n) => n.name === o.info.node,
      )
        ? 'member'
        : 'waiting',
      mempool: { size: chain.mempool.size, bytes: chain.mempool.sizeBytes },
    };
  });

  /** Admit one tx, counting refusals by code; empty bytes are TX_MALFORMED. */
  const submit = async (bytes: Uint8Array): Promise<string> => {
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

  app.post('/v1/txs', { config: TX_BODY }, async (req, reply) => {
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
    const txId = await submit(bytes);
    if (!wait) return reply.code(202).send({ txId });
    const timeoutMs = q.timeoutMs ? Math.min(intParam(q.timeoutMs, 'timeoutMs'), 300_000) : 30_000;
    return waiters.wait(txId, timeoutMs);
  });

  app.post('/v1/txs/batch', { config: TX_BODY }, async (req) => {
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
        submit(tx).then(
          (txId) => ({ txId }),
          (e: ArchiError) => ({ error: e.toJSON() }),
        ),
      ),
    );
    return { results };
  });

  app.get('/v1/txs/:txId', async (req) =>
    chain.getTx(txIdParam((req.params as any).txId, 'tx id')),
  );

  // A page of block summaries, newest first, bounded however many blocks are empty.
  app.get('/v1/blocks', async (req) => {
    const q = req.query as Record<string, unknown>;
    const nonEmpty = q.nonEmpty ?? 'false';
    if (nonEmpty !== 'true' && nonEmpty !== 'false' && nonEmpty !== '1' && nonEmpty !== '0') {
      throw new ArchiError('BAD_REQUEST', 'nonEmpty must be true or false');
    }
    return chain.listBlocks({
      before: q.before === undefined ? undefined : intParam(q.before, 'before'),
      limit: q.limit === undefined ? BLOCK_PAGE_DEFAULT : intParam(q.limit, 'limit'),
      nonEmpty: nonEmpty === 'true' || nonEmpty === '1',
    });
  });
  app.get('/v1/blocks/latest', async () => chain.getBlock('latest'));
  app.get('/v1/blocks/:height', async (req) =>
    chain.getBlock(intParam((req.params as any).height, 'height')),
  );

  app.post('/v1/query', async (req) => {
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

  app.get('/v1/state/:contract/:key', async (req) => {
    const p = req.params as any;
    return chain.stateWithProof(p.contract, p.key);
  });

  app.get('/v1/config', async () => configToJson(chain.config));
  const validatorSet = (height: number): ValidatorSetJson => {
    const set = chain.validatorsAt(height);
    return {
      height,
      hash: hex(chain.hashValidators(set)),
      totalPower: set.reduce((n, v) => n + Number(v.power), 0),
      validators: set.map(validatorJson),
    };
  };
  app.get('/v1/validators', async () => validatorSet(chain.height + 1));
  app.get('/v1/validators/:height', async (req) =>
    validatorSet(intParam((req.params as any).height, 'height')),
  );
  app.get('/v1/contracts', async () => chain.registry.list());

  app.get('/metrics', async (_req, reply) => {
    metrics.mempoolSize.set(chain.mempool.size);
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  app.addHook('onClose', async () => waiters.close());
  attachWebSocket(app, chain);
  return app;
}
