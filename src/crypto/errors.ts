/** Error raised by the crypto layer; `code` is stable and meant for programmatic checks. */
export class CryptoError extends Error {
  /** Builds an error with a stable machine-readable code. */
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'CryptoError';
  }
}
