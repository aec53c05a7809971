// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title PacketJson
 * @notice The bytes Archipelago hashes for transfer packets and acks: RFC 8785 canonical JSON
 * (`canonicalJsonText` of src/types/json.ts) of fixed shapes, and IBC v2's packet commitment
 * (src/vm/native/ibc/keys.ts `packetCommitment`). Built here from the fields rather than parsed
 * from JSON the relayer sends: one encoding per value, so a commitment that matches pins every
 * field.
 */
library PacketJson {
    /// ICS-20 packet data as Archipelago's `token` contract sends it (all five fields, always).
    struct TransferData {
        string denom;
        string amount;
        string sender;
        string receiver;
        string memo;
    }

    /// A packet as Archipelago's `ibc` contract stores it (`IbcPacket`), data being a transfer.
    struct Packet {
        uint64 sequence;
        string sourceClient;
        string destClient;
        uint64 timeoutHeight;
        uint64 timeoutTime;
        string sourcePort;
        string destPort;
        TransferData data;
    }

    bytes16 private constant HEX = "0123456789abcdef";

    /**
     * A string as JSON.stringify writes it: `"` and `\` escaped, \b \t \n \f \r by name, other
     * control characters as \u00xx (lower-case hex), every other byte as it is.
     */
    function quote(bytes memory s) internal pure returns (bytes memory out) {
        uint256 extra;
        for (uint256 i; i < s.length; i++) {
            uint8 c = uint8(s[i]);
            if (c == 0x22 || c == 0x5c || c == 0x08 || c == 0x09 || c == 0x0a || c == 0x0c || c == 0x0d) extra += 1;
            else if (c < 0x20) extra += 5;
        }
        out = new bytes(s.length + extra + 2);
        out[0] = '"';
        uint256 o = 1;
        for (uint256 i; i < s.length; i++) {
            bytes1 c = s[i];
            uint8 u = uint8(c);
            if (u >= 0x20 && u != 0x22 && u != 0x5c) {
                out[o++] = c;
                continue;
            }
            out[o++] = "\\";
            if (u == 0x22 || u == 0x5c) out[o++] = c;
            else if (u == 0x08) out[o++] = "b";
            else if (u == 0x09) out[o++] = "t";
            else if (u == 0x0a) out[o++] = "n";
            else if (u == 0x0c) out[o++] = "f";
            else if (u == 0x0d) out[o++] = "r";
            else {
                out[o++] = "u";
                out[o++] = "0";
                out[o++] = "0";
                out[o++] = HEX[u >> 4];
                out[o++] = HEX[u & 15];
            }
        }
        out[o] = '"';
    }

    /// Canonical JSON of `{sourcePort, destPort, data}`: what the commitment's third hash covers.
    function packetDataJson(Packet memory p) internal pure returns (bytes memory) {
        TransferData memory d = p.data;
        bytes memory data = bytes.concat(
            '{"amount":',
            quote(bytes(d.amount)),
            ',"denom":',
            quote(bytes(d.denom)),
            ',"memo":',
            quote(bytes(d.memo)),
            ',"receiver":',
            quote(bytes(d.receiver)),
            ',"sender":',
            quote(bytes(d.sender)),
            "}"
        );
        return bytes.concat(
            '{"data":', data, ',"destPort":', quote(bytes(p.destPort)), ',"sourcePort":', quote(bytes(p.sourcePort)), "}"
        );
    }

    /// IBC v2's commitment `sha256(sha256(dest) || sha256(timeout) || sha256(data))` of `p`.
    function commitment(Packet memory p) internal pure returns (bytes32) {
        return commitmentOf(p, packetDataJson(p));
    }

    /// The commitment of `p` whose data JSON is already built.
    function commitmentOf(Packet memory p, bytes memory dataJson) internal pure returns (bytes32) {
        return sha256(
            abi.encodePacked(
                sha256(bytes(p.destClient)),
                sha256(abi.encodePacked(p.timeoutHeight, p.timeoutTime)),
                sha256(dataJson)
            )
        );
    }

    /// A successful transfer ack, `{"result":{"denom":...}}` (what `onRecv` answers).
    function resultAck(bytes memory denom) internal pure returns (bytes memory) {
        return bytes.concat('{"result":{"denom":', quote(denom), "}}");
    }

    /// An error ack, `{"error":"CODE: message"}`.
    function errorAck(bytes memory codeAndMessage) internal pure returns (bytes memory) {
        return bytes.concat('{"error":', quote(codeAndMessage), "}");
    }

    /// Whether `ack` (canonical JSON) is an error ack: its only key is "error".
    function isErrorAck(bytes memory ack) internal pure returns (bool) {
        bytes memory prefix = '{"error":';
        if (ack.length < prefix.length) return false;
        for (uint256 i; i < prefix.length; i++) if (ack[i] != prefix[i]) return false;
        return true;
    }

    /// A sequence or height as 20 zero-padded decimal digits (`pad` of ibc/keys.ts).
    function pad20(uint64 n) internal pure returns (bytes memory out) {
        out = new bytes(20);
        for (uint256 i = 20; i > 0; i--) {
            out[i - 1] = bytes1(uint8(48 + (n % 10)));
            n /= 10;
        }
    }

    /// A positive decimal amount without leading zeros as uint256; ok false otherwise or on overflow.
    function parseAmount(bytes memory s) internal pure returns (bool ok, uint256 v) {
        if (s.length == 0 || s.length > 78 || s[0] == "0") return (false, 0);
        for (uint256 i; i < s.length; i++) {
            uint8 c = uint8(s[i]);
            if (c < 48 || c > 57) return (false, 0);
            if (v > (type(uint256).max - (c - 48)) / 10) return (false, 0);
            v = v * 10 + (c - 48);
        }
        return (true, v);
    }

    /// An EVM address written as 0x and 40 hex digits (either case); ok false otherwise.
    function parseAddress(bytes memory s) internal pure returns (bool ok, address a) {
        if (s.length != 42 || s[0] != "0" || (s[1] != "x" && s[1] != "X")) return (false, address(0));
        uint160 v;
        for (uint256 i = 2; i < 42; i++) {
            uint8 c = uint8(s[i]);
            uint8 d;
            if (c >= 48 && c <= 57) d = c - 48;
            else if (c >= 97 && c <= 102) d = c - 87;
            else if (c >= 65 && c <= 70) d = c - 55;
            else return (false, address(0));
            v = (v << 4) | d;
        }
        return (true, address(v));
    }

    /// Whether `s` starts with `prefix`.
    function startsWith(bytes memory s, bytes memory prefix) internal pure returns (bool) {
        if (s.length < prefix.length) return false;
        for (uint256 i; i < prefix.length; i++) if (s[i] != prefix[i]) return false;
        return true;
    }
}
