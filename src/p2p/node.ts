/**
 * Mutual-TLS transport between member nodes: one TLS 1.3 connection per peer pair,
 * length-prefixed protobuf frames (see frame.ts), per-channel bounded send queues drained
 * in priority order, keepalive, receive rate limits and reconnect with backoff.
 *
 * A connection is usable once both sides have exchanged a hello after the TLS handshake.
 * Peers are identified by their certificate: CN = node name, O = org, and the certificate
 * must be issued by the TLS CA of that same org (so one member CA cannot mint a
 * certificate naming another org's node). `allowed` is asked on every handshake.
 * Membership may change while running: setTrustedCas replaces the trusted CAs, addPeer and
 * removePeer the dial targets, and recheck asks `allowed` again for live connections.
 */
import { createHash, randomInt, X509Certificate } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import * as tls from 'node:tls';
import { create, PeerByeReason, PeerMessageSchema } from '../codec/index.ts';
import { certsFromPem, type ParsedCertificate, parseCertificate } from '../crypto/x509.ts';
import { ArchiError } from '../types/errors.ts';
import {
  BLOCKSYNC,
  CHANNEL_PRIORITY,
  type Channel,
  CONSENSUS,
  decodeFrame,
  EVIDENCE,
  encodeFrame,
  type FrameBody,
  FrameReader,
  isChannel,
  messageFrameSize,
  PROTOCOL_VERSION,
  TXS,
} from './frame.ts';
import { type ChannelLimit, type QueueStats, SendQueue } from './queue.ts';

const MiB = 1024 * 1024;

/** Tunables; every field has a default in DEFAULT_LIMITS. */
export interface P2PLimits {
  /** Largest encoded frame accepted or sent (a 16 MiB block plus its commit fits). */
  maxFrameBytes: number;
  /** Send queue caps per channel and peer. */
  queues: Record<Channel, ChannelLimit>;
  /** TCP connect + TLS handshake + hello must finish within this. */
  handshakeTimeoutMs: number;
  pingIntervalMs: number;
  /** A peer that sends no bytes for this long is dropped. */
  idleTimeoutMs: number;
  /** A peer that reads none of our bytes for this long (socket never drains) is dropped. */
  writeStallTimeoutMs: number;
  /** Receive rate caps per connection; the burst allowance is one second's worth. */
  recvBytesPerSec: number;
  recvFramesPerSec: number;
  reconnectBaseMs: number;
  reconnectMaxMs: number;
  /** A peer that broke the protocol or the rate caps is refused for this long. */
  banMs: number;
  /** Inbound TCP connections held at once, authenticated or not. */
  maxConnections: number;
}

/** Limits used when the caller gives none. */
export const DEFAULT_LIMITS: P2PLimits = {
  maxFrameBytes: 20 * MiB,
  queues: {
    [CONSENSUS]: { maxBytes: 8 * MiB, maxCount: 1024 },
    [BLOCKSYNC]: { maxBytes: 8 * MiB, maxCount: 256 },
    [EVIDENCE]: { maxBytes: 1 * MiB, maxCount: 256 },
    [TXS]: { maxBytes: 4 * MiB, maxCount: 4096 },
  },
  handshakeTimeoutMs: 5_000,
  pingIntervalMs: 3_000,
  idleTimeoutMs: 15_000,
  writeStallTimeoutMs: 30_000,
  recvBytesPerSec: 256 * MiB,
  recvFramesPerSec: 50_000,
  reconnectBaseMs: 200,
  reconnectMaxMs: 10_000,
  banMs: 10_000,
  maxConnections: 256,
};

/** Partial limits as accepted by the constructor. */
export type P2PLimitsOptions = Partial<Omit<P2PLimits, 'queues'>> & {
  queues?: Partial<Record<Channel, Partial<ChannelLimit>>>;
};

/** What the transport knows about a peer's certificate when asking `allowed`. */
export interface PeerCertInfo {
  /** Subject O: the org. */
  org: string;
  /** Subject CN: the node name. */
  cn: string;
  /** Subject OU (init writes "consensus"), if any. */
  ou?: string;
  /** SHA-256 of the certificate DER, lower-case hex. */
  fingerprint: string;
  /** SHA-256 of the issuing TLS CA certificate DER, lower-case hex. */
  caFingerprint: string;
}

/** pino-compatible logger subset. */
export interface P2PLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** Constructor options of P2PNode; TLS material is PEM text. */
export interface P2POptions {
  self: string;
  listen: { host: string; port: number };
  peers: Array<{ name: string; address: string }>;
  tls: { key: string; cert: string; cas: string[] };
  allowed: (peerName: string, certInfo: PeerCertInfo) => boolean;
  logger?: P2PLogger;
  limits?: P2PLimitsOptions;
}

/** A peer as reported by peers(). */
export interface PeerInfo {
  name: string;
  /** Dial address, or null for a peer that only connected to us. */
  address: string | null;
  connected: boolean;
  /** Who opened the connection in use. */
  direction: 'inbound' | 'outbound' | null;
  /** Epoch ms when the peer last came up or went down; null if never connected. */
  since: number | null;
  /** Round trip of the last answered ping. */
  rttMs: number | null;
  queuedBytes: number;
  queuedCount: number;
}

