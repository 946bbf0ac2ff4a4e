// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {AutomationCompatibleInterface} from
    "@chainlink/contracts/src/v0.8/automation/interfaces/AutomationCompatibleInterface.sol";
import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";

/**
 * @title IPayoutPool
 * @notice Pool, funded by the electricity board, that pays consumers for each attested second of power cut.
 * @dev An oracle committee signs batches of entries (deviceId, fromSecond, toSecond), each a run of
 * contiguous off-seconds, inclusive. The pool turns the off-seconds of an outage into an amount with the
 * compensation schedule in force when the outage started:
 * C(d) = floor(sum over tiers of ratePerHour * (off-seconds of [0, d) inside the tier) / 3600),
 * and an entry is owed C(after) - C(before), so any split of an outage into entries and batches pays the
 * same total to the wei. When the pool cannot pay, the unpaid part becomes a debt; debts are paid
 * strictly in the order they were recorded, to the device's wallet at the time of payment.
 *
 * EIP-712 domain of batch reports: { name: "Central Electric", version: "1", chainId, verifyingContract: pool }.
 * Types: BatchReport(bytes32 configDigest,uint64 sequence,bytes32 attestationsRoot,Entry[] entries)
 * Entry(address deviceId,uint64 fromSecond,uint64 toSecond).
 */
interface IPayoutPool is AutomationCompatibleInterface {
    /// @notice One run of contiguous off-seconds of a device, both ends inclusive, in unix seconds.
    struct Entry {
        address deviceId;
        uint64 fromSecond;
        uint64 toSecond;
    }

    /// @notice A batch of entries signed by the oracle committee.
    /// @param configDigest Digest of the committee configuration the signers work under.
    /// @param sequence Batch number, exactly one above the last accepted batch.
    /// @param attestationsRoot Merkle root of the device attestations behind the entries (bytes32(0) if none).
    /// @param entries Off-second runs to pay.
    struct BatchReport {
        bytes32 configDigest;
        uint64 sequence;
        bytes32 attestationsRoot;
        Entry[] entries;
    }

    /// @notice One step of a compensation schedule: from `startOffsetSeconds` off-seconds into an outage
    /// on, each off-second pays ratePerHour / 3600 (amounts in token base units, or in rupee wei when a
    /// price feed converts them).
    struct Tier {
        uint64 startOffsetSeconds;
        uint128 ratePerHour;
    }

    /// @notice Why an entry of a batch was skipped without paying or advancing anything.
    enum SkipReason {
        DeviceRevoked
    }

    // ---------------------------------------------------------------- batch errors

    /// @notice Thrown when a batch report names another committee configuration than the current one.
    error ConfigDigestMismatch(bytes32 expected, bytes32 actual);

    /// @notice Thrown when a batch's sequence is not exactly one above the last accepted batch.
    error UnexpectedBatchSequence(uint64 expected, uint64 actual);

    /// @notice Thrown when two signatures of a batch recover to the same committee member.
    error DuplicateSigner(address signer);

    /// @notice Thrown when a signature of a batch recovers to an address outside the committee. A report
    /// signed for another chain's or another pool's domain lands here, because its digest differs.
    error UnknownSigner(address signer);

    /// @notice Thrown when a batch carries fewer than `threshold` signatures.
    error NotEnoughSignatures(uint256 count, uint256 threshold);

    /// @notice Thrown when an entry names a device the registry has never registered.
    error DeviceNotRegistered(address device);

    /// @notice Thrown when an entry ends before it starts.
    error InvalidEntryRange(address device, uint64 fromSecond, uint64 toSecond);

    /// @notice Thrown when an entry starts at or before `settledUntil`, the last second already settled.
    error IntervalAlreadySettled(address device, uint64 fromSecond, uint64 settledUntil);

    /// @notice Thrown when an entry ends after the current block's timestamp.
    error EntryInFuture(address device, uint64 toSecond, uint256 blockTimestamp);

    // ---------------------------------------------------------------- configuration errors

    /// @notice Thrown when a committee has no signers or more than `maxSigners`.
    error CommitteeSizeInvalid(uint256 signerCount, uint256 maxSigners);

    /// @notice Thrown when a threshold is 0 or above the number of signers.
    error CommitteeThresholdInvalid(uint8 threshold, uint256 signerCount);

    /// @notice Thrown when committee signer number `index` is address(0).
    error CommitteeSignerZero(uint256 index);

    /// @notice Thrown when `signer` appears twice in a committee.
    error CommitteeSignerDuplicate(address signer);

    /// @notice Thrown when a schedule has no tiers or more than `maxTiers`.
    error ScheduleTierCountInvalid(uint256 tierCount, uint256 maxTiers);

    /// @notice Thrown when a schedule's first tier does not start at offset 0.
    error ScheduleFirstTierNotAtZero(uint64 startOffsetSeconds);

