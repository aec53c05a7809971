/** Turning node answers and client-side failures into ArchiError. */
import { ArchiError, type ErrorCode, isErrorCode } from '../types/errors.ts';

/** An ArchiError from a code the node sent; unknown codes become INTERNAL but keep the message and `remoteCode`. */
export function remoteError(code: unknown, message: string): ArchiError {
  if (typeof code === 'string' && isErrorCode(code)) return new ArchiError(code, message);
  const err = new ArchiError('INTERNAL', message);
  // The original code is still useful to a caller that knows a newer node's codes.
  if (typeof code === 'string') Object.assign(err, { remoteCode: code });
  return err;
}

/** An ArchiError with a code that may not be in this build's table yet (PROOF_INVALID, TIMEOUT). */
export function codedError(code: string, message: string): ArchiError {
  return new ArchiError(code as ErrorCode, message);
}

/** A PROOF_INVALID error: the node's answer does not verify. */
export function proofInvalid(message: string): ArchiError {
  return codedError('PROOF_INVALID', message);
}

/** A TIMEOUT error: something did not happen in time. */
export function timeoutError(message: string): ArchiError {
  return codedError('TIMEOUT', message);
}

/** A NOT_READY error for a node that could not be reached at all (marked so callers may try another). */
export function unreachableError(url: string, cause: string): ArchiError {
  return Object.assign(new ArchiError('NOT_READY', `cannot reach node at ${url}: ${cause}`), {
    unreachable: true,
  });
}

/** True for errors from unreachableError. */
export function isUnreachable(e: unknown): boolean {
  return e instanceof ArchiError && (e as { unreachable?: boolean }).unreachable === true;
}
