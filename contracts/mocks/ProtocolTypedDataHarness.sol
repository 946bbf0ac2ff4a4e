// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IPayoutPool} from "../interfaces/IPayoutPool.sol";
import {ProtocolTypedData} from "../libraries/ProtocolTypedData.sol";

/**
 * @title ProtocolTypedDataHarness
 * @notice Exposes the EIP-712 struct hashes of {ProtocolTypedData} so tests can compare them with ethers.
 */
contract ProtocolTypedDataHarness {
    function hashAttestation(address deviceId, uint64 second, uint64 seq) external pure returns (bytes32) {
        return ProtocolTypedData.hashAttestation(deviceId, second, seq);
    }

    function hashRestoration(address deviceId, uint64 second, uint64 seq) external pure returns (bytes32) {
        return ProtocolTypedData.hashRestoration(deviceId, second, seq);
    }

    function hashHello(address deviceId, bytes32 challenge) external pure returns (bytes32) {
        return ProtocolTypedData.hashHello(deviceId, challenge);
    }

    function hashPayoutWalletChange(address deviceId, address newWallet, uint256 nonce, uint256 deadline)
        external
        pure
        returns (bytes32)
    {
        return ProtocolTypedData.hashPayoutWalletChange(deviceId, newWallet, nonce, deadline);
    }

    function hashEntry(IPayoutPool.Entry calldata entry) external pure returns (bytes32) {
        return ProtocolTypedData.hashEntry(entry);
    }

    function hashBatchReport(IPayoutPool.BatchReport calldata report) external pure returns (bytes32) {
        return ProtocolTypedData.hashBatchReport(report);
    }
}