    /// @notice Thrown when tier `index` does not start after the tier before it.
    error ScheduleTiersNotAscending(uint256 index, uint64 previousStartOffsetSeconds, uint64 startOffsetSeconds);

    /// @notice Thrown when a schedule's merge gap is 0, which would split every outage at each entry.
    error ScheduleMergeGapZero();

    // ---------------------------------------------------------------- funds errors

    /// @notice Thrown when an amount of 0 is funded or withdrawn.
    error PoolAmountZero();

    /// @notice Thrown when a transfer would go to address(0).
    error PoolRecipientZero();

    /// @notice Thrown when a withdrawal asks for more than the part of the balance that is not owed.
    error PoolWithdrawalExceedsAvailable(uint256 amountWei, uint256 availableWei);

    /// @notice Thrown when nothing is held for `device`.
    error PoolNothingHeld(address device);

    /// @notice Thrown by {performUpkeep} when no debt is open or no funds are free to pay one.
    error PoolUpkeepNotNeeded(uint256 openDebts, uint256 availableWei);

    // ---------------------------------------------------------------- price feed errors

    /// @notice Thrown when the price feed's latest round was updated at `updatedAt`, more than
    /// `maxAgeSeconds` before `blockTimestamp`.
    error StalePrice(uint256 updatedAt, uint256 maxAgeSeconds, uint256 blockTimestamp);

    /// @notice Thrown when the price feed's latest round is not complete: it has no update time or was
    /// answered in an earlier round.
    error IncompleteRound(uint80 roundId, uint80 answeredInRound, uint256 updatedAt);

    /// @notice Thrown when the price feed reports a price of zero or below.
    error InvalidPrice(int256 answer);

    // ---------------------------------------------------------------- events

    /// @notice Emitted when `funder` adds `amountWei` to the pool.
    event PoolFunded(address indexed funder, uint256 amountWei);

    /// @notice Emitted when the board withdraws `amountWei` of the unowed balance to `to`.
    event PoolWithdrawn(address indexed to, uint256 amountWei);

    /**
     * @notice Emitted when the committee changes.
     * @param configDigest keccak256(abi.encode(configCount, chainid, pool, signers, threshold)).
     * @param configCount Number of committee configurations so far, this one included.
     * @param signers The committee members.
     * @param threshold Signatures needed per batch.
     */
    event ConfigSet(bytes32 configDigest, uint64 configCount, address[] signers, uint8 threshold);

    /**
     * @notice Emitted when a compensation schedule is added.
     * @param scheduleId Index of the schedule (0 = the one set at deployment).
     * @param effectiveFrom Outages whose first off-second is at or after this unix second use it.
     * @param tiers The tiers, ordered by start offset.
     * @param mergeGapSeconds Gaps shorter than this continue an outage; longer ones start a new one.
     * @param dailyCapPerDevice Most a device is owed per UTC day before any price conversion (0 = no cap).
     */
    event ScheduleSet(
        uint256 indexed scheduleId, uint64 effectiveFrom, Tier[] tiers, uint32 mergeGapSeconds, uint128 dailyCapPerDevice
    );

    /// @notice Emitted when the price feed changes; address(0) turns conversion off.
    event PriceFeedSet(address indexed feed, uint32 maxAgeSeconds);

    /**
     * @notice Emitted for each settled entry.
     * @param device The device id.
     * @param wallet The payout wallet at settlement.
     * @param feederId The device's feeder at settlement.
     * @param batchSequence The batch the entry came in.
     * @param outageStart First off-second of the outage the entry belongs to.
     * @param offSecondsBefore Off-seconds of the outage settled before this entry.
     * @param fromSecond First off-second of the entry.
     * @param toSecond Last off-second of the entry (inclusive).
     * @param amountOwed What the entry earns, in token base units.
     * @param amountPaid What was transferred now.
     * @param amountDeferred What was recorded as a debt (amountOwed - amountPaid).
     */
    event OutageSettled(
        address indexed device,
        address indexed wallet,
        bytes32 indexed feederId,
        uint64 batchSequence,
        uint64 outageStart,
        uint64 offSecondsBefore,
        uint64 fromSecond,
        uint64 toSecond,
        uint256 amountOwed,
        uint256 amountPaid,
        uint256 amountDeferred
    );

    /// @notice Emitted for an entry the pool skipped: nothing is paid and the device's state is unchanged.
    event EntrySkipped(
        uint64 indexed batchSequence, address indexed device, uint64 fromSecond, uint64 toSecond, SkipReason reason
    );

