/** Hex and base64 conversions that work in Node and in browsers (the SDK and console use them). */
import { ArchiError } from './errors.ts';

const NodeBuffer = (globalThis as { Buffer?: typeof Buffer }).Buffer;
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Lower-case hex of bytes. */
export function hex(bytes: Uint8Array): string {
  // Buffer's native hex is much faster on the node's hot paths; browsers take the loop.
  if (NodeBuffer)
    return NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i]];
  return s;
}

/** Bytes of a hex string (optional 0x prefix); throws ArchiError(BAD_REQUEST) on bad hex. */
export function unhex(text: string, what = 'hex'): Uint8Array {
  const s = text.startsWith('0x') ? text.slice(2) : text;
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) {
    throw new ArchiError('BAD_REQUEST', `${what} is not valid hex`);
  }
  const out = new Uint8Array(s.length / 2);
  // Buffer's native decoder is much faster (ingest decodes two per reading); copied out so
  // callers never get a view into Buffer's shared pool.
  if (NodeBuffer) out.set(NodeBuffer.from(s, 'hex'));
  else for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(s.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Standard base64 of bytes. */
export function toBase64(bytes: Uint8Array): string {
  let bin = '';
  for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
  return btoa(bin);
}

/** Bytes of standard base64; throws ArchiError(BAD_REQUEST) on bad input. */
export function fromBase64(text: string, what = 'base64'): Uint8Array {
  let bin: string;
  try {
    bin = atob(text);
  } catch {
    throw new ArchiError('BAD_REQUEST', `${what} is not valid base64`);
  }
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Byte-wise equality. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
