/**
 * Authenticated state tree: a compact binary sparse Merkle tree, in the spirit of Diem's
 * Jellyfish Merkle tree. A leaf sits at the shortest path prefix that tells it apart from
 * every other leaf, so a tree of n random keys is about log2(n) deep rather than 256.
 *
 * Written in-house: no existing library offered a hash-agnostic (SHA-256 and SM3), persistent,
 * versioned sparse Merkle tree with non-membership proofs. Hashing and node encoding live in
 * proof.ts so the tree and the SDK's verifier share one definition.
 *
 * Nodes are content-addressed and never mutated, so every historical root stays provable as
 * long as its nodes are kept. The tree stores H(value) only; values live in the caller's flat
 * table. The core does no I/O: it reads nodes through NodeReader and hands back the nodes it
 * created, for the caller to persist atomically with the block.
 */
import {
  bitAt,
  bytesEqual,
  compareBytes,
  encodeInternal,
  encodeLeaf,
  HASH_LEN,
  type HashFn,
  INTERNAL_TAG,
  isEmptyHash,
  LEAF_TAG,
  MAX_DEPTH,
  NODE_LEN,
  type StateProof,
  toHex,
} from './proof.ts';

export type { HashFn, StateProof } from './proof.ts';

/** Source of encoded nodes by hash (LMDB bucket, memory map, ...). */
export interface NodeReader {
  getNode(hash: Uint8Array): Uint8Array | undefined;
}

/** Root of the empty tree: 32 zero bytes. */
export const EMPTY_ROOT: Uint8Array = new Uint8Array(HASH_LEN);

/** One write in a batch; value null deletes the key. */
export interface TreeChange {
  key: Uint8Array;
  value: Uint8Array | null;
}

/**
 * New root plus the nodes the caller must store (keyed by hash) to keep it provable. Encodings
 * may be views into shared buffers: store their bytes, not their `.buffer`.
 */
export interface UpdateResult {
  root: Uint8Array;
  newNodes: Array<[hash: Uint8Array, encoded: Uint8Array]>;
}

/** A decoded tree node. */
export type TreeNode =
  | { kind: 'leaf'; path: Uint8Array; valueHash: Uint8Array }
  | { kind: 'internal'; left: Uint8Array; right: Uint8Array };

/** Decodes a stored node, copying its hashes into `alloc`ed bytes; throws Error if not a valid encoding. */
export function decodeNode(
  encoded: Uint8Array,
  alloc: (n: number) => Uint8Array = (n) => new Uint8Array(n),
): TreeNode {
  if (!(encoded instanceof Uint8Array) || encoded.length !== NODE_LEN) {
    throw new Error('corrupt state tree node: wrong length');
  }
  const tag = encoded[0];
  if (tag !== LEAF_TAG && tag !== INTERNAL_TAG) {
    throw new Error('corrupt state tree node: unknown tag');
  }
  // A copy, not a view: a reader such as lmdb's getBinaryFast may reuse its buffer on the next read.
  const body = alloc(2 * HASH_LEN);
  body.set(encoded.subarray(1));
  const a = body.subarray(0, HASH_LEN);
  const b = body.subarray(HASH_LEN);
  return tag === LEAF_TAG
    ? { kind: 'leaf', path: a, valueHash: b }
    : { kind: 'internal', left: a, right: b };
}

/**
 * Bump allocator for one update: node encodings and decoded hashes share large buffers, since
 * tens of thousands of small ArrayBuffers per batch made garbage collection the main cost.
 */
class Arena {
  private buf = new Uint8Array(0);
  private used = 0;

  alloc(n: number): Uint8Array {
    if (this.used + n > this.buf.length) {
      this.buf = new Uint8Array(Math.max(ARENA_BYTES, n));
      this.used = 0;
    }
    const view = this.buf.subarray(this.used, this.used + n);
    this.used += n;
    return view;
  }
}

const ARENA_BYTES = 1 << 16;

/** Per-update state: where new nodes go and where scratch bytes come from. */
interface Batch {
  out: Array<[Uint8Array, Uint8Array]>;
  arena: Arena;
}

const UNKNOWN = -1;
const EMPTY = 0;
const LEAF = 1;
const INTERNAL = 2;

/** A subtree by hash; kind is UNKNOWN for children the batch did not touch (loaded lazily). */
interface Ref {
  hash: Uint8Array;
  kind: number;
}

/** A pending leaf: valueHash null = delete; `hash` is set when the leaf already exists in the store. */
interface Item {
  path: Uint8Array;
  valueHash: Uint8Array | null;
  hash?: Uint8Array;
}

const ZERO = new Uint8Array(HASH_LEN);
const EMPTY_REF: Ref = { hash: ZERO, kind: EMPTY };

