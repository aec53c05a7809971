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

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The key registry of one simulation, and the profile that verifies against it. Every vote is
 * checked by every receiver, in commits and in evidence, so verdicts are remembered by
 * signature (with the key and message they were for); hashes of keys (addresses, looked up
 * all the time) are remembered by the key's array, which nobody changes.
 */
export class SimKeys {
  private readonly secrets = new Map<string, Uint8Array>();
  private readonly verdicts = new Map<string, { key: string; message: Uint8Array; ok: boolean }>();
  private readonly keyHashes = new WeakMap<Uint8Array, Uint8Array>();
  readonly profile: CryptoProfile;

  constructor() {
    const { secrets, verdicts, keyHashes } = this;
    this.profile = {
      name: 'standard',
      hash(data) {
        if (data.length !== 32) return sha256(data);
        let h = keyHashes.get(data);
        if (!h) {
          h = sha256(data);
          keyHashes.set(data, h);
        }
        return h;
      },
      hashParts: (parts) => sha256(parts.reduce(concat, new Uint8Array(0))),
      verify(publicKey, message, signature) {
        const key = hex(publicKey);
        const id = hex(signature);
        const known = verdicts.get(id);
        if (known && known.key === key && equal(known.message, message)) return known.ok;
        const secret = secrets.get(key);
        const ok =
          secret !== undefined &&
          signature.length === 32 &&
          equal(sha256(concat(secret, message)), signature);
        verdicts.set(id, { key, message: message.slice(), ok });
        return ok;
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
