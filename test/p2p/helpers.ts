/** Shared fixtures for the p2p tests: TLS identities, nodes on 127.0.0.1, raw TLS peers. */
import * as tls from 'node:tls';
import { freePorts } from '../../src/cli/init-network.ts';
import { decodeFrame, encodeFrame, type FrameBody, FrameReader } from '../../src/p2p/frame.ts';
import { type P2PLimitsOptions, P2PNode, type PeerCertInfo } from '../../src/p2p/node.ts';
import {
  createTlsCa,
  issueTlsCert,
  type TlsCa,
  type TlsIdentity,
} from '../../src/p2p/tls-certs.ts';
import type { PeerFrame } from '../../src/codec/index.ts';

export { freePorts };

export const HOST = '127.0.0.1';

/** Limits that make timeouts and backoff short enough for tests. */
// Timeouts still leave room for a loaded machine running test files side by side.
export const FAST: P2PLimitsOptions = {
  handshakeTimeoutMs: 1500,
  pingIntervalMs: 200,
  idleTimeoutMs: 2000,
  reconnectBaseMs: 50,
  reconnectMaxMs: 400,
  banMs: 300,
};

/** One TLS CA per org and one identity per node, issued by its org's CA. */
export class Pki {
  readonly cas = new Map<string, TlsCa>();
  readonly ids = new Map<string, TlsIdentity & { org: string }>();

  constructor(nodes: Array<[node: string, org: string]>) {
    for (const [node, org] of nodes) {
      let ca = this.cas.get(org);
      if (!ca) {
        ca = createTlsCa(org);
        this.cas.set(org, ca);
      }
      this.ids.set(node, { ...issueTlsCert(ca, node), org });
    }
  }

  /** PEMs of every CA, as a node's tls.cas. */
  caPems(): string[] {
    return [...this.cas.values()].map((c) => c.certPem);
  }

  /** tls options for `node`. */
  tlsFor(node: string): { key: string; cert: string; cas: string[] } {
    const id = this.ids.get(node);
    if (!id) throw new Error(`no identity for ${node}`);
    return { key: id.keyPem, cert: id.certPem, cas: this.caPems() };
  }
}

/** Records what a node emits. */
export class Recorder {
  readonly messages: Array<{ peer: string; channel: number; text: string; chain: string }> = [];
  readonly ups: string[] = [];
  readonly downs: string[] = [];

  constructor(node: P2PNode) {
    node.on('message', (peer, channel, bytes, chain) => {
      this.messages.push({ peer, channel, text: Buffer.from(bytes).toString(), chain });
    });
    node.on('peer:up', (p) => this.ups.push(p));
    node.on('peer:down', (p) => this.downs.push(p));
  }

  has(peer: string, channel: number, text: string): boolean {
    return this.messages.some((m) => m.peer === peer && m.channel === channel && m.text === text);
  }
}

/** Everything a test wants from a started node. */
export interface TestNode {
  name: string;
  port: number;
  node: P2PNode;
  rec: Recorder;
  allowedCalls: Array<{ name: string; info: PeerCertInfo }>;
  /** Reasons the node gave for dropping connections, in order. */
  drops: string[];
  /** Every log line of the node, in order. */
  logs: Array<{ level: 'debug' | 'info' | 'warn'; msg: string; obj: object }>;
}

/**
 * Builds (not starts) a node whose allowed set is `allowed` (default: every node in pki)
 * and whose trusted TLS CAs are `cas` (default: every CA in pki).
 */
