/**
 * The signed envelope of the service gateway's API (docs/GATEWAY.md): an app signs each
 * request with its access key, the gateway signs each response with its own key. It lives
 * in types/ because both sides need it: the SDK's client (src/sdk/gateway-envelope.ts
 * re-exports it) and the gateway server, which may not import the SDK.
 *
 * Signed bytes are a domain-separation prefix followed by the RFC 8785 canonical JSON of
 * everything but the mac; requests and responses have different prefixes, so a signature
 * made for one can never be presented as the other. Nothing here reads a clock: the caller
 * passes the time.
 */
import { base64Decode, base64Encode, utf8Encode } from '../crypto/bytes.ts';
import type { CryptoProfile, ProfileName, Signer } from '../crypto/interfaces.ts';
import { getProfile } from '../crypto/profile.ts';
import { ArchiError } from '../errors/index.ts';
import { canonicalJsonText, checkJsonText, checkJsonValue, JSON_LIMITS } from './json.ts';

/** Prefix of the signed bytes of a request. */
export const GW_REQUEST_PREFIX = 'archipelago-gw-req-v1\n';
/** Prefix of the signed bytes of a response. */
export const GW_RESPONSE_PREFIX = 'archipelago-gw-res-v1\n';

/** Bounds of an envelope; documents within them are checked before anything recursive runs. */
export const GW_LIMITS = {
  /** UTF-8 bytes of a whole envelope as sent. */
  bytes: 1024 * 1024,
  /** Nesting of the whole envelope (the body sits one level down). */
  depth: JSON_LIMITS.depth,
  /** Values in the whole envelope, counted as JSON_LIMITS counts them. */
  elements: JSON_LIMITS.elements,
  /** Characters of a response's `msg`. */
  msg: 8192,
  /** Characters of the base64 `mac` (a DER signature is at most 72 bytes). */
  mac: 256,
} as const;

/** Default allowed difference between the envelope's `time` and the receiver's clock. */
export const DEFAULT_MAX_SKEW_MS = 5 * 60_000;

/** `reqId`: 1 to 64 of A-Z a-z 0-9 _ -. */
export const REQ_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
/** App and gateway ids: 1 to 64 of A-Z a-z 0-9 _ - . */
export const GW_ID_RE = /^[A-Za-z0-9_.-]{1,64}$/;
const CODE_RE = /^[A-Z][A-Z0-9_]{0,63}$/;
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A JSON object (the body of a request). */
export type JsonObject = { [key: string]: unknown };

/** Who sends a request, which one it is, and when (epoch milliseconds). */
export interface RequestHeader {
  app: string;
  reqId: string;
  time: number;
}

/** A request as sent to the gateway. */
export interface RequestEnvelope {
  header: RequestHeader;
  body: JsonObject;
  mac: string;
}

/** Which request a response answers (`reqId` is empty when the request had none readable). */
export interface ResponseHeader {
  reqId: string;
  time: number;
  gateway: string;
}

/** A response's content: `code` is "OK" or an error code. */
export interface ResponseFields {
  code: string;
  msg: string;
  data: unknown;
  header: ResponseHeader;
}

/** A response as the gateway sends it. */
export interface ResponseEnvelope extends ResponseFields {
  mac: string;
}

/** A public key and the crypto profile its signatures are made in. */
export interface VerifyKey {
  profile: ProfileName | CryptoProfile;
  publicKey: Uint8Array;
}

/** The receiver's clock and the allowed skew either way. */
export interface TimeWindow {
  nowMs: number;
  maxSkewMs?: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

function malformed(message: string): ArchiError {
  return new ArchiError('GW_MALFORMED', message);
}

function isPlainObject(v: unknown): v is JsonObject {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function expectKeys(v: unknown, keys: readonly string[], what: string): JsonObject {
  if (!isPlainObject(v)) throw malformed(`${what} must be an object`);
  for (const k of Object.keys(v)) {
    if (!keys.includes(k)) throw malformed(`${what} has an unknown field ${JSON.stringify(k)}`);
  }
  for (const k of keys) if (!Object.hasOwn(v, k)) throw malformed(`${what} lacks ${k}`);
  return v;
}

function checkTime(t: unknown, what: string): number {
  if (typeof t !== 'number' || !Number.isSafeInteger(t) || t < 0) {
    throw malformed(`${what} must be a non-negative integer of epoch milliseconds`);
  }
  return t;
}

function checkId(v: unknown, re: RegExp, what: string): string {
  if (typeof v !== 'string' || !re.test(v)) throw malformed(`${what} must match ${re.source}`);
  return v;
}

function checkMac(v: unknown): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > GW_LIMITS.mac || !BASE64_RE.test(v)) {
    throw malformed(`mac must be standard padded base64 of at most ${GW_LIMITS.mac} characters`);
  }
  return v;
}

