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

/** A NOT_READY error for a call on a client after `close()` (or cut short by it). */
export function closedError(url: string, what = 'the request'): ArchiError {
  return new ArchiError(
    'NOT_READY',
    `the client of ${url} is closed: ${what} did not get an answer`,
  );
}

/** Status code to error code for answers that carry no `{error}` body (proxies, framework defaults). */
function codeForStatus(status: number): string {
  if (status === 404) return 'NOT_FOUND';
  if (status === 413) return 'TX_TOO_LARGE';
  if (status === 409) return 'TX_DUPLICATE';
  if (status === 503) return 'NOT_READY';
  if (status === 504) return 'TIMEOUT';
  if (status >= 400 && status < 500) return 'BAD_REQUEST';
  return 'INTERNAL';
}

/**
 * The error of a non-2xx answer: the node's `{error: {code, message}}` when it sent one, else
 * a code for the status with the start of the body. `parsed` is the body as JSON (undefined
 * when it is not JSON), `what` names the request (`POST /v1/txs`).
 */
export function answerError(status: number, parsed: any, text: string, what: string): ArchiError {
  const err = parsed?.error;
  if (err && typeof err === 'object' && typeof err.code === 'string') {
    return remoteError(err.code, typeof err.message === 'string' ? err.message : err.code);
  }
  const detail = typeof parsed?.message === 'string' ? parsed.message : text.slice(0, 200);
  return remoteError(
    codeForStatus(status),
    `${what} failed with HTTP ${status}${detail ? `: ${detail}` : ''}`,
  );
}
