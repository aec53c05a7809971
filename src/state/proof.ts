/**
 * Node encoding, hashing rules and proof verification for the state tree (see smt.ts).
 *
 * Written in-house: no existing library offered a hash-agnostic (SHA-256 and SM3), persistent,
 * versioned sparse Merkle tree with non-membership proofs. This module is the single source
 * of truth for how nodes are encoded and hashed, so the tree and every verifier (the SDK
 * bundles this file) cannot drift apart. It must stay pure: no node: imports, no storage.
 *
 * Rules: path = H(stateKey); leaf = H(0x00 || path || H(value));
 * internal = H(0x01 || left || right); empty subtree = 32 zero bytes. Path bits are read
 * most significant bit first; bit 0 goes left.
 */

/**
 * A 32-byte hash function (SHA-256 or SM3 depending on the chain's crypto profile). It must
 * return a fresh array on every call: the tree keeps the results.
 */
export type HashFn = (data: Uint8Array) => Uint8Array;

/** Length of every hash, path and node reference in the tree. */
export const HASH_LEN = 32;
/** Paths are 256 bits, so no leaf can sit deeper than this. */
export const MAX_DEPTH = 256;
/** Tag byte that starts an encoded leaf node. */
export const LEAF_TAG = 0x00;
/** Tag byte that starts an encoded internal node. */
export const INTERNAL_TAG = 0x01;
/** Length of both encoded node kinds (tag + two 32-byte fields). */
export const NODE_LEN = 1 + 2 * HASH_LEN;

/**
 * Proof for one key under one root. `siblings[d]` is the sibling hash at depth d, from the
 * root down; its length is the depth where the walk stopped. `leaf` is the leaf met there
 * (same path as the key: membership; another path: non-membership); without `leaf` the walk
 * ended in an empty subtree.
 */
export interface StateProof {
  siblings: Uint8Array[];
  leaf?: { path: Uint8Array; valueHash: Uint8Array };
}

/** Hex form of StateProof for JSON transport. */
export interface StateProofJson {
  siblings: string[];
  leaf?: { path: string; valueHash: string };
}

const ZERO_HASH = new Uint8Array(HASH_LEN);

/** Encodes a leaf node (into `out` if given); its hash is the leaf hash. */
export function encodeLeaf(
  path: Uint8Array,
  valueHash: Uint8Array,
  out: Uint8Array = new Uint8Array(NODE_LEN),
): Uint8Array {
  out[0] = LEAF_TAG;
  out.set(path, 1);
  out.set(valueHash, 1 + HASH_LEN);
  return out;
}

/** Encodes an internal node (into `out` if given); its hash is the internal node hash. */
export function encodeInternal(
  left: Uint8Array,
  right: Uint8Array,
  out: Uint8Array = new Uint8Array(NODE_LEN),
): Uint8Array {
  out[0] = INTERNAL_TAG;
  out.set(left, 1);
  out.set(right, 1 + HASH_LEN);
  return out;
}

/** Hash of a leaf node, H(0x00 || path || valueHash). */
export function leafHash(hash: HashFn, path: Uint8Array, valueHash: Uint8Array): Uint8Array {
  return hash(encodeLeaf(path, valueHash));
}

/** Hash of an internal node, H(0x01 || left || right). */
export function internalHash(hash: HashFn, left: Uint8Array, right: Uint8Array): Uint8Array {
  return hash(encodeInternal(left, right));
}

/** Bit `depth` of a path, most significant bit of byte 0 first. */
export function bitAt(path: Uint8Array, depth: number): number {
  return (path[depth >> 3] >> (7 - (depth & 7))) & 1;
}

/** True when a and b hold the same bytes. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Lexicographic byte order; with MSB-first bits this is also left-to-right leaf order. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** True for the 32-byte all-zero hash that stands for an empty subtree. */
export function isEmptyHash(h: Uint8Array): boolean {
  if (h.length !== HASH_LEN) return false;
  for (let i = 0; i < HASH_LEN; i++) if (h[i] !== 0) return false;
  return true;
}

const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push(i.toString(16).padStart(2, '0'));

