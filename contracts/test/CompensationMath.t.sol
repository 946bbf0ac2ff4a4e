// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IPayoutPool} from "../interfaces/IPayoutPool.sol";
import {CompensationMath} from "../libraries/CompensationMath.sol";
import {bound} from "./Cheatcodes.sol";

contract CompensationMathTest {
    function _defaultTiers() private pure returns (IPayoutPool.Tier[] memory tiers) {
        tiers = new IPayoutPool.Tier[](3);
        tiers[0] = IPayoutPool.Tier({startOffsetSeconds: 0, ratePerHour: 0});
        tiers[1] = IPayoutPool.Tier({startOffsetSeconds: 3600, ratePerHour: 50e18});
        tiers[2] = IPayoutPool.Tier({startOffsetSeconds: 10_800, ratePerHour: 100e18});
    }

    function test_amountAt_3601OffSeconds() public pure {
        require(CompensationMath.amountAt(_defaultTiers(), 3601) == 13_888_888_888_888_888, "C(3601)");
        require(CompensationMath.amountAt(_defaultTiers(), 3600) == 0, "C(3600)");
        require(CompensationMath.amountAt(_defaultTiers(), 10_800) == 100e18, "C(10800)");
    }

    function test_rateAt_tierBoundaries() public pure {
        IPayoutPool.Tier[] memory tiers = _defaultTiers();
        require(CompensationMath.rateAt(tiers, 3599) == 0, "rate at 3599");
        require(CompensationMath.rateAt(tiers, 3600) == 50e18, "rate at 3600");
        require(CompensationMath.rateAt(tiers, 10_799) == 50e18, "rate at 10799");
        require(CompensationMath.rateAt(tiers, 10_800) == 100e18, "rate at 10800");
    }

    /// @dev Three cuts split [0, total) into four settlements; they must add up to C(total) exactly.
    function testFuzz_amountBetween_splitInvariant(uint256 total, uint256 cutA, uint256 cutB, uint256 cutC) public pure {
        IPayoutPool.Tier[] memory tiers = _defaultTiers();
        total = bound(total, 0, 400_000);
        cutA = bound(cutA, 0, total);
        cutB = bound(cutB, cutA, total);
        cutC = bound(cutC, cutB, total);

        uint256 sum = CompensationMath.amountBetween(tiers, 0, cutA) + CompensationMath.amountBetween(tiers, cutA, cutB)
            + CompensationMath.amountBetween(tiers, cutB, cutC) + CompensationMath.amountBetween(tiers, cutC, total);

        require(sum == CompensationMath.amountAt(tiers, total), "split changed the total");
    }

    /// @dev C never decreases, so no settlement can owe a negative amount.
    function testFuzz_amountAt_monotonic(uint256 offSeconds, uint256 more) public pure {
        IPayoutPool.Tier[] memory tiers = _defaultTiers();
        offSeconds = bound(offSeconds, 0, 10_000_000);
        more = bound(more, 0, 10_000_000);

        require(CompensationMath.amountAt(tiers, offSeconds) <= CompensationMath.amountAt(tiers, offSeconds + more), "C decreased");
    }
}