/** Queue sizes of one peer plus bytes accepted by its socket but not yet sent. */
export interface PeerQueueStats extends QueueStats {
  socketBytes: number;
}

/** Events: message(peer, channel, bytes), peer:up(name), peer:down(name). */
export interface P2PEvents {
  /** `chain`: the chain id the sender named ('' for this node's first chain). */
  message: [peer: string, channel: Channel, bytes: Uint8Array, chain: string];
  'peer:up': [peer: string];
  'peer:down': [peer: string];
}

type Direction = 'inbound' | 'outbound';

class TokenBucket {
  private tokens: number;
  private last = Date.now();

  constructor(
    private readonly rate: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }

  take(n: number, now: number): boolean {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.rate) / 1000);
    this.last = now;
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }
}

class Conn {
  /** 'handshake': TLS not done; 'hello': waiting for the peer's hello; 'open': usable. */
  state: 'handshake' | 'hello' | 'open' | 'closed' = 'handshake';
  name: string | undefined;
  info: PeerCertInfo | undefined;
  /** The peer's certificate, kept to check it again when the trusted CAs change. */
  cert: X509Certificate | undefined;
  blocked = false;
  /** The peer said it keeps another connection with us: expect that one, don't go down. */
  peerKeepsOther = false;
  /** We dropped it as a duplicate: still deliver what the peer sent before our bye reached it. */
  draining = false;
  lastRecv = Date.now();
  rttMs: number | null = null;
  pingSeq = 0n;
  pingSentAt = 0;
  handshakeTimer: NodeJS.Timeout | undefined;
  keepalive: NodeJS.Timeout | undefined;
  stallTimer: NodeJS.Timeout | undefined;
  readonly reader: FrameReader;
  readonly bytesIn: TokenBucket;
  readonly framesIn: TokenBucket;

  constructor(
    readonly id: number,
    readonly socket: tls.TLSSocket,
    readonly direction: Direction,
    readonly dialed: string | undefined,
    limits: P2PLimits,
  ) {
    this.reader = new FrameReader(limits.maxFrameBytes);
    const byteBurst = Math.max(limits.recvBytesPerSec, limits.maxFrameBytes + 64);
    this.bytesIn = new TokenBucket(limits.recvBytesPerSec, byteBurst);
    this.framesIn = new TokenBucket(limits.recvFramesPerSec, limits.recvFramesPerSec);
  }

  /** False once nothing more from the peer should be handled. */
  isReadable(): boolean {
    return this.state !== 'closed' || this.draining;
  }
}

interface PeerState {
  name: string;
  address: { host: string; port: number } | null;
  addressText: string | null;
  /** The open connection carrying traffic. */
  conn: Conn | null;
  /** Our outbound attempt in progress. */
  dialing: Conn | null;
  up: boolean;
  since: number | null;
  attempts: number;
  dialTimer: NodeJS.Timeout | null;
  /** Running while we wait for the connection the peer said it keeps. */
  handoverTimer: NodeJS.Timeout | null;
  queue: SendQueue;
}

interface TrustedCa {
  org: string;
  x509: X509Certificate;
  fingerprint: string;
}

const NOOP_LOGGER: P2PLogger = { debug() {}, info() {}, warn() {} };
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

function invalid(message: string): never {
  throw new ArchiError('CONFIG_INVALID', `p2p: ${message}`);
}

function sha256hex(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Parses "host:port" or "[v6]:port"; throws ArchiError(CONFIG_INVALID). */
export function parseAddress(address: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(String(address));
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port < 1 || port > 65535) invalid(`bad peer address "${String(address)}"`);
  return { host: m[1] ?? m[2], port };
}

function positive(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) {
    invalid(`limits.${what} must be a positive integer`);
  }
  return v;
}

/** Fills defaults into partial limits and checks them. */
export function resolveLimits(o: P2PLimitsOptions = {}): P2PLimits {
  const out = { ...DEFAULT_LIMITS, ...o, queues: { ...DEFAULT_LIMITS.queues } } as P2PLimits;
  for (const c of CHANNEL_PRIORITY) {
    out.queues[c] = { ...DEFAULT_LIMITS.queues[c], ...(o.queues?.[c] ?? {}) };
    positive(out.queues[c].maxBytes, `queues[${c}].maxBytes`);
    positive(out.queues[c].maxCount, `queues[${c}].maxCount`);
  }
  for (const [k, v] of Object.entries(out)) if (k !== 'queues') positive(v, k);
  if (out.idleTimeoutMs <= out.pingIntervalMs) invalid('idleTimeoutMs must exceed pingIntervalMs');
  return out;
}

function subjectCn(cert: tls.PeerCertificate | undefined): string | undefined {
  const cn = cert?.subject?.CN as unknown;
  return typeof cn === 'string' ? cn : undefined;
}

