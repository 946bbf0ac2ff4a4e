// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {IDeviceRegistry} from "./interfaces/IDeviceRegistry.sol";
import {IPayoutPool} from "./interfaces/IPayoutPool.sol";
import {CompensationMath} from "./libraries/CompensationMath.sol";
import {ProtocolTypedData} from "./libraries/ProtocolTypedData.sol";

/**
 * @title PayoutPool
 * @notice Pays consumers per attested second of power cut from funds the board puts in, on batches signed
 * by an oracle committee; records what it cannot pay as debts and pays them in order later.
 */
contract PayoutPool is IPayoutPool, AccessControl, Pausable, ReentrancyGuardTransient, EIP712 {
    using SafeERC20 for IERC20;

    uint256 private constant MAX_SIGNERS = 255;
    uint256 private constant MAX_TIERS = 16;
    uint256 private constant SECONDS_PER_DAY = 86_400;
    uint256 private constant SECONDS_PER_HOUR = 3600;
    uint256 private constant RECENT_BATCHES = 8;
    uint256 private constant UPKEEP_MAX_DEBTS = 50;
    uint256 private constant RUPEE_UNIT = 1e18;

    /// @dev Per-device outage state, one storage slot. capDay is the UTC day (second / 86400) that
    /// `_owedOnCapDay` counts for; it only moves while the outage's schedule has a daily cap.
    struct DeviceOutage {
        uint64 lastSettledSecond;
        uint64 outageStart;
        uint64 offSeconds;
        uint32 scheduleId;
        uint32 capDay;
    }

    /// @dev One storage slot per schedule; the tiers are stored apart.
    struct ScheduleHeader {
        uint64 effectiveFrom;
        uint32 mergeGapSeconds;
        uint128 dailyCapPerDevice;
    }

    struct Debt {
        address device;
        uint256 remainingWei;
    }

    /// @dev A schedule copied to memory once per batch, or again when an entry's outage uses another one.
    struct CachedSchedule {
        uint256 id;
        uint32 mergeGapSeconds;
        uint128 dailyCapPerDevice;
        Tier[] tiers;
    }

    /// @dev State carried through the entries of one batch. `availableWei` only matters while no debt is queued.
    struct BatchContext {
        uint64 sequence;
        bool debtQueued;
        uint256 availableWei;
        uint256 priceNumerator;
        uint256 priceDenominator;
        uint256 totalOwed;
        uint256 totalPaid;
        CachedSchedule schedule;
    }

    /// @dev The fields of one OutageSettled event, kept together to stay within the EVM stack.
    struct Settlement {
        address device;
        address wallet;
        bytes32 feederId;
        uint64 outageStart;
        uint64 offSecondsBefore;
        uint64 fromSecond;
        uint64 toSecond;
        uint256 amountOwed;
        uint256 amountPaid;
    }

    IERC20 private immutable _token;
    IDeviceRegistry private immutable _registry;
    /// @dev 10 ** token decimals, used to convert rupee amounts with a price feed.
    uint256 private immutable _tokenUnit;

    address[] private _signers;
    mapping(address signer => uint256) private _signerPosition;
    bytes32 private _configDigest;
    uint64 private _configCount;
    uint8 private _threshold;
    uint64 private _lastBatchSequence;

    ScheduleHeader[] private _scheduleHeaders;
    mapping(uint256 scheduleId => Tier[]) private _scheduleTiers;

    AggregatorV3Interface private _priceFeed;
    uint32 private _priceMaxAgeSeconds;
    uint8 private _priceFeedDecimals;

    mapping(address device => DeviceOutage) private _outages;
    mapping(address device => uint256) private _owedOnCapDay;

    uint256 private _totalFunded;
    uint256 private _totalPaid;
    uint256 private _totalWithdrawn;
    uint256 private _queuedDebtWei;
    uint256 private _heldTotalWei;
    mapping(address device => uint256) private _held;
    mapping(uint256 debtId => Debt) private _debts;
    uint64 private _firstOpenDebtId;
    uint64 private _nextDebtId;

    /// @dev Ring of the most recent batches: block timestamp in the top 64 bits, amount owed below.
    uint256[RECENT_BATCHES] private _recentBatches;

    /**
     * @param token_ The ERC-20 the pool pays in.
     * @param registry_ The device registry.
     * @param board Receives DEFAULT_ADMIN_ROLE.
     * @param signers The oracle committee.
     * @param threshold Signatures needed per batch.
     * @param tiers The first compensation schedule, in force for every outage until changed.
     * @param mergeGapSeconds Gaps shorter than this continue an outage.
     * @param dailyCapPerDevice Most a device is owed per UTC day (0 = no cap).
     */
    constructor(
        IERC20 token_,
        IDeviceRegistry registry_,
        address board,
        address[] memory signers,
        uint8 threshold,
        Tier[] memory tiers,
        uint32 mergeGapSeconds,
        uint128 dailyCapPerDevice
    ) EIP712("Central Electric", "1") {
        if (address(token_) == address(0) || address(registry_) == address(0) || board == address(0)) {
            revert PoolRecipientZero();
        }
        _token = token_;
        _registry = registry_;
        _tokenUnit = 10 ** _readDecimals(token_);
        _grantRole(DEFAULT_ADMIN_ROLE, board);

        _checkCommittee(signers, threshold);
        _setCommittee(signers, threshold);

        _checkSchedule(tiers, mergeGapSeconds);
        _addSchedule(tiers, mergeGapSeconds, dailyCapPerDevice, 0);
    }

    // ================================================================ funding

    /// @inheritdoc IPayoutPool
    function fund(uint256 amountWei) external nonReentrant {
        _fund(msg.sender, amountWei);
    }

    /// @inheritdoc IPayoutPool
    function fundWithPermit(uint256 amountWei, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
        nonReentrant
    {
        // A permit copied from the mempool and used first makes this call fail; the allowance it set is
        // then already in place, and transferFrom in _fund still rejects a missing allowance.
        try IERC20Permit(address(_token)).permit(msg.sender, address(this), amountWei, deadline, v, r, s) {} catch {}

        _fund(msg.sender, amountWei);
    }

    /// @inheritdoc IPayoutPool
    function withdraw(address to, uint256 amountWei) external onlyRole(DEFAULT_ADMIN_ROLE) nonReentrant {
        if (to == address(0)) revert PoolRecipientZero();
        if (amountWei == 0) revert PoolAmountZero();
        uint256 available = _available();
        if (amountWei > available) revert PoolWithdrawalExceedsAvailable(amountWei, available);

        _withdraw(to, amountWei);
    }

    /// @inheritdoc IPayoutPool
    function windDown(address to) external onlyRole(DEFAULT_ADMIN_ROLE) nonReentrant {
        if (to == address(0)) revert PoolRecipientZero();

        if (!paused()) _pause();
        uint256 available = _available();
        if (available > 0) _withdraw(to, available);
    }

    // ================================================================ configuration

    /// @inheritdoc IPayoutPool
    function setCommittee(address[] calldata signers, uint8 threshold) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _checkCommittee(signers, threshold);

        _setCommittee(signers, threshold);
    }

    /// @inheritdoc IPayoutPool
    function setSchedule(Tier[] calldata tiers, uint32 mergeGapSeconds, uint128 dailyCapPerDevice)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        _checkSchedule(tiers, mergeGapSeconds);

        _addSchedule(tiers, mergeGapSeconds, dailyCapPerDevice, uint64(block.timestamp));
    }

    /// @inheritdoc IPayoutPool
    function setPriceFeed(AggregatorV3Interface feed, uint32 maxAgeSeconds) external onlyRole(DEFAULT_ADMIN_ROLE) {
        uint8 feedDecimals = address(feed) == address(0) ? 0 : feed.decimals();

        _setPriceFeed(feed, maxAgeSeconds, feedDecimals);
    }

    /// @inheritdoc IPayoutPool
    function pause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        _pause();
    }

    /// @inheritdoc IPayoutPool
    function unpause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        _unpause();
    }

    // ================================================================ settlement

    /// @inheritdoc IPayoutPool
    function settle(BatchReport calldata report, bytes[] calldata signatures) external nonReentrant whenNotPaused {
        _verifyReport(report, signatures);

        _acceptBatch(report.sequence);

        BatchContext memory context = _openBatch(report.sequence);
        uint256 entryCount = report.entries.length;
        for (uint256 i = 0; i < entryCount; ++i) {
            _settleEntry(context, report.entries[i]);
        }

        _closeBatch(context);

        emit BatchSettled(report.sequence, report.attestationsRoot, entryCount, context.totalOwed, context.totalPaid);
    }

    /// @inheritdoc IPayoutPool
    function payDebts(uint256 maxDebts) external nonReentrant returns (uint256 debtsProcessed) {
        return _payDebts(maxDebts);
    }

    /// @inheritdoc IPayoutPool
    function releaseHeld(address device) external nonReentrant {
        uint256 amountWei = _held[device];
        if (amountWei == 0) revert PoolNothingHeld(device);
        (address wallet,,) = _registry.payoutInfo(device);

        _releaseHeld(device, wallet, amountWei);
    }

    /**
     * @notice Reports whether open debts can be paid now.
     * @dev Chainlink Automation calls this off chain. performData is unused and returned empty.
     */
    function checkUpkeep(bytes calldata) external view returns (bool upkeepNeeded, bytes memory performData) {
        upkeepNeeded = _firstOpenDebtId < _nextDebtId && _freeBalance() > 0;
        performData = "";
    }

    /**
     * @notice Pays up to 50 open debts, the same as {payDebts}(50).
     * @dev Checks again that there is work, because anyone can call it. Reverts with
     * {PoolUpkeepNotNeeded} otherwise.
     */
    function performUpkeep(bytes calldata) external nonReentrant {
        uint256 openDebts = _nextDebtId - _firstOpenDebtId;
        uint256 free = _freeBalance();
        if (openDebts == 0 || free == 0) revert PoolUpkeepNotNeeded(openDebts, free);

        _payDebts(UPKEEP_MAX_DEBTS);
    }

    // ================================================================ views

    /// @inheritdoc IPayoutPool
    function token() external view returns (address) {
        return address(_token);
    }

    /// @inheritdoc IPayoutPool
    function registry() external view returns (address) {
        return address(_registry);
    }

    /// @inheritdoc IPayoutPool
    function balance() external view returns (uint256) {
        return _token.balanceOf(address(this));
    }

    /// @inheritdoc IPayoutPool
    function totalFunded() external view returns (uint256) {
        return _totalFunded;
    }

    /// @inheritdoc IPayoutPool
    function totalPaid() external view returns (uint256) {
        return _totalPaid;
    }

    /// @inheritdoc IPayoutPool
    function totalWithdrawn() external view returns (uint256) {
        return _totalWithdrawn;
    }

    /// @inheritdoc IPayoutPool
    function totalDebt() external view returns (uint256) {
        return _queuedDebtWei + _heldTotalWei;
    }

    /// @inheritdoc IPayoutPool
    function heldFor(address device) external view returns (uint256) {
        return _held[device];
    }

    /// @inheritdoc IPayoutPool
    function debtQueue() external view returns (uint256 firstOpenDebtId, uint256 nextDebtId) {
        return (_firstOpenDebtId, _nextDebtId);
    }

    /// @inheritdoc IPayoutPool
    function debt(uint256 debtId) external view returns (address device, uint256 remainingWei) {
        Debt storage record = _debts[debtId];
        return (record.device, record.remainingWei);
    }

    /// @inheritdoc IPayoutPool
    function runway() external view returns (uint256 availableWei, uint256 owedPerHour, uint256 runwaySeconds) {
        availableWei = _available();
        runwaySeconds = type(uint256).max;

        uint256 batches = _lastBatchSequence < RECENT_BATCHES ? _lastBatchSequence : RECENT_BATCHES;
        if (batches < 2) return (availableWei, 0, runwaySeconds);

        uint256 oldestSequence = _lastBatchSequence - batches + 1;
        uint256 oldestTimestamp = _recentBatches[oldestSequence % RECENT_BATCHES] >> 192;
        uint256 newestTimestamp = _recentBatches[_lastBatchSequence % RECENT_BATCHES] >> 192;
        uint256 owedSinceOldest;
        for (uint256 sequence = oldestSequence + 1; sequence <= _lastBatchSequence; ++sequence) {
            owedSinceOldest += uint192(_recentBatches[sequence % RECENT_BATCHES]);
        }
        uint256 elapsedSeconds = newestTimestamp - oldestTimestamp;
        if (elapsedSeconds == 0 || owedSinceOldest == 0) return (availableWei, 0, runwaySeconds);

        owedPerHour = owedSinceOldest * SECONDS_PER_HOUR / elapsedSeconds;
        runwaySeconds = Math.mulDiv(availableWei, elapsedSeconds, owedSinceOldest);
    }

    /// @inheritdoc IPayoutPool
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
        )
    {
        DeviceOutage memory outage = _outages[device];
        Tier[] memory tiers = _scheduleTiers[outage.scheduleId];
        return (
            outage.lastSettledSecond,
            outage.outageStart,
            outage.offSeconds,
            CompensationMath.amountAt(tiers, outage.offSeconds),
            CompensationMath.rateAt(tiers, outage.offSeconds),
            outage.scheduleId
        );
    }

    /// @inheritdoc IPayoutPool
    function schedule(uint256 scheduleId)
        external
        view
        returns (uint64 effectiveFrom, Tier[] memory tiers, uint32 mergeGapSeconds, uint128 dailyCapPerDevice)
    {
        ScheduleHeader memory header = _scheduleHeaders[scheduleId];
        return (header.effectiveFrom, _scheduleTiers[scheduleId], header.mergeGapSeconds, header.dailyCapPerDevice);
    }

    /// @inheritdoc IPayoutPool
    function scheduleCount() external view returns (uint256) {
        return _scheduleHeaders.length;
    }

    /// @inheritdoc IPayoutPool
    function committee()
        external
        view
        returns (address[] memory signers, uint8 threshold, bytes32 configDigest, uint64 configCount)
    {
        return (_signers, _threshold, _configDigest, _configCount);
    }

    /// @inheritdoc IPayoutPool
    function lastBatchSequence() external view returns (uint64) {
        return _lastBatchSequence;
    }

    /// @inheritdoc IPayoutPool
    function priceFeed() external view returns (address feed, uint32 maxAgeSeconds) {
        return (address(_priceFeed), _priceMaxAgeSeconds);
    }

    /// @inheritdoc IPayoutPool
    function hashBatchReport(BatchReport calldata report) external view returns (bytes32) {
        return _hashTypedDataV4(ProtocolTypedData.hashBatchReport(report));
    }

    // ================================================================ checks

    function _checkCommittee(address[] memory signers, uint8 threshold) private pure {
        uint256 count = signers.length;
        if (count == 0 || count > MAX_SIGNERS) revert CommitteeSizeInvalid(count, MAX_SIGNERS);
        if (threshold == 0 || threshold > count) revert CommitteeThresholdInvalid(threshold, count);
        for (uint256 i = 0; i < count; ++i) {
            if (signers[i] == address(0)) revert CommitteeSignerZero(i);
            for (uint256 j = 0; j < i; ++j) {
                if (signers[j] == signers[i]) revert CommitteeSignerDuplicate(signers[i]);
            }
        }
    }

    function _checkSchedule(Tier[] memory tiers, uint32 mergeGapSeconds) private pure {
        uint256 count = tiers.length;
        if (count == 0 || count > MAX_TIERS) revert ScheduleTierCountInvalid(count, MAX_TIERS);
        if (tiers[0].startOffsetSeconds != 0) revert ScheduleFirstTierNotAtZero(tiers[0].startOffsetSeconds);
        for (uint256 i = 1; i < count; ++i) {
            if (tiers[i].startOffsetSeconds <= tiers[i - 1].startOffsetSeconds) {
                revert ScheduleTiersNotAscending(i, tiers[i - 1].startOffsetSeconds, tiers[i].startOffsetSeconds);
            }
        }
        if (mergeGapSeconds == 0) revert ScheduleMergeGapZero();
    }

    /// @dev Checks the digest, the sequence and that at least threshold distinct committee members signed.
    function _verifyReport(BatchReport calldata report, bytes[] calldata signatures) private view {
        bytes32 expectedDigest = _configDigest;
        if (report.configDigest != expectedDigest) revert ConfigDigestMismatch(expectedDigest, report.configDigest);
        uint64 expectedSequence = _lastBatchSequence + 1;
        if (report.sequence != expectedSequence) revert UnexpectedBatchSequence(expectedSequence, report.sequence);
        uint256 threshold = _threshold;
        if (signatures.length < threshold) revert NotEnoughSignatures(signatures.length, threshold);

        bytes32 digest = _hashTypedDataV4(ProtocolTypedData.hashBatchReport(report));
        uint256 seenPositions;
        for (uint256 i = 0; i < signatures.length; ++i) {
            // recoverCalldata rejects signatures that are not 65 bytes, have a high s or a v other than 27/28.
            address signer = ECDSA.recoverCalldata(digest, signatures[i]);
            uint256 position = _signerPosition[signer];
            if (position == 0) revert UnknownSigner(signer);
            uint256 bit = 1 << position;
            if (seenPositions & bit != 0) revert DuplicateSigner(signer);
            seenPositions |= bit;
        }
    }

    /// @dev Reads the latest price and returns the factors that turn rupee wei into token base units.
    function _readPrice() private view returns (uint256 numerator, uint256 denominator) {
        (uint80 roundId, int256 answer,, uint256 updatedAt, uint80 answeredInRound) = _priceFeed.latestRoundData();
        if (updatedAt == 0 || answeredInRound < roundId) revert IncompleteRound(roundId, answeredInRound, updatedAt);
        if (updatedAt < block.timestamp && block.timestamp - updatedAt > _priceMaxAgeSeconds) {
            revert StalePrice(updatedAt, _priceMaxAgeSeconds, block.timestamp);
        }
        if (answer <= 0) revert InvalidPrice(answer);

        numerator = _tokenUnit * 10 ** _priceFeedDecimals;
        denominator = RUPEE_UNIT * uint256(answer);
    }

    function _readDecimals(IERC20 token_) private view returns (uint8) {
        try IERC20Metadata(address(token_)).decimals() returns (uint8 decimals) {
            return decimals;
        } catch {
            return 18;
        }
    }

    /// @dev Balance not owed to anyone: what the board may withdraw.
    function _available() private view returns (uint256) {
        uint256 poolBalance = _token.balanceOf(address(this));
        uint256 owed = _queuedDebtWei + _heldTotalWei;
        return poolBalance > owed ? poolBalance - owed : 0;
    }

    /// @dev Balance not set aside for held amounts: what debts and settlements may use.
    function _freeBalance() private view returns (uint256) {
        uint256 poolBalance = _token.balanceOf(address(this));
        uint256 held = _heldTotalWei;
        return poolBalance > held ? poolBalance - held : 0;
    }

    /// @dev Latest schedule in force at `second`. Schedule 0 is in force from second 0, so the search ends.
    function _scheduleIdAt(uint64 second) private view returns (uint256 scheduleId) {
        scheduleId = _scheduleHeaders.length - 1;
        while (_scheduleHeaders[scheduleId].effectiveFrom > second) {
            --scheduleId;
        }
    }

    function _loadSchedule(CachedSchedule memory cached, uint256 scheduleId) private view {
        ScheduleHeader memory header = _scheduleHeaders[scheduleId];
        cached.id = scheduleId;
        cached.mergeGapSeconds = header.mergeGapSeconds;
        cached.dailyCapPerDevice = header.dailyCapPerDevice;
        cached.tiers = _scheduleTiers[scheduleId];
    }

    // ================================================================ settlement steps

    function _openBatch(uint64 sequence) private view returns (BatchContext memory context) {
        context.sequence = sequence;
        context.debtQueued = _firstOpenDebtId < _nextDebtId;
        context.availableWei = _freeBalance();
        if (address(_priceFeed) != address(0)) {
            (context.priceNumerator, context.priceDenominator) = _readPrice();
        }
        _loadSchedule(context.schedule, _scheduleHeaders.length - 1);
    }

    /**
     * @dev Settles one entry. The order differs from check-effect-emit-interact in one place: the token
     * transfer comes before the event, because whether it succeeds decides amountPaid and whether a debt is
     * recorded. The device's state is written before the transfer and every entry point is nonReentrant.
     */
    function _settleEntry(BatchContext memory context, Entry calldata entry) private {
        Settlement memory settlement;
        settlement.device = entry.deviceId;
        settlement.fromSecond = entry.fromSecond;
        settlement.toSecond = entry.toSecond;
        if (settlement.toSecond < settlement.fromSecond) {
            revert InvalidEntryRange(settlement.device, settlement.fromSecond, settlement.toSecond);
        }
        bool active;
        (settlement.wallet, settlement.feederId, active) = _registry.payoutInfo(settlement.device);
        if (settlement.wallet == address(0)) revert DeviceNotRegistered(settlement.device);
        if (!active) {
            emit EntrySkipped(
                context.sequence, settlement.device, settlement.fromSecond, settlement.toSecond, SkipReason.DeviceRevoked
            );
            return;
        }
        DeviceOutage memory outage = _outages[settlement.device];
        if (settlement.fromSecond <= outage.lastSettledSecond) {
            revert IntervalAlreadySettled(settlement.device, settlement.fromSecond, outage.lastSettledSecond);
        }
        if (settlement.toSecond > block.timestamp) {
            revert EntryInFuture(settlement.device, settlement.toSecond, block.timestamp);
        }

        uint256 owed = _advanceOutage(context, outage, settlement);
        if (context.priceDenominator != 0) {
            owed = Math.mulDiv(owed, context.priceNumerator, context.priceDenominator);
        }
        settlement.amountOwed = owed;
        settlement.amountPaid = _payOrDefer(context, settlement.device, settlement.wallet, owed);

        context.totalOwed += owed;
        context.totalPaid += settlement.amountPaid;
        emit OutageSettled(
            settlement.device,
            settlement.wallet,
            settlement.feederId,
            context.sequence,
            settlement.outageStart,
            settlement.offSecondsBefore,
            settlement.fromSecond,
            settlement.toSecond,
            owed,
            settlement.amountPaid,
            owed - settlement.amountPaid
        );
    }

    /**
     * @dev Adds the entry's off-seconds to the device's outage, or starts a new outage when the gap since the
     * last settled second reaches the merge gap, and returns what the entry earns before price conversion.
     * Writes the device's state.
     */
    function _advanceOutage(BatchContext memory context, DeviceOutage memory outage, Settlement memory settlement)
        private
        returns (uint256 owed)
    {
        CachedSchedule memory cached = context.schedule;
        bool continues = false;
        if (outage.outageStart != 0) {
            if (cached.id != outage.scheduleId) _loadSchedule(cached, outage.scheduleId);
            // Safe: fromSecond > lastSettledSecond was checked, so the gap is at least 0.
            unchecked {
                continues = settlement.fromSecond - outage.lastSettledSecond - 1 < cached.mergeGapSeconds;
            }
        }
        if (!continues) {
            uint256 scheduleId = _scheduleIdAt(settlement.fromSecond);
            if (cached.id != scheduleId) _loadSchedule(cached, scheduleId);
            outage.outageStart = settlement.fromSecond;
            outage.offSeconds = 0;
            // Safe: every schedule costs tens of thousands of gas to add, so fewer than 2^32 can exist.
            outage.scheduleId = uint32(scheduleId);
        }
        settlement.outageStart = outage.outageStart;
        settlement.offSecondsBefore = outage.offSeconds;

        if (cached.dailyCapPerDevice == 0) {
            uint256 offSecondsAfter = uint256(outage.offSeconds) + settlement.toSecond - settlement.fromSecond + 1;
            owed = CompensationMath.amountBetween(cached.tiers, outage.offSeconds, offSecondsAfter);
            outage.offSeconds = uint64(offSecondsAfter);
        } else {
            owed = _advanceCapped(cached, outage, settlement);
        }
        outage.lastSettledSecond = settlement.toSecond;

        _outages[settlement.device] = outage;
    }

    /// @dev Splits the entry at UTC midnights and caps what each day earns, so the total does not depend on
    /// how the oracle split the off-seconds. Updates `outage` in memory and writes the day's running total.
    function _advanceCapped(CachedSchedule memory cached, DeviceOutage memory outage, Settlement memory settlement)
        private
        returns (uint256 owed)
    {
        uint256 cap = cached.dailyCapPerDevice;
        uint256 owedOnDay = _owedOnCapDay[settlement.device];
        uint256 offSeconds = outage.offSeconds;
        uint256 segmentStart = settlement.fromSecond;
        uint256 to = settlement.toSecond;
        while (segmentStart <= to) {
            uint256 day = segmentStart / SECONDS_PER_DAY;
            uint256 dayEnd = (day + 1) * SECONDS_PER_DAY - 1;
            uint256 segmentEnd = to < dayEnd ? to : dayEnd;
            uint256 offSecondsAfter = offSeconds + segmentEnd - segmentStart + 1;
            uint256 earned = CompensationMath.amountBetween(cached.tiers, offSeconds, offSecondsAfter);
            if (day != outage.capDay) {
                // Safe: day <= block.timestamp / 86400, below 2^32 for the next eleven million years.
                outage.capDay = uint32(day);
                owedOnDay = 0;
            }
            uint256 allowed = cap > owedOnDay ? cap - owedOnDay : 0;
            uint256 capped = earned < allowed ? earned : allowed;
            owedOnDay += capped;
            owed += capped;
            offSeconds = offSecondsAfter;
            segmentStart = segmentEnd + 1;
        }
        outage.offSeconds = uint64(offSeconds);

        _owedOnCapDay[settlement.device] = owedOnDay;
    }

    /// @dev Pays what the pool can of `owed` to `wallet` and records the rest as a debt. Pays nothing while
    /// a debt is queued, so new entitlements wait behind older ones.
    function _payOrDefer(BatchContext memory context, address device, address wallet, uint256 owed)
        private
        returns (uint256 paid)
    {
        if (owed == 0) return 0;

        if (!context.debtQueued && context.availableWei > 0) {
            uint256 payNow = owed < context.availableWei ? owed : context.availableWei;
            if (_token.trySafeTransfer(wallet, payNow)) {
                paid = payNow;
                context.availableWei -= payNow;
            }
        }
        if (paid < owed) {
            _recordDebt(device, owed - paid);
            context.debtQueued = true;
        }
    }

    function _closeBatch(BatchContext memory context) private {
        _totalPaid += context.totalPaid;
        // Safe: amounts owed by one batch stay below 2^192 wei (6e57), far above any token supply.
        _recentBatches[context.sequence % RECENT_BATCHES] =
            (block.timestamp << 192) | uint192(context.totalOwed);
    }

    // ================================================================ state changes

    function _fund(address funder, uint256 amountWei) private {
        if (amountWei == 0) revert PoolAmountZero();

        // The amount received is measured, so a token that takes a fee on transfer is counted correctly;
        // that needs the transfer first, which nonReentrant on every entry point makes safe.
        uint256 balanceBefore = _token.balanceOf(address(this));
        _token.safeTransferFrom(funder, address(this), amountWei);
        uint256 received = _token.balanceOf(address(this)) - balanceBefore;

        _totalFunded += received;

        emit PoolFunded(funder, received);
    }

    function _withdraw(address to, uint256 amountWei) private {
        _totalWithdrawn += amountWei;

        emit PoolWithdrawn(to, amountWei);

        _token.safeTransfer(to, amountWei);
    }

    function _setCommittee(address[] memory signers, uint8 threshold) private {
        uint256 previousCount = _signers.length;
        for (uint256 i = 0; i < previousCount; ++i) {
            delete _signerPosition[_signers[i]];
        }
        for (uint256 i = 0; i < signers.length; ++i) {
            _signerPosition[signers[i]] = i + 1;
        }
        _signers = signers;
        _threshold = threshold;
        uint64 configCount = _configCount + 1;
        _configCount = configCount;
        bytes32 configDigest = keccak256(abi.encode(configCount, block.chainid, address(this), signers, threshold));
        _configDigest = configDigest;

        emit ConfigSet(configDigest, configCount, signers, threshold);
    }

    function _addSchedule(Tier[] memory tiers, uint32 mergeGapSeconds, uint128 dailyCapPerDevice, uint64 effectiveFrom)
        private
    {
        uint256 scheduleId = _scheduleHeaders.length;
        _scheduleHeaders.push(
            ScheduleHeader({
                effectiveFrom: effectiveFrom,
                mergeGapSeconds: mergeGapSeconds,
                dailyCapPerDevice: dailyCapPerDevice
            })
        );
        Tier[] storage stored = _scheduleTiers[scheduleId];
        for (uint256 i = 0; i < tiers.length; ++i) {
            stored.push(tiers[i]);
        }

        emit ScheduleSet(scheduleId, effectiveFrom, tiers, mergeGapSeconds, dailyCapPerDevice);
    }

    function _setPriceFeed(AggregatorV3Interface feed, uint32 maxAgeSeconds, uint8 feedDecimals) private {
        _priceFeed = feed;
        _priceMaxAgeSeconds = maxAgeSeconds;
        _priceFeedDecimals = feedDecimals;

        emit PriceFeedSet(address(feed), maxAgeSeconds);
    }

    function _acceptBatch(uint64 sequence) private {
        _lastBatchSequence = sequence;
    }

    function _recordDebt(address device, uint256 amountWei) private {
        uint64 debtId = _nextDebtId;
        _debts[debtId] = Debt({device: device, remainingWei: amountWei});
        _nextDebtId = debtId + 1;
        _queuedDebtWei += amountWei;

        emit DebtRecorded(debtId, device, amountWei);
    }

    /// @dev Pays debts from the oldest on. The debt is reduced before the transfer; a transfer that fails
    /// moves the amount to the device's held balance instead of blocking the queue.
    function _payDebts(uint256 maxDebts) private returns (uint256 debtsProcessed) {
        uint256 free = _freeBalance();
        uint64 firstOpen = _firstOpenDebtId;
        uint64 end = _nextDebtId;
        while (debtsProcessed < maxDebts && firstOpen < end && free > 0) {
            uint64 debtId = firstOpen;
            Debt storage record = _debts[debtId];
            address device = record.device;
            uint256 remaining = record.remainingWei;
            uint256 amountWei = remaining < free ? remaining : free;
            (address wallet,,) = _registry.payoutInfo(device);

            // Safe: amountWei is at most remaining and at most free.
            unchecked {
                remaining -= amountWei;
                free -= amountWei;
            }
            record.remainingWei = remaining;
            _queuedDebtWei -= amountWei;
            if (remaining == 0) {
                firstOpen = debtId + 1;
                _firstOpenDebtId = firstOpen;
            }
            ++debtsProcessed;

            if (_token.trySafeTransfer(wallet, amountWei)) {
                _totalPaid += amountWei;
                emit DebtPaid(debtId, device, wallet, amountWei, remaining);
            } else {
                _hold(debtId, device, wallet, amountWei);
            }
        }
    }

    function _hold(uint256 debtId, address device, address wallet, uint256 amountWei) private {
        _held[device] += amountWei;
        _heldTotalWei += amountWei;

        emit DebtHeld(debtId, device, wallet, amountWei);
    }

    function _releaseHeld(address device, address wallet, uint256 amountWei) private {
        _held[device] = 0;
        _heldTotalWei -= amountWei;
        _totalPaid += amountWei;

        emit HeldReleased(device, wallet, amountWei);

        _token.safeTransfer(wallet, amountWei);
    }
}
