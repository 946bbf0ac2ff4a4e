// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {DeviceRegistry} from "../DeviceRegistry.sol";
import {PayoutPool} from "../PayoutPool.sol";
import {IDeviceRegistry} from "../interfaces/IDeviceRegistry.sol";
import {IPayoutPool} from "../interfaces/IPayoutPool.sol";
import {BlacklistableToken} from "../mocks/BlacklistableToken.sol";
import {bound, vm} from "./Cheatcodes.sol";

/// @dev Drives the pool with random batches, funding, debt payments, withdrawals and blacklisting.
contract PoolHandler {
    uint256 internal constant COMMITTEE_KEY = 0xC0FFEE;
    uint256 internal constant DEVICE_COUNT = 4;

    PayoutPool public immutable pool;
    BlacklistableToken public immutable token;
    address[DEVICE_COUNT] public devices;
    address[DEVICE_COUNT] public wallets;

    /// @dev Last second submitted per device, and the amount each debt had when it was recorded.
    mapping(address device => uint64) public lastSubmitted;
    mapping(uint256 debtId => uint256) public recordedDebt;
    /// @dev Set when the pool accepts an entry that overlaps seconds it already settled.
    bool public overlapAccepted;

    constructor(BlacklistableToken token_, IDeviceRegistry registry, address[DEVICE_COUNT] memory devices_, address[DEVICE_COUNT] memory wallets_) {
        token = token_;
        devices = devices_;
        wallets = wallets_;
        address[] memory signers = new address[](1);
        signers[0] = vm.addr(COMMITTEE_KEY);
        IPayoutPool.Tier[] memory tiers = new IPayoutPool.Tier[](3);
        tiers[0] = IPayoutPool.Tier({startOffsetSeconds: 0, ratePerHour: 0});
        tiers[1] = IPayoutPool.Tier({startOffsetSeconds: 3600, ratePerHour: 50e18});
        tiers[2] = IPayoutPool.Tier({startOffsetSeconds: 10_800, ratePerHour: 100e18});
        pool = new PayoutPool(IERC20(address(token_)), registry, address(this), signers, 1, tiers, 300, 0);
        token_.mint(address(this), 1_000e18);
        token_.approve(address(pool), type(uint256).max);
        pool.fund(1_000e18);
    }

    function settle(uint256 deviceSeed, uint256 gapSeconds, uint256 lengthSeconds) external {
        address device = devices[deviceSeed % DEVICE_COUNT];
        uint64 fromSecond = lastSubmitted[device] == 0
            ? uint64(block.timestamp)
            : lastSubmitted[device] + 1 + uint64(bound(gapSeconds, 0, 1000));
        uint64 toSecond = fromSecond + uint64(bound(lengthSeconds, 1, 8000)) - 1;
        if (block.timestamp < toSecond) vm.warp(toSecond);

        IPayoutPool.Entry[] memory entries = new IPayoutPool.Entry[](1);
        entries[0] = IPayoutPool.Entry({deviceId: device, fromSecond: fromSecond, toSecond: toSecond});
        (, uint256 nextDebtBefore) = pool.debtQueue();
        pool.settle(_report(entries), _sign(entries));
        lastSubmitted[device] = toSecond;
        (, uint256 nextDebtAfter) = pool.debtQueue();
        for (uint256 id = nextDebtBefore; id < nextDebtAfter; ++id) {
            (, recordedDebt[id]) = pool.debt(id);
        }

        // Settling the last second again must fail.
        entries[0] = IPayoutPool.Entry({deviceId: device, fromSecond: toSecond, toSecond: toSecond});
        IPayoutPool.BatchReport memory replay = _report(entries);
        bytes[] memory signatures = _sign(entries);
        try pool.settle(replay, signatures) {
            overlapAccepted = true;
        } catch {}
    }

    function fund(uint256 amountWei) external {
        amountWei = bound(amountWei, 1, 500e18);
        token.mint(address(this), amountWei);
        pool.fund(amountWei);
    }

    function payDebts(uint256 maxDebts) external {
        pool.payDebts(bound(maxDebts, 0, 5));
    }

    function withdraw(uint256 amountWei) external {
        (uint256 available,,) = pool.runway();
        if (available == 0) return;
        pool.withdraw(address(this), bound(amountWei, 1, available));
    }

    function toggleBlacklist(uint256 deviceSeed) external {
        address wallet = wallets[deviceSeed % DEVICE_COUNT];
        token.setBlacklisted(wallet, !token.isBlacklisted(wallet));
    }

    function releaseHeld(uint256 deviceSeed) external {
        address device = devices[deviceSeed % DEVICE_COUNT];
        if (pool.heldFor(device) == 0 || token.isBlacklisted(wallets[deviceSeed % DEVICE_COUNT])) return;
        pool.releaseHeld(device);
    }

    function _report(IPayoutPool.Entry[] memory entries) private view returns (IPayoutPool.BatchReport memory) {
        (,, bytes32 configDigest,) = pool.committee();
        return IPayoutPool.BatchReport({
            configDigest: configDigest,
            sequence: pool.lastBatchSequence() + 1,
            attestationsRoot: bytes32(0),
            entries: entries
        });
    }

    function _sign(IPayoutPool.Entry[] memory entries) private view returns (bytes[] memory signatures) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(COMMITTEE_KEY, pool.hashBatchReport(_report(entries)));
        signatures = new bytes[](1);
        signatures[0] = abi.encodePacked(r, s, v);
    }
}