    /**
     * @notice Emitted once per accepted batch, after its entries.
     * @param sequence The batch sequence.
     * @param attestationsRoot Merkle root of the attestations behind the batch.
     * @param entryCount Entries in the batch, skipped ones included.
     * @param totalOwed Sum of amountOwed of the settled entries.
     * @param totalPaid Sum of amountPaid of the settled entries.
     */
    event BatchSettled(
        uint64 indexed sequence, bytes32 attestationsRoot, uint256 entryCount, uint256 totalOwed, uint256 totalPaid
    );

    /// @notice Emitted when `amountWei` owed to `device` could not be paid and joins the debt queue as `debtId`.
    event DebtRecorded(uint256 indexed debtId, address indexed device, uint256 amountWei);

    /// @notice Emitted when `amountWei` of debt `debtId` is paid to `wallet`; `remainingWei` is still owed.
    event DebtPaid(
        uint256 indexed debtId, address indexed device, address indexed wallet, uint256 amountWei, uint256 remainingWei
    );

    /**
     * @notice Emitted when the transfer paying debt `debtId` to `wallet` failed: `amountWei` leaves the
     * queue and is held for `device`, so the debts behind it are not blocked. {releaseHeld} pays it later.
     */
    event DebtHeld(uint256 indexed debtId, address indexed device, address indexed wallet, uint256 amountWei);

    /// @notice Emitted when the amount held for `device` is paid to its current `wallet`.
    event HeldReleased(address indexed device, address indexed wallet, uint256 amountWei);

    // ---------------------------------------------------------------- funding

    /**
     * @notice Adds `amountWei` tokens from the caller to the pool; the caller must have approved the pool.
     * @dev Counts what the pool actually received. Emits {PoolFunded}.
     */
    function fund(uint256 amountWei) external;