/** The node transport: see the file comment. Emits the events of P2PEvents. */
export class P2PNode extends EventEmitter<P2PEvents> {
  /** This node's name (its certificate CN). */
  readonly self: string;
  /** This node's org (its certificate O). */
  readonly org: string;
  readonly limits: P2PLimits;
  private readonly listenOn: { host: string; port: number };
  private readonly tlsOpts: { key: string; cert: string };
  private readonly allowed: P2POptions['allowed'];
  private readonly log: P2PLogger;
  /** The trusted TLS CAs as given (PEM), and parsed; replaced together by setTrustedCas. */
  private caPems: string[];
  private cas: TrustedCa[];
  private clientContext: tls.SecureContext;
  private readonly peerMap = new Map<string, PeerState>();
  private readonly conns = new Set<Conn>();
  private readonly rawSockets = new Set<Socket>();
  private readonly bans = new Map<string, number>();
  private server: tls.Server | undefined;
  private running = false;
  private nextConnId = 1;
  private boundPort = 0;

  constructor(opts: P2POptions) {
    super();
    if (typeof opts?.self !== 'string' || !NAME.test(opts.self)) invalid('self must be a name');
    this.self = opts.self;
    const l = opts.listen;
    if (typeof l?.host !== 'string' || !Number.isInteger(l.port) || l.port < 0 || l.port > 65535) {
      invalid('listen must be {host, port 0..65535}');
    }
    this.listenOn = { host: l.host, port: l.port };
    if (typeof opts.allowed !== 'function') invalid('allowed must be a function');
    this.allowed = opts.allowed;
    this.log = opts.logger ?? NOOP_LOGGER;
    this.limits = resolveLimits(opts.limits);

    const t = opts.tls;
    if (typeof t?.key !== 'string' || typeof t.cert !== 'string' || !Array.isArray(t.cas)) {
      invalid('tls must be {key, cert, cas[]} as PEM text');
    }
    this.tlsOpts = { key: t.key, cert: t.cert };
    this.cas = this.loadCas(t.cas);
    this.caPems = [...t.cas];
    let own: ParsedCertificate;
    try {
      own = parseCertificate(certsFromPem(t.cert)[0] ?? new Uint8Array(0));
      // Checks that key and certificate match and parse, before any socket exists.
      this.clientContext = tls.createSecureContext(this.secureOptions(this.caPems));
    } catch (e) {
      invalid(`tls key/cert unusable: ${(e as Error).message}`);
    }
    if (own.subject.CN !== this.self) {
      invalid(`tls certificate CN "${own.subject.CN}" is not the node name "${this.self}"`);
    }
    this.org = own.subject.O;

    for (const p of opts.peers ?? []) this.addPeerState(p);
  }

  /** Starts listening and dialing the configured peers; resolves once the port is bound. */
  async start(): Promise<void> {
    if (this.server) throw new ArchiError('INTERNAL', 'p2p: already started');
    const server = tls.createServer({
      ...this.secureOptions(this.caPems),
      requestCert: true,
      rejectUnauthorized: true,
      handshakeTimeout: this.limits.handshakeTimeoutMs,
    });
    server.maxConnections = this.limits.maxConnections;
    server.on('connection', (raw: Socket) => {
      this.rawSockets.add(raw);
      raw.on('error', () => {});
      raw.once('close', () => this.rawSockets.delete(raw));
      raw.setNoDelay(true);
    });
    server.on('secureConnection', (s: tls.TLSSocket) => this.onInbound(s));
    server.on('tlsClientError', (err: Error, s: tls.TLSSocket) => {
      // Info, not debug: this is the only trace of a peer refused for its certificate (then
      // `reason` names the verification error; `err` is just the hang-up that follows).
      const reason = s.authorizationError ? String(s.authorizationError) : undefined;
      this.log.info(
        { err: err.message, ...(reason ? { reason } : {}), remote: s.remoteAddress },
        'p2p: inbound handshake failed',
      );
      s.destroy();
    });
    this.server = server;
    try {
      await new Promise<void>((ok, fail) => {
        server.once('error', fail);
        server.listen(this.listenOn.port, this.listenOn.host, () => {
          server.off('error', fail);
          ok();
        });
      });
    } catch (e) {
      this.server = undefined;
      throw new ArchiError(
        'CONFIG_INVALID',
        `p2p: cannot listen on ${this.listenOn.host}:${this.listenOn.port}: ${(e as Error).message}`,
      );
    }
    server.on('error', (err) => this.log.warn({ err: err.message }, 'p2p: server error'));
    const addr = server.address();
    this.boundPort = typeof addr === 'object' && addr ? addr.port : this.listenOn.port;
    this.running = true;
    this.log.info({ port: this.boundPort, peers: this.peerMap.size }, 'p2p: listening');
    for (const p of this.peerMap.values()) this.dial(p);
  }

