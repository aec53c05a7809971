// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";
import {ArchipelagoLightClient} from "./ArchipelagoLightClient.sol";
import {BridgedToken} from "./BridgedToken.sol";
import {PacketJson} from "./PacketJson.sol";
import {SparseMerkle} from "./SparseMerkle.sol";

/**
 * @title ArchipelagoBridge
 * @notice The EVM end of ICS-20 transfers with one Archipelago chain, as Archipelago's `ibc` and
 * `token` contracts do them (docs/INTERCHAIN.md): a packet is received once its commitment is
 * proven under a state root the light client verified; it mints the voucher
 * `transfer/<clientId>/<denom>` to the receiver and writes an ack; a holder burns vouchers to
 * send them back, and the bridge commits to that packet (`commitments`, event `SendPacket`) in
 * the same shape, so the Archipelago side can receive it. A packet sent back is settled by a
 * proven ack from Archipelago (an error ack refunds) or a proven timeout (refund).
 * @dev Nobody is trusted here: relayers bring headers and proofs, the light client checks them.
 */
contract ArchipelagoBridge {
    using PacketJson for PacketJson.Packet;

    /// The port of transfers on every chain (TOKEN_PORT of token-transfer.ts).
    string public constant PORT = "token";
    /// Longest memo a transfer carries (MAX_MEMO_CHARS; counted in bytes here).
    uint256 public constant MAX_MEMO_BYTES = 4096;
    /// Longest denomination (MAX_DENOM_CHARS of denom.ts).
    uint256 public constant MAX_DENOM_BYTES = 512;

    ArchipelagoLightClient public immutable lightClient;
    /// This bridge's client id: Archipelago's packets here name it as `destClient`.
    string public clientId;
    /// Archipelago's client of this EVM chain: packets from there name it as `sourceClient`.
    string public counterpartyClientId;

    /// Next sequence of a packet sent from here.
    uint64 public nextSequence = 1;
    /// Received packets by sequence (never cleared): a second delivery is refused.
    mapping(uint64 sequence => bool) public receipts;
    /// Ack commitments of received packets, sha256 of the ack's canonical JSON.
    mapping(uint64 sequence => bytes32) public acks;
    /// Commitments of packets sent from here, until acked or timed out.
    mapping(uint64 sequence => bytes32) public commitments;
    /// Voucher token by keccak256 of its full denomination.
    mapping(bytes32 denomKey => BridgedToken) public tokens;

    event TokenCreated(string denom, address token);
    event RecvPacket(uint64 indexed sequence, string sourceClient, string destClient);
    event WriteAck(uint64 indexed sequence, bytes ack);
    event Minted(uint64 indexed sequence, address indexed receiver, address token, string denom, uint256 amount);
    event SendPacket(
        uint64 indexed sequence,
        string sourceClient,
        string destClient,
        uint64 timeoutHeight,
        uint64 timeoutTime,
        string sourcePort,
        string destPort,
        bytes data,
        bytes32 commitment
    );
    event SendTransfer(uint64 indexed sequence, address indexed sender, string denom, uint256 amount, string receiver);
    event AckPacket(uint64 indexed sequence, bool success);
    event TimeoutPacket(uint64 indexed sequence);
    event Refunded(uint64 indexed sequence, address indexed sender, string denom, uint256 amount);

    error PacketInvalid(string reason);
    error PacketAlreadyReceived(uint64 sequence);
    error PacketTimedOut(uint64 sequence);
    error PacketUnknown(uint64 sequence);
    error ProofInvalid();
    error TimeoutNotReached(uint64 sequence);
    error DenomUnknown(string denom);
    error TransferInvalid(string reason);

    constructor(ArchipelagoLightClient lightClient_, string memory clientId_, string memory counterpartyClientId_) {
        if (bytes(clientId_).length == 0 || bytes(counterpartyClientId_).length == 0) revert PacketInvalid("client ids");
        lightClient = lightClient_;
        clientId = clientId_;
        counterpartyClientId = counterpartyClientId_;
    }

    // ------------------------------------------------------------------ Archipelago -> EVM

    /**
     * Receives a packet from Archipelago: its commitment must be proven at
     * `ibc/commitments/<sourceClient>/<SEQ>` under the state root verified at `proofHeight`.
     * A transfer mints the voucher to the receiver; one this side cannot honour (a receiver
     * that is no EVM address, another port, a bad amount) gets an error ack, as on Archipelago,
     * so the sender is refunded there. Returns the ack (canonical JSON).
     */
    function recvPacket(PacketJson.Packet calldata packet, SparseMerkle.Proof calldata proof, uint64 proofHeight)
        external
        returns (bytes memory ack)
    {
        PacketJson.Packet memory p = packet;
        if (!_eq(p.destClient, clientId) || !_eq(p.sourceClient, counterpartyClientId)) {
            revert PacketInvalid("not a packet between this bridge and its counterparty");
        }
        if (p.sequence == 0) revert PacketInvalid("sequence");
        if (receipts[p.sequence]) revert PacketAlreadyReceived(p.sequence);
        if (
            (p.timeoutHeight != 0 && block.number >= p.timeoutHeight)
                || (p.timeoutTime != 0 && block.timestamp * 1000 >= p.timeoutTime)
        ) revert PacketTimedOut(p.sequence);
        bytes memory key = bytes.concat("ibc/commitments/", bytes(p.sourceClient), "/", PacketJson.pad20(p.sequence));
        bytes memory value = abi.encodePacked(p.commitment());
        if (!lightClient.verifyState(proofHeight, key, true, value, proof)) revert ProofInvalid();

        receipts[p.sequence] = true;
        emit RecvPacket(p.sequence, p.sourceClient, p.destClient);
        ack = _onRecv(p);
        acks[p.sequence] = sha256(ack);
        emit WriteAck(p.sequence, ack);
    }

    /// The transfer hook: mint the voucher, or an error ack saying why not.
    function _onRecv(PacketJson.Packet memory p) private returns (bytes memory) {
        if (!_eq(p.sourcePort, PORT) || !_eq(p.destPort, PORT)) {
            return PacketJson.errorAck("IBC_PACKET_INVALID: only transfers between token ports cross this bridge");
        }
        (bool okAmount, uint256 amount) = PacketJson.parseAmount(bytes(p.data.amount));
        if (!okAmount) return PacketJson.errorAck("IBC_PACKET_INVALID: transfer data: amount must be a positive decimal below 2^256");
        (bool okTo, address to) = PacketJson.parseAddress(bytes(p.data.receiver));
        if (!okTo || to == address(0)) {
            return PacketJson.errorAck("IBC_PACKET_INVALID: transfer data: receiver must be an EVM address (0x and 40 hex digits)");
        }
        bytes memory denom = bytes(p.data.denom);
        // A denomination that left from here would come home; this bridge issues vouchers only.
        if (denom.length == 0 || PacketJson.startsWith(denom, bytes.concat("transfer/", bytes(clientId), "/"))) {
            return PacketJson.errorAck("IBC_PACKET_INVALID: transfer data: denom must be a denomination of the sending side");
        }
        bytes memory voucher = bytes.concat("transfer/", bytes(clientId), "/", denom);
        if (voucher.length > MAX_DENOM_BYTES) {
            return PacketJson.errorAck("IBC_PACKET_INVALID: transfer data: the voucher's denomination is too long");
        }
        BridgedToken token = tokens[keccak256(voucher)];
        if (address(token) == address(0)) token = _createToken(string(voucher), p.data.denom);
        token.mint(to, amount);
        emit Minted(p.sequence, to, address(token), string(voucher), amount);
        return PacketJson.resultAck(voucher);
    }

    function _createToken(string memory voucher, string memory symbol) private returns (BridgedToken token) {
        token = new BridgedToken{salt: keccak256(bytes(voucher))}(voucher, symbol);
        tokens[keccak256(bytes(voucher))] = token;
        emit TokenCreated(voucher, address(token));
    }

    // ------------------------------------------------------------------ EVM -> Archipelago

    /**
     * Sends `amount` of the voucher `denom` (its full name here) back to `receiver` on
     * Archipelago: burns them from the caller and commits to the packet Archipelago's `token`
     * receives (data `{denom, amount, sender, receiver, memo}`; the denom's path starts with
     * `transfer/<clientId>/`, so there it unescrows). Timeouts are Archipelago's height and
     * block time (ms); at least one is required. Returns the packet's sequence.
     */
    function sendTransfer(
        string calldata denom,
        uint256 amount,
        string calldata receiver,
        uint64 timeoutHeight,
        uint64 timeoutTime,
        string calldata memo
    ) external returns (uint64 sequence) {
        BridgedToken token = tokens[keccak256(bytes(denom))];
        if (address(token) == address(0)) revert DenomUnknown(denom);
        if (amount == 0) revert TransferInvalid("amount must be positive");
        if (!_isAccount(bytes(receiver))) revert TransferInvalid("receiver must be 1..128 printable characters");
        if (bytes(memo).length > MAX_MEMO_BYTES) revert TransferInvalid("memo too long");
        if (timeoutHeight == 0 && timeoutTime == 0) revert TransferInvalid("a timeout is required");
        token.burn(msg.sender, amount);
        sequence = nextSequence++;
        PacketJson.Packet memory p = PacketJson.Packet({
            sequence: sequence,
            sourceClient: clientId,
            destClient: counterpartyClientId,
            timeoutHeight: timeoutHeight,
            timeoutTime: timeoutTime,
            sourcePort: PORT,
            destPort: PORT,
            data: PacketJson.TransferData({
                denom: denom,
                amount: Strings.toString(amount),
                sender: Strings.toHexString(msg.sender),
                receiver: receiver,
                memo: memo
            })
        });
        bytes memory data = p.packetDataJson();
        bytes32 c = PacketJson.commitmentOf(p, data);
        commitments[sequence] = c;
        emit SendPacket(sequence, p.sourceClient, p.destClient, timeoutHeight, timeoutTime, PORT, PORT, data, c);
        emit SendTransfer(sequence, msg.sender, denom, amount, receiver);
    }

    /**
     * Settles a packet sent from here with Archipelago's ack, proven at
     * `ibc/acks/<destClient>/<SEQ>` (= sha256 of the ack's canonical JSON `ack`). An error ack
     * refunds the sender (re-mints what was burned).
     */
    function acknowledgePacket(
        PacketJson.Packet calldata packet,
        bytes calldata ack,
        SparseMerkle.Proof calldata proof,
        uint64 proofHeight
    ) external {
        PacketJson.Packet memory p = _pending(packet);
        bytes memory key = bytes.concat("ibc/acks/", bytes(p.destClient), "/", PacketJson.pad20(p.sequence));
        if (!lightClient.verifyState(proofHeight, key, true, abi.encodePacked(sha256(ack)), proof)) revert ProofInvalid();
        delete commitments[p.sequence];
        bool success = !PacketJson.isErrorAck(ack);
        emit AckPacket(p.sequence, success);
        if (!success) _refund(p);
    }

    /**
     * Settles a packet sent from here that Archipelago never received: the consensus state at
     * `proofHeight` is at or past its timeout and the proof shows `ibc/receipts/<destClient>/<SEQ>`
     * absent there. Refunds the sender.
     */
    function timeoutPacket(PacketJson.Packet calldata packet, SparseMerkle.Proof calldata proof, uint64 proofHeight)
        external
    {
        PacketJson.Packet memory p = _pending(packet);
        ArchipelagoLightClient.ConsensusState memory c = lightClient.consensusState(proofHeight);
        bool reached = (p.timeoutHeight != 0 && proofHeight >= p.timeoutHeight)
            || (p.timeoutTime != 0 && c.time >= p.timeoutTime);
        if (!reached) revert TimeoutNotReached(p.sequence);
        bytes memory key = bytes.concat("ibc/receipts/", bytes(p.destClient), "/", PacketJson.pad20(p.sequence));
        if (!lightClient.verifyState(proofHeight, key, false, "", proof)) revert ProofInvalid();
        delete commitments[p.sequence];
        emit TimeoutPacket(p.sequence);
        _refund(p);
    }

    /// The packet if it was sent from here and is still pending (its commitment matches).
    function _pending(PacketJson.Packet calldata packet) private view returns (PacketJson.Packet memory p) {
        p = packet;
        bytes32 c = commitments[p.sequence];
        if (c == 0 || c != p.commitment()) revert PacketUnknown(p.sequence);
    }

    /// Re-mints a settled packet's amount to its sender (the fields were pinned by the commitment).
    function _refund(PacketJson.Packet memory p) private {
        (, uint256 amount) = PacketJson.parseAmount(bytes(p.data.amount));
        (, address sender) = PacketJson.parseAddress(bytes(p.data.sender));
        tokens[keccak256(bytes(p.data.denom))].mint(sender, amount);
        emit Refunded(p.sequence, sender, p.data.denom, amount);
    }

    // ------------------------------------------------------------------ views

    /// The voucher token of a full denomination here (zero if none was minted yet).
    function tokenOf(string calldata denom) external view returns (address) {
        return address(tokens[keccak256(bytes(denom))]);
    }

    /// The commitment `sha256(sha256(dest) || sha256(timeout) || sha256(data))` of a packet.
    function packetCommitment(PacketJson.Packet calldata packet) external pure returns (bytes32) {
        PacketJson.Packet memory p = packet;
        return p.commitment();
    }

    /// Canonical JSON of a packet's `{sourcePort, destPort, data}`.
    function packetDataJson(PacketJson.Packet calldata packet) external pure returns (bytes memory) {
        PacketJson.Packet memory p = packet;
        return p.packetDataJson();
    }

    function _eq(string memory a, string memory b) private pure returns (bool) {
        return keccak256(bytes(a)) == keccak256(bytes(b));
    }

    /// An account of the other chain as Archipelago's `token` takes it: 1..128 of 0x21..0x7e.
    function _isAccount(bytes memory s) private pure returns (bool) {
        if (s.length == 0 || s.length > 128) return false;
        for (uint256 i; i < s.length; i++) {
            if (uint8(s[i]) < 0x21 || uint8(s[i]) > 0x7e) return false;
        }
        return true;
    }
}
