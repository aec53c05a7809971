/**
 * Key trust mode: the gateway generates an app's keys in its chain's profile and keeps the
 * private ones sealed with a master key (docs/GATEWAY.md, "Keys at rest").
 *
 * Each sealed key has its own cipher key, derived from the master key with HKDF (SHA-256 on
 * standard chains, SM3 on gm chains) over the profile, the app id and the identity name, so
 * a ciphertext copied to another row, app or profile fails authentication instead of
 * opening. The cipher is the profile's: AES-256-GCM (standard) or SM4-CTR + HMAC-SM3 (gm).
 * A sealed key is `0x01 || profile byte (1 standard, 2 gm) || profile.encrypt output`.
 *
 * Plaintext private keys leave this module only through openPrivateKey; the master key
 * never does (MasterKey prints and serializes as redacted).
 */
import { hkdfSync, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { utf8Decode, utf8Encode } from '../crypto/bytes.ts';
import type { CryptoProfile, ProfileName } from '../crypto/interfaces.ts';
import { getProfile, symmetricKeyLength } from '../crypto/profile.ts';
import { ArchiError } from '../errors/index.ts';
import { GW_ID_RE } from '../types/gateway-envelope.ts';

/** Environment variable that holds the master key when no key file is given. */
export const MASTER_KEY_ENV = 'ARCHI_GW_MASTER_KEY';
/** Identity name under which an app's access key is sealed (no transaction identity has it). */
export const ACCESS_KEY_NAME = '@access';

const SEAL_VERSION = 1;
const PROFILE_BYTE: Record<ProfileName, number> = { standard: 1, gm: 2 };
const HKDF_SALT = utf8Encode('archipelago-gw-seal-v1');
const MASTER_KEY_BYTES = 32;
const NAME_RE = /^[\x21-\x7e]{1,128}$/;

// The bytes live here, not on the object, so no property, spread or JSON of a MasterKey
// can carry them into a log.
const secrets = new WeakMap<MasterKey, Uint8Array>();

/** The gateway's 32-byte master key; printing or serializing it shows nothing. */
export class MasterKey {
  private constructor(bytes: Uint8Array) {
    secrets.set(this, Uint8Array.from(bytes));
  }

  /** Reads 32 bytes given as 64 hex digits or base64; throws GW_MASTER_KEY_INVALID. */
  static fromText(text: string): MasterKey {
    const t = text.trim();
    let bytes: Uint8Array | undefined;
    if (/^[0-9a-fA-F]{64}$/.test(t)) bytes = new Uint8Array(Buffer.from(t, 'hex'));
    else if (/^[A-Za-z0-9+/]{43}=$/.test(t)) bytes = new Uint8Array(Buffer.from(t, 'base64'));
    if (bytes?.length !== MASTER_KEY_BYTES) {
      throw new ArchiError(
        'GW_MASTER_KEY_INVALID',
        'the master key must be 32 bytes written as 64 hex digits or 44 characters of base64',
      );
    }
    return new MasterKey(bytes);
  }

  toJSON(): string {
    return '[MasterKey]';
  }

  toString(): string {
    return '[MasterKey]';
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return 'MasterKey [redacted]';
  }
}

/**
 * The master key from `file` if given, else from `env[ARCHI_GW_MASTER_KEY]`; throws
 * GW_MASTER_KEY_INVALID when neither holds one.
 */
export function loadMasterKey(
  opts: { file?: string; env?: Record<string, string | undefined> } = {},
): MasterKey {
  if (opts.file !== undefined) {
    let text: string;
    try {
      text = readFileSync(opts.file, 'utf8');
    } catch (e) {
      throw new ArchiError(
        'GW_MASTER_KEY_INVALID',
        `cannot read the master key file ${opts.file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`,
      );
    }
    return MasterKey.fromText(text);
  }
  const fromEnv = (opts.env ?? process.env)[MASTER_KEY_ENV];
  if (fromEnv === undefined || fromEnv.trim() === '') {
    throw new ArchiError(
      'GW_MASTER_KEY_INVALID',
      `no master key: give a key file or set ${MASTER_KEY_ENV}`,
    );
  }
  return MasterKey.fromText(fromEnv);
}

/**
 * Writes a new random master key (hex) to `path` with mode 0600; refuses to overwrite a
 * file, since every key sealed with the old one would be lost.
 */
export function generateMasterKeyFile(path: string): void {
  try {
    writeFileSync(path, `${randomBytes(MASTER_KEY_BYTES).toString('hex')}\n`, {
      mode: 0o600,
      flag: 'wx',
    });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ArchiError(
      'GW_MASTER_KEY_INVALID',
      code === 'EEXIST'
        ? `${path} exists; a master key is never overwritten`
        : `cannot write the master key file ${path}: ${code ?? 'error'}`,
    );
  }
}

function profileOf(p: CryptoProfile | ProfileName): CryptoProfile {
  return typeof p === 'string' ? getProfile(p) : p;
}

function checkOwner(appId: string, name: string): void {
  if (!GW_ID_RE.test(appId)) {
    throw new ArchiError('INVALID_ARGS', `app id must match ${GW_ID_RE.source}`);
  }
  if (!NAME_RE.test(name)) {
    throw new ArchiError(
      'INVALID_ARGS',
      'identity name must be 1 to 128 printable ASCII characters',
    );
  }
}

function lengthPrefixed(s: string): Uint8Array {
  const b = utf8Encode(s);
  const out = new Uint8Array(2 + b.length);
  out[0] = b.length >> 8;
  out[1] = b.length & 0xff;
  out.set(b, 2);
  return out;
}

// Length-prefixed fields, so ("ab", "c") and ("a", "bc") derive different keys.
function sealKey(
  master: MasterKey,
  profile: CryptoProfile,
  appId: string,
  name: string,
): Uint8Array {
  const ikm = secrets.get(master);
  if (ikm === undefined) throw new ArchiError('GW_MASTER_KEY_INVALID', 'not a MasterKey');
  const info = Buffer.concat([
    lengthPrefixed('private-key'),
    lengthPrefixed(profile.name),
    lengthPrefixed(appId),
    lengthPrefixed(name),
  ]);
  const digest = profile.name === 'gm' ? 'sm3' : 'sha256';
  return new Uint8Array(hkdfSync(digest, ikm, HKDF_SALT, info, symmetricKeyLength(profile)));
}

/**
 * Seals the PEM private key of identity `name` of app `appId` (checked to be a key of the
 * profile; GW_KEY_INVALID otherwise) for storage.
 */
export function sealPrivateKey(
  master: MasterKey,
  profile: CryptoProfile | ProfileName,
  appId: string,
  name: string,
  privateKeyPem: string,
): Uint8Array {
  const p = profileOf(profile);
  checkOwner(appId, name);
  try {
    p.signerFromPem(privateKeyPem);
  } catch {
    // The reason could quote the key; say only what was wrong with it.
    throw new ArchiError('GW_KEY_INVALID', `not a private key of the ${p.name} profile`);
  }
  const key = sealKey(master, p, appId, name);
  try {
    const ct = p.encrypt(key, utf8Encode(privateKeyPem));
    const out = new Uint8Array(2 + ct.length);
    out[0] = SEAL_VERSION;
    out[1] = PROFILE_BYTE[p.name];
    out.set(ct, 2);
    return out;
  } finally {
    key.fill(0);
  }
}

/**
 * Opens what sealPrivateKey sealed for the same master key, profile, app and name; any
 * other combination or a changed byte throws GW_KEY_UNSEAL_FAILED.
 */
export function openPrivateKey(
  master: MasterKey,
  profile: CryptoProfile | ProfileName,
  appId: string,
  name: string,
  sealed: Uint8Array,
): string {
  const p = profileOf(profile);
  checkOwner(appId, name);
  const fail = (why: string): never => {
    throw new ArchiError('GW_KEY_UNSEAL_FAILED', `private key of ${appId}/${name}: ${why}`);
  };
  if (!(sealed instanceof Uint8Array) || sealed.length < 3) fail('not a sealed key');
  if (sealed[0] !== SEAL_VERSION) fail(`unknown seal version ${sealed[0]}`);
  if (sealed[1] !== PROFILE_BYTE[p.name]) fail(`sealed for another profile than ${p.name}`);
  const key = sealKey(master, p, appId, name);
  try {
    return utf8Decode(p.decrypt(key, sealed.subarray(2)));
  } catch {
    return fail('does not open with this master key (wrong key, or copied from another row)');
  } finally {
    key.fill(0);
  }
}

/** A generated key: its public half in the clear, its private half sealed. */
export interface SealedKey {
  name: string;
  publicKey: Uint8Array;
  publicKeyPem: string;
  sealed: Uint8Array;
}

/** Generates and seals one key of identity `name` (ACCESS_KEY_NAME for the access key). */
export function generateSealedKey(
  master: MasterKey,
  profile: CryptoProfile | ProfileName,
  appId: string,
  name: string,
): SealedKey {
  const p = profileOf(profile);
  const kp = p.generateKeyPair();
  return {
    name,
    publicKey: kp.publicKey,
    publicKeyPem: p.publicKeyToPem(kp.publicKey),
    sealed: sealPrivateKey(master, p, appId, name, kp.privateKeyPem),
  };
}

/**
 * A key-trust app's keys: the access key (sealed as ACCESS_KEY_NAME; the app downloads it
 * once through openPrivateKey) and one key per transaction identity.
 */
export function generateAppKeys(
  master: MasterKey,
  profile: CryptoProfile | ProfileName,
  appId: string,
  identities: readonly string[],
): { access: SealedKey; identities: SealedKey[] } {
  if (new Set(identities).size !== identities.length || identities.includes(ACCESS_KEY_NAME)) {
    throw new ArchiError(
      'INVALID_ARGS',
      `identity names must be distinct and not ${ACCESS_KEY_NAME}`,
    );
  }
  return {
    access: generateSealedKey(master, profile, appId, ACCESS_KEY_NAME),
    identities: identities.map((n) => generateSealedKey(master, profile, appId, n)),
  };
}
