/**
 * The envelope's checks on the server (docs/GATEWAY.md, "Checks, in order"): size and nesting,
 * shape, app, time, mac; a refusal of a known app is counted as rejected in its usage. And the
 * signed answers: every answer of an app endpoint is a response envelope signed with the
 * gateway key of the app's chain profile (the standard one when no app could be read), sent
 * with the HTTP status of its code.
 */
import type { ProfileName } from '../crypto/interfaces.ts';
import { ArchiError, httpStatus } from '../errors/index.ts';
import {
  checkRequest,
  GW_ID_RE,
  GW_LIMITS,
  parseRequest,
  REQ_ID_RE,
  type RequestEnvelope,
  type ResponseEnvelope,
  signResponse,
} from '../types/gateway-envelope.ts';
import type { GatewayContext, KnownApp } from './context.ts';
import { countRejected } from './store.ts';

/** A request whose envelope passed its checks, and its app. */
export interface Authed {
  env: RequestEnvelope;
  known: KnownApp;
}

/** What an answer can say about a request: its reqId ('' when unreadable) and its app, if known. */
export interface RequestHint {
  reqId: string;
  known?: KnownApp;
}

/** An error thrown before the request's reqId and app were known, with what was read of them. */
export class Refused extends Error {
  constructor(
    readonly error: unknown,
    readonly hint: RequestHint,
  ) {
    super(error instanceof Error ? error.message : String(error));
  }
}

/** Extra fields of an error answer: its `data` and the Retry-After of a 429. */
export type AnswerError = ArchiError & {
  data?: unknown;
  retryAfterMs?: number;
  remoteCode?: string;
};

/** `err` with `data` for its answer. */
export function withData<E extends ArchiError>(err: E, data: unknown): E {
  return Object.assign(err, { data });
}

/** Counts a refusal in the app's usage; a failing database only costs the count. */
export async function countRefusal(ctx: GatewayContext, appId: string): Promise<void> {
  try {
    await countRejected(ctx.db, appId, ctx.now());
  } catch (e) {
    ctx.log.warn({ app: appId, err: (e as Error).message }, 'gateway: cannot count a refusal');
  }
}

/** The reqId and app of an envelope that failed its shape check, when they can be read. */
async function hintOf(ctx: GatewayContext, input: Uint8Array): Promise<RequestHint> {
  let doc: any;
  try {
    doc = JSON.parse(Buffer.from(input).toString('utf8'));
  } catch {
    return { reqId: '' };
  }
  const h = doc?.header;
  const reqId = typeof h?.reqId === 'string' && REQ_ID_RE.test(h.reqId) ? h.reqId : '';
  const appId = typeof h?.app === 'string' && GW_ID_RE.test(h.app) ? h.app : undefined;
  const known = appId === undefined ? undefined : await ctx.apps.get(appId).catch(() => undefined);
  return { reqId, known };
}

/**
 * Checks an envelope (UTF-8 bytes as received) in the documented order and returns it with
 * its app; throws Refused (GW_MALFORMED, BODY_TOO_LARGE, ARGS_TOO_DEEP, ARGS_TOO_LARGE,
 * GW_UNKNOWN_APP, GW_STALE_TIME, GW_BAD_MAC), counting it when the app is known. Replay is
 * checked when the request is accepted (store.acceptRequest).
 */
export async function authenticate(ctx: GatewayContext, input: Uint8Array): Promise<Authed> {
  let env: RequestEnvelope;
  try {
    env = parseRequest(input);
  } catch (e) {
    // Only a document within the limits is parsed again to find whom to answer.
    const readable = e instanceof ArchiError && e.code === 'GW_MALFORMED';
    const hint = readable ? await hintOf(ctx, input) : { reqId: '' };
    if (hint.known) await countRefusal(ctx, hint.known.app.id);
    throw new Refused(e, hint);
  }
  const known = await ctx.apps.get(env.header.app);
  try {
    checkRequest(env, known?.key, { nowMs: ctx.now(), maxSkewMs: ctx.maxSkewMs });
  } catch (e) {
    if (known) await countRefusal(ctx, known.app.id);
    throw new Refused(e, { reqId: env.header.reqId, known });
  }
  return { env, known: known! };
}

/** A signed answer and how to send it. */
export interface Answer {
  status: number;
  headers: Record<string, string>;
  envelope: ResponseEnvelope;
}

function truncate(s: string): string {
  return s.length <= GW_LIMITS.msg ? s : `${s.slice(0, GW_LIMITS.msg - 3)}...`;
}

/** Signs an answer with the key of `profile`; an answer too large for an envelope becomes its error. */
export function answer(
  ctx: GatewayContext,
  profile: ProfileName,
  reqId: string,
  code: string,
  msg: string,
  data: unknown,
  headers: Record<string, string> = {},
): Answer {
  const header = { reqId, time: ctx.now(), gateway: ctx.id };
  const signer = ctx.keys[profile].signer;
  try {
    const envelope = signResponse(signer, { code, msg: truncate(msg), data, header });
    return { status: httpStatus(code), headers, envelope };
  } catch (e) {
    // A node answer beyond the envelope's JSON limits (a huge proof, say) cannot be signed.
    const err = e instanceof ArchiError ? e : new ArchiError('INTERNAL', String(e));
    const envelope = signResponse(signer, {
      code: err.code,
      msg: truncate(`the answer cannot be sent in an envelope: ${err.message}`),
      data: null,
      header,
    });
    return { status: httpStatus(err.code), headers: {}, envelope };
  }
}

/** The signed answer to an error; unexpected ones are INTERNAL and logged. */
export function errorAnswer(ctx: GatewayContext, hint: RequestHint, e: unknown): Answer {
  const profile: ProfileName = hint.known?.app.crypto ?? 'standard';
  if (!(e instanceof ArchiError)) {
    ctx.log.error(
      { app: hint.known?.app.id, reqId: hint.reqId, err: (e as Error)?.message ?? String(e) },
      'gateway: internal error',
    );
    return answer(ctx, profile, hint.reqId, 'INTERNAL', 'internal error in the gateway', null);
  }
  const err = e as AnswerError;
  if (err.code === 'INTERNAL' && err.remoteCode === undefined) {
    ctx.log.error(
      { app: hint.known?.app.id, reqId: hint.reqId, err: err.message },
      'gateway: internal error',
    );
  }
  const code = err.remoteCode ?? err.code;
  const headers: Record<string, string> = {};
  if (err.retryAfterMs !== undefined) {
    headers['retry-after'] = String(Math.max(1, Math.ceil(err.retryAfterMs / 1000)));
  }
  return answer(ctx, profile, hint.reqId, code, err.message, err.data ?? null, headers);
}