export function makeNode(
  pki: Pki,
  name: string,
  port: number,
  peers: Array<{ name: string; port: number }>,
  opts: { allowed?: Set<string>; limits?: P2PLimitsOptions; cas?: string[] } = {},
): TestNode {
  const allowed = opts.allowed ?? new Set(pki.ids.keys());
  const allowedCalls: TestNode['allowedCalls'] = [];
  const drops: string[] = [];
  const logs: TestNode['logs'] = [];
  const record = (level: 'debug' | 'info' | 'warn', obj: object, msg: string): void => {
    logs.push({ level, msg, obj });
    const why = (obj as { why?: unknown }).why;
    if (typeof why === 'string') drops.push(why);
    if (process.env.P2P_DEBUG) console.error(Date.now() % 100_000, name, msg, JSON.stringify(obj));
  };
  const node = new P2PNode({
    self: name,
    listen: { host: HOST, port },
    peers: peers.map((p) => ({ name: p.name, address: `${HOST}:${p.port}` })),
    tls: { ...pki.tlsFor(name), ...(opts.cas ? { cas: opts.cas } : {}) },
    allowed: (peer, info) => {
      allowedCalls.push({ name: peer, info });
      // As the node wiring will: the name must be a member node of the org the cert names.
      return allowed.has(peer) && pki.ids.get(peer)?.org === info.org;
    },
    limits: { ...FAST, ...opts.limits },
    logger: {
      debug: (obj, msg) => record('debug', obj, msg),
      info: (obj, msg) => record('info', obj, msg),
      warn: (obj, msg) => record('warn', obj, msg),
    },
  });
  return { name, port, node, rec: new Recorder(node), allowedCalls, drops, logs };
}

/** Polls `pred` until true; fails after `timeoutMs`. */
export async function waitFor(
  pred: () => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((ok) => setTimeout(ok, ms));
}

/** Resolves with the time it took `socket` to close; rejects after `timeoutMs`. */
export function closedWithin(
  socket: { once(e: 'close', f: () => void): unknown; destroyed: boolean },
  timeoutMs: number,
): Promise<number> {
  const start = Date.now();
  return new Promise((ok, fail) => {
    if (socket.destroyed) return ok(0);
    const t = setTimeout(
      () => fail(new Error(`socket still open after ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.once('close', () => {
      clearTimeout(t);
      ok(Date.now() - start);
    });
  });
}

/** A hand-driven TLS client speaking the frame protocol, for misbehaving-peer tests. */
export class RawPeer {
  readonly frames: PeerFrame[] = [];
  readonly socket: tls.TLSSocket;
  error: Error | undefined;
  closed = false;
  private readonly reader = new FrameReader(64 * 1024 * 1024);

  constructor(
    port: number,
    id: { keyPem: string; certPem: string },
    cas: string[],
    opts: { tlsMax?: tls.SecureVersion; read?: boolean } = {},
  ) {
    this.socket = tls.connect({
      host: HOST,
      port,
      key: id.keyPem,
      cert: id.certPem,
      ca: cas,
      maxVersion: opts.tlsMax,
      minVersion: opts.tlsMax === 'TLSv1.2' ? 'TLSv1.2' : undefined,
      checkServerIdentity: () => undefined,
    });
    this.socket.on('error', (e) => {
      this.error = e;
    });
    this.socket.on('close', () => {
      this.closed = true;
    });
    if (opts.read !== false) {
      this.socket.on('data', (d: Buffer) => {
        for (const b of this.reader.push(d)) this.frames.push(decodeFrame(b));
      });
    }
  }

  /** Resolves when the TLS handshake is done (client view), rejects if it fails. */
  connected(): Promise<void> {
    return new Promise((ok, fail) => {
      if (this.closed) return fail(this.error ?? new Error('closed'));
      this.socket.once('secureConnect', () => ok());
      this.socket.once('close', () => fail(this.error ?? new Error('closed')));
    });
  }

  /** Sends one frame. */
  send(body: FrameBody): boolean {
    return this.socket.write(encodeFrame(body));
  }

  /** Sends our hello as node `name`. */
  hello(name: string): void {
    this.send({ case: 'hello', value: { version: 1, node: name } });
  }

  /** True once the node answered with its hello (it accepted us). */
  gotHello(): boolean {
    return this.frames.some((f) => f.body.case === 'hello');
  }

  destroy(): void {
    this.socket.destroy();
  }
}
