/** JSON helpers for contract args, return values and event data (bigint travels as a decimal string). */
import { ArchiError } from './errors.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** UTF-8 JSON bytes of a value; bigint becomes a decimal string. */
export function jsonBytes(value: unknown): Uint8Array {
  return encoder.encode(
    JSON.stringify(value ?? null, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)),
  );
}

/** Parse UTF-8 JSON bytes; empty bytes mean null. Throws ArchiError(INVALID_ARGS). */
export function parseJsonBytes(bytes: Uint8Array, what = 'args'): unknown {
  if (bytes.length === 0) return null;
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    throw new ArchiError('INVALID_ARGS', `${what} are not valid UTF-8`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ArchiError('INVALID_ARGS', `${what} are not valid JSON: ${(e as Error).message}`);
  }
}

/** Parse JSON text given by a user (CLI, RPC) into a value. */
export function parseJsonText(text: string, what = 'args'): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ArchiError('INVALID_ARGS', `${what} are not valid JSON: ${(e as Error).message}`);
  }
}

/** Decode bytes as UTF-8 text (lenient; for display). */
export function utf8Text(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}

/** UTF-8 bytes of a string. */
export function utf8Bytes(text: string): Uint8Array {
  return encoder.encode(text);
}
