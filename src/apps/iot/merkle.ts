/**
 * The Merkle tree of a batch's reading ids, whose root the `iot` contract anchors: leaves
 * H(0x00 || id), inner nodes H(0x01 || left || right) (the prefixes keep a leaf from passing
 * for a node), an odd node at the end of a level moves up as it is. H is the chain's hash
 * (SHA-256, or SM3 on a `gm` chain).
 */
import type { CryptoProfile } from '../../crypto/profile.ts';
import { hex, unhex } from '../../types/hex.ts';

/** One step of a path: the sibling's hash and on which side it sits. */
export interface PathStep {
  side: 'left' | 'right';
  hash: string;
}

const LEAF = new Uint8Array([0]);
const NODE = new Uint8Array([1]);

function leafHash(profile: CryptoProfile, id: string): Uint8Array {
  return profile.hashParts([LEAF, unhex(id, 'reading id')]);
}

function levels(profile: CryptoProfile, ids: string[]): Uint8Array[][] {
  if (ids.length === 0) throw new Error('a Merkle tree needs at least one leaf');
  const out = [ids.map((id) => leafHash(profile, id))];
  while (out[out.length - 1].length > 1) {
    const level = out[out.length - 1];
    const up: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) {
      up.push(i + 1 < level.length ? profile.hashParts([NODE, level[i], level[i + 1]]) : level[i]);
    }
    out.push(up);
  }
  return out;
}

/** The root (hex) of the tree over `ids` (hex reading ids, in batch order). */
export function merkleRoot(profile: CryptoProfile, ids: string[]): string {
  const all = levels(profile, ids);
  return hex(all[all.length - 1][0]);
}

/** The path from leaf `index` of the tree over `ids` up to its root. */
export function merklePath(profile: CryptoProfile, ids: string[], index: number): PathStep[] {
  const all = levels(profile, ids);
  const path: PathStep[] = [];
  let i = index;
  for (const level of all.slice(0, -1)) {
    const sibling = i ^ 1;
    if (sibling < level.length) {
      path.push({ side: sibling < i ? 'left' : 'right', hash: hex(level[sibling]) });
    }
    i >>= 1;
  }
  return path;
}

/** Whether `path` leads from reading `id` to `root`. */
export function verifyMerklePath(
  profile: CryptoProfile,
  id: string,
  path: PathStep[],
  root: string,
): boolean {
  try {
    let h = leafHash(profile, id);
    for (const step of path) {
      const s = unhex(step.hash, 'path step');
      h =
        step.side === 'left'
          ? profile.hashParts([NODE, s, h])
          : step.side === 'right'
            ? profile.hashParts([NODE, h, s])
            : new Uint8Array(0);
      if (h.length === 0) return false;
    }
    return hex(h) === root;
  } catch {
    return false;
  }
}
