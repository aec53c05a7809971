/**
 * Typed errors with stable codes. The RPC maps a code to an HTTP status and the CLI
 * prints `CODE: message`; codes never change meaning once released. This module imports
 * nothing, so every layer (codec included) may use it.
 */
export const ERROR_STATUS = {
  // client input
  BAD_REQUEST: 400,
  INVALID_ARGS: 400,
  // HTTP framing, routing and bodies of the RPC and console server (docs/RPC.md, "Errors")
  HTTP_MALFORMED: 400,
  BAD_URL: 400,
  URL_TOO_LONG: 414,
  HEADERS_TOO_LARGE: 431,
  HTTP_METHOD_NOT_ALLOWED: 405,
  REQUEST_TIMEOUT: 408,
  EXPECTATION_FAILED: 417,
  UPGRADE_REQUIRED: 426,
  INVALID_JSON: 400,
  BODY_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNSUPPORTED_CHARSET: 415,
  TOO_MANY_SUBSCRIPTIONS: 429,
  // JSON nesting and element limits of execution (docs/CONTRACTS.md, "Limits of JSON values")
  ARGS_TOO_DEEP: 400,
  ARGS_TOO_LARGE: 413,
  VALUE_TOO_DEEP: 400,
  TX_MALFORMED: 400,
  TX_TOO_LARGE: 413,
  TX_BAD_SIGNATURE: 400,
  TX_WRONG_CHAIN: 400,
  TX_EXPIRED: 400,
  TX_DUPLICATE: 409,
  TX_UNKNOWN_SENDER: 403,
  TX_FORBIDDEN: 403,
  CERT_INVALID: 403,
  CERT_EXPIRED: 403,
  CERT_REVOKED: 403,
  CONTRACT_NOT_FOUND: 404,
  METHOD_NOT_FOUND: 404,
  NOT_FOUND: 404,
  CHAIN_NOT_FOUND: 404,
  PROOF_INVALID: 400,
  TIMEOUT: 504,
  MEMPOOL_FULL: 503,
  // execution (appear in receipts)
  OUT_OF_GAS: 400,
  CONTRACT_ERROR: 400,
  CONTRACT_READ_ONLY: 400,
  INSUFFICIENT_BALANCE: 400,
  // user contracts (lifecycle refusals at admission; sandbox limits in receipts)
  CONTRACT_EXISTS: 409,
  CONTRACT_FROZEN: 403,
  CONTRACT_REVOKED: 410,
  CONTRACT_REVERTED: 400,
  CODE_INVALID: 400,
  POLICY_NOT_MET: 403,
  // governance proposals (in receipts)
  ALREADY_VOTED: 409,
  PROPOSAL_EXPIRED: 410,
  PROPOSAL_CLOSED: 409,
  OUT_OF_MEMORY: 400,
  STACK_OVERFLOW: 400,
  CALL_DEPTH_EXCEEDED: 400,
  REENTRANCY: 400,
  RETURN_TOO_LARGE: 400,
  EVENT_TOO_LARGE: 400,
  VALUE_TOO_LARGE: 400,
  FORBIDDEN_API: 400,
  // gateway (docs/GATEWAY.md): its database, request journal and quotas
  GW_DB_UNAVAILABLE: 503,
  GW_DB_LOCKED: 503,
  GW_DB_TOO_NEW: 500,
  GW_EXISTS: 409,
  GW_NOT_FOUND: 404,
  GW_REPLAY: 401,
  QUOTA_TPS: 429,
  QUOTA_TPD: 429,
  // service gateway (docs/GATEWAY.md): the signed envelope, app keys, certificate requests
  GW_MALFORMED: 400,
  GW_UNKNOWN_APP: 401,
  GW_STALE_TIME: 401,
  GW_BAD_MAC: 401,
  GW_CSR_INVALID: 400,
  GW_KEY_INVALID: 400,
  GW_MASTER_KEY_INVALID: 500,
  GW_KEY_UNSEAL_FAILED: 500,
  // service gateway (docs/GATEWAY.md): its HTTP endpoints
  GW_FORBIDDEN: 403,
  GW_WRONG_MODE: 400,
  GW_UNAUTHORIZED: 401,
  // interchain (docs/INTERCHAIN.md): light clients, packets, transfers
  IBC_CLIENT_NOT_FOUND: 404,
  IBC_CLIENT_EXISTS: 409,
  IBC_CLIENT_FROZEN: 409,
  IBC_CLIENT_EXPIRED: 409,
  IBC_HEADER_INVALID: 400,
  IBC_INSUFFICIENT_POWER: 400,
  IBC_CONSENSUS_NOT_FOUND: 404,
  IBC_PROOF_INVALID: 400,
  IBC_PACKET_INVALID: 400,
  IBC_PACKET_UNKNOWN: 404,
  IBC_PACKET_ALREADY_RECEIVED: 409,
  IBC_PACKET_TIMED_OUT: 409,
  IBC_TIMEOUT_NOT_REACHED: 409,
  IBC_FORBIDDEN: 403,
  IBC_DENOM_UNKNOWN: 404,
  // attested clients of EVM chains (docs/BRIDGE.md)
  IBC_CLIENT_TYPE_MISMATCH: 400,
  IBC_ATTESTATION_INVALID: 400,
  IBC_ATTESTATION_NOT_VALIDATOR: 403,
  IBC_ATTESTATION_BAD_SIGNATURE: 400,
  IBC_ATTESTATION_DUPLICATE: 409,
  IBC_ATTESTATION_MISSING: 404,
  IBC_ATTESTATION_MISMATCH: 400,
  // node side
  CONFIG_INVALID: 400,
  DOUBLE_SIGN: 500,
  BLOCK_INVALID: 400,
  BLOCK_GAS_EXCEEDED: 400,
  NOT_READY: 503,
  INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** An error with a stable machine-readable code. */
export class ArchiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ArchiError';
  }

  /** HTTP status that the RPC answers with for this error. */
  get httpStatus(): number {
    return ERROR_STATUS[this.code] ?? 500;
  }

  toJSON(): { code: string; message: string } {
    return { code: this.code, message: this.message };
  }
}

/** The HTTP status of a code: 200 for "OK", the table's for a known code, else 500. */
export function httpStatus(code: string): number {
  if (code === 'OK') return 200;
  return isErrorCode(code) ? ERROR_STATUS[code] : 500;
}

/** True when `code` is one of the known error codes. */
export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_STATUS, code);
}