/** First index in [lo, hi) whose path has bit `depth` set; items are sorted and share the bits above. */
function splitPoint(items: Item[], lo: number, hi: number, depth: number): number {
  let a = lo;
  let b = hi;
  while (a < b) {
    const m = (a + b) >>> 1;
    if (bitAt(items[m].path, depth)) b = m;
    else a = m + 1;
  }
  return a;
}

function checkHash(h: unknown, what: string): asserts h is Uint8Array {
  if (!(h instanceof Uint8Array) || h.length !== HASH_LEN) {
    throw new Error(`${what} must be a ${HASH_LEN}-byte Uint8Array`);
  }
}

/** Persistent, versioned compact sparse Merkle tree over an injected hash function. */
export class SparseMerkleTree {
  private readonly hash: HashFn;
  private readonly nodes: NodeReader;

  /** Tree reading nodes from `nodes` and hashing with `hash`. */
  constructor(hash: HashFn, nodes: NodeReader) {
    this.hash = hash;
    this.nodes = nodes;
  }

  /** The tree path of a state key, H(key). */
  pathOf(key: Uint8Array): Uint8Array {
    if (!(key instanceof Uint8Array)) throw new Error('state key must be a Uint8Array');
    return this.digest(key);
  }

  /** Apply a batch (last write per key wins) to the tree at `root`; returns the new root and the nodes to store. */
  update(root: Uint8Array, changes: TreeChange[]): UpdateResult {
    checkHash(root, 'root');
    const items = this.prepare(changes);
    const batch: Batch = { out: [], arena: new Arena() };
    const res =
      items.length === 0
        ? { hash: root }
        : this.apply({ hash: root, kind: UNKNOWN }, 0, items, 0, items.length, batch);
    return { root: res.hash.slice(), newNodes: batch.out };
  }

  /** Proof for key under root: membership if present, otherwise non-membership. */
  prove(root: Uint8Array, key: Uint8Array): StateProof {
    checkHash(root, 'root');
    return this.walk(root, this.pathOf(key));
  }

  /** Hash of the value stored at key, or undefined (walks the tree). */
  getValueHash(root: Uint8Array, key: Uint8Array): Uint8Array | undefined {
    checkHash(root, 'root');
    const path = this.pathOf(key);
    const { leaf } = this.walk(root, path);
    return leaf !== undefined && bytesEqual(leaf.path, path) ? leaf.valueHash : undefined;
  }

  /** Every leaf under root in path order (for state sync, audits and tests). */
  *leaves(root: Uint8Array): Generator<{ path: Uint8Array; valueHash: Uint8Array }> {
    checkHash(root, 'root');
    const stack: Uint8Array[] = [root];
    while (stack.length > 0) {
      const h = stack.pop()!;
      if (isEmptyHash(h)) continue;
      const node = this.load(h);
      if (node.kind === 'leaf') {
        yield { path: node.path, valueHash: node.valueHash };
      } else {
        stack.push(node.right, node.left);
      }
    }
  }

  private walk(root: Uint8Array, path: Uint8Array): StateProof {
    const siblings: Uint8Array[] = [];
    let h = root;
    for (let depth = 0; ; depth++) {
      if (isEmptyHash(h)) return { siblings };
      const node = this.load(h);
      if (node.kind === 'leaf') {
        return { siblings, leaf: { path: node.path, valueHash: node.valueHash } };
      }
      if (depth >= MAX_DEPTH) throw new Error('corrupt state tree: internal node below max depth');
      if (bitAt(path, depth)) {
        siblings.push(node.left);
        h = node.right;
      } else {
        siblings.push(node.right);
        h = node.left;
      }
    }
  }

  private digest(data: Uint8Array): Uint8Array {
    const h = this.hash(data);
    if (!(h instanceof Uint8Array) || h.length !== HASH_LEN) {
      throw new Error(`hash function must return ${HASH_LEN} bytes`);
    }
    return h;
  }

  private load(hash: Uint8Array, arena?: Arena): TreeNode {
    const encoded = this.nodes.getNode(hash);
    if (encoded === undefined) throw new Error(`state tree node ${toHex(hash)} is missing`);
    return arena ? decodeNode(encoded, (n) => arena.alloc(n)) : decodeNode(encoded);
  }

  private kindOf(ref: Ref, batch: Batch): number {
    if (ref.kind !== UNKNOWN) return ref.kind;
    if (isEmptyHash(ref.hash)) return EMPTY;
    return this.load(ref.hash, batch.arena).kind === 'leaf' ? LEAF : INTERNAL;
  }

