/**
 * WebSocket subscriptions at /v1/ws (and /v1/chains/:chainId/ws): new blocks, tx results and
 * contract events pushed as the chain commits. A client that cannot keep up is disconnected rather than
 * buffered without bound. Limits (docs/RPC.md): MAX_SUBSCRIPTIONS per socket, messages of
 * MAX_MESSAGE_BYTES, MAX_BUFFERED bytes not yet sent.
 */
import { type IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type WebSocket, WebSocketServer } from 'ws';
import type { BlockEvent, RpcChain } from './chain-api.ts';
import { ArchiError } from '../types/errors.ts';
import { rawErrorResponse, writeRawError } from './http-errors.ts';
import { txIdParam } from './params.ts';

/** Bytes queued for a socket beyond which it is closed (1013) instead of sent more. */
export const MAX_BUFFERED = 16 * 1024 * 1024;
/** Subscriptions one socket may hold; more are refused with TOO_MANY_SUBSCRIPTIONS. */
export const MAX_SUBSCRIPTIONS = 64;
/** Largest message a client may send; a larger one closes the socket (1009). */
export const MAX_MESSAGE_BYTES = 64 * 1024;

/** The socket and first bytes of an upgrade request, kept for the /v1/ws route. */
const kUpgrade = Symbol('upgrade');
type UpgradeRequest = IncomingMessage & { [kUpgrade]?: { socket: Duplex; head: Buffer } };

type Sub =
  | { topic: 'blocks' }
  | { topic: 'txs'; txId?: string }
  | { topic: 'events'; contract?: string; name?: string };

function parseSub(msg: any): Sub {
  if (typeof msg !== 'object' || msg === null || msg.op !== 'subscribe') {
    throw new ArchiError(
      'BAD_REQUEST',
      'expected {"op":"subscribe","topic":"blocks"|"txs"|"events", ...}',
    );
  }
  const optStr = (v: unknown, what: string): string | undefined => {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') throw new ArchiError('BAD_REQUEST', `${what} must be a string`);
    return v;
  };
  switch (msg.topic) {
    case 'blocks':
      return { topic: 'blocks' };
    case 'txs':
      return {
        topic: 'txs',
        txId: msg.txId === undefined || msg.txId === null ? undefined : txIdParam(msg.txId),
      };
    case 'events':
      return {
        topic: 'events',
        contract: optStr(msg.contract, 'contract'),
        name: optStr(msg.name, 'name'),
      };
    default:
      throw new ArchiError('BAD_REQUEST', `unknown topic ${JSON.stringify(msg.topic)}`);
  }
}

/** Messages a block produces for one subscription. */
function messagesFor(sub: Sub, b: BlockEvent): unknown[] {
  if (sub.topic === 'blocks') {
    return [
      {
        topic: 'blocks',
        data: { height: b.height, hash: b.hash, header: b.header, txCount: b.txs.length },
      },
    ];
  }
  const out: unknown[] = [];
  for (const t of b.txs) {
    if (sub.topic === 'txs') {
      if (!sub.txId || sub.txId === t.txId)
        out.push({ topic: 'txs', data: { txId: t.txId, height: b.height, receipt: t.receipt } });
      continue;
    }
    for (const e of t.receipt.events) {
      if ((sub.contract && e.contract !== sub.contract) || (sub.name && e.name !== sub.name))
        continue;
      out.push({
        topic: 'events',
        data: { txId: t.txId, height: b.height, contract: e.contract, name: e.name, data: e.data },
      });
    }
  }
  return out;
}

/**
 * The subscriptions of one chain: its sockets and what each subscribed to, fed by the
 * chain's block events. A node keeps one per hosted chain.
 */
export class ChainFeed {
  private readonly clients = new Map<WebSocket, Sub[]>();
  private readonly onBlock = (b: BlockEvent): void => {
    for (const [ws, subs] of this.clients) {
      if (ws.bufferedAmount > MAX_BUFFERED) {
        ws.close(1013, 'too slow: subscription buffer full');
        this.clients.delete(ws);
        continue;
      }
      for (const sub of subs) for (const m of messagesFor(sub, b)) ws.send(JSON.stringify(m));
    }
  };

  constructor(private readonly chain: Pick<RpcChain, 'on' | 'off'>) {
    chain.on('block', this.onBlock);
  }

