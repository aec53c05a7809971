// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title SparseMerkle
 * @notice Verifies proofs of Archipelago's state tree (src/state/proof.ts) on standard chains
 * (SHA-256): path = H(stateKey); leaf = H(0x00 || path || H(value)); internal =
 * H(0x01 || left || right); an empty subtree is 32 zero bytes; path bits are read most
 * significant first, bit 0 going left. The checks are those of `verifyProof`, in its order, so
 * exactly the proofs a node serves verify here, membership and non-membership alike.
 */
library SparseMerkle {
    /// Largest proof depth: paths have 256 bits.
    uint256 internal constant MAX_DEPTH = 256;

    /**
     * A proof as `StateProofJson` carries it: `siblings[d]` is the sibling hash at depth d from
     * the root down; `hasLeaf` says whether the walk met a leaf (`leafPath`, `leafValueHash`).
     */
    struct Proof {
        bytes32[] siblings;
        bool hasLeaf;
        bytes32 leafPath;
        bytes32 leafValueHash;
    }

    /**
     * Whether `proof` shows `key` holding a value whose hash is `valueHash` under `root`
     * (`present`), or `key` absent (`!present`, `valueHash` ignored). Never reverts.
     */
    function verify(bytes32 root, bytes memory key, bool present, bytes32 valueHash, Proof memory proof)
        internal
        view
        returns (bool)
    {
        uint256 depth = proof.siblings.length;
        if (depth > MAX_DEPTH) return false;
        bytes32 path = sha256(key);
        bytes32 node;
        if (proof.hasLeaf) {
            // The leaf must sit in the key's subtree: it shares the key's first `depth` bits.
            if (depth > 0 && (uint256(proof.leafPath ^ path) >> (256 - depth)) != 0) return false;
            bool member = proof.leafPath == path;
            if (!present) {
                if (member) return false;
            } else if (!member || proof.leafValueHash != valueHash) {
                return false;
            }
            // A leaf next to an empty sibling would have been collapsed into its parent's place.
            if (depth > 0 && proof.siblings[depth - 1] == 0) return false;
            node = sha256(abi.encodePacked(bytes1(0x00), proof.leafPath, proof.leafValueHash));
        } else {
            if (present) return false;
            // Two empty children never form an internal node, so this walk would have stopped higher.
            if (depth > 0 && proof.siblings[depth - 1] == 0) return false;
        }
        for (uint256 d = depth; d > 0; d--) {
            bytes32 sibling = proof.siblings[d - 1];
            node = (uint256(path) >> (256 - d)) & 1 == 1
                ? sha256(abi.encodePacked(bytes1(0x01), sibling, node))
                : sha256(abi.encodePacked(bytes1(0x01), node, sibling));
        }
        return node == root;
    }
}
