/**
 * Checks the console does on node answers in the browser, mirroring src/sdk/verify.ts: a
 * block's hash must be the hash of its header bytes, the header (decoded from those bytes,
 * not taken from the node's JSON) must be at the proof's height with the proof's state
 * root, and every read must verify against that root with src/state/proof.ts itself.
 */
import { fromHex, type HashFn, proofFromJson, toHex, verifyProof } from '../../src/state/proof.ts';
import { sha256 } from './sha256.ts';
import { sm3 } from './sm3.ts';

export { fromHex, toHex };

/** The chain's hash for a crypto profile name. */
export function hashFor(crypto: string): HashFn {
  if (crypto === 'gm') return sm3;
  if (crypto === 'standard') return sha256;
  throw new Error(`unknown crypto profile ${JSON.stringify(crypto)}`);
}

/** Account / validator address: hex of the first 20 bytes of hash(publicKey). */
export function addressOf(crypto: string, publicKeyHex: string): string {
  return toHex(hashFor(crypto)(fromHex(publicKeyHex)).subarray(0, 20));
}

/** The header fields a proof check needs, read from the protobuf bytes. */
export interface DecodedHeader {
  chainId: string;
  height: number;
  time: number;
  stateRoot: Uint8Array;
  proposer: Uint8Array;
}

/** Minimal protobuf reader for the Header message (proto/archipelago/v1/chain.proto). */
export function decodeHeader(bytes: Uint8Array): DecodedHeader {
  let pos = 0;
  const varint = (): number => {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= bytes.length) throw new Error('header bytes end inside a varint');
      const b = bytes[pos++];
      result += (b & 0x7f) * mul;
      if (b < 0x80) {
        if (!Number.isSafeInteger(result)) throw new Error('header number is too large');
        return result;
      }
      mul *= 128;
    }
    throw new Error('varint longer than 10 bytes');
  };
  const h: DecodedHeader = {
    chainId: '',
    height: 0,
    time: 0,
    stateRoot: new Uint8Array(0),
    proposer: new Uint8Array(0),
  };
  while (pos < bytes.length) {
    const tag = varint();
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (wire === 0) {
      const v = varint();
      if (field === 2) h.height = v;
      else if (field === 3) h.time = v;
    } else if (wire === 2) {
      const len = varint();
      if (pos + len > bytes.length) throw new Error('header field runs past the end');
      const v = bytes.subarray(pos, pos + len);
      pos += len;
      if (field === 1) h.chainId = new TextDecoder().decode(v);
      else if (field === 6) h.stateRoot = v.slice();
      else if (field === 9) h.proposer = v.slice();
    } else if (wire === 1) {
      pos += 8;
    } else if (wire === 5) {
      pos += 4;
    } else {
      throw new Error(`unsupported protobuf wire type ${wire}`);
    }
  }
  if (pos !== bytes.length) throw new Error('header field runs past the end');
  return h;
}

/** The parts of a block answer a proof check uses. */
export interface BlockForProof {
  hash: string;
  headerBytes: string;
}

/** One state read with its proof, as the node sends it. */
export interface ReadJson {
  key: string;
  value: string | null;
  proof: unknown;
}

export interface ReadCheck {
  key: string;
  value: string | null;
  ok: boolean;
  kind: 'membership' | 'non-membership';
  depth: number;
  reason?: string;
}

export type ProofCheck =
  | { ok: true; height: number; stateRoot: string; blockHash: string; reads: ReadCheck[] }
  | { ok: false; reason: string; reads: ReadCheck[] };

function checkRead(hash: HashFn, root: Uint8Array, read: ReadJson): ReadCheck {
  const kind = read.value === null ? 'non-membership' : 'membership';
  const base = { key: read.key, value: read.value, kind, depth: 0 } as const;
  let value: Uint8Array | null;
  try {
    value = read.value === null ? null : fromHex(read.value);
  } catch {
    return { ...base, ok: false, reason: 'value is not hex' };
  }
  let proof: ReturnType<typeof proofFromJson>;
  try {
    proof = proofFromJson(read.proof);
  } catch (e) {
    return { ...base, ok: false, reason: (e as Error).message };
  }
  const ok = verifyProof(hash, root, new TextEncoder().encode(read.key), value, proof);
  return {
    ...base,
    depth: proof.siblings.length,
    ok,
    reason: ok
      ? undefined
      : `the proof of the ${value === null ? 'absence' : 'value'} of ${JSON.stringify(read.key)} does not lead to the state root`,
  };
}

/**
 * Verify reads claimed at (height, stateRoot) against `block`, the block the node returned
 * for that height. Never throws: a failure comes back as { ok: false, reason }.
 */
export function verifyReads(
  crypto: string,
  block: BlockForProof,
  height: number,
  stateRoot: string,
  reads: ReadJson[],
): ProofCheck {
  let hash: HashFn;
  try {
    hash = hashFor(crypto);
  } catch (e) {
    return { ok: false, reason: (e as Error).message, reads: [] };
  }
  let headerBytes: Uint8Array;
  try {
    headerBytes = fromHex(block.headerBytes);
  } catch {
    return { ok: false, reason: 'block header bytes are not hex', reads: [] };
  }
  const blockHash = toHex(hash(headerBytes));
  if (blockHash !== String(block.hash).toLowerCase()) {
    return {
      ok: false,
      reason: 'block hash does not match the hash of its header bytes',
      reads: [],
    };
  }
  let header: DecodedHeader;
  try {
    header = decodeHeader(headerBytes);
  } catch (e) {
    return {
      ok: false,
      reason: `block header does not decode: ${(e as Error).message}`,
      reads: [],
    };
  }
  if (header.height !== height) {
    return {
      ok: false,
      reason: `proof is for height ${height} but the block header is at ${header.height}`,
      reads: [],
    };
  }
  if (toHex(header.stateRoot) !== String(stateRoot).toLowerCase()) {
    return {
      ok: false,
      reason: `proof state root does not match the state root in block ${header.height}`,
      reads: [],
    };
  }
  const checks = reads.map((r) => checkRead(hash, header.stateRoot, r));
  const bad = checks.find((c) => !c.ok);
  if (bad) return { ok: false, reason: bad.reason ?? 'a read does not verify', reads: checks };
  return { ok: true, height, stateRoot: toHex(header.stateRoot), blockHash, reads: checks };
}