  /** Serve a connected socket: subscribe requests in, matching messages out. */
  add(ws: WebSocket): void {
    this.clients.set(ws, []);
    ws.on('message', (data) => {
      try {
        let msg: unknown;
        try {
          msg = JSON.parse(data.toString());
        } catch {
          throw new ArchiError('BAD_REQUEST', 'message is not JSON');
        }
        const sub = parseSub(msg);
        const subs = this.clients.get(ws) ?? [];
        if (subs.length >= MAX_SUBSCRIPTIONS) {
          throw new ArchiError(
            'TOO_MANY_SUBSCRIPTIONS',
            `a socket holds at most ${MAX_SUBSCRIPTIONS} subscriptions`,
          );
        }
        subs.push(sub);
        this.clients.set(ws, subs);
        ws.send(JSON.stringify({ op: 'subscribed', ...sub }));
      } catch (e) {
        const err = e instanceof ArchiError ? e : new ArchiError('BAD_REQUEST', String(e));
        ws.send(JSON.stringify({ op: 'error', error: err.toJSON() }));
      }
    });
    ws.on('close', () => this.clients.delete(ws));
    ws.on('error', () => this.clients.delete(ws));
  }

  /** Stop listening to the chain and drop every socket. */
  close(): void {
    this.chain.off('block', this.onBlock);
    for (const ws of this.clients.keys()) ws.terminate();
    this.clients.clear();
  }
}

/** Hands upgraded sockets to the feed a route resolved. */
export interface WebSocketRouting {
  /** Registers GET `path` on `scope` as a WebSocket endpoint of the feed `feedFor` resolves. */
  route(scope: FastifyInstance, path: string, feedFor: (req: FastifyRequest) => ChainFeed): void;
}

/**
 * Serve WebSockets on the fastify server's HTTP listener. Every upgrade request (a WebSocket
 * one or another, such as curl's h2c) goes through fastify's routing like any request, as
 * @fastify/websocket does it, so it gets the same hooks and error answers; only a WebSocket
 * route with `Upgrade: websocket` is handed to ws, and any other one is answered over
 * HTTP/1.1 and closed. A body-carrying upgrade request is refused: Node has already detached
 * the socket from its parser, so the body could not be read.
 */
export function attachWebSocket(app: FastifyInstance): WebSocketRouting {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  const sockets = new Set<WebSocket>();
  // A handshake ws refuses (bad Sec-WebSocket-Key or version) is answered in our shape.
  wss.on('wsClientError', (err: Error, socket: Duplex) => {
    const headers: Record<string, string> = /version/i.test(err.message)
      ? { 'Sec-WebSocket-Version': '13, 8' }
      : {};
    writeRawError(socket, new ArchiError('BAD_REQUEST', err.message), headers);
  });

  const onUpgrade = (req: UpgradeRequest, socket: Duplex, head: Buffer): void => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      writeRawError(
        socket,
        new ArchiError(
          'BAD_REQUEST',
          `an Upgrade is accepted only on GET /v1/ws; send ${req.method} without one`,
        ),
      );
      return;
    }
    req[kUpgrade] = { socket, head };
    const res = new ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket as any);
    // The socket left Node's HTTP parser: once answered it can carry nothing else.
    res.on('finish', () => socket.destroy());
    socket.on('error', () => socket.destroy());
    try {
      app.routing(req, res);
    } catch (e) {
      if (socket.writable)
        socket.end(rawErrorResponse(new ArchiError('INTERNAL', (e as Error).message)));
    }
  };
  app.server.on('upgrade', onUpgrade);

  // preClose: open sockets would otherwise keep the HTTP server from closing at all.
  app.addHook('preClose', async () => {
    app.server.off('upgrade', onUpgrade);
    for (const ws of sockets) ws.terminate();
    sockets.clear();
    wss.close();
  });

  return {
    route(scope, path, feedFor) {
      scope.get(path, async (req, reply) => {
        const up = (req.raw as UpgradeRequest)[kUpgrade];
        if (!up || String(req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
          reply.header('upgrade', 'websocket');
          throw new ArchiError(
            'UPGRADE_REQUIRED',
            `GET ${req.url.split('?')[0]} is a WebSocket: send Upgrade: websocket`,
          );
        }
        // Resolved before the upgrade, so an unknown chain is an HTTP error in our shape.
        const feed = feedFor(req);
        reply.hijack();
        wss.handleUpgrade(req.raw, up.socket, up.head, (ws) => {
          sockets.add(ws);
          ws.on('close', () => sockets.delete(ws));
          feed.add(ws);
        });
      });
    },
  };
}