    /**
     * @notice Adds `amountWei` tokens from the caller, approving them with an ERC-2612 permit first.
     * @dev A permit that fails (for example because it was already used from the mempool) is ignored when
     * the allowance is already enough. Emits {PoolFunded}.
     */
    function fundWithPermit(uint256 amountWei, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external;

    /**
     * @notice Sends `amountWei` of the balance that is not owed to `to`.
     * @dev Requirements: caller has DEFAULT_ADMIN_ROLE; amountWei <= balance - totalDebt. Emits {PoolWithdrawn}.
     */
    function withdraw(address to, uint256 amountWei) external;

    /**
     * @notice Winds the pool down: pauses it and sends all of the balance that is not owed to `to`.
     * @dev Requirements: caller has DEFAULT_ADMIN_ROLE. Debts stay payable. Emits {Paused} and, when
     * something is available, {PoolWithdrawn}.
     */
    function windDown(address to) external;

    // ---------------------------------------------------------------- configuration

    /**
     * @notice Replaces the oracle committee with `signers`, of which `threshold` must sign each batch.
     * @dev Requirements: caller has DEFAULT_ADMIN_ROLE; 1 <= signers.length <= 255; no zero or repeated
     * signer; 1 <= threshold <= signers.length. Emits {ConfigSet} with the new digest.
     */
    function setCommittee(address[] calldata signers, uint8 threshold) external;

    /**
     * @notice Adds a compensation schedule for outages that start at or after the current block's timestamp.
     * @dev Requirements: caller has DEFAULT_ADMIN_ROLE; 1 to 16 tiers, the first at offset 0, offsets strictly
     * ascending; mergeGapSeconds > 0. Outages already started keep their schedule. Emits {ScheduleSet}.
     */
    function setSchedule(Tier[] calldata tiers, uint32 mergeGapSeconds, uint128 dailyCapPerDevice) external;

    /**
     * @notice Converts amounts with `feed` from now on: the schedule's amounts are read as rupees with 18
     * decimals and the feed as the price of one whole token in rupees. address(0) turns conversion off.
     * @dev Requirements: caller has DEFAULT_ADMIN_ROLE. Emits {PriceFeedSet}.
     */
    function setPriceFeed(AggregatorV3Interface feed, uint32 maxAgeSeconds) external;

    /// @notice Stops accepting batches. Requirements: caller has DEFAULT_ADMIN_ROLE.
    function pause() external;

    /// @notice Accepts batches again. Requirements: caller has DEFAULT_ADMIN_ROLE.
    function unpause() external;

    // ---------------------------------------------------------------- settlement

    /**
     * @notice Settles a batch signed by at least `threshold` committee members.
     * @dev Requirements: not paused; report.configDigest is the current digest; report.sequence is
     * {lastBatchSequence} + 1; `signatures` hold at least threshold signatures, each 65 bytes in canonical
     * form (low s, v of 27 or 28) from a distinct committee member, over the EIP-712 BatchReport.
     * For each entry: the device is registered, fromSecond <= toSecond, fromSecond is after the device's
     * last settled second and toSecond <= block.timestamp; these revert, because only a faulty oracle
     * produces them. A revoked device's entry is skipped with {EntrySkipped}. A transfer that fails, or a
     * pool that is short, turns the unpaid part into a debt instead of failing the batch.
     * Emits {OutageSettled} per settled entry, {DebtRecorded} per debt and {BatchSettled}.
     */
    function settle(BatchReport calldata report, bytes[] calldata signatures) external;

    /**
     * @notice Pays up to `maxDebts` open debts in the order they were recorded, to each device's current
     * wallet, while funds that are not held last; the last one may be paid in part.
     * @dev Anyone may call. A failed transfer moves that amount to the device's held balance ({DebtHeld}).
     * @return debtsProcessed Debts paid in full, in part, or moved to held.
     */
    function payDebts(uint256 maxDebts) external returns (uint256 debtsProcessed);

    /**
     * @notice Pays the amount held for `device` to its current wallet.
     * @dev Anyone may call. Reverts when the transfer fails. Emits {HeldReleased}.
     */
    function releaseHeld(address device) external;

    // ---------------------------------------------------------------- views

    /// @notice Returns the token the pool pays in.
    function token() external view returns (address);

    /// @notice Returns the device registry the pool reads wallets and feeders from.
    function registry() external view returns (address);

    /// @notice Returns the pool's token balance.
    function balance() external view returns (uint256);

    /// @notice Returns the sum of amounts received through {fund} and {fundWithPermit}.
    function totalFunded() external view returns (uint256);

    /// @notice Returns the sum of amounts transferred to wallets (settlements, debts and held releases).
    function totalPaid() external view returns (uint256);

    /// @notice Returns the sum of amounts withdrawn by the board.
    function totalWithdrawn() external view returns (uint256);

    /// @notice Returns everything owed but not yet paid: open debts plus held amounts.
    function totalDebt() external view returns (uint256);

    /// @notice Returns the amount held for `device` after a failed debt payment.
    function heldFor(address device) external view returns (uint256);

    /// @notice Returns the ids of the first open debt and of the next debt to be recorded; the queue is
    /// empty when they are equal.
    function debtQueue() external view returns (uint256 firstOpenDebtId, uint256 nextDebtId);

    /// @notice Returns debt `debtId`: its device and the amount still owed (0 once paid).
    function debt(uint256 debtId) external view returns (address device, uint256 remainingWei);

    /**
     * @notice Estimates how long the funds that are not owed last at the current payout rate.
     * @dev The rate is the amount owed by the most recent batches (up to 8) after the oldest of them,
     * divided by the block time between the oldest and the newest. It is an estimate: it assumes outages
     * keep their recent pace. With fewer than two batches or no time between them the rate is 0.
     * @return availableWei balance - totalDebt, or 0 when the debts exceed the balance.
     * @return owedPerHour The estimated payout rate in token base units per hour.
     * @return runwaySeconds availableWei / rate; type(uint256).max when the rate is 0.
     */
    function runway() external view returns (uint256 availableWei, uint256 owedPerHour, uint256 runwaySeconds);

    /**
     * @notice Returns the state of `device`'s current (or last) outage, enough for a wallet to show the
     * amount growing between batches.
     * @return lastSettledSecond Last off-second settled (0 before the first entry).
     * @return outageStart First off-second of the outage (0 before the first entry).
     * @return offSeconds Off-seconds of the outage settled so far.
     * @return owedInOutage C(offSeconds) under the outage's schedule, before any daily cap or conversion.
     * @return ratePerHour Rate of the tier the next off-second of the outage falls in.
     * @return scheduleId The schedule the outage uses.
     */
    function deviceState(address device)
        external
        view
        returns (
            uint64 lastSettledSecond,
            uint64 outageStart,
            uint64 offSeconds,
            uint256 owedInOutage,
            uint256 ratePerHour,
            uint256 scheduleId
        );

    /// @notice Returns schedule `scheduleId`.
    function schedule(uint256 scheduleId)
        external
        view
        returns (uint64 effectiveFrom, Tier[] memory tiers, uint32 mergeGapSeconds, uint128 dailyCapPerDevice);

    /// @notice Returns the number of schedules set so far.
    function scheduleCount() external view returns (uint256);

    /// @notice Returns the current committee, its threshold, digest and configuration count.
    function committee()
        external
        view
        returns (address[] memory signers, uint8 threshold, bytes32 configDigest, uint64 configCount);

    /// @notice Returns the sequence of the last accepted batch (0 before the first).
    function lastBatchSequence() external view returns (uint64);

    /// @notice Returns the price feed (address(0) when amounts are not converted) and its maximum age.
    function priceFeed() external view returns (address feed, uint32 maxAgeSeconds);

    /// @notice Returns the EIP-712 digest the committee signs for `report`.
    function hashBatchReport(BatchReport calldata report) external view returns (bytes32);
}
