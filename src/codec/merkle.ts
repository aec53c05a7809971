/**
 * Binary Merkle root over an ordered list of leaves (tx ids, receipt hashes), with
 * RFC 6962 domain separation (0x00 leaf, 0x01 node) so a leaf can never pass for a node.
 * An odd node at the end of a level is promoted unchanged.
 */
export type HashFn = (data: Uint8Array) => Uint8Array;

const LEAF = Uint8Array.of(0);
const NODE = Uint8Array.of(1);

function cat(a: Uint8Array, b: Uint8Array, c?: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length + (c?.length ?? 0));
  out.set(a, 0);
  out.set(b, a.length);
  if (c) out.set(c, a.length + b.length);
  return out;
}

/** Merkle root of `leaves`; the hash of the empty string for an empty list. */
export function merkleRoot(hash: HashFn, leaves: Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return hash(new Uint8Array(0));
  let level = leaves.map((l) => hash(cat(LEAF, l)));
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) {
      next.push(i + 1 < level.length ? hash(cat(NODE, level[i], level[i + 1])) : level[i]);
    }
    level = next;
  }
  return level[0];
}
