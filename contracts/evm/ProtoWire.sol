// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title ProtoWire
 * @notice The few protobuf wire rules the light client needs: reading the fields of an
 * Archipelago `Header` and `Validator` (proto/archipelago/v1/chain.proto) and writing the
 * `VoteBody` a validator signs for a precommit, byte for byte as protobuf-es does.
 * @dev Reading takes the last occurrence of a field, as protobuf-es does, skips unknown fields,
 * and reverts on anything it cannot read (groups, a known field of the wrong wire type, a
 * truncated value, a varint above 2^64): a refusal only costs liveness, while reading a value
 * other than the one validators decoded would cost safety.
 */
library ProtoWire {
    error ProtoMalformed(uint256 offset);

    uint256 private constant VARINT = 0;
    uint256 private constant FIXED64 = 1;
    uint256 private constant LEN = 2;
    uint256 private constant FIXED32 = 5;

    /// The fields of a header the light client uses (block hash = sha256 of the whole bytes).
    struct Header {
        bytes chainId;
        uint64 height;
        uint64 time;
        bytes32 stateRoot;
        bytes32 validatorsHash;
        bytes32 nextValidatorsHash;
    }

    /// Reads a varint at `p`; returns it and the offset after it.
    function readVarint(bytes memory b, uint256 p) internal pure returns (uint256 v, uint256 next) {
        uint256 shift;
        while (true) {
            if (p >= b.length || shift > 63) revert ProtoMalformed(p);
            uint256 c = uint8(b[p]);
            p++;
            v |= (c & 0x7f) << shift;
            if (c < 0x80) break;
            shift += 7;
        }
        if (v > type(uint64).max) revert ProtoMalformed(p);
        return (v, p);
    }

    /// Reads a field key at `p`: field number, wire type, offset after it.
    function readKey(bytes memory b, uint256 p) internal pure returns (uint256 field, uint256 wire, uint256 next) {
        uint256 key;
        (key, next) = readVarint(b, p);
        field = key >> 3;
        wire = key & 7;
        if (field == 0) revert ProtoMalformed(p);
    }

    /// Offset and length of a length-delimited value at `p`; reverts if it runs past the end.
    function readLen(bytes memory b, uint256 p) internal pure returns (uint256 start, uint256 len) {
        (len, start) = readVarint(b, p);
        if (start + len > b.length) revert ProtoMalformed(p);
    }

    /// Offset after the value of an unknown field of wire type `wire` starting at `p`.
    function skip(bytes memory b, uint256 p, uint256 wire) internal pure returns (uint256) {
        if (wire == VARINT) {
            (, p) = readVarint(b, p);
            return p;
        }
        if (wire == LEN) {
            (uint256 start, uint256 len) = readLen(b, p);
            return start + len;
        }
        uint256 size = wire == FIXED64 ? 8 : wire == FIXED32 ? 4 : 0;
        if (size == 0 || p + size > b.length) revert ProtoMalformed(p);
        return p + size;
    }

    /// Bytes [start, start + len) of `b`.
    function slice(bytes memory b, uint256 start, uint256 len) internal pure returns (bytes memory out) {
        out = new bytes(len);
        assembly ("memory-safe") {
            mcopy(add(out, 0x20), add(add(b, 0x20), start), len)
        }
    }

    /// A 32-byte field's value; reverts on any other length (decodeHeader refuses those too).
    function hash32(bytes memory b, uint256 start, uint256 len) private pure returns (bytes32 h) {
        if (len != 32) revert ProtoMalformed(start);
        assembly ("memory-safe") {
            h := mload(add(add(b, 0x20), start))
        }
    }

    /// The light client's fields of an encoded `Header`.
    function decodeHeader(bytes memory b) internal pure returns (Header memory h) {
        uint256 p;
        uint256 seen; // bit n: field n occurred
        while (p < b.length) {
            (uint256 field, uint256 wire, uint256 q) = readKey(b, p);
            if (field < 256) seen |= 1 << field;
            if (field == 2 || field == 3) {
                if (wire != VARINT) revert ProtoMalformed(p);
                uint256 v;
                (v, q) = readVarint(b, q);
                if (field == 2) h.height = uint64(v);
                else h.time = uint64(v);
            } else if (field == 1 || field == 6 || field == 8 || field == 13) {
                if (wire != LEN) revert ProtoMalformed(p);
                (uint256 start, uint256 len) = readLen(b, q);
                q = start + len;
                if (field == 1) h.chainId = slice(b, start, len);
                else if (field == 6) h.stateRoot = hash32(b, start, len);
                else if (field == 8) h.validatorsHash = hash32(b, start, len);
                else h.nextValidatorsHash = hash32(b, start, len);
            } else {
                q = skip(b, q, wire);
            }
            p = q;
        }
        // An absent root field decodes as empty bytes, which decodeHeader refuses: so do we.
        uint256 roots = (1 << 6) | (1 << 8) | (1 << 13);
        if (seen & roots != roots) revert ProtoMalformed(b.length);
    }

    /**
     * The P-256 public key (x, y) and power of an encoded `Validator`. The key must be an
     * uncompressed point (0x04 || x || y), as the standard profile's keys are.
     */
    function decodeValidator(bytes memory b) internal pure returns (bytes32 x, bytes32 y, uint64 power) {
        uint256 p;
        bool hasKey;
        while (p < b.length) {
            (uint256 field, uint256 wire, uint256 q) = readKey(b, p);
            if (field == 3) {
                if (wire != LEN) revert ProtoMalformed(p);
                (uint256 start, uint256 len) = readLen(b, q);
                if (len != 65 || b[start] != 0x04) revert ProtoMalformed(start);
                assembly ("memory-safe") {
                    let at := add(add(b, 0x21), start)
                    x := mload(at)
                    y := mload(add(at, 0x20))
                }
                hasKey = true;
                q = start + len;
            } else if (field == 4) {
                if (wire != VARINT) revert ProtoMalformed(p);
                uint256 v;
                (v, q) = readVarint(b, q);
                power = uint64(v);
            } else if (field == 1 || field == 2) {
                if (wire != LEN) revert ProtoMalformed(p);
                (uint256 start, uint256 len) = readLen(b, q);
                q = start + len;
            } else {
                q = skip(b, q, wire);
            }
            p = q;
        }
        if (!hasKey || power == 0) revert ProtoMalformed(0);
    }

    /// A varint's bytes.
    function varint(uint256 v) internal pure returns (bytes memory out) {
        uint256 n = 1;
        for (uint256 t = v >> 7; t != 0; t >>= 7) n++;
        out = new bytes(n);
        for (uint256 i; i < n; i++) {
            out[i] = bytes1(uint8((v & 0x7f) | (i + 1 < n ? 0x80 : 0)));
            v >>= 7;
        }
    }

    /// A varint field (key then value), or nothing for 0 (proto3 omits default values).
    function varintField(uint256 field, uint256 v) internal pure returns (bytes memory) {
        if (v == 0) return "";
        return bytes.concat(varint(field << 3), varint(v));
    }

    /// A length-delimited field, or nothing when empty (proto3 omits default values).
    function bytesField(uint256 field, bytes memory v) internal pure returns (bytes memory) {
        if (v.length == 0) return "";
        return bytes.concat(varint((field << 3) | LEN), varint(v.length), v);
    }

    /**
     * The start of an encoded `VoteBody` (fields 1-5: chain id, type, height, round, block
     * hash): the same for every precommit of one commit, so built once per header.
     */
    function voteBodyPrefix(bytes memory chainId, uint256 voteType, uint64 height, uint32 round, bytes memory blockHash)
        internal
        pure
        returns (bytes memory)
    {
        return bytes.concat(
            bytesField(1, chainId),
            varintField(2, voteType),
            varintField(3, height),
            varintField(4, round),
            bytesField(5, blockHash)
        );
    }

    /// The rest of an encoded `VoteBody` (fields 6-7: the validator's timestamp and address).
    function voteBodySuffix(uint64 timestamp, bytes memory validator) internal pure returns (bytes memory) {
        return bytes.concat(varintField(6, timestamp), bytesField(7, validator));
    }
}
