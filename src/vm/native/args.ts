/** Argument checks shared by the native contracts; each failure is an INVALID_ARGS error. */
import { ArchiError } from '../../types/errors.ts';

/** The args as a plain object. */
export function argsObject(args: unknown): Record<string, unknown> {
  if (typeof args !== 'object' || args === null || Array.isArray(args)) {
    throw new ArchiError('INVALID_ARGS', 'args must be a JSON object');
  }
  return args as Record<string, unknown>;
}

/** Refuses fields other than `allowed`; `what` names the object in the message. */
export function onlyFields(a: Record<string, unknown>, allowed: string[], what: string): void {
  for (const k of Object.keys(a)) {
    if (!allowed.includes(k)) {
      throw new ArchiError(
        'INVALID_ARGS',
        `${what}: unknown field ${JSON.stringify(k)} (allowed: ${allowed.join(', ')})`,
      );
    }
  }
}

/** A required non-empty string field of at most `max` characters. */
export function str(a: Record<string, unknown>, field: string, max = 256): string {
  const v = a[field];
  if (typeof v !== 'string' || v.length === 0 || v.length > max) {
    throw new ArchiError('INVALID_ARGS', `${field} must be a string of 1..${max} characters`);
  }
  return v;
}

/** A non-negative integer amount given as a decimal string or a safe integer. */
export function amount(a: Record<string, unknown>, field: string): bigint {
  const v = a[field];
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  if (typeof v === 'string' && /^[0-9]{1,78}$/.test(v)) return BigInt(v);
  throw new ArchiError(
    'INVALID_ARGS',
    `${field} must be a non-negative integer (number or decimal string)`,
  );
}

/** A 40-hex-character account address, lower-cased. */
export function addressArg(a: Record<string, unknown>, field: string): string {
  const v = a[field];
  if (typeof v !== 'string' || !/^(0x)?[0-9a-fA-F]{40}$/.test(v)) {
    throw new ArchiError('INVALID_ARGS', `${field} must be a 40-hex-character address`);
  }
  return v.replace(/^0x/, '').toLowerCase();
}
