// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/**
 * @title IDeviceRegistry
 * @notice Registry of the metering devices whose signed attestations back outage payouts.
 * @dev A device is identified by the address of its first key and keeps that id for life. Each key is
 * valid over a half-open range [validFrom, validUntil) of unix seconds; an open-ended key has
 * validUntil = type(uint64).max. The board (DEFAULT_ADMIN_ROLE) registers, revokes, moves and re-keys
 * devices; the consumer who holds the current payout wallet can move payouts to another wallet with an
 * EIP-712 `PayoutWalletChange` signature in the registry's domain
 * { name: "Central Electric", version: "1", chainId, verifyingContract: registry }.
 */
interface IDeviceRegistry {
    /// @notice Life-cycle state of a device id. A revoked id stays revoked and cannot be registered again.
    enum DeviceStatus {
        None,
        Active,
        Revoked
    }

    /// @notice Thrown when a device id of address(0) is given.
    error DeviceIdZero();

    /// @notice Thrown when `device` is given address(0) as a key.
    error DeviceKeyZero(address device);

    /// @notice Thrown when `device` is given address(0) as its payout wallet.
    error DeviceWalletZero(address device);

    /// @notice Thrown when `device` was registered before, also when it has since been revoked.
    error DeviceAlreadyRegistered(address device, DeviceStatus status);

    /// @notice Thrown when `device` has never been registered.
    error DeviceNotRegistered(address device);

    /// @notice Thrown when a change is requested for `device`, revoked at `revokedAt`.
    error DeviceAlreadyRevoked(address device, uint64 revokedAt);

    /// @notice Thrown when a rotation gives `device` the key it already has as its latest key.
    error DeviceKeyUnchanged(address device, address key);

    /// @notice Thrown when a new key's `validFrom` is before `earliestValidFrom`: the later of the current
    /// block time and one second after the latest key's validFrom.
    error DeviceKeyValidFromTooEarly(address device, uint64 validFrom, uint64 earliestValidFrom);

    /// @notice Thrown when a move gives `device` the feeder it is already on.
    error DeviceFeederUnchanged(address device, bytes32 feederId);

    /// @notice Thrown when a payout wallet change gives `device` the wallet it already pays to.
    error PayoutWalletUnchanged(address device, address wallet);

    /// @notice Thrown when a signed payout wallet change is submitted after its `deadline`.
    error PayoutWalletSignatureExpired(uint256 deadline, uint256 blockTimestamp);

    /// @notice Thrown when the signature over a payout wallet change does not come from `wallet`, the
    /// device's current payout wallet, for the device's current `nonce`.
    error PayoutWalletSignatureInvalid(address device, address wallet, uint256 nonce);

    /// @notice Thrown by {keyAt} when `index` is not below the device's key count.
    error DeviceKeyIndexOutOfRange(address device, uint256 index, uint256 keyCount);

    /**
     * @notice Emitted when the board registers `device` with its first `key`.
     * @param device The device id (the address of its first key).
     * @param wallet The payout wallet.
     * @param feederId The feeder the device is connected to.
     * @param key The first key, equal to `device`'s own address unless the board chose otherwise.
     * @param validFrom Unix second from which `key` signs: the registration block's timestamp.
     */
    event DeviceRegistered(
        address indexed device,
        address indexed wallet,
        bytes32 indexed feederId,
        address key,
        uint64 validFrom
    );

    /**
     * @notice Emitted when the board revokes `device`. Its history stays readable.
     * @param device The device id.
     * @param revokedAt Unix second of the revocation (block timestamp).
     */
    event DeviceRevoked(address indexed device, uint64 revokedAt);

    /**
     * @notice Emitted when `device` gets a new key.
     * @param device The device id.
     * @param previousKey The key whose validUntil became `validFrom`.
     * @param newKey The key valid from `validFrom` on.
     * @param validFrom First unix second signed with `newKey`.
     */
    event DeviceKeyRotated(address indexed device, address previousKey, address newKey, uint64 validFrom);

    /**
     * @notice Emitted when `device` moves to another feeder.
     * @param device The device id.
     * @param previousFeederId The feeder it was on.
     * @param newFeederId The feeder it is on now.
     */
    event DeviceMoved(address indexed device, bytes32 indexed previousFeederId, bytes32 indexed newFeederId);

