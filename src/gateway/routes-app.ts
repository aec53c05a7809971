/**
 * The app endpoints (POST /gw/v1/..., docs/GATEWAY.md "App endpoints"): each request passes
 * the envelope's checks, then its endpoint's checks that need no node (body shape, key mode,
 * namespace, an uploaded tx's chain, sender and signature), then `acceptRequest` (replay,
 * quota, usage, journal), and only then reaches a node. Every answer is a signed envelope.
 */
import { equalBytes as bytesEqual } from '../crypto/bytes.ts';
import { getProfile } from '../crypto/profile.ts';
import { certFromPem } from '../crypto/x509.ts';
import { ArchiError } from '../errors/index.ts';
import { buildAndSign, Identity } from '../sdk/identity.ts';
import { isUnreachable, remoteError } from '../sdk/errors.ts';
import type { CommittedAnswer } from '../sdk/types.ts';
import type { JsonObject, RequestEnvelope } from '../types/gateway-envelope.ts';
import { hex } from '../types/hex.ts';
import { decodeTx } from '../types/tx.ts';
import { requiredOrgs } from '../vm/native/contract-manage.ts';
import { CONTRACT_NAME } from '../vm/sandbox/limits.ts';
import { openPrivateKey } from './app-keys.ts';
import type { GatewayContext, KnownApp } from './context.ts';
import { identityView } from './identities.ts';
import {
  type Answer,
  answer,
  authenticate,
  countRefusal,
  errorAnswer,
  type RequestHint,
  Refused,
  withData,
} from './envelope-auth.ts';
import {
  acceptRequest,
  type AppIdentity,
  findTxRequest,
  listIdentities,
  markFailed,
  type RequestKind,
  recordReceipt,
  setForward,
} from './store.ts';
import { listUsage, sumUsage } from './usage.ts';

/** What an endpoint's own checks produced: its parameters and what the journal keeps. */
export interface Prepared<P> {
  p: P;
  payload?: Uint8Array;
  txId?: string;
  usage?: { bytesWritten?: number };
}

/** One app endpoint. */
export interface Endpoint<P = any> {
  kind: RequestKind;
  /** Checks of the body that need no node; throws GW_MALFORMED, GW_FORBIDDEN, GW_WRONG_MODE... */
  prepare(
    ctx: GatewayContext,
    known: KnownApp,
    body: JsonObject,
  ): Promise<Prepared<P>> | Prepared<P>;
  /** Runs the accepted request; its result is the answer's `data`. */
  run(
    ctx: GatewayContext,
    known: KnownApp,
    prepared: Prepared<P>,
    env: RequestEnvelope,
  ): Promise<unknown>;
}

/** Longest wait for a commit a request may ask for. */
export const MAX_WAIT_MS = 300_000;
const DEFAULT_WAIT_MS = 30_000;
/** How long a deploy or proposal waits for its commit. */
const DEPLOY_WAIT_MS = 60_000;

const malformed = (message: string) => new ArchiError('GW_MALFORMED', message);
const forbidden = (message: string) => new ArchiError('GW_FORBIDDEN', message);

// --- body checks ---

function fields(body: JsonObject, allowed: readonly string[], what: string): JsonObject {
  for (const k of Object.keys(body)) {
    if (!allowed.includes(k)) throw malformed(`${what}: unknown field ${JSON.stringify(k)}`);
  }
  return body;
}

function optBool(v: unknown, what: string): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw malformed(`${what} must be true or false`);
  return v;
}

function optInt(v: unknown, what: string, min: number, max: number): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw malformed(`${what} must be a whole number from ${min} to ${max}`);
  }
  return v;
}

function str(v: unknown, what: string): string {
  if (typeof v !== 'string' || v.length === 0)
    throw malformed(`${what} must be a non-empty string`);
  return v;
}

/** True when `full` is a contract name of namespace `ns` (`<ns>_<name>`, CONTRACT_NAME). */
export function inNamespace(ns: string, full: string): boolean {
  return full.startsWith(`${ns}_`) && full.length > ns.length + 1 && CONTRACT_NAME.test(full);
}

