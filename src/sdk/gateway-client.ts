/**
 * Clients of the service gateway (docs/GATEWAY.md). `GatewayClient` is an app's: every call
 * signs a fresh request envelope with the app's access key and verifies the gateway's signed
 * answer (its mac, its time and that it answers this very request) before anything in it is
 * believed; a non-OK answer throws an ArchiError with the gateway's code (and `retryAfterMs`
 * when over quota). `GatewayAdmin` is the operator's: plain JSON with the admin token.
 *
 * Apps in public-key upload mode make their keys themselves: `makeUploadKeys` generates the
 * access key and one key per transaction identity in the chain's profile, with a PKCS#10
 * request (`makeCsr`) for cert-mode chains or the public key for key-mode chains.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { base64Encode } from '../crypto/bytes.ts';
import {
  encodeBitString,
  encodeOid,
  encodeSequence,
  encodeTlv,
  encodeUnsignedInteger,
} from '../crypto/der.ts';
import { encodeSpki, pemEncode } from '../crypto/keys.ts';
import {
  type CryptoProfile,
  getProfile,
  type ProfileName,
  type Signer,
} from '../crypto/profile.ts';
import { ArchiError } from '../types/errors.ts';
import {
  DEFAULT_MAX_SKEW_MS,
  type JsonObject,
  type ResponseEnvelope,
  signRequest,
  type VerifyKey,
  verifyResponse,
} from '../types/gateway-envelope.ts';
import type { ProposalJson } from '../types/governance.ts';
import type { ContractMetaJson } from '../types/rpc-json.ts';
import { codedError, timeoutError, unreachableError } from './errors.ts';
import { buildAndSign, type Call, Identity, type IdentityMode } from './identity.ts';
import type {
  BlockJson,
  EventPush,
  QueryAnswer,
  ReceiptJson,
  TxJson,
  ValidatorSetJson,
} from './types.ts';
import { type ValidatorInput, verifyQueryProof } from './verify.ts';

const DEFAULT_TIMEOUT_MS = 30_000;
/** Extra time a waited call (tx with wait, deploy) gets on top of the commit wait. */
const WAIT_SLACK_MS = 30_000;

// ---------------------------------------------------------------- shapes of the answers

export type GatewayKeyMode = 'upload' | 'trust';

/** An app as the gateway describes it to the app itself (`info`). */
export interface GatewayAppInfo {
  app: {
    id: string;
    name: string;
    tenant: string;
    chain: string;
    mode: GatewayKeyMode;
    namespace: string;
    crypto: ProfileName;
    tps: number | null;
    tpd: number | null;
  };
  identities: GatewayIdentity[];
  chain: {
    chainId: string;
    crypto: ProfileName;
    identityMode: IdentityMode;
    lifecyclePolicy: string;
  };
  gateway: { id: string; org: string };
}

/** A transaction identity of an app: its public key (hex) and, on cert chains, its certificate. */
export interface GatewayIdentity {
  name: string;
  org: string;
  publicKey: string;
  cert: string | null;
}

/** `tx`: accepted (forwarded to a node), or committed when the call waited. */
export interface GatewayTxAnswer {
  txId: string;
  status: 'accepted' | 'committed';
  height?: number;
  receipt?: ReceiptJson;
}

/** `contract/deploy`: deployed at once, or proposed when the chain's policy needs more orgs. */
export type GatewayDeployAnswer =
  | { status: 'deployed'; txId: string; height: number; contract: ContractMetaJson }
  | { status: 'proposed'; proposal: ProposalJson };

/** Usage counters of one app or tenant over some days. */
export interface GatewayUsageCounts {
  txs: number;
  queries: number;
  gas: number;
  bytesWritten: number;
  rejected: number;
}

export interface GatewayUsageRow extends GatewayUsageCounts {
  appId: string;
  tenantId: string;
  /** UTC day, `YYYY-MM-DD`. */
  day: string;
}

export interface GatewayUsage {
  rows: GatewayUsageRow[];
  total: GatewayUsageCounts;
}