    /**
     * @notice Emitted when payouts for `device` go to another wallet.
     * @param device The device id.
     * @param previousWallet The wallet paid until now.
     * @param newWallet The wallet paid from now on, debts included.
     */
    event PayoutWalletChanged(address indexed device, address indexed previousWallet, address indexed newWallet);

    /**
     * @notice Registers `deviceId` with its first `key`, payout `wallet` and `feederId`.
     * @dev Requirements: caller has DEFAULT_ADMIN_ROLE; no zero address; the id was never registered.
     * The key is valid from the block's timestamp on. Emits {DeviceRegistered}.
     */
    function registerDevice(address deviceId, address key, address wallet, bytes32 feederId) external;

    /**
     * @notice Revokes `deviceId`: the pool skips its entries from now on.
     * @dev Requirements: caller has DEFAULT_ADMIN_ROLE; the device is active. Emits {DeviceRevoked}.
     */
    function revokeDevice(address deviceId) external;

    /**
     * @notice Gives `deviceId` a new key that signs seconds from `validFrom` on.
     * @dev Requirements: caller has DEFAULT_ADMIN_ROLE; the device is active; `newKey` is not zero and
     * differs from the latest key; `validFrom` >= block.timestamp and > the latest key's validFrom.
     * The latest key's validUntil becomes `validFrom`. Emits {DeviceKeyRotated}.
     */
    function rotateKey(address deviceId, address newKey, uint64 validFrom) external;

    /**
     * @notice Moves `deviceId` to the feeder `newFeederId`.
     * @dev Requirements: caller has DEFAULT_ADMIN_ROLE; the device is active; the feeder differs.
     * Emits {DeviceMoved}.
     */
    function moveDevice(address deviceId, bytes32 newFeederId) external;

    /**
     * @notice Sends future payouts and open debts of `deviceId` to `newWallet`.
     * @dev Requirements: caller has DEFAULT_ADMIN_ROLE; the device is registered (a revoked device too, so
     * debts owed to it can still be delivered); `newWallet` is not zero and differs from the current
     * wallet. Increments the device's payout wallet nonce, so a signed change
     * prepared before this one can no longer be used. Emits {PayoutWalletChanged}.
     */
    function setPayoutWallet(address deviceId, address newWallet) external;

    /**
     * @notice Sends future payouts of `deviceId` to `newWallet`, authorised by the current payout wallet.
     * @dev Anyone may submit. `signature` is an EIP-712 signature of
     * PayoutWalletChange(address deviceId,address newWallet,uint256 nonce,uint256 deadline) with
     * nonce = {payoutWalletNonce}, from the current wallet (ECDSA with low s and v of 27 or 28, or
     * ERC-1271 for a contract wallet). Requirements: block.timestamp <= `deadline`; the device is
     * registered, also when revoked; `newWallet` is not zero and differs. Emits {PayoutWalletChanged}.
     */
    function setPayoutWalletWithSig(address deviceId, address newWallet, uint256 deadline, bytes calldata signature)
        external;

    /**
     * @notice Returns the state of `deviceId`. Every field is zero for an unregistered id.
     * @return status Life-cycle state.
     * @return wallet Current payout wallet.
     * @return feederId Current feeder.
     * @return currentKey Key valid at the current block's timestamp (address(0) when none is).
     * @return registeredAt Unix second of registration.
     * @return revokedAt Unix second of revocation, 0 while active.
     * @return keyCount Number of keys in the history.
     */
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
        );

    /**
     * @notice Returns key number `index` (0 = first) of `deviceId` with its validity range
     * [validFrom, validUntil); validUntil = type(uint64).max while open-ended.
     */
    function keyAt(address deviceId, uint256 index)
        external
        view
        returns (address key, uint64 validFrom, uint64 validUntil);

    /// @notice Returns the key of `deviceId` valid at unix second `second`, or address(0) when none is.
    function keyValidAt(address deviceId, uint64 second) external view returns (address key);

    /// @notice Returns the nonce a signed payout wallet change for `deviceId` must carry next.
    function payoutWalletNonce(address deviceId) external view returns (uint256);

    /**
     * @notice Returns what the pool needs to pay `deviceId`, read from one storage slot and the feeder slot.
     * @return wallet Current payout wallet; address(0) means the device was never registered.
     * @return feederId Current feeder.
     * @return active False once the device is revoked.
     */
    function payoutInfo(address deviceId) external view returns (address wallet, bytes32 feederId, bool active);
}
