/**
 * A cheap stand-in for a CryptoProfile: real P-256 signatures would make a thousand seeds take
 * hours. Hashes are real SHA-256; a "signature" is SHA-256 of the signer's secret and the
 * message, which `verify` recomputes from a registry of public keys and secrets. Whoever lacks a
 * secret cannot sign for its key, so the byzantine validator can sign only as itself.
 */
import { hash } from 'node:crypto';
import type { CryptoProfile, Signer } from '../../src/crypto/profile.ts';
import { hex } from '../../src/types/hex.ts';

function sha256(data: Uint8Array): Uint8Array {
  const d = hash('sha256', data, 'buffer') as unknown as Buffer;
  return new Uint8Array(d.buffer, d.byteOffset, d.length);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

function unsupported(what: string): never {
  throw new Error(`the simulator's crypto profile has no ${what}`);
}

/** The key registry of one simulation, and the profile that verifies against it. */
export class SimKeys {
  private readonly secrets = new Map<string, Uint8Array>();
  readonly profile: CryptoProfile;

  constructor() {
    const secrets = this.secrets;
    this.profile = {
      name: 'standard',
      hash: (data) => sha256(data),
      hashParts: (parts) => sha256(parts.reduce(concat, new Uint8Array(0))),
      verify(publicKey, message, signature) {
        const secret = secrets.get(hex(publicKey));
        if (!secret || signature.length !== 32) return false;
        const expected = sha256(concat(secret, message));
        for (let i = 0; i < 32; i++) if (expected[i] !== signature[i]) return false;
        return true;
      },
      generateKeyPair: () => unsupported('generateKeyPair'),
      signerFromPem: () => unsupported('signerFromPem'),
      publicKeyToPem: () => unsupported('publicKeyToPem'),
      publicKeyFromPem: () => unsupported('publicKeyFromPem'),
      encrypt: () => unsupported('encrypt'),
      decrypt: () => unsupported('decrypt'),
      signatureAlgorithmOid: '',
      curveOid: '',
    };
  }

  /** A new key from `seed` (any unique text): its public key is registered, the secret kept in the signer. */
  signer(seed: string): Signer {
    const secret = sha256(new TextEncoder().encode(`secret/${seed}`));
    const publicKey = sha256(concat(new TextEncoder().encode('public/'), secret));
    this.secrets.set(hex(publicKey), secret);
    return { publicKey, sign: (message) => sha256(concat(secret, message)) };
  }
}