  /** Closes every connection and the listener; emits peer:down for peers that were up. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.running = false;
    this.server = undefined;
    const now = Date.now();
    for (const p of [...this.peerMap.values()]) {
      if (p.dialTimer) clearTimeout(p.dialTimer);
      if (p.handoverTimer) clearTimeout(p.handoverTimer);
      p.dialTimer = null;
      p.handoverTimer = null;
      p.attempts = 0;
      p.queue.clear();
      const wasUp = p.up;
      p.up = false;
      p.conn = null;
      p.dialing = null;
      if (wasUp) {
        p.since = now;
        this.emitSafe('peer:down', p.name);
      }
      if (!p.address) this.peerMap.delete(p.name);
    }
    const closed: Promise<void>[] = [];
    for (const c of this.conns) {
      closed.push(new Promise((ok) => c.socket.once('close', () => ok())));
      if (c.state === 'open') this.closeConn(c, PeerByeReason.SHUTDOWN, 'node stopping');
      else this.destroyConn(c, 'node stopping');
    }
    for (const raw of this.rawSockets) raw.destroy();
    closed.push(new Promise((ok) => server.close(() => ok())));
    await Promise.all(closed);
  }

  /** The port actually bound (useful with listen port 0); 0 before start. */
  get port(): number {
    return this.boundPort;
  }

  /**
   * Queues `bytes` for `peer` on `channel`; false when the peer is not connected, its
   * queue for that channel is full, or the message exceeds maxFrameBytes. Dropped messages
   * are the sender's to retry. `bytes` must not be modified afterwards. `chain` names the
   * chain the message belongs to ('' for the peer's first chain).
   */
  send(peer: string, channel: Channel, bytes: Uint8Array, chain = ''): boolean {
    if (!isChannel(channel))
      throw new ArchiError('INVALID_ARGS', `p2p: unknown channel ${channel}`);
    if (!(bytes instanceof Uint8Array)) throw new ArchiError('INVALID_ARGS', 'p2p: bytes required');
    const p = this.peerMap.get(peer);
    if (!this.running || !p?.up) return false;
    if (messageFrameSize(bytes.length, Buffer.byteLength(chain)) > this.limits.maxFrameBytes) {
      this.log.warn({ peer, channel, bytes: bytes.length }, 'p2p: message exceeds maxFrameBytes');
      return false;
    }
    if (!p.queue.push(channel, bytes, chain)) return false;
    this.flush(p);
    return true;
  }

  /**
   * Sends to every connected peer (of those `to` accepts, when given); returns how many
   * accepted the message.
   */
  broadcast(
    channel: Channel,
    bytes: Uint8Array,
    chain = '',
    to?: (peer: string) => boolean,
  ): number {
    let n = 0;
    for (const p of this.peerMap.values()) {
      if (p.up && (!to || to(p.name)) && this.send(p.name, channel, bytes, chain)) n++;
    }
    return n;
  }

  /** Every known peer: the configured ones and any that connected to us. */
  peers(): PeerInfo[] {
    return [...this.peerMap.values()].map((p) => {
      const q = p.queue.stats();
      return {
        name: p.name,
        address: p.addressText,
        connected: p.up,
        direction: p.conn?.direction ?? null,
        since: p.since,
        rttMs: p.conn?.rttMs ?? null,
        queuedBytes: q.bytes,
        queuedCount: q.count,
      };
    });
  }

  /** Send queue sizes for `peer`, or undefined for an unknown peer. */
  queued(peer: string): PeerQueueStats | undefined {
    const p = this.peerMap.get(peer);
    if (!p) return undefined;
    return { ...p.queue.stats(), socketBytes: p.conn?.socket.writableLength ?? 0 };
  }

  /**
   * Adds (or re-addresses) a peer to dial; connects now if running (once its ban, if any,
   * runs out). A dial still in its handshake to an old address is restarted at the new one.
   */
  addPeer(peer: { name: string; address: string }): void {
    const before = this.peerMap.get(peer?.name)?.addressText;
    const p = this.addPeerState(peer);
    if (!this.running) return;
    if (p.dialing?.state === 'handshake' && before !== p.addressText) {
      this.destroyConn(p.dialing, 'peer re-addressed');
    }
    this.dialSoon(p);
  }

  /**
   * Stops dialing `name` and closes its connection; an allowed peer may still dial us, so
   * a node leaving the network is also refused by `allowed` (then call recheck()).
   */
  removePeer(name: string): void {
    const p = this.peerMap.get(name);
    if (!p) return;
    p.address = null;
    p.addressText = null;
    if (p.dialTimer) clearTimeout(p.dialTimer);
    p.dialTimer = null;
    if (p.dialing) this.destroyConn(p.dialing, 'peer removed');
    if (p.conn) this.closeConn(p.conn, PeerByeReason.SHUTDOWN, 'peer removed');
    // Up but between connections (waiting for the one the peer said it keeps): down now.
    if (p.handoverTimer) {
      clearTimeout(p.handoverTimer);
      p.handoverTimer = null;
      if (!p.conn) this.peerDown(p);
    }
    if (!p.up) this.peerMap.delete(name);
  }

