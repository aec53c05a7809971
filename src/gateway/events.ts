/**
 * Contract events of apps over WebSocket (GET /gw/v1/events): the client's first message is a
 * request envelope with body `{contract?, name?}` (a contract of the app's namespace; none:
 * every contract of it), checked and journaled like any app request; the answer is a signed
 * envelope, then every matching event is one signed envelope whose `header.reqId` is the
 * subscription's. The gateway keeps one node subscription to `events` per chain, made when
 * the chain's first app subscribes and closed with its last, and fans its pushes out.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { ArchiError } from '../errors/index.ts';
import { writeRawError } from '../rpc/http-errors.ts';
import type { EventPush } from '../sdk/types.ts';
import { GW_LIMITS } from '../types/gateway-envelope.ts';
import type { GatewayContext } from './context.ts';
import { answer } from './envelope-auth.ts';
import { NodeFeed } from './forwarder.ts';
import { contractIn, type Endpoint, serveApp } from './routes-app.ts';

/** The path of the event subscription endpoint. */
export const EVENTS_PATH = '/gw/v1/events';
/** Bytes queued for a socket beyond which it is closed (1013) rather than sent more. */
const MAX_BUFFERED = 16 * 1024 * 1024;
/** Events held for a subscription between its registration and its confirmation. */
const MAX_EARLY = 1000;
/** How long a subscription waits for the chain's node subscription to confirm. */
const FEED_WAIT_MS = 5_000;
/** How long a socket may stay open without sending its subscription. */
const FIRST_MESSAGE_MS = 10_000;

/** One app's subscription on one socket. */
class Subscription {
  private early: EventPush[] | undefined = [];

  constructor(
    readonly chainId: string,
    readonly namespace: string,
    readonly contract: string | undefined,
    readonly name: string | undefined,
    private readonly send: (e: EventPush) => void,
  ) {}

  matches(e: EventPush): boolean {
    if (this.contract !== undefined) {
      if (e.contract !== this.contract) return false;
    } else if (!e.contract.startsWith(`${this.namespace}_`)) return false;
    return this.name === undefined || e.name === this.name;
  }

  push(e: EventPush): void {
    if (this.early) {
      if (this.early.length < MAX_EARLY) this.early.push(e);
      return;
    }
    this.send(e);
  }

  /** Sends what came before the confirmation, then passes events on as they come. */
  activate(): void {
    const early = this.early ?? [];
    this.early = undefined;
    for (const e of early) this.send(e);
  }
}

/** The node subscriptions per chain and the app subscriptions they feed. */
export class EventHub {
  private readonly chains = new Map<
    string,
    { feed: NodeFeed<'events'>; subs: Set<Subscription> }
  >();

  constructor(private readonly ctx: GatewayContext) {}

  async add(sub: Subscription): Promise<() => void> {
    const chain = await this.ctx.fwd.chain(sub.chainId);
    let c = this.chains.get(sub.chainId);
    if (!c) {
      const subs = new Set<Subscription>();
      const feed = new NodeFeed(
        chain,
        'events',
        {},
        (e) => {
          for (const s of subs) if (s.matches(e)) s.push(e);
        },
        this.ctx.log,
      );
      c = { feed, subs };
      this.chains.set(sub.chainId, c);
    }
    const entry = c;
    entry.subs.add(sub);
    // A new node subscription confirms before the app's does, so no event after it is missed
    // (a node that does not confirm in time leaves the feed retrying in the background).
    if (!entry.feed.live) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        entry.feed.ready,
        new Promise((r) => {
          timer = setTimeout(r, FEED_WAIT_MS);
        }),
      ]);
      clearTimeout(timer);
    }
    return () => {
      entry.subs.delete(sub);
      if (entry.subs.size === 0 && this.chains.get(sub.chainId) === entry) {
        entry.feed.close();
        this.chains.delete(sub.chainId);
      }
    };
  }

  close(): void {
    for (const c of this.chains.values()) c.feed.close();
    this.chains.clear();
  }
}

function bytesOf(data: Buffer | ArrayBuffer | Buffer[]): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}

/** Serves one socket: the subscription envelope, its answer, then the events. */
function serveSocket(ctx: GatewayContext, hub: EventHub, ws: WebSocket): void {
  let unsubscribe: (() => void) | undefined;
  let sub: Subscription | undefined;
  const timer = setTimeout(
    () => ws.close(1008, 'send the subscription envelope first'),
    FIRST_MESSAGE_MS,
  );
  ws.on('close', () => {
    clearTimeout(timer);
    unsubscribe?.();
  });
  ws.on('error', () => ws.terminate());
  ws.once('message', (data) => {
    clearTimeout(timer);
    const endpoint: Endpoint<{ contract?: string; name?: string }> = {
      kind: 'query',
      prepare(_ctx, known, body) {
        for (const k of Object.keys(body)) {
          if (k !== 'contract' && k !== 'name') {
            throw new ArchiError('GW_MALFORMED', `events: unknown field ${JSON.stringify(k)}`);
          }
        }
        const contract =
          body.contract === undefined || body.contract === null
            ? undefined
            : contractIn(known.app.namespace, body.contract);
        const name = body.name ?? undefined;
        if (name !== undefined && (typeof name !== 'string' || name === '')) {
          throw new ArchiError('GW_MALFORMED', 'name must be an event name');
        }
        return { p: { contract, name: name as string | undefined } };
      },
      async run(_ctx, known, { p }, env) {
        const { app } = known;
        const reqId = env.header.reqId;
        const s = new Subscription(app.chainId, app.namespace, p.contract, p.name, (e) => {
          if (ws.readyState !== ws.OPEN) return;
          if (ws.bufferedAmount > MAX_BUFFERED) {
            ws.close(1013, 'too slow: subscription buffer full');
            return;
          }
          ws.send(JSON.stringify(answer(ctx, app.crypto, reqId, 'OK', '', e).envelope));
        });
        unsubscribe = await hub.add(s);
        sub = s;
        return { subscribed: true };
      },
    };
    void serveApp(ctx, endpoint, bytesOf(data)).then((a) => {
      if (ws.readyState !== ws.OPEN) {
        unsubscribe?.();
        return;
      }
      ws.send(JSON.stringify(a.envelope));
      if (a.envelope.code !== 'OK' || !sub) {
        ws.close(1008, a.envelope.code);
        return;
      }
      sub.activate();
    });
  });
}

/** Serves WebSocket upgrades of EVENTS_PATH on an HTTP server; others are refused. */
export function attachEvents(
  ctx: GatewayContext,
  hub: EventHub,
): {
  onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  close(): void;
} {
  const wss = new WebSocketServer({ noServer: true, maxPayload: GW_LIMITS.bytes });
  wss.on('wsClientError', (err: Error, socket: Duplex) => {
    writeRawError(socket, new ArchiError('BAD_REQUEST', err.message));
  });
  return {
    onUpgrade(req, socket, head) {
      const path = (req.url ?? '').split('?')[0];
      if (path !== EVENTS_PATH || req.method !== 'GET') {
        writeRawError(
          socket,
          new ArchiError(
            'NOT_FOUND',
            `no WebSocket at ${req.method} ${path}: use GET ${EVENTS_PATH}`,
          ),
        );
        return;
      }
      socket.on('error', () => socket.destroy());
      wss.handleUpgrade(req, socket, head, (ws) => serveSocket(ctx, hub, ws));
    },
    close() {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      hub.close();
    },
  };
}