contract PayoutPoolInvariantsTest {
    PoolHandler internal handler;
    PayoutPool internal pool;
    BlacklistableToken internal token;

    function setUp() public {
        vm.warp(1_750_000_000);
        token = new BlacklistableToken();
        DeviceRegistry registry = new DeviceRegistry(address(this));
        address[4] memory devices;
        address[4] memory wallets;
        for (uint256 i = 0; i < 4; ++i) {
            devices[i] = vm.addr(1000 + i);
            wallets[i] = vm.addr(2000 + i);
            registry.registerDevice(devices[i], devices[i], wallets[i], bytes32(i));
        }
        handler = new PoolHandler(token, registry, devices, wallets);
        pool = handler.pool();
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// @dev Every token that came in through fund() is in the pool, paid out or withdrawn.
    function invariant_conservation() public view {
        require(pool.totalFunded() == pool.balance() + pool.totalPaid() + pool.totalWithdrawn(), "conservation broken");
    }

    /// @dev What is owed never exceeds what was recorded, and the totals agree with the queue.
    function invariant_noSecondSettledTwice() public view {
        require(!handler.overlapAccepted(), "an already settled second was settled again");
        for (uint256 i = 0; i < 4; ++i) {
            address device = handler.devices(i);
            (uint64 lastSettledSecond,,,,,) = pool.deviceState(device);
            require(lastSettledSecond == handler.lastSubmitted(device), "settled seconds differ from submitted ones");
        }
    }

    /// @dev Debts before the first open one are paid; debts after it are untouched.
    function invariant_debtsPaidInOrder() public view {
        (uint256 firstOpen, uint256 next) = pool.debtQueue();
        uint256 queued;
        for (uint256 id = 0; id < next; ++id) {
            (, uint256 remaining) = pool.debt(id);
            if (id < firstOpen) require(remaining == 0, "a debt before the first open one is unpaid");
            if (id > firstOpen) require(remaining == handler.recordedDebt(id), "a later debt was paid before an earlier one");
            queued += remaining;
        }
        uint256 held;
        for (uint256 i = 0; i < 4; ++i) {
            held += pool.heldFor(handler.devices(i));
        }
        require(pool.totalDebt() == queued + held, "total debt differs from the queue and held amounts");
    }

    function test_handlerSettlesAndRejectsReplay() public {
        handler.settle(0, 0, 7200);
        handler.settle(0, 299, 60);
        require(!handler.overlapAccepted(), "replay accepted");
        invariant_conservation();
        invariant_noSecondSettledTwice();
        invariant_debtsPaidInOrder();
    }
}
