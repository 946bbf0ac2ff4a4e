// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IPayoutPool} from "../interfaces/IPayoutPool.sol";

/**
 * @title ProtocolTypedData
 * @notice EIP-712 type hashes and struct hashes of every message of the Central Electric protocol.
 * @dev The type strings must match the off-chain definitions byte for byte; a test compares the hashes
 * with ethers' TypedDataEncoder.
 */
library ProtocolTypedData {
    bytes32 internal constant ATTESTATION_TYPEHASH =
        keccak256("Attestation(address deviceId,uint64 second,uint64 seq)");

    bytes32 internal constant RESTORATION_TYPEHASH =
        keccak256("Restoration(address deviceId,uint64 second,uint64 seq)");

    bytes32 internal constant HELLO_TYPEHASH = keccak256("Hello(address deviceId,bytes32 challenge)");

    bytes32 internal constant PAYOUT_WALLET_CHANGE_TYPEHASH =
        keccak256("PayoutWalletChange(address deviceId,address newWallet,uint256 nonce,uint256 deadline)");

    bytes32 internal constant ENTRY_TYPEHASH = keccak256("Entry(address deviceId,uint64 fromSecond,uint64 toSecond)");

    bytes32 internal constant BATCH_REPORT_TYPEHASH = keccak256(
        "BatchReport(bytes32 configDigest,uint64 sequence,bytes32 attestationsRoot,Entry[] entries)"
        "Entry(address deviceId,uint64 fromSecond,uint64 toSecond)"
    );

    /// @notice Returns hashStruct of an Attestation.
    function hashAttestation(address deviceId, uint64 second, uint64 seq) internal pure returns (bytes32) {
        return keccak256(abi.encode(ATTESTATION_TYPEHASH, deviceId, second, seq));
    }

    /// @notice Returns hashStruct of a Restoration; `second` is the first second with power back.
    function hashRestoration(address deviceId, uint64 second, uint64 seq) internal pure returns (bytes32) {
        return keccak256(abi.encode(RESTORATION_TYPEHASH, deviceId, second, seq));
    }

    /// @notice Returns hashStruct of a Hello.
    function hashHello(address deviceId, bytes32 challenge) internal pure returns (bytes32) {
        return keccak256(abi.encode(HELLO_TYPEHASH, deviceId, challenge));
    }

    /// @notice Returns hashStruct of a PayoutWalletChange.
    function hashPayoutWalletChange(address deviceId, address newWallet, uint256 nonce, uint256 deadline)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(PAYOUT_WALLET_CHANGE_TYPEHASH, deviceId, newWallet, nonce, deadline));
    }

    /// @notice Returns hashStruct of one Entry.
    function hashEntry(IPayoutPool.Entry calldata entry) internal pure returns (bytes32) {
        return keccak256(abi.encode(ENTRY_TYPEHASH, entry.deviceId, entry.fromSecond, entry.toSecond));
    }

    /// @notice Returns hashStruct of a BatchReport.
    function hashBatchReport(IPayoutPool.BatchReport calldata report) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                BATCH_REPORT_TYPEHASH,
                report.configDigest,
                report.sequence,
                report.attestationsRoot,
                hashEntries(report.entries)
            )
        );
    }

    /**
     * @notice Returns the EIP-712 encoding of an Entry[] member: keccak256 of the concatenated entry hashes.
     * @dev Hashes straight from calldata in memory past the free memory pointer, which is left unchanged, so
     * a batch of n entries costs no memory growth beyond one word per entry. An Entry is static (three
     * words), so its calldata words are the values abi.encode would produce as long as their high bits
     * are clean. PayoutPool.settle reads every field of every entry, and the ABI decoder reverts there on
     * dirty high bits, so a settled entry always matches the hash that was signed.
     */
    function hashEntries(IPayoutPool.Entry[] calldata entries) internal pure returns (bytes32 result) {
        bytes32 entryTypeHash = ENTRY_TYPEHASH;
        assembly ("memory-safe") {
            let count := entries.length
            let hashes := mload(0x40)
            let encoded := add(hashes, mul(count, 0x20))
            mstore(encoded, entryTypeHash)
            for { let i := 0 } lt(i, count) { i := add(i, 1) } {
                calldatacopy(add(encoded, 0x20), add(entries.offset, mul(i, 0x60)), 0x60)
                mstore(add(hashes, mul(i, 0x20)), keccak256(encoded, 0x80))
            }
            result := keccak256(hashes, mul(count, 0x20))
        }
    }
}
