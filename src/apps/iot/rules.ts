/**
 * The rules of the `iot` app shared by its contract (contracts/apps/iot.ts bundles this file),
 * the ingest service, the CLI and proof verification: state keys, record shapes, error codes,
 * and how a device id follows from its public key. Import-free and deterministic: it runs
 * inside the contract sandbox too.
 */

/** Stable error codes; a contract revert message starts with one of them and ": ". */
export const IOT_ERRORS = [
  'IOT_INVALID_ARGS',
  'IOT_BAD_KEY',
  'IOT_EXISTS',
  'IOT_NOT_FOUND',
  'IOT_NOT_OWNER',
  'IOT_FORBIDDEN',
  'IOT_BAD_ROOT',
  'IOT_BAD_READING',
  'IOT_BAD_PROOF',
  'IOT_NOT_ANCHORED',
] as const;
export type IotError = (typeof IOT_ERRORS)[number];

/** The contract's name on chain. */
export const IOT_CONTRACT = 'iot';
/** Devices and batches per page of a listing. */
export const PAGE_SIZE = 100;
/** Longest device name. */
export const MAX_NAME = 64;
/** Most readings one anchored batch may hold. */
export const MAX_BATCH = 100_000;

/** A device's curve, fixed by the chain's crypto profile. */
export type Curve = 'P-256' | 'SM2';

/** The curve of a crypto profile (`standard` signs with P-256, `gm` with SM2). */
export function curveOf(crypto: string): Curve {
  return crypto === 'gm' ? 'SM2' : 'P-256';
}

/** A device as stored under `dev/<id>`. */
export interface DeviceRecord {
  id: string;
  name: string;
  /** The organization that registered it, the only one that may disable or enable it. */
  owner: string;
  curve: Curve;
  /** The uncompressed 65-byte public key (0x04||X||Y), hex. */
  publicKey: string;
  status: 'active' | 'disabled';
  /** Index in registration order (the `devn/` listing). */
  n: number;
  createdAt: number;
  updatedAt: number;
}

/** A batch as stored under `batch/<seq>`: a Merkle root of reading ids and when it was anchored. */
export interface AnchorRecord {
  seq: number;
  /** Merkle root (hex) of the batch's reading ids (src/apps/iot/merkle.ts). */
  root: string;
  count: number;
  /** The organization whose ingest service anchored it. */
  org: string;
  by: string;
  height: number;
  /** Block time (ms since the epoch): when the batch was anchored. */
  time: number;
  txId: string;
}

const HEX_KEY = /^04[0-9a-f]{128}$/;
const HEX_32 = /^[0-9a-f]{64}$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

/**
 * The id of a device: the first 20 bytes of its public key's X coordinate, in hex. Contracts
 * have no hash function, and an X prefix is as unpredictable as a hash of the key, so the
 * contract derives and checks the id itself (40 hex characters, like an address).
 */
export function deviceIdOf(publicKeyHex: string): string {
  return publicKeyHex.slice(2, 42);
}

/** Whether `v` is an uncompressed public key in lower-case hex. */
export function isPublicKeyHex(v: unknown): v is string {
  return typeof v === 'string' && HEX_KEY.test(v);
}

/** Whether `v` is a 32-byte hash in lower-case hex (a Merkle root or reading id). */
export function isHash(v: unknown): v is string {
  return typeof v === 'string' && HEX_32.test(v);
}

/** Whether `v` is a device name (a word of 1..64 letters, digits and `._:-`). */
export function isDeviceName(v: unknown): v is string {
  return typeof v === 'string' && NAME.test(v);
}

/** Whether `v` looks like a device id. */
export function isDeviceId(v: unknown): v is string {
  return typeof v === 'string' && /^[0-9a-f]{40}$/.test(v);
}

/** State keys, under the contract's own prefix. */
export const keys = {
  device: (id: string) => `dev/${id}`,
  deviceAt: (n: number) => `devn/${String(n).padStart(8, '0')}`,
  deviceByName: (org: string, name: string) => `name/${org}/${name}`,
  batch: (seq: number) => `batch/${String(seq).padStart(10, '0')}`,
  meta: 'meta',
};

/** Counters kept under `meta`. */
export interface Meta {
  devices: number;
  batches: number;
  readings: number;
}

/** The stable IOT_* code inside a message (a contract revert), with the rest of the text. */
export function iotErrorOf(message: string): { code: IotError; text: string } | undefined {
  const m = /^((?:[\s\S]*?: )?)(IOT_[A-Z_]+): ([\s\S]*)$/.exec(message);
  if (!m || !(IOT_ERRORS as readonly string[]).includes(m[2])) return undefined;
  return { code: m[2] as IotError, text: `${m[1]}${m[3]}` };
}
