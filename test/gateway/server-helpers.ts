/**
 * Helpers of the gateway server tests: a local network started in this process (`archi
 * init` then the nodes, as `archi up` would), a gateway in-process with its log lines
 * captured, raw HTTP requests with envelopes signed by src/types/gateway-envelope.ts and
 * answers checked with the gateway's key, and PKCS#10 requests made here.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import WebSocket from 'ws';
import { initNetwork } from '../../src/cli/init-network.ts';
import {
  encodeBitString,
  encodeOid,
  encodeSequence,
  encodeTlv,
  encodeUnsignedInteger,
} from '../../src/crypto/der.ts';
import type { ProfileName, Signer } from '../../src/crypto/interfaces.ts';
import { encodeSpki, pemEncode } from '../../src/crypto/keys.ts';
import { getProfile } from '../../src/crypto/profile.ts';
import {
  type GatewayOptions,
  type RunningGateway,
  startGateway,
} from '../../src/gateway/gateway.ts';
import { type StartedNode, startNode } from '../../src/node/node.ts';
import { waitUntil } from '../e2e/network.ts';
import {
  type ResponseEnvelope,
  signRequest,
  verifyResponse,
} from '../../src/types/gateway-envelope.ts';

/** A network of in-process nodes. */
export interface LocalNetwork {
  dir: string;
  nodes: StartedNode[];
  rpc: string[];
  stop(): Promise<void>;
}

/**
 * `archi init` in a temp dir and every node started here. One org runs solo; more run tbft
 * with short timeouts. `genesis` changes genesis.json before any node reads it.
 */
export async function startNetwork(o: {
  orgs: number;
  crypto?: 'standard' | 'gm';
  identity?: 'cert' | 'key';
  genesis?: Record<string, unknown>;
}): Promise<LocalNetwork> {
  const dir = mkdtempSync(join(tmpdir(), 'archi-gw-net-'));
  const info = await initNetwork({
    dir,
    orgs: o.orgs,
    crypto: o.crypto ?? 'standard',
    identity: o.identity ?? 'cert',
    consensus: o.orgs === 1 ? 'solo' : 'tbft',
  });
  const gpath = join(dir, 'genesis.json');
  const g = JSON.parse(readFileSync(gpath, 'utf8'));
  g.params = {
    ...g.params,
    timeoutProposeMs: 1500,
    timeoutVoteMs: 500,
    timeoutDeltaMs: 250,
    blockIntervalMs: 100,
  };
  Object.assign(g, o.genesis ?? {});
  writeFileSync(gpath, JSON.stringify(g, null, 2));
  const quiet = pino({ level: 'silent' });
  const nodes = await Promise.all(
    info.nodes.map((n) => startNode(join(dir, 'nodes', n.name, 'node.json'), quiet)),
  );
  return {
    dir,
    nodes,
    rpc: info.nodes.map((n) => n.rpc),
    async stop() {
      await Promise.all(nodes.map((n) => n.stop().catch(() => {})));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A logger whose lines are kept (to look for secrets in them). */
export function capturingLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => lines.push(s) });
  return { log, lines };
}

/** A gateway in this process with its log captured. */
export async function gateway(
  dir: string,
  options: Partial<GatewayOptions> = {},
): Promise<RunningGateway & { logLines: string[] }> {
  const { log, lines } = capturingLogger();
  const gw = await startGateway({ dir, port: 0, logger: log, ...options });
  return Object.assign(gw, { logLines: lines });
}