/**
 * The on-chain name of an app's contract named `name` in a body: `<ns>_<name>`, or `name`
 * itself when it starts with `<ns>_`. Anything that is not then a contract name of the
 * namespace is GW_FORBIDDEN.
 */
export function contractIn(ns: string, name: unknown, what = 'contract'): string {
  const n = str(name, what);
  const full = n.startsWith(`${ns}_`) ? n : `${ns}_${n}`;
  if (!inNamespace(ns, full)) {
    throw forbidden(
      `${what} ${JSON.stringify(n.slice(0, 80))} is outside the app's namespace: its contracts are ${ns}_<name>, 2 to 32 characters of a-z 0-9 _ in all`,
    );
  }
  return full;
}

function identitiesOf(ctx: GatewayContext, known: KnownApp): Promise<AppIdentity[]> {
  if (!known.identities) {
    const p = listIdentities(ctx.db, known.app.id).then((ids) =>
      // The app's first identity: the earliest made, then by name.
      [...ids].sort((a, b) => a.createdMs - b.createdMs || (a.name < b.name ? -1 : 1)),
    );
    known.identities = p;
    p.catch(() => {
      if (known.identities === p) known.identities = undefined;
    });
  }
  return known.identities;
}

/** The app's identity as a signer (key trust): its private key opened with the master key. */
function signerOf(ctx: GatewayContext, known: KnownApp, id: AppIdentity): Identity {
  known.signers ??= new Map();
  let s = known.signers.get(id.name);
  if (!s) {
    if (!id.encryptedPrivateKey) {
      throw new ArchiError('GW_KEY_UNSEAL_FAILED', `identity ${id.name} has no stored key`);
    }
    const { app } = known;
    const pem = openPrivateKey(ctx.master, app.crypto, app.id, id.name, id.encryptedPrivateKey);
    s = Identity.fromPem(app.crypto, ctx.org, pem, id.certPem ?? id.publicKey);
    known.signers.set(id.name, s);
  }
  return s;
}

function certDer(pem: string): Uint8Array | undefined {
  try {
    return certFromPem(pem);
  } catch {
    return undefined;
  }
}

const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

// --- forwarding ---

/** A node's refusal marks the request failed; an outage or a timeout leaves it to be sent again. */
async function forwardFailed(
  ctx: GatewayContext,
  known: KnownApp,
  env: RequestEnvelope,
  txId: string,
  e: unknown,
): Promise<never> {
  if (e instanceof ArchiError) {
    if (isUnreachable(e)) {
      throw withData(
        new ArchiError(
          'NOT_READY',
          `no node of chain ${known.app.chainId} can be reached; the request is kept and sent again when one can (ask tx/get later): ${e.message}`,
        ),
        { txId },
      );
    }
    if (e.code !== 'TIMEOUT') {
      await markFailed(ctx.db, known.app.id, env.header.reqId, e.toJSON());
    }
    throw withData(e, { txId });
  }
  throw e;
}

/** Sends a journaled tx; with `wait`, answers once committed. Marks the journal. */
async function forward(
  ctx: GatewayContext,
  known: KnownApp,
  env: RequestEnvelope,
  tx: { bytes: Uint8Array; txId: string },
  wait: { timeoutMs: number } | undefined,
): Promise<{ sent: true } | CommittedAnswer> {
  const { app } = known;
  const reqId = env.header.reqId;
  // Marked in a batch, not waited for: a mark lost to a crash only means one more send
  // (TX_DUPLICATE, then marked).
  const mark = async (txId: string) => ctx.fwd.book.forwarded(app.id, reqId, txId);
  if (!wait) {
    try {
      const sent = await ctx.fwd.submit(app.chainId, tx.bytes, tx.txId);
      await mark(sent.txId);
      return { sent: true };
    } catch (e) {
      return forwardFailed(ctx, known, env, tx.txId, e);
    }
  }
  let forwarded = false;
  try {
    const c = await ctx.fwd.submitAndWait(
      app.chainId,
      tx.bytes,
      tx.txId,
      wait.timeoutMs,
      async (s) => {
        forwarded = true;
        await mark(s.txId);
      },
    );
    await recordReceipt(ctx.db, {
      appId: app.id,
      reqId,
      gas: c.receipt.gasUsed,
      bytesWritten: 0,
    }).catch(() => false);
    return c;
  } catch (e) {
    if (forwarded && e instanceof ArchiError) throw withData(e, { txId: tx.txId });
    return forwardFailed(ctx, known, env, tx.txId, e);
  }
}