  /**
   * Replaces the trusted TLS CAs (PEM, one CA per org or more), as given to the constructor
   * in tls.cas and checked the same way: bad input throws ArchiError(CONFIG_INVALID) and
   * changes nothing. New handshakes, inbound and outbound, then use the new list; live
   * connections whose peer certificate is no longer issued by a trusted CA of its own org
   * are closed, and when CAs were added, peers waiting to be redialed are dialed now. A list
   * holding the same certificates as the current one changes nothing, so it is cheap to pass
   * after every block.
   */
  setTrustedCas(pems: string[]): void {
    if (!Array.isArray(pems)) invalid('tls.cas must be an array of PEM strings');
    if (pems.length === this.caPems.length && pems.every((x, i) => x === this.caPems[i])) return;
    const cas = this.loadCas(pems);
    const caPems = [...pems];
    const had = new Set(this.cas.map((a) => a.fingerprint));
    const has = new Set(cas.map((a) => a.fingerprint));
    const added = [...has].filter((f) => !had.has(f)).length;
    const removed = [...had].filter((f) => !has.has(f)).length;
    if (added === 0 && removed === 0) {
      // Same certificates, other order or spelling: remember it for the quick check above.
      this.caPems = caPems;
      this.cas = cas;
      return;
    }
    let clientContext: tls.SecureContext;
    try {
      clientContext = tls.createSecureContext(this.secureOptions(caPems));
      // Inbound handshakes started from now on use the new CAs; live ones keep theirs.
      this.server?.setSecureContext(this.secureOptions(caPems));
    } catch (e) {
      invalid(`tls.cas unusable: ${(e as Error).message}`);
    }
    this.caPems = caPems;
    this.cas = cas;
    this.clientContext = clientContext;
    this.log.info(
      { orgs: [...new Set(cas.map((a) => a.org))].sort(), added, removed },
      'p2p: trusted TLS CAs changed',
    );
    if (removed > 0) {
      // Handshakes still under way are checked against the new list in onSecure.
      for (const c of [...this.conns]) {
        if (!c.cert || !c.isReadable()) continue;
        const info = this.identify(c.cert);
        if (typeof info === 'string') this.destroyConn(c, `no longer trusted: ${info}`, 'info');
        else c.info = info;
      }
    }
    if (added > 0 && this.running) {
      // Dials that failed (or are failing) for want of a CA need not wait out their backoff.
      for (const p of [...this.peerMap.values()]) {
        if (!p.address || p.up || p.conn) continue;
        if (p.dialing?.state === 'handshake') {
          this.destroyConn(p.dialing, 'trusted TLS CAs changed; dialing again');
        }
        this.dialSoon(p);
      }
    }
  }

  /** Asks `allowed` again for every live connection and closes those now refused. */
  recheck(): void {
    for (const c of [...this.conns]) {
      // Includes a duplicate still draining: it would go on delivering the peer's messages.
      if (!c.name || !c.info || !c.isReadable()) continue;
      if (!this.isAllowed(c.name, c.info)) this.destroyConn(c, 'no longer allowed', 'info');
    }
  }

  // ---- connection setup ----

  /** TLS context options shared by the client context and the server. */
  private secureOptions(cas: string[]): tls.SecureContextOptions {
    return { key: this.tlsOpts.key, cert: this.tlsOpts.cert, ca: cas, minVersion: 'TLSv1.3' };
  }

  private loadCas(pems: string[]): TrustedCa[] {
    const out: TrustedCa[] = [];
    for (const pem of pems) {
      if (typeof pem !== 'string') invalid('tls.cas must be PEM strings');
      let ders: Uint8Array[];
      try {
        ders = certsFromPem(pem);
      } catch (e) {
        invalid(`unusable TLS CA certificate: ${(e as Error).message}`);
      }
      if (ders.length === 0) invalid('a tls.cas entry holds no certificate');
      for (const der of ders) {
        let parsed: ParsedCertificate;
        let x509: X509Certificate;
        try {
          parsed = parseCertificate(der);
          x509 = new X509Certificate(der);
        } catch (e) {
          invalid(`unusable TLS CA certificate: ${(e as Error).message}`);
        }
        if (!parsed.isCA || !parsed.subject.O) invalid('a tls.cas entry is not a CA with an O');
        out.push({ org: parsed.subject.O, x509, fingerprint: sha256hex(der) });
      }
    }
    if (out.length === 0) invalid('tls.cas is empty');
    return out;
  }

  private addPeerState(peer: { name: string; address: string }): PeerState {
    if (typeof peer?.name !== 'string' || !NAME.test(peer.name))
      invalid('peer name must be a name');
    if (peer.name === this.self) invalid(`peer list contains this node (${peer.name})`);
    const address = parseAddress(peer.address);
    let p = this.peerMap.get(peer.name);
    if (!p) {
      p = this.newPeerState(peer.name, address, peer.address);
    } else {
      p.address = address;
      p.addressText = peer.address;
    }
    return p;
  }

  private newPeerState(
    name: string,
    address: PeerState['address'],
    addressText: string | null,
  ): PeerState {
    const p: PeerState = {
      name,
      address,
      addressText,
      conn: null,
      dialing: null,
      up: false,
      since: null,
      attempts: 0,
      dialTimer: null,
      handoverTimer: null,
      queue: new SendQueue(this.limits.queues),
    };
    this.peerMap.set(name, p);
    return p;
  }

