/**
 * WebSocket subscriptions at /v1/ws: new blocks, tx results and contract events pushed
 * as the chain commits. A client that cannot keep up is disconnected rather than
 * buffered without bound.
 */
import type { FastifyInstance } from 'fastify';
import { type WebSocket, WebSocketServer } from 'ws';
import type { BlockEvent, Chain } from '../chain/chain.ts';
import { ArchiError } from '../types/errors.ts';

const MAX_BUFFERED = 16 * 1024 * 1024;
const MAX_SUBSCRIPTIONS = 64;

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
      return { topic: 'txs', txId: optStr(msg.txId, 'txId')?.toLowerCase() };
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

/** Serve /v1/ws on the fastify server's HTTP listener. */
export function attachWebSocket(app: FastifyInstance, chain: Chain): void {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const clients = new Map<WebSocket, Sub[]>();

  const onBlock = (b: BlockEvent): void => {
    for (const [ws, subs] of clients) {
      if (ws.bufferedAmount > MAX_BUFFERED) {
        ws.close(1013, 'too slow: subscription buffer full');
        clients.delete(ws);
        continue;
      }
      for (const sub of subs) for (const m of messagesFor(sub, b)) ws.send(JSON.stringify(m));
    }
  };
  chain.on('block', onBlock);

  wss.on('connection', (ws) => {
    clients.set(ws, []);
    ws.on('message', (data) => {
      try {
        let msg: unknown;
        try {
          msg = JSON.parse(data.toString());
        } catch {
          throw new ArchiError('BAD_REQUEST', 'message is not JSON');
        }
        const sub = parseSub(msg);
        const subs = clients.get(ws) ?? [];
        if (subs.length >= MAX_SUBSCRIPTIONS)
          throw new ArchiError('BAD_REQUEST', 'too many subscriptions');
        subs.push(sub);
        clients.set(ws, subs);
        ws.send(JSON.stringify({ op: 'subscribed', ...sub }));
      } catch (e) {
        const err = e instanceof ArchiError ? e : new ArchiError('BAD_REQUEST', String(e));
        ws.send(JSON.stringify({ op: 'error', error: err.toJSON() }));
      }
    });
    ws.on('close', () => clients.delete(ws));
    ws.on('error', () => clients.delete(ws));
  });

  app.server.on('upgrade', (req, socket, head) => {
    if ((req.url ?? '').split('?')[0] !== '/v1/ws') {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  // preClose: open sockets would otherwise keep the HTTP server from closing at all.
  app.addHook('preClose', async () => {
    chain.off('block', onBlock);
    for (const ws of clients.keys()) ws.terminate();
    clients.clear();
    wss.close();
  });
}
