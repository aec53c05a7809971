/**
 * Signed readings: what a device sends, how its id and signature are made, and how they are
 * checked. The CLI (`archi iot sign`), the SDK, the ingest service and proof verification all
 * use these functions, so firmware built on the SDK signs exactly what ingest checks.
 *
 * The signed bytes are `archipelago-iot-reading/1\n` followed by the canonical JSON (object
 * keys sorted, no whitespace, JSON.stringify's number format) of `{device, seq?, ts, data}`;
 * the reading's id is the chain hash (SHA-256 or SM3) of those bytes, and `sig` the device's
 * DER signature over them (ECDSA-P256-SHA256, or SM2-with-SM3 on a `gm` chain).
 */
import type { CryptoProfile, Signer } from '../../crypto/profile.ts';
import { hex, unhex } from '../../types/hex.ts';
import { isDeviceId, isHash } from './rules.ts';
import { canonicalJson } from '../canonical-json.ts';

/** The message a device publishes (JSON). */
export interface SignedReading {
  id: string;
  device: string;
  /** Device-side counter, optional; two readings with the same content have the same id. */
  seq?: number;
  /** Device time in ms since the epoch. */
  ts: number;
  data: unknown;
  /** DER signature, hex. */
  sig: string;
}

/** Why a message is refused; ingest counts each reason. */
export type RefusalReason =
  | 'malformed'
  | 'unsigned'
  | 'bad_signature'
  | 'unknown_device'
  | 'disabled_device'
  | 'duplicate';

/** Most bytes one reading message may take. */
export const MAX_READING_BYTES = 16 * 1024;

// One of each for every reading: ingest makes thousands of these calls a second.
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const DOMAIN = encoder.encode('archipelago-iot-reading/1\n');

/** The bytes a device signs for a reading. */
export function readingBytes(r: Pick<SignedReading, 'device' | 'seq' | 'ts' | 'data'>): Uint8Array {
  const body: Record<string, unknown> = { device: r.device, ts: r.ts, data: r.data };
  if (r.seq !== undefined) body.seq = r.seq;
  const text = encoder.encode(canonicalJson(body));
  const out = new Uint8Array(DOMAIN.length + text.length);
  out.set(DOMAIN);
  out.set(text, DOMAIN.length);
  return out;
}

/** Sign a reading as device `device` with its key: the message to publish. */
export function signReading(
  profile: CryptoProfile,
  signer: Signer,
  device: string,
  reading: { data: unknown; ts?: number; seq?: number },
): SignedReading {
  const body = { device, ts: reading.ts ?? Date.now(), data: reading.data, seq: reading.seq };
  if (body.seq === undefined) delete body.seq;
  const bytes = readingBytes(body);
  return { id: hex(profile.hash(bytes)), ...body, sig: hex(signer.sign(bytes)) };
}

/** A parsed message, or why it is refused before any key is looked at. */
export type Parsed =
  | { ok: true; reading: SignedReading }
  | { ok: false; reason: 'malformed' | 'unsigned'; detail: string };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parse a published message (JSON text or bytes) into a reading with the right fields. */
export function parseReading(payload: string | Uint8Array): Parsed {
  const bad = (detail: string): Parsed => ({ ok: false, reason: 'malformed', detail });
  if (payload.length > MAX_READING_BYTES) return bad(`more than ${MAX_READING_BYTES} bytes`);
  let v: unknown;
  try {
    v = JSON.parse(typeof payload === 'string' ? payload : decoder.decode(payload));
  } catch {
    return bad('not JSON');
  }
  if (!isObject(v)) return bad('not a JSON object');
  if (!isDeviceId(v.device)) return bad('device must be a device id (40 hex)');
  if (typeof v.ts !== 'number' || !Number.isSafeInteger(v.ts) || v.ts < 0) {
    return bad('ts must be ms since the epoch');
  }
  if (v.seq !== undefined && (typeof v.seq !== 'number' || !Number.isSafeInteger(v.seq))) {
    return bad('seq must be an integer');
  }
  if (!('data' in v)) return bad('data is missing');
  if (!isHash(v.id)) return bad('id must be 64 hex');
  for (const k of Object.keys(v)) {
    if (!['id', 'device', 'seq', 'ts', 'data', 'sig'].includes(k)) return bad(`unknown field ${k}`);
  }
  if (v.sig === undefined || v.sig === '' || v.sig === null) {
    return { ok: false, reason: 'unsigned', detail: 'no sig' };
  }
  if (typeof v.sig !== 'string' || !/^[0-9a-f]{2,400}$/.test(v.sig)) return bad('sig must be hex');
  return { ok: true, reading: v as unknown as SignedReading };
}

/** The bytes the reading's `sig` must sign, or null when its id is not their hash. */
export function signedBytes(profile: CryptoProfile, reading: SignedReading): Uint8Array | null {
  const bytes = readingBytes(reading);
  return hex(profile.hash(bytes)) === reading.id ? bytes : null;
}

/**
 * Whether the reading's id is the hash of its content and `sig` is the signature of the
 * device with `publicKeyHex` over it.
 */
export function verifyReading(
  profile: CryptoProfile,
  reading: SignedReading,
  publicKeyHex: string,
): boolean {
  const bytes = signedBytes(profile, reading);
  if (bytes === null) return false;
  try {
    return profile.verify(unhex(publicKeyHex, 'publicKey'), bytes, unhex(reading.sig, 'sig'));
  } catch {
    return false;
  }
}