// --- endpoints ---

interface TxParams {
  wait?: { timeoutMs: number };
  bytes: Uint8Array;
  txId: string;
}

async function prepareUpload(
  ctx: GatewayContext,
  known: KnownApp,
  body: JsonObject,
): Promise<{ bytes: Uint8Array; txId: string }> {
  const { app } = known;
  if (typeof body.tx !== 'string' || body.tx.length === 0 || !STRICT_BASE64.test(body.tx)) {
    throw new ArchiError(
      'TX_MALFORMED',
      'tx must be the signed tx bytes in standard padded base64',
    );
  }
  const profile = getProfile(app.crypto);
  const bytes = new Uint8Array(Buffer.from(body.tx, 'base64'));
  const d = decodeTx(profile, bytes);
  const p = d.payload;
  if (p.chainId !== app.chainId) {
    throw forbidden(
      `the tx is for chain ${JSON.stringify(p.chainId)}, the app's chain is ${app.chainId}`,
    );
  }
  if (!inNamespace(app.namespace, p.contract)) {
    throw forbidden(
      `the tx calls ${JSON.stringify(p.contract)}, outside the app's namespace ${app.namespace}_*`,
    );
  }
  const sender = p.sender;
  const ids = await identitiesOf(ctx, known);
  const match = sender
    ? ids.find((id) => {
        if (sender.org !== ctx.org) return false;
        if (sender.cert.length > 0) {
          const der = id.certPem ? certDer(id.certPem) : undefined;
          return der !== undefined && bytesEqual(der, sender.cert);
        }
        return sender.publicKey.length > 0 && hex(sender.publicKey) === id.publicKey;
      })
    : undefined;
  if (!match) throw forbidden("the tx's sender is not one of the app's identities");
  const publicKey = Buffer.from(match.publicKey, 'hex');
  if (!profile.verify(new Uint8Array(publicKey), d.tx.payload, d.tx.signature)) {
    throw new ArchiError(
      'TX_BAD_SIGNATURE',
      "the tx's signature does not verify with its sender's key",
    );
  }
  return { bytes, txId: d.txIdHex };
}

async function prepareTrust(
  ctx: GatewayContext,
  known: KnownApp,
  body: JsonObject,
): Promise<{ bytes: Uint8Array; txId: string }> {
  const { app } = known;
  const call = body.call;
  if (typeof call !== 'object' || call === null || Array.isArray(call)) {
    throw malformed('call must be {contract, method, args?, gasLimit?}');
  }
  const c = fields(call as JsonObject, ['contract', 'method', 'args', 'gasLimit'], 'call');
  const contract = contractIn(app.namespace, c.contract, 'call.contract');
  const method = str(c.method, 'call.method');
  let gasLimit: bigint | undefined;
  if (c.gasLimit !== undefined && c.gasLimit !== null) {
    const g = c.gasLimit;
    const ok =
      (typeof g === 'number' && Number.isSafeInteger(g)) ||
      (typeof g === 'string' && /^[0-9]{1,19}$/.test(g));
    if (!ok || BigInt(g as number | string) <= 0n) {
      throw malformed('call.gasLimit must be a positive whole number (or a decimal string)');
    }
    gasLimit = BigInt(g as number | string);
  }
  const ids = await identitiesOf(ctx, known);
  const name =
    body.identity === undefined || body.identity === null
      ? ids[0]?.name
      : str(body.identity, 'identity');
  const id = ids.find((i) => i.name === name);
  if (!id) throw new ArchiError('GW_NOT_FOUND', `the app has no identity ${JSON.stringify(name)}`);
  const signer = signerOf(ctx, known, id);
  const tx = buildAndSign(signer, app.chainId, {
    contract,
    method,
    args: c.args ?? null,
    gasLimit,
  });
  return { bytes: tx.bytes, txId: tx.txIdHex };
}