/** The error a gateway call throws: the gateway's code, and when to retry after a 429. */
export type GatewayError = ArchiError & {
  /** HTTP status of the answer (absent when there was none). */
  status?: number;
  /** Over quota: how long to wait before the next try. */
  retryAfterMs?: number;
  /** True when the error came in an answer the gateway did not sign (a proxy, an old server). */
  unsigned?: boolean;
};

// ---------------------------------------------------------------- keys an app makes itself

const TAG_SET = 0x31;
const TAG_UTF8 = 0x0c;
const TAG_ATTRIBUTES = 0xa0;
const OID_CN = '2.5.4.3';

function profileOf(p: CryptoProfile | ProfileName | string): CryptoProfile {
  return typeof p === 'string' ? getProfile(p) : p;
}

/**
 * A PKCS#10 certificate request (RFC 2986) PEM for `privateKeyPem`'s key, subject
 * `CN=<commonName>`, signed in the profile's algorithm (ECDSA-SHA256, or SM2-with-SM3 with
 * the default user id): what the gateway's organization certifies for an upload-mode app.
 */
export function makeCsr(
  profile: CryptoProfile | ProfileName,
  privateKeyPem: string,
  commonName: string,
): string {
  const p = profileOf(profile);
  if (!/^[^\p{Cc}]{1,64}$/u.test(commonName)) {
    throw new ArchiError('INVALID_ARGS', 'the common name must be 1 to 64 printable characters');
  }
  const signer = p.signerFromPem(privateKeyPem);
  const subject = encodeSequence(
    encodeTlv(
      TAG_SET,
      encodeSequence(encodeOid(OID_CN), encodeTlv(TAG_UTF8, new TextEncoder().encode(commonName))),
    ),
  );
  const info = encodeSequence(
    encodeUnsignedInteger(0n),
    subject,
    encodeSpki(p.curveOid, signer.publicKey),
    encodeTlv(TAG_ATTRIBUTES),
  );
  const der = encodeSequence(
    info,
    encodeSequence(encodeOid(p.signatureAlgorithmOid)),
    encodeBitString(signer.sign(info)),
  );
  return pemEncode('CERTIFICATE REQUEST', der);
}

/** A key an upload-mode app made: the private half stays with the app. */
export interface UploadKey {
  privateKeyPem: string;
  publicKeyPem: string;
  /** Uncompressed public key, hex. */
  publicKeyHex: string;
}

/** A transaction identity's key and what to upload for it. */
export interface UploadIdentity extends UploadKey {
  name: string;
  /** Cert-mode chains: the CSR to upload (CN = the identity's name). */
  csr?: string;
}

function newKey(p: CryptoProfile): UploadKey {
  const kp = p.generateKeyPair();
  return {
    privateKeyPem: kp.privateKeyPem,
    publicKeyPem: p.publicKeyToPem(kp.publicKey),
    publicKeyHex: Buffer.from(kp.publicKey).toString('hex'),
  };
}

/**
 * Keys of a new upload-mode app in the chain's profile: the access key and one key per
 * identity, with a CSR on cert-mode chains. `upload` is what `POST /gw/v1/admin/apps` takes.
 */
export function makeUploadKeys(
  profile: CryptoProfile | ProfileName,
  identityMode: IdentityMode,
  names: readonly string[] = ['default'],
): {
  access: UploadKey;
  identities: UploadIdentity[];
  upload: {
    accessPublicKey: string;
    identities: Array<{ name: string; csr?: string; publicKey?: string }>;
  };
} {
  const p = profileOf(profile);
  const access = newKey(p);
  const identities = names.map((name): UploadIdentity => {
    const k = newKey(p);
    return identityMode === 'cert'
      ? { name, ...k, csr: makeCsr(p, k.privateKeyPem, name) }
      : { name, ...k };
  });
  return {
    access,
    identities,
    upload: {
      accessPublicKey: access.publicKeyPem,
      identities: identities.map((i) =>
        i.csr ? { name: i.name, csr: i.csr } : { name: i.name, publicKey: i.publicKeyPem },
      ),
    },
  };
}

// ---------------------------------------------------------------- the app's client

