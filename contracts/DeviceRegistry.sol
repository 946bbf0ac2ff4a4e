// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";

import {IDeviceRegistry} from "./interfaces/IDeviceRegistry.sol";
import {ProtocolTypedData} from "./libraries/ProtocolTypedData.sol";

/**
 * @title DeviceRegistry
 * @notice Devices, their key history, feeder and payout wallet, managed by the board.
 */
contract DeviceRegistry is IDeviceRegistry, AccessControl, EIP712 {
    /// @dev validUntil of a key that has no successor yet.
    uint64 private constant OPEN_ENDED = type(uint64).max;

    struct KeyRange {
        address key;
        uint64 validFrom;
        uint64 validUntil;
    }

    /// @dev The first slot (wallet, status, registeredAt) and feederId are all {payoutInfo} reads.
    struct Device {
        address wallet;
        DeviceStatus status;
        uint64 registeredAt;
        bytes32 feederId;
        uint64 revokedAt;
        KeyRange[] keys;
    }

    mapping(address deviceId => Device) private _devices;
    mapping(address deviceId => uint256) private _payoutWalletNonces;

    /// @param board Receives DEFAULT_ADMIN_ROLE.
    constructor(address board) EIP712("Central Electric", "1") {
        _grantRole(DEFAULT_ADMIN_ROLE, board);
    }

    // ---------------------------------------------------------------- board actions

    /// @inheritdoc IDeviceRegistry
    function registerDevice(address deviceId, address key, address wallet, bytes32 feederId)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        if (deviceId == address(0)) revert DeviceIdZero();
        if (key == address(0)) revert DeviceKeyZero(deviceId);
        if (wallet == address(0)) revert DeviceWalletZero(deviceId);
        DeviceStatus status = _devices[deviceId].status;
        if (status != DeviceStatus.None) revert DeviceAlreadyRegistered(deviceId, status);

        _register(deviceId, key, wallet, feederId);
    }

    /// @inheritdoc IDeviceRegistry
    function revokeDevice(address deviceId) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _requireActive(deviceId);

        _revoke(deviceId);
    }

    /// @inheritdoc IDeviceRegistry
    function rotateKey(address deviceId, address newKey, uint64 validFrom) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _requireActive(deviceId);
        if (newKey == address(0)) revert DeviceKeyZero(deviceId);
        KeyRange[] storage keys = _devices[deviceId].keys;
        KeyRange storage latest = keys[keys.length - 1];
        if (latest.key == newKey) revert DeviceKeyUnchanged(deviceId, newKey);
        uint64 earliest = latest.validFrom + 1;
        if (earliest < block.timestamp) earliest = uint64(block.timestamp);
        if (validFrom < earliest) revert DeviceKeyValidFromTooEarly(deviceId, validFrom, earliest);

        _rotateKey(deviceId, newKey, validFrom);
    }

    /// @inheritdoc IDeviceRegistry
    function moveDevice(address deviceId, bytes32 newFeederId) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _requireActive(deviceId);
        if (_devices[deviceId].feederId == newFeederId) revert DeviceFeederUnchanged(deviceId, newFeederId);

        _move(deviceId, newFeederId);
    }

    /// @inheritdoc IDeviceRegistry
    function setPayoutWallet(address deviceId, address newWallet) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _requirePayoutWalletChange(deviceId, newWallet);

        _changePayoutWallet(deviceId, newWallet);
    }

    // ---------------------------------------------------------------- consumer action

    /// @inheritdoc IDeviceRegistry
    function setPayoutWalletWithSig(address deviceId, address newWallet, uint256 deadline, bytes calldata signature)
        external
    {
        if (block.timestamp > deadline) revert PayoutWalletSignatureExpired(deadline, block.timestamp);
        address wallet = _requirePayoutWalletChange(deviceId, newWallet);
        uint256 nonce = _payoutWalletNonces[deviceId];
        bytes32 digest = _hashTypedDataV4(
            ProtocolTypedData.hashPayoutWalletChange(deviceId, newWallet, nonce, deadline)
        );
        if (!SignatureChecker.isValidSignatureNowCalldata(wallet, digest, signature)) {
            revert PayoutWalletSignatureInvalid(deviceId, wallet, nonce);
        }

        _changePayoutWallet(deviceId, newWallet);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IDeviceRegistry
    function getDevice(address deviceId)
        external
        view
        returns (
            DeviceStatus status,
            address wallet,
            bytes32 feederId,
            address currentKey,
            uint64 registeredAt,
            uint64 revokedAt,
            uint256 keyCount
        )
    {
        Device storage device = _devices[deviceId];
        return (
            device.status,
            device.wallet,
            device.feederId,
            _keyValidAt(device.keys, uint64(block.timestamp)),
            device.registeredAt,
            device.revokedAt,
            device.keys.length
        );
    }

    /// @inheritdoc IDeviceRegistry
    function keyAt(address deviceId, uint256 index)
        external
        view
        returns (address key, uint64 validFrom, uint64 validUntil)
    {
        KeyRange[] storage keys = _devices[deviceId].keys;
        if (index >= keys.length) revert DeviceKeyIndexOutOfRange(deviceId, index, keys.length);
        KeyRange storage range = keys[index];
        return (range.key, range.validFrom, range.validUntil);
    }

    /// @inheritdoc IDeviceRegistry
    function keyValidAt(address deviceId, uint64 second) external view returns (address key) {
        return _keyValidAt(_devices[deviceId].keys, second);
    }

    /// @inheritdoc IDeviceRegistry
    function payoutWalletNonce(address deviceId) external view returns (uint256) {
        return _payoutWalletNonces[deviceId];
    }

    /// @inheritdoc IDeviceRegistry
    function payoutInfo(address deviceId) external view returns (address wallet, bytes32 feederId, bool active) {
        Device storage device = _devices[deviceId];
        return (device.wallet, device.feederId, device.status == DeviceStatus.Active);
    }

    // ---------------------------------------------------------------- internal checks

    function _requireActive(address deviceId) private view {
        Device storage device = _devices[deviceId];
        if (device.status == DeviceStatus.None) revert DeviceNotRegistered(deviceId);
        if (device.status == DeviceStatus.Revoked) revert DeviceAlreadyRevoked(deviceId, device.revokedAt);
    }

    /// @dev Returns the current wallet after checking that `newWallet` can replace it.
    function _requirePayoutWalletChange(address deviceId, address newWallet) private view returns (address wallet) {
        Device storage device = _devices[deviceId];
        if (device.status == DeviceStatus.None) revert DeviceNotRegistered(deviceId);
        if (newWallet == address(0)) revert DeviceWalletZero(deviceId);
        wallet = device.wallet;
        if (wallet == newWallet) revert PayoutWalletUnchanged(deviceId, newWallet);
    }

    /// @dev Searches from the newest key back, because lookups are mostly for recent seconds.
    function _keyValidAt(KeyRange[] storage keys, uint64 second) private view returns (address) {
        for (uint256 i = keys.length; i > 0; --i) {
            KeyRange storage range = keys[i - 1];
            if (range.validFrom <= second) {
                return second < range.validUntil ? range.key : address(0);
            }
        }
        return address(0);
    }

    // ---------------------------------------------------------------- state changes

    function _register(address deviceId, address key, address wallet, bytes32 feederId) private {
        uint64 validFrom = uint64(block.timestamp);
        Device storage device = _devices[deviceId];
        device.wallet = wallet;
        device.status = DeviceStatus.Active;
        device.registeredAt = validFrom;
        device.feederId = feederId;
        device.keys.push(KeyRange({key: key, validFrom: validFrom, validUntil: OPEN_ENDED}));

        emit DeviceRegistered(deviceId, wallet, feederId, key, validFrom);
    }

    function _revoke(address deviceId) private {
        uint64 revokedAt = uint64(block.timestamp);
        Device storage device = _devices[deviceId];
        device.status = DeviceStatus.Revoked;
        device.revokedAt = revokedAt;

        emit DeviceRevoked(deviceId, revokedAt);
    }

    function _rotateKey(address deviceId, address newKey, uint64 validFrom) private {
        KeyRange[] storage keys = _devices[deviceId].keys;
        KeyRange storage latest = keys[keys.length - 1];
        address previousKey = latest.key;
        latest.validUntil = validFrom;
        keys.push(KeyRange({key: newKey, validFrom: validFrom, validUntil: OPEN_ENDED}));

        emit DeviceKeyRotated(deviceId, previousKey, newKey, validFrom);
    }

    function _move(address deviceId, bytes32 newFeederId) private {
        Device storage device = _devices[deviceId];
        bytes32 previousFeederId = device.feederId;
        device.feederId = newFeederId;

        emit DeviceMoved(deviceId, previousFeederId, newFeederId);
    }

    /// @dev Every wallet change uses up the nonce, so a signature prepared earlier cannot undo it.
    function _changePayoutWallet(address deviceId, address newWallet) private {
        Device storage device = _devices[deviceId];
        address previousWallet = device.wallet;
        device.wallet = newWallet;
        _payoutWalletNonces[deviceId] += 1;

        emit PayoutWalletChanged(deviceId, previousWallet, newWallet);
    }
}