  private newConn(socket: tls.TLSSocket, direction: Direction, dialed?: string): Conn {
    const c = new Conn(this.nextConnId++, socket, direction, dialed, this.limits);
    this.conns.add(c);
    socket.on('error', (err) => {
      this.log.debug({ peer: c.name ?? dialed, conn: c.id, err: err.message }, 'p2p: socket error');
    });
    socket.once('close', () => {
      this.conns.delete(c);
      this.detach(c);
    });
    c.handshakeTimer = setTimeout(() => {
      if (c.state !== 'open') this.destroyConn(c, 'handshake timeout');
    }, this.limits.handshakeTimeoutMs);
    return c;
  }

  private onInbound(socket: tls.TLSSocket): void {
    const c = this.newConn(socket, 'inbound');
    if (!this.running) {
      this.destroyConn(c, 'node stopping');
      return;
    }
    this.onSecure(c);
  }

  private dial(p: PeerState): void {
    if (!this.running || !p.address || p.up || p.conn || p.dialing) return;
    if (p.dialTimer) clearTimeout(p.dialTimer);
    p.dialTimer = null;
    const name = p.name;
    const socket = tls.connect({
      host: p.address.host,
      port: p.address.port,
      secureContext: this.clientContext,
      minVersion: 'TLSv1.3',
      // Peers are known by node name, not by host name: the CN must be the node we dialed.
      checkServerIdentity: (_host, cert) =>
        subjectCn(cert) === name
          ? undefined
          : new Error(`server certificate CN ${String(subjectCn(cert))} is not ${name}`),
    });
    socket.setNoDelay(true);
    const c = this.newConn(socket, 'outbound', name);
    p.dialing = c;
    this.log.debug({ peer: name, address: p.addressText, conn: c.id }, 'p2p: dialing');
    socket.once('secureConnect', () => this.onSecure(c));
  }

  private scheduleDial(p: PeerState): void {
    if (!this.running || !p.address || p.up || p.conn || p.dialing || p.dialTimer) return;
    const exp = Math.min(
      this.limits.reconnectMaxMs,
      this.limits.reconnectBaseMs * 2 ** Math.min(p.attempts, 30),
    );
    p.attempts++;
    // "Equal jitter": half fixed, half random, so peers restarted together spread out.
    const half = Math.floor(exp / 2);
    let delay = half + randomInt(exp - half + 1);
    const bannedUntil = this.bans.get(p.name) ?? 0;
    delay = Math.max(delay, bannedUntil - Date.now());
    p.dialTimer = setTimeout(() => {
      p.dialTimer = null;
      this.dial(p);
    }, delay);
  }

  /** Dials now, or when the peer's ban runs out. */
  private dialSoon(p: PeerState): void {
    if (this.isBanned(p.name)) this.scheduleDial(p);
    else this.dial(p);
  }

  /** Binds a peer certificate to its org's trusted CA; a string says why it cannot. */
  private identify(x: X509Certificate | undefined): PeerCertInfo | string {
    if (!x) return 'no peer certificate';
    let subject: { O: string; OU?: string; CN: string };
    try {
      subject = parseCertificate(new Uint8Array(x.raw)).subject;
    } catch (e) {
      return `unreadable peer certificate: ${(e as Error).message}`;
    }
    if (!subject.CN || !subject.O) return 'peer certificate lacks CN or O';
    // OpenSSL accepted the chain against some member CA; this binds O to that org's own CA.
    const ca = this.cas.find(
      (a) => a.org === subject.O && x.checkIssued(a.x509) && x.verify(a.x509.publicKey),
    );
    if (!ca) return `certificate of ${subject.CN} is not issued by the TLS CA of ${subject.O}`;
    const info: PeerCertInfo = {
      org: subject.O,
      cn: subject.CN,
      fingerprint: sha256hex(x.raw),
      caFingerprint: ca.fingerprint,
    };
    if (subject.OU !== undefined) info.ou = subject.OU;
    return info;
  }

  private isAllowed(name: string, info: PeerCertInfo): boolean {
    try {
      return this.allowed(name, info) === true;
    } catch (e) {
      this.log.warn({ peer: name, err: (e as Error).message }, 'p2p: allowed() threw; refusing');
      return false;
    }
  }

  private isBanned(name: string): boolean {
    const until = this.bans.get(name);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.bans.delete(name);
    return false;
  }

