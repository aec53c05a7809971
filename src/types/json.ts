/**
 * JSON helpers for contract args, return values, events and stored values (bigint travels
 * as a decimal string), with the nesting and element limits that keep execution independent
 * of the runtime.
 *
 * Why the limits exist: V8's JSON.stringify, JSON.parse with a reviver and any recursive walk
 * overflow the native stack at a depth that depends on the Node version, `--stack-size` and
 * the frames already on the stack. A tx whose outcome hinged on that would split the
 * network. So every JSON document that execution parses, copies, hashes, stores or returns
 * is first measured here without recursion, and refused with a stable code past fixed limits
 * far below any stack's reach.
 */
import { ArchiError } from './errors.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Limits of one JSON document in execution; part of consensus (changing one is a chain upgrade). */
export const JSON_LIMITS = {
  /** Arrays/objects nested in one another: `[]` is depth 1, a scalar depth 0. */
  depth: 64,
  /** Values in one document: the document itself, each array element and each object member. */
  elements: 65_536,
} as const;

/** Which document a limit applies to: tx/query args, or anything else execution handles. */
export type JsonKind = 'args' | 'value';

function tooDeep(kind: JsonKind, what: string): ArchiError {
  return new ArchiError(
    kind === 'args' ? 'ARGS_TOO_DEEP' : 'VALUE_TOO_DEEP',
    `${what}: more than ${JSON_LIMITS.depth} nested arrays/objects`,
  );
}

function tooMany(kind: JsonKind, what: string): ArchiError {
  return new ArchiError(
    kind === 'args' ? 'ARGS_TOO_LARGE' : 'VALUE_TOO_LARGE',
    `${what}: more than ${JSON_LIMITS.elements} values`,
  );
}

const ARRAY = 1;
const OBJECT = 2;

/**
 * Check JSON text against JSON_LIMITS in one pass without recursion. Text that is not valid
 * JSON passes or fails here without any other error; JSON.parse judges it afterwards.
 * Returns the number of values counted.
 */
export function checkJsonText(text: string, kind: JsonKind, what: string): number {
  const stack = new Uint8Array(JSON_LIMITS.depth + 1);
  let depth = 0;
  let elements = 1;
  let firstInArray = false;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) continue;
    if (firstInArray) {
      firstInArray = false;
      if (c !== 0x5d) elements++;
    }
    switch (c) {
      case 0x22: // a string: skip to its closing quote
        for (i++; i < n; i++) {
          const s = text.charCodeAt(i);
          if (s === 0x5c) i++;
          else if (s === 0x22) break;
        }
        continue;
      case 0x5b: // [
      case 0x7b: // {
        if (depth === JSON_LIMITS.depth) throw tooDeep(kind, what);
        stack[depth++] = c === 0x5b ? ARRAY : OBJECT;
        firstInArray = c === 0x5b;
        continue;
      case 0x5d: // ]
      case 0x7d: // }
        if (depth > 0) depth--;
        continue;
      case 0x2c: // , separates array elements (object members are counted at their colon)
        if (depth > 0 && stack[depth - 1] === ARRAY) elements++;
        break;
      case 0x3a: // :
        if (depth > 0 && stack[depth - 1] === OBJECT) elements++;
        break;
      default:
        continue;
    }
    if (elements > JSON_LIMITS.elements) throw tooMany(kind, what);
  }
  return elements;
}

/**
 * Check a JS value (as JSON.stringify would see it) against JSON_LIMITS without recursion,
 * counting values the same way as checkJsonText (returned). A cyclic value ends at the
 * element limit.
 */
export function checkJsonValue(value: unknown, kind: JsonKind, what: string): number {
  const values: unknown[] = [value];
  const depths: number[] = [0];
  let elements = 0;
  while (values.length > 0) {
    const v = values.pop();
    const d = depths.pop() as number;
    if (++elements > JSON_LIMITS.elements) throw tooMany(kind, what);
    if (typeof v !== 'object' || v === null) continue;
    if (d === JSON_LIMITS.depth) throw tooDeep(kind, what);
    const children = Array.isArray(v) ? v : Object.values(v);
    if (elements + children.length > JSON_LIMITS.elements) throw tooMany(kind, what);
    for (const child of children) {
      values.push(child);
      depths.push(d + 1);
    }
  }
  return elements;
}