const txEndpoint: Endpoint<TxParams> = {
  kind: 'tx',
  async prepare(ctx, known, body) {
    fields(body, ['tx', 'call', 'identity', 'wait', 'timeoutMs'], 'tx');
    const mode = known.app.mode;
    const hasTx = body.tx !== undefined;
    const hasCall = body.call !== undefined;
    if (hasTx && hasCall)
      throw malformed('send either tx (upload mode) or call (key trust), not both');
    if (hasTx && mode === 'trust') {
      throw new ArchiError(
        'GW_WRONG_MODE',
        'this is a key-trust app: send {call}, the gateway signs it',
      );
    }
    if (hasCall && mode === 'upload') {
      throw new ArchiError('GW_WRONG_MODE', 'this app uploads its keys: sign the tx and send {tx}');
    }
    if (!hasTx && !hasCall) {
      throw malformed(mode === 'upload' ? 'tx is required' : 'call is required');
    }
    if (mode === 'upload' && body.identity !== undefined) {
      throw malformed('identity is for key-trust apps; an uploaded tx names its sender');
    }
    const wait = optBool(body.wait, 'wait');
    const timeoutMs = optInt(body.timeoutMs, 'timeoutMs', 1, MAX_WAIT_MS) ?? DEFAULT_WAIT_MS;
    const tx =
      mode === 'upload'
        ? await prepareUpload(ctx, known, body)
        : await prepareTrust(ctx, known, body);
    return {
      p: { ...tx, wait: wait ? { timeoutMs } : undefined },
      payload: tx.bytes,
      txId: tx.txId,
      usage: { bytesWritten: tx.bytes.length },
    };
  },
  async run(ctx, known, { p }, env) {
    const r = await forward(ctx, known, env, p, p.wait);
    if ('sent' in r) return { txId: p.txId, status: 'accepted' };
    return { txId: r.txId, status: 'committed', height: r.height, receipt: r.receipt };
  },
};

interface DeployParams {
  name: string;
  code: string;
  upgrade: boolean;
}

const deployEndpoint: Endpoint<DeployParams> = {
  kind: 'deploy',
  prepare(_ctx, known, body) {
    fields(body, ['name', 'code', 'upgrade'], 'contract/deploy');
    const name = contractIn(known.app.namespace, body.name, 'name');
    const code = str(body.code, 'code');
    return {
      p: { name, code, upgrade: optBool(body.upgrade, 'upgrade') },
      usage: { bytesWritten: Buffer.byteLength(code) },
    };
  },
  async run(ctx, known, { p }, env) {
    const { app } = known;
    const chain = await ctx.fwd.chain(app.chainId);
    const config = await chain.chainConfig(0);
    if (!config.orgs.some((o) => o.id === ctx.org)) {
      throw forbidden(
        `the gateway's organization ${ctx.org} is not a member of chain ${app.chainId}`,
      );
    }
    const admin = ctx.adminIdentity(config.crypto, config.identityMode);
    // One org's admin may act when the lifecycle policy needs one organization; otherwise the
    // gateway org's admin proposes it and the other organizations approve (archi gov approve).
    const direct = requiredOrgs(config.lifecyclePolicy || 'ANY', config.orgs.length) <= 1;
    const args = { name: p.name, code: p.code };
    const call = direct
      ? { contract: 'contract_manage', method: p.upgrade ? 'upgrade' : 'deploy', args }
      : {
          contract: 'governance',
          method: 'propose',
          args: { kind: p.upgrade ? 'contract_upgrade' : 'contract_deploy', args },
        };
    const tx = buildAndSign(admin, app.chainId, call);
    await setForward(ctx.db, app.id, env.header.reqId, { txId: tx.txIdHex, payload: tx.bytes });
    const r = (await forward(
      ctx,
      known,
      env,
      { bytes: tx.bytes, txId: tx.txIdHex },
      {
        timeoutMs: DEPLOY_WAIT_MS,
      },
    )) as CommittedAnswer;
    const receipt = r.receipt;
    if (receipt.status !== 'ok') {
      throw withData(remoteError(receipt.code, receipt.message), {
        txId: r.txId,
        height: r.height,
        receipt,
      });
    }
    return direct
      ? { status: 'deployed', txId: r.txId, height: r.height, contract: receipt.result }
      : { status: 'proposed', txId: r.txId, height: r.height, proposal: receipt.result };
  },
};

