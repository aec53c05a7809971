import { CryptoError } from './errors.ts';

const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Zero-copy view of a Buffer as a plain Uint8Array (so deepStrictEqual against Uint8Array works). */
export function asU8(buf: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(buf) === Uint8Array.prototype
    ? buf
    : new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Zero-copy view of bytes as a Buffer, for node APIs. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Lowercase hex encoding. */
export function toHex(bytes: Uint8Array): string {
  return asBuffer(bytes).toString('hex');
}

/** Decodes hex (either case, even length, no 0x prefix); throws CryptoError BAD_HEX otherwise. */
export function fromHex(hex: string): Uint8Array {
  // Buffer.from(hex) silently truncates at the first bad character, so validate first.
  if (!HEX_RE.test(hex)) throw new CryptoError('BAD_HEX', 'invalid hex string');
  return copyOf(Buffer.from(hex, 'hex'));
}

/** Concatenates byte arrays into a fresh Uint8Array. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Byte equality; not constant-time (use timingSafeEqual for secrets). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return asBuffer(a).equals(asBuffer(b));
}

/** UTF-8 encoding of a string. */
export function utf8Encode(s: string): Uint8Array {
  return textEncoder.encode(s);
}

/** Strict UTF-8 decoding; throws CryptoError BAD_UTF8 on malformed input. */
export function utf8Decode(bytes: Uint8Array): string {
  try {
    return textDecoder.decode(bytes);
  } catch {
    throw new CryptoError('BAD_UTF8', 'invalid UTF-8');
  }
}

/** Standard (padded) base64 encoding. */
export function base64Encode(bytes: Uint8Array): string {
  return asBuffer(bytes).toString('base64');
}

/** Strict standard base64 decoding (whitespace ignored); throws CryptoError BAD_BASE64 otherwise. */
export function base64Decode(s: string): Uint8Array {
  const body = s.replace(/\s+/g, '');
  if (!BASE64_RE.test(body)) throw new CryptoError('BAD_BASE64', 'invalid base64 string');
  return copyOf(Buffer.from(body, 'base64'));
}

/** Big-endian unsigned integer from bytes. */
export function bytesToBigInt(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${toHex(bytes)}`);
}

/** Big-endian fixed-width encoding of a non-negative bigint; throws if it does not fit. */
export function bigIntToBytes(n: bigint, width: number): Uint8Array {
  if (n < 0n) throw new CryptoError('BAD_INTEGER', 'negative integer');
  const hex = n.toString(16);
  if (hex.length > width * 2) throw new CryptoError('BAD_INTEGER', 'integer too large');
  return copyOf(Buffer.from(hex.padStart(width * 2, '0'), 'hex'));
}

// Small Buffers live in node's shared 8 KiB pool; copying keeps callers from
// aliasing (or retaining) unrelated memory through `.buffer`.
function copyOf(buf: Buffer): Uint8Array {
  const out = new Uint8Array(buf.length);
  out.set(buf);
  return out;
}