export interface GatewayClientOptions {
  /** The app's id (`app_...`). */
  appId: string;
  /** The app's access private key, PEM. */
  accessKeyPem: string;
  /** The crypto profile of the app's chain. */
  profile: ProfileName;
  /** The gateway's response-signing public key of that profile, SPKI PEM. */
  gatewayPublicKeyPem: string;
  /** Per-request timeout in ms (default 30000); waited calls get their wait time on top. */
  timeoutMs?: number;
  /** Allowed difference between the gateway's clock and ours (default 5 minutes). */
  maxSkewMs?: number;
}

/** Low-level options of one request (tests use them to send a chosen reqId or time). */
export interface GatewayRequestOptions {
  reqId?: string;
  time?: number;
  timeoutMs?: number;
}

export interface GatewayWaitOptions {
  /** Answer once the tx is committed, with its receipt. */
  wait?: boolean;
  /** How long the gateway waits for the commit (default 30000 ms). */
  timeoutMs?: number;
}

export interface GatewaySubscribeOptions {
  /** Errors after the subscription is confirmed: a message that does not verify, a socket error. */
  onError?: (err: Error) => void;
  /** Called when the gateway closes the socket (not when the caller does). */
  onClose?: () => void;
  /** How long to wait for the gateway to confirm (default 10000 ms). */
  timeoutMs?: number;
}

/** What `app.json` of an app directory holds (`archi app create` writes it). */
export interface GatewayAppFile {
  id: string;
  name: string;
  tenant: string;
  chain: string;
  mode: GatewayKeyMode;
  namespace: string;
  crypto: ProfileName;
  identityMode?: IdentityMode;
  gateway: {
    url: string;
    id: string;
    org?: string;
    publicKeys: { standard: string; gm: string };
  };
}

/** A request id: 16 random bytes, base64url (22 characters of REQ_ID_RE). */
export function newReqId(): string {
  return randomBytes(16).toString('base64url');
}

function describeCause(e: unknown): string {
  const err = e as { cause?: { code?: string; message?: string }; message?: string };
  return err?.cause?.code ?? err?.cause?.message ?? err?.message ?? String(e);
}

