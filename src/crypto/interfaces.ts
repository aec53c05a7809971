/**
 * The shapes of a crypto profile, apart from the profiles themselves: `standard.ts` and
 * `gm.ts` implement them and `profile.ts` picks one, so the implementations import this
 * import-free module instead of `profile.ts` (which would make an import cycle).
 */
export type ProfileName = 'standard' | 'gm';

/** A generated key pair: PKCS#8 PEM (readable by openssl) and the 65-byte 0x04||X||Y public key. */
export interface KeyPair {
  privateKeyPem: string;
  publicKey: Uint8Array;
}

/** A loaded private key; sign() hashes internally and returns a DER (r,s) signature. */
export interface Signer {
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}

/** Everything chain code needs from a signature/hash/cipher suite. */
export interface CryptoProfile {
  readonly name: ProfileName;
  /** 32-byte SHA-256 or SM3 digest. */
  hash(data: Uint8Array): Uint8Array;
  /** Digest of the concatenation of parts, streamed without copying them together. */
  hashParts(parts: Uint8Array[]): Uint8Array;
  generateKeyPair(): KeyPair;
  /** ECDSA-SHA256, or SM2-with-SM3 including Z with the default ID 1234567812345678. */
  signerFromPem(privateKeyPem: string): Signer;
  /** Never throws: any malformed key, signature or message yields false. */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
  /** SPKI PEM readable by openssl. */
  publicKeyToPem(publicKey: Uint8Array): string;
  /** Accepts compressed or uncompressed points; always returns the 65-byte uncompressed form. */
  publicKeyFromPem(pem: string): Uint8Array;
  /** AES-256-GCM (32-byte key) or SM4-CTR+HMAC-SM3 (16-byte key); output carries nonce and tag. */
  encrypt(key: Uint8Array, plaintext: Uint8Array): Uint8Array;
  /** Throws CryptoError CRYPTO_DECRYPT_FAILED on tampering. */
  decrypt(key: Uint8Array, ciphertext: Uint8Array): Uint8Array;
  /** ecdsa-with-SHA256 1.2.840.10045.4.3.2 or SM2-with-SM3 1.2.156.10197.1.501. */
  readonly signatureAlgorithmOid: string;
  /** prime256v1 1.2.840.10045.3.1.7 or SM2 1.2.156.10197.1.301. */
  readonly curveOid: string;
}