const infoEndpoint: Endpoint<null> = {
  kind: 'query',
  prepare(_ctx, _known, body) {
    fields(body, [], 'info');
    return { p: null };
  },
  async run(ctx, known) {
    const app = (await ctx.apps.fresh(known.app.id)) ?? known.app;
    const chain = await ctx.fwd.chain(app.chainId);
    const config = await chain.chainConfig();
    const ids = await identitiesOf(ctx, known);
    return {
      app: {
        id: app.id,
        name: app.name,
        tenant: app.tenantId,
        chain: app.chainId,
        mode: app.mode,
        namespace: app.namespace,
        crypto: app.crypto,
        tps: app.tps,
        tpd: app.tpd,
      },
      identities: ids.map((i) => identityView(ctx, i)),
      chain: {
        chainId: config.chainId,
        crypto: config.crypto,
        identityMode: config.identityMode,
        lifecyclePolicy: config.lifecyclePolicy || 'ANY',
      },
      gateway: { id: ctx.id, org: ctx.org },
    };
  },
};

const TX_ID = /^(0x)?[0-9a-fA-F]{64}$/;

const txGetEndpoint: Endpoint<string> = {
  kind: 'query',
  prepare(_ctx, _known, body) {
    fields(body, ['txId'], 'tx/get');
    if (typeof body.txId !== 'string' || !TX_ID.test(body.txId)) {
      throw malformed('txId must be 64 hex characters');
    }
    return { p: body.txId.replace(/^0x/, '').toLowerCase() };
  },
  async run(ctx, known, { p: txId }) {
    const { app } = known;
    if (!(await findTxRequest(ctx.db, app.id, txId))) {
      throw new ArchiError(
        'GW_NOT_FOUND',
        `tx ${txId} was not sent by this app through the gateway`,
      );
    }
    const chain = await ctx.fwd.chain(app.chainId);
    return chain.call((c) => c.getTx(txId));
  },
};

interface QueryParams {
  contract: string;
  method: string;
  args: unknown;
  prove: boolean;
}

const queryEndpoint: Endpoint<QueryParams> = {
  kind: 'query',
  prepare(_ctx, known, body) {
    fields(body, ['contract', 'method', 'args', 'prove'], 'query');
    return {
      p: {
        contract: contractIn(known.app.namespace, body.contract),
        method: str(body.method, 'method'),
        args: body.args ?? null,
        prove: optBool(body.prove, 'prove'),
      },
    };
  },
  async run(ctx, known, { p }) {
    const chain = await ctx.fwd.chain(known.app.chainId);
    return chain.call((c) => c.query(p.contract, p.method, p.args, { prove: p.prove }));
  },
};

const blockEndpoint: Endpoint<number | 'latest'> = {
  kind: 'query',
  prepare(_ctx, _known, body) {
    fields(body, ['height'], 'block');
    const h = body.height;
    if (h === 'latest') return { p: 'latest' };
    const height = optInt(h, 'height', 0, Number.MAX_SAFE_INTEGER);
    if (height === undefined) throw malformed('height is required (a whole number or "latest")');
    return { p: height };
  },
  async run(ctx, known, { p }) {
    const chain = await ctx.fwd.chain(known.app.chainId);
    return chain.call((c) => c.getBlock(p));
  },
};