function gatewayUrl(url: string): string {
  const text = /^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? url : `http://${url}`;
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new ArchiError('BAD_REQUEST', `invalid gateway URL ${JSON.stringify(url)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new ArchiError('BAD_REQUEST', `gateway URL must be http or https, got ${url}`);
  }
  return u.toString().replace(/\/+$/, '');
}

function gatewayError(
  code: string,
  message: string,
  extra: { status?: number; retryAfterMs?: number; unsigned?: boolean } = {},
): GatewayError {
  const err = codedError(code, message) as GatewayError;
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) Object.assign(err, { [k]: v });
  return err;
}

/** Retry-After (whole seconds) of a response, in ms. */
function retryAfterHeader(res: Response): number | undefined {
  const v = res.headers.get('retry-after');
  if (v === null || !/^\d+$/.test(v.trim())) return undefined;
  return Number(v.trim()) * 1000;
}

/** Plain `{error:{code,message}}` of a text, if it is one. */
function plainError(text: string): { code: string; message: string } | undefined {
  try {
    const e = JSON.parse(text)?.error;
    if (e && typeof e.code === 'string') {
      return { code: e.code, message: typeof e.message === 'string' ? e.message : e.code };
    }
  } catch {
    // not JSON
  }
  return undefined;
}

function jsonGas(g: bigint | number | undefined): number | string | undefined {
  if (g === undefined) return undefined;
  const n = typeof g === 'bigint' ? g : BigInt(g);
  return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString();
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** An app's client of the gateway: signed requests, verified answers. */
export class GatewayClient {
  /** Base URL of the gateway, without trailing slash. */
  readonly url: string;
  readonly appId: string;
  readonly profile: CryptoProfile;
  private readonly signer: Signer;
  private readonly gatewayKey: VerifyKey;
  private readonly timeoutMs: number;
  private readonly maxSkewMs: number;
  private infoCache?: Promise<GatewayAppInfo>;

  constructor(url: string, opts: GatewayClientOptions) {
    this.url = gatewayUrl(url);
    this.appId = opts.appId;
    this.profile = profileOf(opts.profile);
    try {
      this.signer = this.profile.signerFromPem(opts.accessKeyPem);
    } catch (e) {
      throw new ArchiError(
        'BAD_REQUEST',
        `the access key is not a ${this.profile.name} private key: ${(e as Error).message}`,
      );
    }
    let publicKey: Uint8Array;
    try {
      publicKey = this.profile.publicKeyFromPem(opts.gatewayPublicKeyPem);
    } catch (e) {
      throw new ArchiError(
        'BAD_REQUEST',
        `the gateway key is not a ${this.profile.name} public key: ${(e as Error).message}`,
      );
    }
    this.gatewayKey = { profile: this.profile, publicKey };
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxSkewMs = opts.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
  }

  /**
   * The client of the app in `appDir` (as `archi app create` writes it: app.json and
   * access.key.pem); `url` overrides the gateway URL recorded there.
   */
  static fromAppDir(
    appDir: string,
    opts: { url?: string; timeoutMs?: number; maxSkewMs?: number } = {},
  ): GatewayClient {
    const app = readAppFile(appDir);
    const keyPath = join(appDir, 'access.key.pem');
    let accessKeyPem: string;
    try {
      accessKeyPem = readFileSync(keyPath, 'utf8');
    } catch (e) {
      throw new ArchiError('BAD_REQUEST', `cannot read ${keyPath}: ${(e as Error).message}`);
    }
    return new GatewayClient(opts.url ?? app.gateway.url, {
      appId: app.id,
      accessKeyPem,
      profile: app.crypto,
      gatewayPublicKeyPem: app.gateway.publicKeys[app.crypto],
      timeoutMs: opts.timeoutMs,
      maxSkewMs: opts.maxSkewMs,
    });
  }

  /**
   * Signs `body` for `path` (under the gateway's URL, like `/gw/v1/info`), sends it and
   * returns the verified answer's data; a non-OK code throws a GatewayError.
   */
  async request<T>(path: string, body: JsonObject, opts: GatewayRequestOptions = {}): Promise<T> {
    const env = this.envelope(body, opts);
    const { res, text } = await this.post(path, JSON.stringify(env), opts.timeoutMs);
    const answer = this.verify(res, text, env.header.reqId);
    if (answer.code !== 'OK') {
      let retryAfterMs: number | undefined;
      if (res.status === 429) {
        const d = answer.data as { retryAfterMs?: unknown } | null;
        retryAfterMs = typeof d?.retryAfterMs === 'number' ? d.retryAfterMs : retryAfterHeader(res);
      }
      throw gatewayError(answer.code, answer.msg || answer.code, {
        status: res.status,
        retryAfterMs,
      });
    }
    return answer.data as T;
  }

  /** A signed request envelope of this app for `body` (a fresh reqId and the time now unless given). */
  envelope(body: JsonObject, opts: Omit<GatewayRequestOptions, 'timeoutMs'> = {}) {
    return signRequest(
      this.signer,
      { app: this.appId, reqId: opts.reqId ?? newReqId(), time: opts.time ?? Date.now() },
      body,
    );
  }

  /** The answer checked: signed by the gateway, in time, for `reqId`. */
  private verify(res: Response, text: string, reqId: string): ResponseEnvelope {
    try {
      return verifyResponse(text, this.gatewayKey, {
        nowMs: Date.now(),
        maxSkewMs: this.maxSkewMs,
        reqId,
      });
    } catch (e) {
      // An unsigned error answer can only make a call fail, never succeed: report its code.
      const plain = res.ok ? undefined : plainError(text);
      if (plain) {
        throw gatewayError(plain.code, `${plain.message} (unsigned answer, HTTP ${res.status})`, {
          status: res.status,
          retryAfterMs: res.status === 429 ? retryAfterHeader(res) : undefined,
          unsigned: true,
        });
      }
      const err = e as ArchiError;
      throw gatewayError(
        err.code ?? 'GW_BAD_MAC',
        `the gateway's answer (HTTP ${res.status}) does not verify: ${err.message}`,
        { status: res.status },
      );
    }
  }

  private async post(
    path: string,
    body: string,
    timeoutMs = this.timeoutMs,
  ): Promise<{ res: Response; text: string }> {
    const target = `${this.url}${path}`;
    try {
      const res = await fetch(target, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(timeoutMs),
      });
      return { res, text: await res.text() };
    } catch (e) {
      const name = (e as Error)?.name;
      if (name === 'TimeoutError' || name === 'AbortError') {
        throw timeoutError(`no answer from ${target} within ${timeoutMs} ms`);
      }
      throw unreachableError(this.url, describeCause(e));
    }
  }

  /** The app, its identities, its chain and the gateway (cached after the first call). */
  info(): Promise<GatewayAppInfo> {
    if (!this.infoCache) {
      this.infoCache = this.request<GatewayAppInfo>('/gw/v1/info', {});
      this.infoCache.catch(() => {
        this.infoCache = undefined;
      });
    }
    return this.infoCache;
  }

  /** The app's info fetched again (quotas may have changed). */
  refreshInfo(): Promise<GatewayAppInfo> {
    this.infoCache = undefined;
    return this.info();
  }

  private waitBody(opts: GatewayWaitOptions): { body: JsonObject; timeoutMs: number } {
    const body: JsonObject = {};
    if (opts.wait) body.wait = true;
    if (opts.timeoutMs !== undefined) body.timeoutMs = opts.timeoutMs;
    const timeoutMs = opts.wait
      ? this.timeoutMs + (opts.timeoutMs ?? DEFAULT_TIMEOUT_MS) + WAIT_SLACK_MS
      : this.timeoutMs;
    return { body, timeoutMs };
  }

  /** Upload mode: submits a tx the app signed (encoded bytes). */
  submitTx(bytes: Uint8Array, opts: GatewayWaitOptions = {}): Promise<GatewayTxAnswer> {
    const { body, timeoutMs } = this.waitBody(opts);
    return this.request('/gw/v1/tx', { tx: base64Encode(bytes), ...body }, { timeoutMs });
  }

  /** Upload mode: signs `call` as `identity` for the app's chain and submits it. */
  async send(
    identity: Identity,
    call: Call,
    opts: GatewayWaitOptions = {},
  ): Promise<GatewayTxAnswer> {
    const tx = buildAndSign(identity, (await this.info()).chain.chainId, call);
    return this.submitTx(tx.bytes, opts);
  }

  /** Key-trust mode: the gateway signs `call` as `identity` (default the app's first) and submits it. */
  call(
    call: Call,
    opts: GatewayWaitOptions & { identity?: string } = {},
  ): Promise<GatewayTxAnswer> {
    if (call.argsJson !== undefined) {
      throw new ArchiError('INVALID_ARGS', 'key-trust calls take args, not argsJson');
    }
    const c: JsonObject = { contract: call.contract, method: call.method };
    if (call.args !== undefined) c.args = call.args;
    const gas = jsonGas(call.gasLimit);
    if (gas !== undefined) c.gasLimit = gas;
    const { body, timeoutMs } = this.waitBody(opts);
    if (opts.identity !== undefined) body.identity = opts.identity;
    return this.request('/gw/v1/tx', { call: c, ...body }, { timeoutMs });
  }

  /** A tx this app sent through the gateway, once committed (NOT_FOUND while pending). */
  getTx(txId: string): Promise<TxJson> {
    return this.request('/gw/v1/tx/get', { txId });
  }

  /** Polls getTx until `txId` is committed; TIMEOUT after `timeoutMs`. */
  async waitForTx(txId: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<TxJson> {
    const deadline = Date.now() + timeoutMs;
    let delay = 100;
    for (;;) {
      try {
        return await this.getTx(txId);
      } catch (e) {
        if (!(e instanceof ArchiError) || e.code !== 'NOT_FOUND') throw e;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw timeoutError(`tx ${txId} was not committed within ${timeoutMs} ms`);
      await sleep(Math.min(delay, left));
      delay = Math.min(delay * 2, 1000);
    }
  }

  /** A read-only method of a contract of the app; with `prove` the node's proofs come along. */
  query(
    contract: string,
    method: string,
    args?: unknown,
    opts: { prove?: boolean } = {},
  ): Promise<QueryAnswer> {
    const body: JsonObject = { contract, method, args: args ?? null };
    if (opts.prove) body.prove = true;
    return this.request('/gw/v1/query', body);
  }

  /** The block at `height` (to check proofs against). */
  getBlock(height: number): Promise<BlockJson> {
    return this.request('/gw/v1/block', { height });
  }

  /** The validator set of `height` (default: the next height). */
  validators(height?: number): Promise<ValidatorSetJson> {
    return this.request('/gw/v1/validators', height === undefined ? {} : { height });
  }

  /**
   * Query with proofs, fetch the block at the proof's height through the gateway and verify
   * the proofs against its header (and, given validators, its commit); returns the result.
   * Throws PROOF_INVALID when anything does not verify.
   */
  async queryVerified(
    contract: string,
    method: string,
    args?: unknown,
    opts: { validators?: ValidatorInput[] } = {},
  ): Promise<unknown> {
    const answer = await this.query(contract, method, args, { prove: true });
    if (!answer.proof) throw new ArchiError('INTERNAL', `${this.url} answered without a proof`);
    const block = await this.getBlock(answer.proof.height);
    verifyQueryProof(this.profile, block, answer.proof, opts.validators);
    return answer.result;
  }

  /** Deploys (or with `upgrade` replaces) the app's contract `name` from bundled code. */
  deploy(
    name: string,
    code: string,
    opts: { upgrade?: boolean; timeoutMs?: number } = {},
  ): Promise<GatewayDeployAnswer> {
    const body: JsonObject = { name, code };
    if (opts.upgrade) body.upgrade = true;
    return this.request('/gw/v1/contract/deploy', body, {
      timeoutMs: this.timeoutMs + (opts.timeoutMs ?? DEFAULT_TIMEOUT_MS) + WAIT_SLACK_MS,
    });
  }

  /** The app's usage per day (UTC days `YYYY-MM-DD`, both ends included). */
  usage(range: { from?: string; to?: string } = {}): Promise<GatewayUsage> {
    const body: JsonObject = {};
    if (range.from !== undefined) body.from = range.from;
    if (range.to !== undefined) body.to = range.to;
    return this.request('/gw/v1/usage', body);
  }

  /**
   * Subscribes to the events of the app's contracts (`contract` short or full name; none:
   * every contract of the namespace); resolves once the gateway confirms. Every event is a
   * signed envelope, verified before `onEvent` sees it.
   */
  subscribe(
    filter: { contract?: string; name?: string },
    onEvent: (event: EventPush) => void,
    opts: GatewaySubscribeOptions = {},
  ): Promise<{ close(): void }> {
    const wsUrl = `${this.url.replace(/^http/, 'ws')}/gw/v1/events`;
    const body: JsonObject = {};
    if (filter.contract !== undefined) body.contract = filter.contract;
    if (filter.name !== undefined) body.name = filter.name;
    const env = signRequest(
      this.signer,
      { app: this.appId, reqId: newReqId(), time: Date.now() },
      body,
    );
    const reqId = env.header.reqId;
    return new Promise((resolve, reject) => {
      let confirmed = false;
      let closedByUs = false;
      const ws = new WebSocket(wsUrl);
      const handle = {
        close(): void {
          closedByUs = true;
          ws.close();
        },
      };
      const fail = (err: Error): void => {
        if (confirmed) {
          opts.onError?.(err);
          return;
        }
        clearTimeout(timer);
        closedByUs = true;
        ws.terminate();
        reject(err);
      };
      const timeoutMs = opts.timeoutMs ?? 10_000;
      const timer = setTimeout(
        () =>
          fail(timeoutError(`${wsUrl} did not confirm the subscription within ${timeoutMs} ms`)),
        timeoutMs,
      );
      ws.on('open', () => ws.send(JSON.stringify(env)));
      ws.on('message', (raw) => {
        let msg: ResponseEnvelope;
        try {
          msg = verifyResponse(raw.toString(), this.gatewayKey, {
            nowMs: Date.now(),
            maxSkewMs: this.maxSkewMs,
            reqId,
          });
        } catch (e) {
          const err = e as ArchiError;
          fail(
            gatewayError(err.code ?? 'GW_BAD_MAC', `event message does not verify: ${err.message}`),
          );
          return;
        }
        if (msg.code !== 'OK') {
          fail(gatewayError(msg.code, msg.msg || msg.code));
          return;
        }
        if (!confirmed) {
          confirmed = true;
          clearTimeout(timer);
          resolve(handle);
          return;
        }
        try {
          onEvent(msg.data as EventPush);
        } catch (e) {
          if (opts.onError) opts.onError(e as Error);
          else throw e;
        }
      });
      ws.on('error', (e) => fail(unreachableError(wsUrl, describeCause(e))));
      ws.on('close', () => {
        if (!confirmed) {
          fail(new ArchiError('NOT_READY', `${wsUrl} closed before confirming the subscription`));
        } else if (!closedByUs) {
          opts.onClose?.();
        }
      });
    });
  }
}

/** Reads `app.json` of an app directory. */
export function readAppFile(appDir: string): GatewayAppFile {
  const path = join(appDir, 'app.json');
  let app: GatewayAppFile;
  try {
    app = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ArchiError('BAD_REQUEST', `cannot read ${path}: ${(e as Error).message}`);
  }
  if (
    typeof app?.id !== 'string' ||
    (app.crypto !== 'standard' && app.crypto !== 'gm') ||
    typeof app.gateway?.url !== 'string' ||
    typeof app.gateway?.publicKeys?.[app.crypto] !== 'string'
  ) {
    throw new ArchiError('BAD_REQUEST', `${path} is not an app file (id, crypto, gateway)`);
  }
  return app;
}

/**
 * The transaction identity `name` of an upload-mode app directory:
 * identities/<name>/key.pem with cert.pem (cert chains) or public.hex (key chains).
 */
export function appIdentity(appDir: string, name = 'default'): Identity {
  const app = readAppFile(appDir);
  const dir = join(appDir, 'identities', name);
  if (!existsSync(join(dir, 'key.pem'))) {
    throw new ArchiError(
      'BAD_REQUEST',
      `app ${app.name ?? app.id} has no private key of identity ${name} (${dir}/key.pem)${app.mode === 'trust' ? ': a key-trust app signs through the gateway' : ''}`,
    );
  }
  const org = app.gateway.org;
  if (!org) throw new ArchiError('BAD_REQUEST', `${appDir}/app.json names no gateway org`);
  return Identity.fromUserDir(app.crypto, org, dir, app.identityMode);
}

// ---------------------------------------------------------------- the operator's client

export interface GatewayTenant {
  id: string;
  name: string;
  createdMs: number;
}

export interface GatewayApp {
  id: string;
  tenantId: string;
  name: string;
  chainId: string;
  mode: GatewayKeyMode;
  namespace: string;
  crypto: ProfileName;
  accessPublicKey: string;
  tps: number | null;
  tpd: number | null;
  createdMs: number;
}

export interface CreateAppInput {
  tenant: string;
  name: string;
  chain: string;
  mode?: GatewayKeyMode;
  namespace?: string;
  tps?: number | null;
  tpd?: number | null;
  accessPublicKey?: string;
  identities?: Array<{ name: string; csr?: string; publicKey?: string }>;
}

export interface CreatedApp {
  app: GatewayApp;
  identities: GatewayIdentity[];
  /** Key trust only, this once. */
  accessPrivateKey?: string;
  gateway: { id: string; org: string; url: string; publicKeys: { standard: string; gm: string } };
}

export interface GatewayLoadRow {
  chain: string;
  apps: number;
  txsToday: number;
  queriesToday: number;
  rejectedToday: number;
}

/** The gateway's operator endpoints (`/gw/v1/admin`), with the admin token. */
export class GatewayAdmin {
  readonly url: string;
  private readonly timeoutMs: number;

  constructor(
    url: string,
    private readonly token: string,
    opts: { timeoutMs?: number } = {},
  ) {
    this.url = gatewayUrl(url);
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  private async call<T>(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    opts: { text?: boolean; auth?: boolean; timeoutMs?: number } = {},
  ): Promise<T> {
    const target = `${this.url}${path}`;
    const headers: Record<string, string> = {};
    if (opts.auth !== false) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    let text: string;
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    try {
      res = await fetch(target, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await res.text();
    } catch (e) {
      const name = (e as Error)?.name;
      if (name === 'TimeoutError' || name === 'AbortError') {
        throw timeoutError(`no answer from ${target} within ${timeoutMs} ms`);
      }
      throw unreachableError(this.url, describeCause(e));
    }
    if (!res.ok) {
      const e = plainError(text);
      throw gatewayError(
        e?.code ??
          (res.status === 401 ? 'GW_UNAUTHORIZED' : res.status === 404 ? 'NOT_FOUND' : 'INTERNAL'),
        e?.message ?? `${method} ${path} failed with HTTP ${res.status}: ${text.slice(0, 200)}`,
        { status: res.status },
      );
    }
    if (opts.text) return text as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ArchiError('INTERNAL', `${method} ${path} on ${this.url} did not answer JSON`);
    }
  }

  /** `{id, org, ok}` of the gateway (no token needed). */
  health(): Promise<{ id: string; org: string; ok: boolean }> {
    return this.call('GET', '/gw/v1/health', undefined, { auth: false });
  }

  createTenant(name: string): Promise<GatewayTenant> {
    return this.call('POST', '/gw/v1/admin/tenants', { name });
  }

  tenants(): Promise<Array<GatewayTenant & { apps: number; total: GatewayUsageCounts }>> {
    return this.call('GET', '/gw/v1/admin/tenants');
  }

  /** Creates an app; on key chains the gateway registers keys on chain first (it waits for that). */
  createApp(input: CreateAppInput): Promise<CreatedApp> {
    return this.call('POST', '/gw/v1/admin/apps', input, {
      timeoutMs: this.timeoutMs + DEFAULT_TIMEOUT_MS + WAIT_SLACK_MS,
    });
  }

  apps(filter: { tenant?: string } = {}): Promise<GatewayApp[]> {
    const q = filter.tenant ? `?tenant=${encodeURIComponent(filter.tenant)}` : '';
    return this.call('GET', `/gw/v1/admin/apps${q}`);
  }

  app(
    id: string,
  ): Promise<{ app: GatewayApp; identities: GatewayIdentity[]; usageToday: GatewayUsageCounts }> {
    return this.call('GET', `/gw/v1/admin/apps/${encodeURIComponent(id)}`);
  }

  /** Changes an app's quotas at run time; null lifts a limit, undefined keeps it. */
  setQuota(id: string, quota: { tps?: number | null; tpd?: number | null }): Promise<GatewayApp> {
    return this.call('POST', `/gw/v1/admin/apps/${encodeURIComponent(id)}/quota`, quota);
  }

  private usageQuery(f: UsageQuery, format: 'json' | 'csv'): string {
    const q = new URLSearchParams();
    for (const k of ['app', 'tenant', 'from', 'to'] as const) {
      const v = f[k];
      if (v !== undefined) q.set(k, v);
    }
    q.set('format', format);
    return `/gw/v1/admin/usage?${q}`;
  }

  usage(filter: UsageQuery = {}): Promise<GatewayUsage> {
    return this.call('GET', this.usageQuery(filter, 'json'));
  }

  /** The same rows as CSV text. */
  usageCsv(filter: UsageQuery = {}): Promise<string> {
    return this.call('GET', this.usageQuery(filter, 'csv'), undefined, { text: true });
  }

  /** The monthly bill (`month` `YYYY-MM`, default the current one) of one tenant or all. */
  bill(filter: { tenant?: string; month?: string } = {}): Promise<unknown> {
    const q = new URLSearchParams();
    if (filter.tenant) q.set('tenant', filter.tenant);
    if (filter.month) q.set('month', filter.month);
    const s = q.toString();
    return this.call('GET', `/gw/v1/admin/bill${s ? `?${s}` : ''}`);
  }

  /** Load per chain today. */
  load(): Promise<GatewayLoadRow[]> {
    return this.call('GET', '/gw/v1/admin/load');
  }
}

export interface UsageQuery {
  app?: string;
  tenant?: string;
  from?: string;
  to?: string;
}