function checkRequestHeader(h: unknown): RequestHeader {
  const o = expectKeys(h, ['app', 'reqId', 'time'], 'header');
  return {
    app: checkId(o.app, GW_ID_RE, 'header.app'),
    reqId: checkId(o.reqId, REQ_ID_RE, 'header.reqId'),
    time: checkTime(o.time, 'header.time'),
  };
}

function checkResponseHeader(h: unknown): ResponseHeader {
  const o = expectKeys(h, ['reqId', 'time', 'gateway'], 'header');
  if (o.reqId !== '') checkId(o.reqId, REQ_ID_RE, 'header.reqId');
  return {
    reqId: o.reqId as string,
    time: checkTime(o.time, 'header.time'),
    gateway: checkId(o.gateway, GW_ID_RE, 'header.gateway'),
  };
}

function checkResponseFields(r: unknown): ResponseFields {
  const o = expectKeys(r, ['code', 'msg', 'data', 'header'], 'response');
  if (typeof o.code !== 'string' || !(o.code === 'OK' || CODE_RE.test(o.code))) {
    throw malformed('code must be "OK" or an error code');
  }
  if (typeof o.msg !== 'string' || o.msg.length > GW_LIMITS.msg) {
    throw malformed(`msg must be a string of at most ${GW_LIMITS.msg} characters`);
  }
  return { code: o.code, msg: o.msg, data: o.data, header: checkResponseHeader(o.header) };
}

// Canonical text of an already shape-checked value; a lone surrogate or a non-finite
// number (JSON.parse turns 1e999 into Infinity) is a malformed envelope, not a bug.
function signedBytes(prefix: string, value: unknown): Uint8Array {
  let text: string;
  try {
    text = canonicalJsonText(value, 'args', 'gateway envelope');
  } catch (e) {
    if (e instanceof ArchiError && e.code === 'INVALID_ARGS') throw malformed(e.message);
    throw e;
  }
  return utf8Encode(prefix + text);
}

/** The bytes a request's mac signs: GW_REQUEST_PREFIX + canonical JSON of {header, body}. */
export function requestBytes(header: RequestHeader, body: JsonObject): Uint8Array {
  return signedBytes(GW_REQUEST_PREFIX, { header, body });
}

/** The bytes a response's mac signs: GW_RESPONSE_PREFIX + canonical JSON of {code, msg, data, header}. */
export function responseBytes(r: ResponseFields): Uint8Array {
  const { code, msg, data, header } = r;
  return signedBytes(GW_RESPONSE_PREFIX, { code, msg, data: data ?? null, header });
}

// Text or bytes are measured before JSON.parse (which recurses); a value parsed elsewhere
// is measured before the shape checks and the canonical encoder walk it.
function readDocument(input: unknown, what: string): unknown {
  if (input instanceof Uint8Array) {
    if (input.length > GW_LIMITS.bytes) {
      throw new ArchiError('BODY_TOO_LARGE', `${what} over ${GW_LIMITS.bytes} bytes`);
    }
    let text: string;
    try {
      text = decoder.decode(input);
    } catch {
      throw malformed(`${what} is not valid UTF-8`);
    }
    return readDocument(text, what);
  }
  if (typeof input === 'string') {
    if (input.length > GW_LIMITS.bytes || encoder.encode(input).length > GW_LIMITS.bytes) {
      throw new ArchiError('BODY_TOO_LARGE', `${what} over ${GW_LIMITS.bytes} bytes`);
    }
    checkJsonText(input, 'args', what);
    try {
      return JSON.parse(input);
    } catch (e) {
      throw malformed(`${what} is not valid JSON: ${(e as Error).message}`);
    }
  }
  checkJsonValue(input, 'args', what);
  return input;
}

/**
 * Reads a request (JSON text, UTF-8 bytes or a parsed value) and checks its shape and
 * limits, not its mac. Throws GW_MALFORMED, BODY_TOO_LARGE, ARGS_TOO_DEEP or ARGS_TOO_LARGE.
 */
