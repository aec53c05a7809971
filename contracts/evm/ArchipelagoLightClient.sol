// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {P256} from "@openzeppelin/contracts/utils/cryptography/P256.sol";
import {ProtoWire} from "./ProtoWire.sol";
import {SparseMerkle} from "./SparseMerkle.sol";

/**
 * @title ArchipelagoLightClient
 * @notice A light client of one Archipelago chain of the standard profile (P-256, SHA-256), by
 * the Tendermint light-client rules of src/vm/native/ibc/light-client.ts: a header is accepted
 * when precommits of more than 2/3 of its validator set's power verify, the set being the one
 * the trusted header announced (adjacent) or, when skipping, a set in which validators holding
 * more than 1/3 of the trusted set's power signed too. Signatures are checked over the
 * `VoteBody` bytes validators really sign, so consensus needs no change (docs/BRIDGE.md).
 * @dev Validator sets are stored by their hash (the header's `validators_hash`): a relayer
 * sends a set once, when it first appears, and later headers name it by hash.
 */
contract ArchipelagoLightClient {
    /// One validator: its P-256 key, its Archipelago address (sha256(key)[0:20]) and power.
    struct Validator {
        bytes32 x;
        bytes32 y;
        bytes20 addr;
        uint64 power;
    }

    /// What the client keeps of a verified header.
    struct ConsensusState {
        bytes32 blockHash;
        bytes32 stateRoot;
        bytes32 nextValidatorsHash;
        uint64 time;
    }

    /**
     * One precommit of a commit, its DER signature given as (r, s) with s in the lower half
     * (the same signature: (r, n - s) verifies wherever (r, s) does). `index` is the signer's
     * place in the header's set; `trustedIndex` its place in the trusted set when skipping
     * (NOT_TRUSTED if it is not there).
     */
    struct CommitSig {
        uint16 index;
        uint16 trustedIndex;
        uint64 timestamp;
        bytes32 r;
        bytes32 s;
    }

    /**
     * An update: the header bytes, the trusted height, the commit's round and precommits (in
     * increasing `index`), and the encoded `Validator` messages of the header's set and of its
     * next set when the client does not hold them yet (empty otherwise).
     */
    struct Update {
        bytes header;
        uint64 trustedHeight;
        uint32 round;
        CommitSig[] signatures;
        bytes[] validators;
        bytes[] nextValidators;
    }

    enum Result {
        Updated,
        Unchanged,
        Frozen
    }

    enum Status {
        Active,
        Frozen,
        Expired
    }

    uint16 public constant NOT_TRUSTED = type(uint16).max;
    /// Largest validator set (MAX_VALIDATORS of light-client.ts); also what a 256-bit map covers.
    uint256 public constant MAX_VALIDATORS = 256;
    uint256 private constant PRECOMMIT = 2;

    bytes public chainId;
    uint64 public immutable trustingPeriodMs;
    uint64 public immutable maxClockDriftMs;
    uint64 public latestHeight;
    /// 0, or the height at which conflicting headers froze the client.
    uint64 public frozenHeight;

    mapping(uint64 height => ConsensusState) private consensus;
    mapping(bytes32 setHash => Validator[]) private sets;
    mapping(bytes32 setHash => uint256) public totalPowerOf;

    event ValidatorSetRegistered(bytes32 indexed setHash, uint256 size, uint256 totalPower);
    event ClientUpdated(uint64 indexed height, bytes32 blockHash, bytes32 stateRoot);
    event ClientFrozen(uint64 indexed height, bytes32 storedHash, bytes32 conflictingHash);

    error HeaderInvalid(string reason);
    error InsufficientPower(uint256 signed, uint256 total);
    error BadSignature(uint256 index);
    error ValidatorSetUnknown(bytes32 setHash);
    error ValidatorSetInvalid(string reason);
    error ConsensusNotFound(uint64 height);
    error ClientNotActive(Status status);

    /**
     * Trusts `header` (encoded Header bytes of chain `chainId_`) as the first consensus state,
     * as governance's `ibc_create_client` does on Archipelago; the deployer vouches for it.
     * `validators` / `nextValidators` are its sets (encoded), registered now if given.
     */
    constructor(
        bytes memory chainId_,
        uint64 trustingPeriodMs_,
        uint64 maxClockDriftMs_,
        bytes memory header,
        bytes[] memory validators,
        bytes[] memory nextValidators
    ) {
        if (trustingPeriodMs_ == 0 || trustingPeriodMs_ > 31_536_000_000) revert HeaderInvalid("trusting period");
        if (maxClockDriftMs_ > 3_600_000) revert HeaderInvalid("max clock drift");
        chainId = chainId_;
        trustingPeriodMs = trustingPeriodMs_;
        maxClockDriftMs = maxClockDriftMs_;
        ProtoWire.Header memory h = ProtoWire.decodeHeader(header);
        if (keccak256(h.chainId) != keccak256(chainId_)) revert HeaderInvalid("chain id");
        if (h.height == 0 || h.time == 0) revert HeaderInvalid("height or time is zero");
        if (uint256(h.time) + trustingPeriodMs_ <= _nowMs()) revert HeaderInvalid("already expired");
        _registerIfGiven(validators, h.validatorsHash);
        _registerIfGiven(nextValidators, h.nextValidatorsHash);
        bytes32 blockHash = sha256(header);
        consensus[h.height] = ConsensusState(blockHash, h.stateRoot, h.nextValidatorsHash, h.time);
        latestHeight = h.height;
        emit ClientUpdated(h.height, blockHash, h.stateRoot);
    }

    // ------------------------------------------------------------------ validator sets

    /**
     * Stores a validator set under its hash (Merkle root of the encoded `Validator` messages,
     * `validatorsRoot` of src/types/vote.ts) and returns it. Anyone may call it: a set only
     * matters once a verified header names its hash. A set held already is left alone.
     */
    function registerValidatorSet(bytes[] memory encoded) public returns (bytes32 setHash) {
        uint256 n = encoded.length;
        if (n == 0 || n > MAX_VALIDATORS) revert ValidatorSetInvalid("size");
        setHash = validatorsRoot(encoded);
        if (totalPowerOf[setHash] != 0) return setHash;
        Validator[] storage set = sets[setHash];
        uint256 total;
        for (uint256 i; i < n; i++) {
            (bytes32 x, bytes32 y, uint64 power) = ProtoWire.decodeValidator(encoded[i]);
            bytes20 addr = bytes20(sha256(abi.encodePacked(bytes1(0x04), x, y)));
            // Distinct addresses make every index map to one signer (the chain never repeats a key).
            for (uint256 j; j < i; j++) {
                if (set[j].addr == addr) revert ValidatorSetInvalid("a key twice");
            }
            set.push(Validator(x, y, addr, power));
            total += power;
        }
        totalPowerOf[setHash] = total;
        emit ValidatorSetRegistered(setHash, n, total);
    }

    /// Merkle root (RFC 6962 leaves and nodes, sha256; an odd node promoted) of encoded validators.
    function validatorsRoot(bytes[] memory encoded) public pure returns (bytes32) {
        uint256 n = encoded.length;
        if (n == 0) return sha256("");
        bytes32[] memory level = new bytes32[](n);
        for (uint256 i; i < n; i++) {
            level[i] = sha256(abi.encodePacked(bytes1(0x00), encoded[i]));
        }
        while (n > 1) {
            uint256 m;
            for (uint256 i; i < n; i += 2) {
                level[m++] = i + 1 < n ? sha256(abi.encodePacked(bytes1(0x01), level[i], level[i + 1])) : level[i];
            }
            n = m;
        }
        return level[0];
    }

    /// The validators of a registered set, in order.
    function validatorSet(bytes32 setHash) external view returns (Validator[] memory) {
        return sets[setHash];
    }

    function _registerIfGiven(bytes[] memory encoded, bytes32 expected) private {
        if (encoded.length == 0) return;
        if (registerValidatorSet(encoded) != expected) revert ValidatorSetInvalid("does not hash to the header's");
    }

    // ------------------------------------------------------------------ headers

    /**
     * Verifies a header against the consensus state at `trustedHeight` and stores it
     * (Tendermint rules; docs/BRIDGE.md). A header above the latest height must start from the
     * latest height. A second header at a stored height with another hash freezes the client
     * (the tx succeeds, so the freeze stays); the same header is a no-op.
     */
    function updateClient(Update calldata u) external returns (Result) {
        if (frozenHeight != 0) revert ClientNotActive(Status.Frozen);
        ConsensusState memory trusted = consensus[u.trustedHeight];
        if (trusted.time == 0) revert ConsensusNotFound(u.trustedHeight);
        uint256 nowMs = _nowMs();
        if (uint256(trusted.time) + trustingPeriodMs <= nowMs) revert ClientNotActive(Status.Expired);

        ProtoWire.Header memory h = ProtoWire.decodeHeader(u.header);
        if (keccak256(h.chainId) != keccak256(chainId)) revert HeaderInvalid("chain id");
        if (h.height <= u.trustedHeight) revert HeaderInvalid("not above the trusted height");
        if (h.time <= trusted.time) revert HeaderInvalid("not later than the trusted header");
        if (h.time > nowMs + maxClockDriftMs) revert HeaderInvalid("from the future");
        bytes32 blockHash = sha256(u.header);
        // Stricter than Archipelago's client: a new height is reached only from the latest one,
        // so once the client has followed a set change, the old set has no way back in (not by
        // skipping from an older state either). Below the latest height only a stored height
        // may be named: the same header again, or a conflict that freezes the client.
        if (h.height > latestHeight) {
            if (u.trustedHeight != latestHeight) revert HeaderInvalid("new heights are reached from the latest");
        } else if (consensus[h.height].time == 0) {
            revert HeaderInvalid("below the latest height");
        }

        if (u.validators.length != 0) _registerIfGiven(u.validators, h.validatorsHash);
        if (u.nextValidators.length != 0) _registerIfGiven(u.nextValidators, h.nextValidatorsHash);
        bool adjacent = h.height == u.trustedHeight + 1;
        if (adjacent && h.validatorsHash != trusted.nextValidatorsHash) {
            revert HeaderInvalid("validators are not the set the trusted header announced");
        }
        _checkCommit(u, h, blockHash, adjacent ? bytes32(0) : trusted.nextValidatorsHash);

        ConsensusState storage stored = consensus[h.height];
        if (stored.time != 0) {
            if (stored.blockHash == blockHash) return Result.Unchanged;
            frozenHeight = h.height;
            emit ClientFrozen(h.height, stored.blockHash, blockHash);
            return Result.Frozen;
        }
        consensus[h.height] = ConsensusState(blockHash, h.stateRoot, h.nextValidatorsHash, h.time);
        if (h.height > latestHeight) latestHeight = h.height;
        emit ClientUpdated(h.height, blockHash, h.stateRoot);
        return Result.Updated;
    }

    /**
     * Verifies the precommits: more than 2/3 of the header's set's power, and when skipping
     * (`trustedSet` non-zero) more than 1/3 of the trusted set's power among the same signers.
     */
    function _checkCommit(Update calldata u, ProtoWire.Header memory h, bytes32 blockHash, bytes32 trustedSet)
        private
        view
    {
        Validator[] storage set = sets[h.validatorsHash];
        uint256 total = totalPowerOf[h.validatorsHash];
        if (total == 0) revert ValidatorSetUnknown(h.validatorsHash);
        Validator[] storage tset = sets[trustedSet];
        uint256 trustedTotal;
        if (trustedSet != 0) {
            trustedTotal = totalPowerOf[trustedSet];
            if (trustedTotal == 0) revert ValidatorSetUnknown(trustedSet);
        }
        bytes memory prefix =
            ProtoWire.voteBodyPrefix(h.chainId, PRECOMMIT, h.height, u.round, abi.encodePacked(blockHash));
        uint256 signed;
        uint256 trustedSigned;
        uint256 trustedSeen; // bit i: trusted validator i counted
        uint256 next; // indices strictly increase, so each validator counts once
        for (uint256 i; i < u.signatures.length; i++) {
            CommitSig calldata sig = u.signatures[i];
            if (sig.index < next || sig.index >= set.length) revert HeaderInvalid("signature index");
            next = uint256(sig.index) + 1;
            Validator storage v = set[sig.index];
            bytes20 addr = v.addr;
            bytes32 digest = sha256(bytes.concat(prefix, ProtoWire.voteBodySuffix(sig.timestamp, abi.encodePacked(addr))));
            if (!P256.verify(digest, sig.r, sig.s, v.x, v.y)) revert BadSignature(sig.index);
            signed += v.power;
            if (trustedSet != 0 && sig.trustedIndex != NOT_TRUSTED) {
                if (sig.trustedIndex >= tset.length || tset[sig.trustedIndex].addr != addr) {
                    revert HeaderInvalid("trusted index");
                }
                uint256 bit = 1 << sig.trustedIndex;
                if (trustedSeen & bit != 0) revert HeaderInvalid("trusted index twice");
                trustedSeen |= bit;
                trustedSigned += tset[sig.trustedIndex].power;
            }
        }
        if (signed * 3 <= total * 2) revert InsufficientPower(signed, total);
        if (trustedSet != 0 && trustedSigned * 3 <= trustedTotal) {
            revert InsufficientPower(trustedSigned, trustedTotal);
        }
    }

    /// The encoded `VoteBody` (src/types/vote.ts `voteBodyBytes`), as the client signs it.
    function voteBodyBytes(
        bytes calldata chainId_,
        uint8 voteType,
        uint64 height,
        uint32 round,
        bytes calldata blockHash,
        uint64 timestamp,
        bytes calldata validator
    ) external pure returns (bytes memory) {
        return bytes.concat(
            ProtoWire.voteBodyPrefix(chainId_, voteType, height, round, blockHash),
            ProtoWire.voteBodySuffix(timestamp, validator)
        );
    }

    // ------------------------------------------------------------------ state

    /// Active, frozen, or expired (latest consensus state past the trusting period).
    function status() public view returns (Status) {
        if (frozenHeight != 0) return Status.Frozen;
        if (uint256(consensus[latestHeight].time) + trustingPeriodMs <= _nowMs()) return Status.Expired;
        return Status.Active;
    }

    /// The consensus state at `height` (reverts if none).
    function consensusState(uint64 height) public view returns (ConsensusState memory c) {
        c = consensus[height];
        if (c.time == 0) revert ConsensusNotFound(height);
    }

    /**
     * Whether `proof` shows the full state key `key` (e.g. `ibc/commitments/...`) holding
     * `value` (`present`) or absent, under the state root verified at `height`. Reverts unless
     * the client is active and holds that height (`verifyMembership` of ibc/client.ts).
     */
    function verifyState(uint64 height, bytes calldata key, bool present, bytes calldata value, SparseMerkle.Proof calldata proof)
        external
        view
        returns (bool)
    {
        Status s = status();
        if (s != Status.Active) revert ClientNotActive(s);
        ConsensusState memory c = consensusState(height);
        return SparseMerkle.verify(c.stateRoot, key, present, present ? sha256(value) : bytes32(0), proof);
    }

    /// The proof check alone, against any root: what `verifyProof` of src/state/proof.ts answers.
    function verifyProof(bytes32 root, bytes calldata key, bool present, bytes calldata value, SparseMerkle.Proof calldata proof)
        external
        view
        returns (bool)
    {
        return SparseMerkle.verify(root, key, present, present ? sha256(value) : bytes32(0), proof);
    }

    function _nowMs() private view returns (uint256) {
        return block.timestamp * 1000;
    }
}