  private onSecure(c: Conn): void {
    if (!this.running || c.state !== 'handshake') {
      this.destroyConn(c, 'node stopping');
      return;
    }
    const s = c.socket;
    if (!s.authorized) {
      this.destroyConn(c, `unauthorized: ${String(s.authorizationError)}`, 'warn');
      return;
    }
    const cert = s.getPeerX509Certificate();
    const info = this.identify(cert);
    if (typeof info === 'string') {
      this.destroyConn(c, info, 'warn');
      return;
    }
    const name = info.cn;
    let refusal: string | undefined;
    if (name === this.self) refusal = 'peer presents our own name';
    else if (c.dialed !== undefined && name !== c.dialed)
      refusal = `dialed ${c.dialed}, got ${name}`;
    else if (this.isBanned(name)) refusal = `${name} is banned for a while`;
    else if (!this.isAllowed(name, info)) refusal = `${name} (${info.org}) is not an allowed node`;
    if (refusal) {
      this.destroyConn(c, refusal, 'warn');
      return;
    }
    c.name = name;
    c.info = info;
    c.cert = cert;
    c.state = 'hello';
    s.on('data', (chunk: Buffer) => this.onData(c, chunk));
    this.writeFrame(c, { case: 'hello', value: { version: PROTOCOL_VERSION, node: this.self } });
  }

  // ---- receiving ----

  private onData(c: Conn, chunk: Buffer): void {
    if (!c.isReadable()) return;
    const now = Date.now();
    c.lastRecv = now;
    if (!c.bytesIn.take(chunk.length, now)) {
      this.misbehaved(c, 'receive byte rate exceeded');
      return;
    }
    let bodies: Buffer[];
    try {
      bodies = c.reader.push(chunk);
    } catch (e) {
      this.misbehaved(c, (e as Error).message);
      return;
    }
    for (const body of bodies) {
      // A frame handled just before may have closed the connection.
      if (!c.isReadable()) return;
      if (!c.framesIn.take(1, now)) {
        this.misbehaved(c, 'receive frame rate exceeded');
        return;
      }
      try {
        this.onFrame(c, decodeFrame(body));
      } catch (e) {
        this.misbehaved(c, (e as Error).message);
        return;
      }
    }
  }

  private onFrame(c: Conn, f: ReturnType<typeof decodeFrame>): void {
    const b = f.body;
    if (c.draining) {
      if (b.case === 'message' && isChannel(b.value.channel)) {
        this.emitSafe('message', c.name!, b.value.channel, b.value.payload, b.value.chainId);
      }
      return;
    }
    if (b.case === 'hello') {
      if (c.state !== 'hello') throw new Error('unexpected hello');
      if (b.value.version !== PROTOCOL_VERSION) {
        this.destroyConn(
          c,
          `protocol version ${b.value.version}, want ${PROTOCOL_VERSION}`,
          'warn',
        );
        return;
      }
      if (b.value.node !== c.name) throw new Error(`hello names ${b.value.node}, cert ${c.name}`);
      this.onOpen(c);
      return;
    }
    if (c.state !== 'open') throw new Error(`${b.case} frame before hello`);
    switch (b.case) {
      case 'message': {
        const ch = b.value.channel;
        // Unknown channels are skipped, not punished, so a newer peer can add channels.
        if (!isChannel(ch)) {
          this.log.debug({ peer: c.name, channel: ch }, 'p2p: message on unknown channel');
          return;
        }
        this.emitSafe('message', c.name!, ch, b.value.payload, b.value.chainId);
        return;
      }
      case 'ping':
        if (!c.blocked) this.writeFrame(c, { case: 'pong', value: b.value });
        return;
      case 'pong':
        if (b.value === c.pingSeq && c.pingSentAt > 0) c.rttMs = Date.now() - c.pingSentAt;
        return;
      case 'bye':
        if (b.value.reason === PeerByeReason.DUPLICATE) c.peerKeepsOther = true;
        this.closeConn(c, undefined, `peer said bye (${PeerByeReason[b.value.reason]})`);
        return;
    }
  }

  private misbehaved(c: Conn, reason: string): void {
    if (c.name) this.bans.set(c.name, Date.now() + this.limits.banMs);
    this.destroyConn(c, `protocol violation: ${reason}`, 'warn');
  }

  // ---- connection lifecycle ----

  private initiator(c: Conn): string {
    return c.direction === 'outbound' ? this.self : c.name!;
  }

  private onOpen(c: Conn): void {
    const name = c.name!;
    clearTimeout(c.handshakeTimer);
    c.handshakeTimer = undefined;
    c.state = 'open';
    c.keepalive = setInterval(() => this.keepalive(c), this.limits.pingIntervalMs);
    let p = this.peerMap.get(name);
    // A peer that is not in our list but allowed and dialed us: tracked while connected.
    if (!p) p = this.newPeerState(name, null, null);
    if (p.dialing === c) p.dialing = null;
    const cur = p.conn;
    if (cur && cur !== c) {
      // Both sides apply the same rule, so they keep the same connection: the one opened by
      // the smaller name, or the newer one when one side opened both (it gave up the older).
      const keeper = [this.self, name].sort()[0];
      const keepNew = this.initiator(c) === this.initiator(cur) || this.initiator(c) === keeper;
      if (!keepNew) {
        this.closeConn(c, PeerByeReason.DUPLICATE, 'duplicate connection');
        return;
      }
      p.conn = c;
      this.closeConn(cur, PeerByeReason.DUPLICATE, 'replaced by a newer connection');
    } else {
      p.conn = c;
    }
    p.attempts = 0;
    if (p.dialTimer) clearTimeout(p.dialTimer);
    p.dialTimer = null;
    if (p.handoverTimer) clearTimeout(p.handoverTimer);
    p.handoverTimer = null;
    this.log.debug({ peer: name, conn: c.id, direction: c.direction }, 'p2p: connection open');
    if (!p.up) {
      p.up = true;
      p.since = Date.now();
      this.log.info({ peer: name, direction: c.direction }, 'p2p: peer up');
      this.emitSafe('peer:up', name);
    }
    this.flush(p);
  }

