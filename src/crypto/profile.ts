import { randomBytes } from 'node:crypto';
import { toHex } from './bytes.ts';
import { CryptoError } from './errors.ts';
import { gmProfile } from './gm.ts';
import type { CryptoProfile } from './interfaces.ts';
import { standardProfile } from './standard.ts';

export { CryptoError } from './errors.ts';
export type { CryptoProfile, KeyPair, ProfileName, Signer } from './interfaces.ts';

/** Looks up a profile by name; throws CryptoError CRYPTO_UNKNOWN_PROFILE. */
export function getProfile(name: string): CryptoProfile {
  if (name === 'standard') return standardProfile;
  if (name === 'gm') return gmProfile;
  throw new CryptoError('CRYPTO_UNKNOWN_PROFILE', `unknown crypto profile: ${String(name)}`);
}

/** Key length that profile.encrypt/decrypt expect: 32 (AES-256) or 16 (SM4). */
export function symmetricKeyLength(profile: CryptoProfile): number {
  return profile.name === 'gm' ? 16 : 32;
}

/** Fresh random key of the right length for profile.encrypt. */
export function generateSymmetricKey(profile: CryptoProfile): Uint8Array {
  return new Uint8Array(randomBytes(symmetricKeyLength(profile)));
}

/** Account address: hex of the first 20 bytes of profile.hash(publicKey). */
export function address(profile: CryptoProfile, publicKey: Uint8Array): string {
  return toHex(profile.hash(publicKey).subarray(0, 20));
}
