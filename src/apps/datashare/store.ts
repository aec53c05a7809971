/**
 * The content-addressed store of encrypted datasets: each ciphertext in a file named by its
 * hash (hex) in one directory. Any store that answers bytes for a hash would do (an object
 * store, IPFS): readers check the hash against the chain, so the store need not be trusted
 * for integrity, and it holds only ciphertext, so not for confidentiality either.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { codedError } from '../../sdk/errors.ts';
import { isHash } from './rules.ts';

/** The default store of a chain in a network directory: DIR/datashare/<chainId>. */
export function defaultStore(networkDir: string, chainId: string): string {
  return join(networkDir, 'datashare', chainId);
}

/** Store `bytes` under `hash`; writing the same content again is a no-op. */
export function putBlob(store: string, hash: string, bytes: Uint8Array): string {
  if (!isHash(hash)) throw codedError('DATA_INVALID_ARGS', `${hash} is not a content hash`);
  mkdirSync(store, { recursive: true });
  const path = join(store, hash);
  if (existsSync(path)) return path;
  // A reader never sees a half-written blob: write aside, then rename.
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);
  return path;
}

/** The bytes stored under `hash` (DATA_NOT_STORED when the store has none). */
export function getBlob(store: string, hash: string): Uint8Array {
  if (!isHash(hash)) throw codedError('DATA_INVALID_ARGS', `${hash} is not a content hash`);
  const path = join(store, hash);
  if (!existsSync(path)) {
    throw codedError('DATA_NOT_STORED', `the store ${store} holds no ciphertext ${hash}`);
  }
  return new Uint8Array(readFileSync(path));
}