/** Replaces bigint by its decimal string (the one JSON form of a bigint in execution). */
function bigintAsString(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}

/** UTF-8 JSON bytes of a value within JSON_LIMITS; bigint becomes a decimal string. */
export function jsonBytes(value: unknown, kind: JsonKind = 'value', what = 'values'): Uint8Array {
  checkJsonValue(value, kind, what);
  return encoder.encode(JSON.stringify(value ?? null, bigintAsString) ?? 'null');
}

/**
 * Parse JSON text within JSON_LIMITS; `what` names the document in errors. Throws
 * ArchiError(INVALID_ARGS) for invalid JSON, or a limit's code.
 */
export function parseJsonChecked(text: string, kind: JsonKind, what: string): unknown {
  checkJsonText(text, kind, what);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ArchiError('INVALID_ARGS', `${what} are not valid JSON: ${(e as Error).message}`);
  }
}

/**
 * Parse UTF-8 JSON bytes within JSON_LIMITS; empty bytes mean null. Throws
 * ArchiError(INVALID_ARGS) for invalid UTF-8 or JSON, or a limit's code.
 */
export function parseJsonBytes(bytes: Uint8Array, kind: JsonKind = 'args', what = 'args'): unknown {
  if (bytes.length === 0) return null;
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    throw new ArchiError('INVALID_ARGS', `${what} are not valid UTF-8`);
  }
  return parseJsonChecked(text, kind, what);
}

/** Parse JSON text given by a user (CLI, RPC) as args, within JSON_LIMITS. */
export function parseJsonText(text: string, what = 'args'): unknown {
  return parseJsonChecked(text, 'args', what);
}

/** Decode bytes as UTF-8 text (lenient; for display). */
export function utf8Text(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}

/** UTF-8 bytes of a string. */
export function utf8Bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

// A lone surrogate has no UTF-8 form, so two implementations could encode it differently.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function canonicalError(message: string): ArchiError {
  return new ArchiError('INVALID_ARGS', `not canonical JSON: ${message}`);
}

function canonicalString(s: string): string {
  if (LONE_SURROGATE.test(s)) throw canonicalError('a string holds a lone surrogate');
  return JSON.stringify(s);
}

/**
 * RFC 8785 (JCS) text of a JSON value: object members sorted by UTF-16 code units at every
 * level, no whitespace, numbers and strings as ECMAScript writes them. Only plain objects,
 * arrays, strings, finite numbers, booleans and null are accepted (ArchiError INVALID_ARGS
 * otherwise); the value is measured against JSON_LIMITS first, so the recursion is bounded.
 * Unlike JSON.stringify over sorted keys, integer-like keys sort as strings too, which is
 * what a client in another language computes.
 */
export function canonicalJsonText(value: unknown, kind: JsonKind = 'args', what = 'value'): string {
  checkJsonValue(value, kind, what);
  const out: string[] = [];
  const write = (v: unknown): void => {
    if (v === null || typeof v === 'boolean') {
      out.push(String(v));
    } else if (typeof v === 'string') {
      out.push(canonicalString(v));
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw canonicalError('a number is not finite');
      out.push(JSON.stringify(v));
    } else if (Array.isArray(v)) {
      out.push('[');
      for (let i = 0; i < v.length; i++) {
        if (i > 0) out.push(',');
        write(v[i]);
      }
      out.push(']');
    } else if (typeof v === 'object') {
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) {
        throw canonicalError('only plain objects and arrays may nest');
      }
      const rec = v as Record<string, unknown>;
      out.push('{');
      const keys = Object.keys(rec).sort();
      for (let i = 0; i < keys.length; i++) {
        if (i > 0) out.push(',');
        out.push(canonicalString(keys[i]), ':');
        write(rec[keys[i]]);
      }
      out.push('}');
    } else {
      throw canonicalError(`a ${typeof v} has no JSON form`);
    }
  };
  write(value);
  return out.join('');
}