  /** Hashes keys and values, sorts by path and keeps the last write per path. */
  private prepare(changes: TreeChange[]): Item[] {
    if (!Array.isArray(changes)) throw new Error('changes must be an array');
    const items: Item[] = new Array(changes.length);
    for (let i = 0; i < changes.length; i++) {
      const c = changes[i];
      if (!(c?.key instanceof Uint8Array)) throw new Error(`change ${i}: key must be a Uint8Array`);
      if (c.value !== null && !(c.value instanceof Uint8Array)) {
        throw new Error(`change ${i}: value must be a Uint8Array or null`);
      }
      items[i] = {
        path: this.digest(c.key),
        valueHash: c.value === null ? null : this.digest(c.value),
      };
    }
    // Array#sort is stable, so among equal paths the batch order survives and the last one wins.
    items.sort((a, b) => compareBytes(a.path, b.path));
    let w = 0;
    for (let i = 0; i < items.length; i++) {
      if (i + 1 < items.length && bytesEqual(items[i].path, items[i + 1].path)) continue;
      items[w++] = items[i];
    }
    items.length = w;
    return items;
  }

  /** Applies items[lo, hi) (sorted, sharing the first `depth` path bits) to the subtree `ref` at `depth`. */
  private apply(ref: Ref, depth: number, items: Item[], lo: number, hi: number, batch: Batch): Ref {
    if (isEmptyHash(ref.hash)) {
      const inserts: Item[] = [];
      for (let i = lo; i < hi; i++) if (items[i].valueHash !== null) inserts.push(items[i]);
      return this.build(depth, inserts, 0, inserts.length, batch);
    }
    const node = this.load(ref.hash, batch.arena);
    if (node.kind === 'leaf') {
      // Rebuild this small subtree from the old leaf and the batch: it holds at most hi - lo + 1 leaves.
      const existing: Item = { path: node.path, valueHash: node.valueHash, hash: ref.hash };
      const merged: Item[] = [];
      let placed = false;
      for (let i = lo; i < hi; i++) {
        const it = items[i];
        if (!placed) {
          const c = compareBytes(existing.path, it.path);
          if (c < 0) {
            merged.push(existing);
            placed = true;
          } else if (c === 0) {
            placed = true;
            // Rewriting the same value keeps the stored leaf instead of emitting a duplicate.
            if (it.valueHash !== null && bytesEqual(it.valueHash, node.valueHash)) {
              merged.push(existing);
              continue;
            }
          }
        }
        if (it.valueHash !== null) merged.push(it);
      }
      if (!placed) merged.push(existing);
      return this.build(depth, merged, 0, merged.length, batch);
    }
    if (depth >= MAX_DEPTH) throw new Error('corrupt state tree: internal node below max depth');
    const mid = splitPoint(items, lo, hi, depth);
    const left =
      mid > lo
        ? this.apply({ hash: node.left, kind: UNKNOWN }, depth + 1, items, lo, mid, batch)
        : { hash: node.left, kind: UNKNOWN };
    const right =
      mid < hi
        ? this.apply({ hash: node.right, kind: UNKNOWN }, depth + 1, items, mid, hi, batch)
        : { hash: node.right, kind: UNKNOWN };
    if (bytesEqual(left.hash, node.left) && bytesEqual(right.hash, node.right)) {
      return { hash: ref.hash, kind: INTERNAL };
    }
    return this.join(left, right, batch);
  }

  /** Parent of two subtrees, collapsing a lone leaf upward so no internal node has just one leaf below. */
  private join(left: Ref, right: Ref, batch: Batch): Ref {
    const leftEmpty = isEmptyHash(left.hash);
    const rightEmpty = isEmptyHash(right.hash);
    if (leftEmpty && rightEmpty) return EMPTY_REF;
    if (leftEmpty && this.kindOf(right, batch) === LEAF) return { hash: right.hash, kind: LEAF };
    if (rightEmpty && this.kindOf(left, batch) === LEAF) return { hash: left.hash, kind: LEAF };
    const encoded = encodeInternal(left.hash, right.hash, batch.arena.alloc(NODE_LEN));
    const hash = this.digest(encoded);
    batch.out.push([hash, encoded]);
    return { hash, kind: INTERNAL };
  }

  /** Builds the subtree at `depth` holding exactly list[lo, hi) (sorted, distinct paths, no deletes). */
  private build(depth: number, list: Item[], lo: number, hi: number, batch: Batch): Ref {
    const n = hi - lo;
    if (n === 0) return EMPTY_REF;
    if (n === 1) {
      const it = list[lo];
      if (it.hash !== undefined) return { hash: it.hash, kind: LEAF };
      const encoded = encodeLeaf(it.path, it.valueHash!, batch.arena.alloc(NODE_LEN));
      const hash = this.digest(encoded);
      batch.out.push([hash, encoded]);
      return { hash, kind: LEAF };
    }
    if (depth >= MAX_DEPTH) throw new Error('state tree: duplicate paths reached max depth');
    const mid = splitPoint(list, lo, hi, depth);
    const left = this.build(depth + 1, list, lo, mid, batch);
    const right = this.build(depth + 1, list, mid, hi, batch);
    const encoded = encodeInternal(left.hash, right.hash, batch.arena.alloc(NODE_LEN));
    const hash = this.digest(encoded);
    batch.out.push([hash, encoded]);
    return { hash, kind: INTERNAL };
  }
}