const validatorsEndpoint: Endpoint<number | undefined> = {
  kind: 'query',
  prepare(_ctx, _known, body) {
    fields(body, ['height'], 'validators');
    return { p: optInt(body.height, 'height', 0, Number.MAX_SAFE_INTEGER) };
  },
  async run(ctx, known, { p }) {
    const chain = await ctx.fwd.chain(known.app.chainId);
    return chain.call((c) => c.validators(p));
  },
};

const DAY_RE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;

function optDay(v: unknown, what: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || !DAY_RE.test(v)) throw malformed(`${what} must be a day YYYY-MM-DD`);
  return v;
}

const usageEndpoint: Endpoint<{ from?: string; to?: string }> = {
  kind: 'query',
  prepare(_ctx, _known, body) {
    fields(body, ['from', 'to'], 'usage');
    return { p: { from: optDay(body.from, 'from'), to: optDay(body.to, 'to') } };
  },
  async run(ctx, known, { p }) {
    const rows = await listUsage(ctx.db, { appId: known.app.id, from: p.from, to: p.to });
    return { rows, total: sumUsage(rows) };
  },
};

/** The app endpoints by path. */
export const APP_ENDPOINTS: Record<string, Endpoint> = {
  '/gw/v1/info': infoEndpoint,
  '/gw/v1/tx': txEndpoint,
  '/gw/v1/tx/get': txGetEndpoint,
  '/gw/v1/query': queryEndpoint,
  '/gw/v1/block': blockEndpoint,
  '/gw/v1/validators': validatorsEndpoint,
  '/gw/v1/contract/deploy': deployEndpoint,
  '/gw/v1/usage': usageEndpoint,
};

/** When an accepted request's reqId may be forgotten: after the time window, or for a tx its retention. */
function expiryOf(
  ctx: GatewayContext,
  kind: RequestKind,
  env: RequestEnvelope,
  nowMs: number,
): number {
  const window = Math.max(env.header.time, nowMs) + ctx.maxSkewMs + 60_000;
  return kind === 'query' ? window : Math.max(window, nowMs + ctx.txRetentionMs);
}

/**
 * Serves one request of an endpoint from the bytes received: the checks in order, the
 * endpoint, and the signed answer (also for every refusal).
 */
export async function serveApp(
  ctx: GatewayContext,
  endpoint: Endpoint,
  input: Uint8Array,
): Promise<Answer> {
  let hint: RequestHint = { reqId: '' };
  try {
    const { env, known } = await authenticate(ctx, input);
    hint = { reqId: env.header.reqId, known };
    const { app } = known;
    let prepared: Prepared<unknown>;
    try {
      prepared = await endpoint.prepare(ctx, known, env.body);
    } catch (e) {
      await countRefusal(ctx, app.id);
      throw e;
    }
    const nowMs = ctx.now();
    const accepted = await acceptRequest(ctx.db, {
      appId: app.id,
      reqId: env.header.reqId,
      expiresMs: expiryOf(ctx, endpoint.kind, env, nowMs),
      kind: endpoint.kind,
      payload: prepared.payload ?? null,
      txId: prepared.txId ?? null,
      nowMs,
      usage: prepared.usage,
    });
    if (!accepted.ok) {
      await countRefusal(ctx, app.id);
      if (accepted.code === 'GW_REPLAY') {
        throw new ArchiError('GW_REPLAY', `the app used reqId ${env.header.reqId} before`);
      }
      const err = new ArchiError(
        accepted.code,
        accepted.code === 'QUOTA_TPS'
          ? `over the app's transactions per second; retry in ${accepted.retryAfterMs} ms`
          : `over the app's transactions per UTC day; retry in ${accepted.retryAfterMs} ms (midnight UTC)`,
      );
      throw Object.assign(withData(err, { retryAfterMs: accepted.retryAfterMs }), {
        retryAfterMs: accepted.retryAfterMs,
      });
    }
    const data = await endpoint.run(ctx, known, prepared, env);
    return answer(ctx, app.crypto, hint.reqId, 'OK', '', data);
  } catch (e) {
    if (e instanceof Refused) return errorAnswer(ctx, e.hint, e.error);
    return errorAnswer(ctx, hint, e);
  }
}