export function parseRequest(input: unknown): RequestEnvelope {
  const o = expectKeys(readDocument(input, 'request'), ['header', 'body', 'mac'], 'request');
  const header = checkRequestHeader(o.header);
  if (!isPlainObject(o.body)) throw malformed('body must be a JSON object');
  const env: RequestEnvelope = { header, body: o.body, mac: checkMac(o.mac) };
  requestBytes(env.header, env.body);
  return env;
}

/** Reads a response (JSON text, UTF-8 bytes or a parsed value) and checks its shape, not its mac. */
export function parseResponse(input: unknown): ResponseEnvelope {
  const doc = readDocument(input, 'response');
  if (!isPlainObject(doc)) throw malformed('response must be an object');
  const { mac, ...fields } = doc;
  const env: ResponseEnvelope = { ...checkResponseFields(fields), mac: checkMac(mac) };
  responseBytes(env);
  return env;
}

function checkWindow(time: number, w: TimeWindow): void {
  const skew = w.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
  if (!Number.isFinite(w.nowMs) || !(skew >= 0)) {
    throw new ArchiError('INTERNAL', 'the time window needs a finite nowMs and maxSkewMs >= 0');
  }
  if (Math.abs(w.nowMs - time) > skew) {
    throw new ArchiError(
      'GW_STALE_TIME',
      `time ${time} is more than ${skew} ms from the receiver's clock ${w.nowMs}`,
    );
  }
}

function macVerifies(key: VerifyKey, bytes: Uint8Array, mac: string): boolean {
  const profile = typeof key.profile === 'string' ? getProfile(key.profile) : key.profile;
  return profile.verify(key.publicKey, bytes, base64Decode(mac));
}

function sign(signer: Signer, bytes: Uint8Array): string {
  return base64Encode(signer.sign(bytes));
}

/** Signs a request with the app's access key; checks the header and body as parseRequest would. */
export function signRequest(
  signer: Signer,
  header: RequestHeader,
  body: JsonObject,
): RequestEnvelope {
  checkJsonValue({ header, body }, 'args', 'request');
  const h = checkRequestHeader(header);
  if (!isPlainObject(body)) throw malformed('body must be a JSON object');
  return { header: h, body, mac: sign(signer, requestBytes(h, body)) };
}

/**
 * Checks a parsed request's time and mac against the app's key (undefined: no such app).
 * Throws GW_UNKNOWN_APP, GW_STALE_TIME or GW_BAD_MAC; replay is the caller's to check.
 */
export function checkRequest(
  env: RequestEnvelope,
  key: VerifyKey | undefined,
  window: TimeWindow,
): RequestEnvelope {
  if (key === undefined) throw new ArchiError('GW_UNKNOWN_APP', `unknown app ${env.header.app}`);
  checkWindow(env.header.time, window);
  if (!macVerifies(key, requestBytes(env.header, env.body), env.mac)) {
    throw new ArchiError('GW_BAD_MAC', 'the request mac does not verify');
  }
  return env;
}

/** parseRequest then checkRequest with the key `keyOf` finds for the header's app. */
export function verifyRequest(
  input: unknown,
  keyOf: (appId: string) => VerifyKey | undefined,
  window: TimeWindow,
): RequestEnvelope {
  const env = parseRequest(input);
  return checkRequest(env, keyOf(env.header.app), window);
}

/** Signs a response with the gateway's key; `data` undefined becomes null. */
export function signResponse(signer: Signer, fields: ResponseFields): ResponseEnvelope {
  checkJsonValue(fields, 'args', 'response');
  const r = checkResponseFields({ ...fields, data: fields.data ?? null });
  return { ...r, mac: sign(signer, responseBytes(r)) };
}

/**
 * Reads and checks a response against the gateway's key and the client's clock; with
 * `reqId`, also that it answers that request. Throws GW_MALFORMED, GW_STALE_TIME or GW_BAD_MAC.
 */
export function verifyResponse(
  input: unknown,
  gatewayKey: VerifyKey,
  window: TimeWindow & { reqId?: string },
): ResponseEnvelope {
  const env = parseResponse(input);
  checkWindow(env.header.time, window);
  if (!macVerifies(gatewayKey, responseBytes(env), env.mac)) {
    throw new ArchiError('GW_BAD_MAC', 'the response mac does not verify');
  }
  // A genuine answer to another request (an old one replayed by a middlebox) is no answer.
  if (window.reqId !== undefined && env.header.reqId !== window.reqId) {
    throw new ArchiError(
      'GW_BAD_MAC',
      `the response answers request ${env.header.reqId}, not ${window.reqId}`,
    );
  }
  return env;
}