  private keepalive(c: Conn): void {
    const now = Date.now();
    if (now - c.lastRecv > this.limits.idleTimeoutMs) {
      this.destroyConn(c, 'peer silent', 'info');
      return;
    }
    if (c.blocked) return;
    c.pingSeq++;
    c.pingSentAt = now;
    this.writeFrame(c, { case: 'ping', value: c.pingSeq });
  }

  /** Unhooks a connection from its peer (idempotent); the socket may still be closing. */
  private detach(c: Conn): void {
    if (c.state === 'closed') return;
    c.state = 'closed';
    clearTimeout(c.handshakeTimer);
    clearInterval(c.keepalive);
    clearTimeout(c.stallTimer);
    const key = c.name ?? c.dialed;
    const p = key === undefined ? undefined : this.peerMap.get(key);
    if (!p) return;
    if (p.dialing === c) {
      p.dialing = null;
      if (!p.up) this.scheduleDial(p);
    }
    if (p.conn !== c) return;
    p.conn = null;
    if (!this.running) return;
    if (c.peerKeepsOther) {
      // The other connection may still be finishing its handshake on our side.
      p.handoverTimer = setTimeout(() => {
        p.handoverTimer = null;
        if (!p.conn) this.peerDown(p);
      }, this.limits.handshakeTimeoutMs);
      return;
    }
    this.peerDown(p);
  }

  private peerDown(p: PeerState): void {
    if (!p.up) return;
    p.up = false;
    p.since = Date.now();
    p.queue.clear();
    this.log.info({ peer: p.name }, 'p2p: peer down');
    this.emitSafe('peer:down', p.name);
    if (p.address) this.scheduleDial(p);
    else if (!p.conn && !p.dialing) this.peerMap.delete(p.name);
  }

  /** Graceful close: optional bye, then FIN; destroyed if the peer does not finish. */
  private closeConn(c: Conn, reason: PeerByeReason | undefined, why: string): void {
    if (c.state === 'closed') return;
    this.log.debug({ peer: c.name ?? c.dialed, conn: c.id, why }, 'p2p: closing connection');
    if (reason !== undefined && c.state === 'open') {
      this.writeFrame(c, { case: 'bye', value: { reason } });
      // The peer may have written to this connection before it learns we dropped it; it
      // stops at our bye and then closes, so reading on until its FIN loses nothing.
      c.draining = reason === PeerByeReason.DUPLICATE;
    }
    this.detach(c);
    c.socket.end();
    setTimeout(() => c.socket.destroy(), 1000).unref();
  }

  private destroyConn(c: Conn, why: string, level: 'debug' | 'info' | 'warn' = 'debug'): void {
    c.draining = false;
    if (!c.socket.destroyed) {
      this.log[level](
        { peer: c.name ?? c.dialed, conn: c.id, remote: c.socket.remoteAddress, why },
        'p2p: dropping connection',
      );
    }
    this.detach(c);
    c.socket.destroy();
  }

  // ---- sending ----

  private writeFrame(c: Conn, body: FrameBody): boolean {
    const s = c.socket;
    if (s.destroyed || !s.writable) return false;
    const ok = s.write(encodeFrame(body));
    if (!ok && !c.blocked) {
      c.blocked = true;
      c.stallTimer = setTimeout(
        () => this.destroyConn(c, 'peer stopped reading', 'info'),
        this.limits.writeStallTimeoutMs,
      );
      s.once('drain', () => {
        clearTimeout(c.stallTimer);
        c.blocked = false;
        const p = c.name ? this.peerMap.get(c.name) : undefined;
        if (p && p.conn === c) this.flush(p);
      });
    }
    return ok;
  }

  private flush(p: PeerState): void {
    const c = p.conn;
    if (c?.state !== 'open' || c.blocked) return;
    c.socket.cork();
    try {
      for (;;) {
        const m = p.queue.shift();
        if (!m) break;
        const msg = create(PeerMessageSchema, {
          channel: m.channel,
          payload: m.payload,
          chainId: m.chain,
        });
        if (!this.writeFrame(c, { case: 'message', value: msg })) break;
      }
    } finally {
      c.socket.uncork();
    }
  }

  private emitSafe<K extends keyof P2PEvents>(event: K, ...args: P2PEvents[K]): void {
    try {
      (this.emit as (e: K, ...a: P2PEvents[K]) => boolean)(event, ...args);
    } catch (e) {
      // A throwing listener must not take the socket handler (and the node) down with it.
      this.log.warn({ event, err: (e as Error).message }, 'p2p: event listener threw');
    }
  }
}
