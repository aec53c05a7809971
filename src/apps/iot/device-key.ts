/**
 * A device's key file: what `archi iot device add --out FILE` writes and `archi iot sign
 * --key FILE` (or firmware through the SDK) signs with. It holds the private key in PEM, so
 * it is written with mode 0600.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { type CryptoProfile, getProfile, type Signer } from '../../crypto/profile.ts';
import { hex } from '../../types/hex.ts';
import { codedError } from '../../sdk/errors.ts';
import { deviceIdOf } from './rules.ts';

export const DEVICE_KEY_FORMAT = 'archipelago-iot-device/1';

/** The JSON of a device key file. */
export interface DeviceKeyFile {
  format: typeof DEVICE_KEY_FORMAT;
  device: string;
  name: string;
  crypto: 'standard' | 'gm';
  publicKey: string;
  privateKeyPem: string;
}

/** A loaded device key, ready to sign readings. */
export interface DeviceKey {
  file: DeviceKeyFile;
  profile: CryptoProfile;
  signer: Signer;
}

/** A new key pair for a device named `name` on a chain of profile `crypto`. */
export function newDeviceKey(crypto: 'standard' | 'gm', name: string): DeviceKeyFile {
  const pair = getProfile(crypto).generateKeyPair();
  const publicKey = hex(pair.publicKey);
  return {
    format: DEVICE_KEY_FORMAT,
    device: deviceIdOf(publicKey),
    name,
    crypto,
    publicKey,
    privateKeyPem: pair.privateKeyPem,
  };
}

/** Write a key file readable by its owner only. */
export function writeDeviceKey(path: string, file: DeviceKeyFile): void {
  writeFileSync(path, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
}

/** Read and check a key file; IOT_BAD_KEY when it is not one. */
export function loadDeviceKey(path: string): DeviceKey {
  let file: DeviceKeyFile;
  try {
    file = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw codedError('IOT_BAD_KEY', `cannot read device key ${path}: ${(e as Error).message}`);
  }
  if (file?.format !== DEVICE_KEY_FORMAT || (file.crypto !== 'standard' && file.crypto !== 'gm')) {
    throw codedError('IOT_BAD_KEY', `${path} is not a device key file (${DEVICE_KEY_FORMAT})`);
  }
  const profile = getProfile(file.crypto);
  let signer: Signer;
  try {
    signer = profile.signerFromPem(file.privateKeyPem);
  } catch (e) {
    throw codedError('IOT_BAD_KEY', `${path}: bad private key: ${(e as Error).message}`);
  }
  if (hex(signer.publicKey) !== file.publicKey || deviceIdOf(file.publicKey) !== file.device) {
    throw codedError('IOT_BAD_KEY', `${path}: the private key does not match its device id`);
  }
  return { file, profile, signer };
}