/** Calls an admin endpoint; the parsed answer and status. */
export async function admin(
  gw: { url: string; adminToken: string },
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  token: string | null = gw.adminToken,
): Promise<{ status: number; body: any; text: string }> {
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(`${gw.url}/gw/v1/admin${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let parsed: any;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: r.status, body: parsed, text };
}

/** Like admin() but fails the test unless the status is 2xx. */
export async function adminOk(
  gw: { url: string; adminToken: string },
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<any> {
  const r = await admin(gw, method, path, body);
  assert.ok(r.status >= 200 && r.status < 300, `${method} ${path}: ${r.status} ${r.text}`);
  return r.body;
}

/** A fresh reqId. */
export const newReqId = (): string => randomBytes(12).toString('base64url');

/** An answer of an app endpoint, its signature checked. */
export interface GwAnswer {
  status: number;
  headers: Headers;
  env: ResponseEnvelope;
}

/** An app as a raw HTTP client: signs envelopes, checks the gateway's signed answers. */
export class RawApp {
  private signer?: Signer;

  constructor(
    readonly url: string,
    readonly appId: string,
    readonly profile: ProfileName,
    readonly accessKeyPem: string,
    readonly gatewayKeyPem: string,
  ) {}

  /** The envelope for `body` (reqId and time may be given). */
  envelope(body: Record<string, unknown>, o: { reqId?: string; time?: number; app?: string } = {}) {
    this.signer ??= getProfile(this.profile).signerFromPem(this.accessKeyPem);
    return signRequest(
      this.signer,
      { app: o.app ?? this.appId, reqId: o.reqId ?? newReqId(), time: o.time ?? Date.now() },
      body,
    );
  }

  /** Sends text as the body of `path`; checks the answer's signature and reqId. */
  async sendRaw(path: string, text: string | Uint8Array, reqId?: string): Promise<GwAnswer> {
    const r = await fetch(`${this.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: text,
    });
    const raw = await r.text();
    const env = verifyResponse(
      raw,
      {
        profile: this.profile,
        publicKey: getProfile(this.profile).publicKeyFromPem(this.gatewayKeyPem),
      },
      { nowMs: Date.now(), reqId },
    );
    return { status: r.status, headers: r.headers, env };
  }

  /** Signs and sends `body` to `path`. */
  async call(
    path: string,
    body: Record<string, unknown>,
    o: { reqId?: string; time?: number } = {},
  ): Promise<GwAnswer> {
    const env = this.envelope(body, o);
    return this.sendRaw(path, JSON.stringify(env), env.header.reqId);
  }

  /** call() that must answer OK; its data. */
  async ok(path: string, body: Record<string, unknown>): Promise<any> {
    const a = await this.call(path, body);
    assert.equal(a.env.code, 'OK', `${path}: ${a.env.code} ${a.env.msg}`);
    assert.equal(a.status, 200);
    return a.env.data;
  }

  /** Opens the event socket and subscribes; resolves with the confirmation and the events as they come. */
  async subscribe(
    body: Record<string, unknown>,
    o: { reqId?: string; time?: number } = {},
  ): Promise<{
    first: ResponseEnvelope;
    events: ResponseEnvelope[];
    ws: WebSocket;
    closed: Promise<number>;
  }> {
    const ws = new WebSocket(`${this.url.replace(/^http/, 'ws')}/gw/v1/events`);
    const env = this.envelope(body, o);
    const key = {
      profile: this.profile,
      publicKey: getProfile(this.profile).publicKeyFromPem(this.gatewayKeyPem),
    };
    const events: ResponseEnvelope[] = [];
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    const first = await new Promise<ResponseEnvelope>((resolve, reject) => {
      let got = false;
      ws.once('open', () => ws.send(JSON.stringify(env)));
      ws.on('message', (data) => {
        const e = verifyResponse(data.toString(), key, {
          nowMs: Date.now(),
          reqId: env.header.reqId,
        });
        if (!got) {
          got = true;
          resolve(e);
        } else events.push(e);
      });
      ws.once('error', reject);
      ws.once('close', () => {
        if (!got) reject(new Error('closed before answering'));
      });
    });
    return { first, events, ws, closed };
  }
}

const OID_CN = '2.5.4.3';

/** A PKCS#10 request for `commonName` signed with the key (as `openssl req` makes one). */
export function makeCsr(profile: ProfileName, privateKeyPem: string, commonName: string): string {
  const p = getProfile(profile);
  const signer = p.signerFromPem(privateKeyPem);
  const subject = encodeSequence(
    encodeTlv(0x31, encodeSequence(encodeOid(OID_CN), encodeTlv(0x0c, Buffer.from(commonName)))),
  );
  const info = encodeSequence(
    encodeUnsignedInteger(0n),
    subject,
    encodeSpki(p.curveOid, signer.publicKey),
    encodeTlv(0xa0),
  );
  return pemEncode(
    'CERTIFICATE REQUEST',
    encodeSequence(
      info,
      encodeSequence(encodeOid(p.signatureAlgorithmOid)),
      encodeBitString(signer.sign(info)),
    ),
  );
}

/** Polls `pred` until it is truthy: network.ts's waitUntil with a 30 s default. */
export function eventually<T>(
  pred: () => T | Promise<T>,
  what: string,
  timeoutMs = 30_000,
): Promise<NonNullable<T>> {
  return waitUntil(pred, what, timeoutMs);
}