/** Lowercase hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i]];
  return s;
}

/** Parses even-length hex (either case); throws Error on anything else. */
export function fromHex(hex: string): Uint8Array {
  if (typeof hex !== 'string' || hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new Error('invalid hex string');
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function isHash(x: unknown): x is Uint8Array {
  return x instanceof Uint8Array && x.length === HASH_LEN;
}

function samePrefix(a: Uint8Array, b: Uint8Array, bits: number): boolean {
  for (let d = 0; d < bits; d++) if (bitAt(a, d) !== bitAt(b, d)) return false;
  return true;
}

/** Checks that `proof` shows key = value (or key absent when value is null) under root; never throws. */
export function verifyProof(
  hash: HashFn,
  root: Uint8Array,
  key: Uint8Array,
  value: Uint8Array | null,
  proof: StateProof,
): boolean {
  // Proofs arrive from untrusted nodes, so a malformed one must read as "not proven", not crash.
  try {
    if (!isHash(root) || !(key instanceof Uint8Array)) return false;
    if (value !== null && !(value instanceof Uint8Array)) return false;
    if (typeof proof !== 'object' || proof === null) return false;
    const siblings: unknown = proof.siblings;
    if (!Array.isArray(siblings) || siblings.length > MAX_DEPTH) return false;
    for (const s of siblings) if (!isHash(s)) return false;
    const depth = siblings.length;
    const path = hash(key);
    if (!isHash(path)) return false;

    let node: Uint8Array;
    const leaf: unknown = proof.leaf;
    if (leaf !== undefined) {
      if (typeof leaf !== 'object' || leaf === null) return false;
      const { path: leafPath, valueHash } = leaf as Record<string, unknown>;
      if (!isHash(leafPath) || !isHash(valueHash)) return false;
      // Cheap early reject of a leaf outside the key's subtree (the fold below would fail too).
      if (!samePrefix(leafPath, path, depth)) return false;
      const member = bytesEqual(leafPath, path);
      if (value === null) {
        if (member) return false;
      } else if (!member || !bytesEqual(hash(value), valueHash)) {
        return false;
      }
      // A leaf next to an empty sibling would have been collapsed into its parent's place.
      if (depth > 0 && isEmptyHash(siblings[depth - 1])) return false;
      node = leafHash(hash, leafPath, valueHash);
    } else {
      if (value !== null) return false;
      // Two empty children never form an internal node, so this walk would have stopped higher.
      if (depth > 0 && isEmptyHash(siblings[depth - 1])) return false;
      node = ZERO_HASH;
    }
    for (let d = depth - 1; d >= 0; d--) {
      node = bitAt(path, d)
        ? internalHash(hash, siblings[d], node)
        : internalHash(hash, node, siblings[d]);
    }
    return bytesEqual(node, root);
  } catch {
    return false;
  }
}

/** Hex-encodes a proof for JSON. */
export function proofToJson(p: StateProof): StateProofJson {
  const out: StateProofJson = { siblings: p.siblings.map(toHex) };
  if (p.leaf) out.leaf = { path: toHex(p.leaf.path), valueHash: toHex(p.leaf.valueHash) };
  return out;
}

function hashFromJson(x: unknown, what: string): Uint8Array {
  if (typeof x !== 'string' || x.length !== 2 * HASH_LEN) {
    throw new Error(`malformed proof: ${what} must be ${2 * HASH_LEN} hex characters`);
  }
  try {
    return fromHex(x);
  } catch {
    throw new Error(`malformed proof: ${what} is not hex`);
  }
}

function checkKeys(o: object, allowed: string[], what: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw new Error(`malformed proof: unexpected field ${what}.${k}`);
  }
}

/** Parses a StateProofJson (already JSON-decoded); throws Error on any malformed field. */
export function proofFromJson(j: unknown): StateProof {
  if (typeof j !== 'object' || j === null || Array.isArray(j)) {
    throw new Error('malformed proof: not an object');
  }
  // Unknown fields are rejected so a proof format change can never be silently misread.
  checkKeys(j, ['siblings', 'leaf'], 'proof');
  const o = j as Record<string, unknown>;
  if (!Array.isArray(o.siblings)) throw new Error('malformed proof: siblings must be an array');
  if (o.siblings.length > MAX_DEPTH) throw new Error('malformed proof: too many siblings');
  const siblings = o.siblings.map((s, i) => hashFromJson(s, `siblings[${i}]`));
  if (o.leaf === undefined) return { siblings };
  if (typeof o.leaf !== 'object' || o.leaf === null || Array.isArray(o.leaf)) {
    throw new Error('malformed proof: leaf must be an object');
  }
  checkKeys(o.leaf, ['path', 'valueHash'], 'leaf');
  const leaf = o.leaf as Record<string, unknown>;
  return {
    siblings,
    leaf: {
      path: hashFromJson(leaf.path, 'leaf.path'),
      valueHash: hashFromJson(leaf.valueHash, 'leaf.valueHash'),
    },
  };
}
