/**
 * Shared test helpers for the state tree: hash functions, a seeded PRNG and an independent
 * reference implementation of the root that rebuilds the tree from scratch.
 */
import { createHash } from 'node:crypto';
import { MemoryNodeStore } from '../../src/state/memory-nodes.ts';
import { type HashFn, SparseMerkleTree, type TreeChange } from '../../src/state/smt.ts';

/** SHA-256 as a HashFn. */
export const sha256: HashFn = (d) => createHash('sha256').update(d).digest();
/** SM3 as a HashFn. */
export const sm3: HashFn = (d) => createHash('sm3').update(d).digest();

/** Both production hash functions, for tests that must hold under either crypto profile. */
export const HASHES: Array<[string, HashFn]> = [
  ['sha256', sha256],
  ['sm3', sm3],
];

/**
 * SHA-256 except that 32-byte inputs map to themselves, so a 32-byte state key becomes its own
 * path: lets tests place leaves at chosen paths (down to depth 256). Node encodings are 65
 * bytes and values are never 32 bytes in these tests, so they still hash normally.
 */
export const identityPathHash: HashFn = (d) =>
  d.length === 32 ? Uint8Array.from(d) : createHash('sha256').update(d).digest();

/** Small deterministic PRNG (mulberry32) so failures replay. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** Uniform 32-bit unsigned integer. */
  u32(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return this.u32() % n;
  }
  /** n random bytes. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }
  /** Fisher-Yates shuffle in place. */
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [a[i], a[j]] = [a[j], a[i]];
    }
    return a;
  }
}

/** UTF-8 bytes of a string. */
export function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

/** Lowercase hex (independent of the code under test). */
export function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/**
 * Root of the tree holding `entries` (hex state key -> value), computed from scratch with the
 * written rules and none of the code under test.
 */
export function referenceRoot(hash: HashFn, entries: Map<string, Uint8Array>): Uint8Array {
  const leaves = [...entries].map(([k, v]) => ({
    path: Buffer.from(hash(Buffer.from(k, 'hex'))),
    valueHash: Buffer.from(hash(v)),
  }));
  leaves.sort((a, b) => Buffer.compare(a.path, b.path));
  const bit = (p: Buffer, d: number) => (p[Math.floor(d / 8)] >> (7 - (d % 8))) & 1;
  const rootOf = (ls: typeof leaves, depth: number): Buffer => {
    if (ls.length === 0) return Buffer.alloc(32);
    if (ls.length === 1) {
      return Buffer.from(hash(Buffer.concat([Buffer.from([0]), ls[0].path, ls[0].valueHash])));
    }
    const left = ls.filter((l) => bit(l.path, depth) === 0);
    const right = ls.filter((l) => bit(l.path, depth) === 1);
    const l = rootOf(left, depth + 1);
    const r = rootOf(right, depth + 1);
    return Buffer.from(hash(Buffer.concat([Buffer.from([1]), l, r])));
  };
  return new Uint8Array(rootOf(leaves, 0));
}

/** A tree with its own memory store that persists exactly what each update returns. */
export class Harness {
  readonly store = new MemoryNodeStore();
  readonly tree: SparseMerkleTree;
  readonly hash: HashFn;
  constructor(hash: HashFn) {
    this.hash = hash;
    this.tree = new SparseMerkleTree(hash, this.store);
  }
  /** Applies changes to root, persists the new nodes, returns the new root. */
  apply(root: Uint8Array, changes: TreeChange[]): Uint8Array {
    const res = this.tree.update(root, changes);
    this.store.putAll(res.newNodes);
    return res.root;
  }
}

/** Changes that set every entry of a hex-keyed map. */
export function setsFrom(entries: Map<string, Uint8Array>): TreeChange[] {
  return [...entries].map(([k, v]) => ({ key: Buffer.from(k, 'hex'), value: v }));
}
