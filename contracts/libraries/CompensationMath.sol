// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IPayoutPool} from "../interfaces/IPayoutPool.sol";

/**
 * @title CompensationMath
 * @notice Amounts owed for the off-seconds of one outage under a tiered schedule.
 * @dev C(d) = floor(N(d) / 3600) with N(d) = sum over tiers of ratePerHour * (off-seconds of [0, d) inside
 * the tier). A settlement that takes an outage from `before` to `after` off-seconds owes C(after) - C(before),
 * so the amounts of any split of an outage add up to C(total) exactly. Tiers must start at offset 0 and
 * ascend strictly, which {PayoutPool} checks when a schedule is set.
 */
library CompensationMath {
    uint256 internal constant SECONDS_PER_HOUR = 3600;

    /// @notice Returns C(offSeconds): what the first `offSeconds` off-seconds of an outage earn.
    function amountAt(IPayoutPool.Tier[] memory tiers, uint256 offSeconds) internal pure returns (uint256) {
        return _numeratorAt(tiers, offSeconds) / SECONDS_PER_HOUR;
    }

    /// @notice Returns C(offSecondsAfter) - C(offSecondsBefore); `offSecondsBefore` must not exceed `offSecondsAfter`.
    function amountBetween(IPayoutPool.Tier[] memory tiers, uint256 offSecondsBefore, uint256 offSecondsAfter)
        internal
        pure
        returns (uint256)
    {
        return _numeratorAt(tiers, offSecondsAfter) / SECONDS_PER_HOUR
            - _numeratorAt(tiers, offSecondsBefore) / SECONDS_PER_HOUR;
    }

    /// @notice Returns the rate of the tier that off-second number `offSeconds` (0-based) falls in.
    function rateAt(IPayoutPool.Tier[] memory tiers, uint256 offSeconds) internal pure returns (uint256 ratePerHour) {
        uint256 count = tiers.length;
        for (uint256 i = 0; i < count; ++i) {
            if (tiers[i].startOffsetSeconds > offSeconds) {
                break;
            }
            ratePerHour = tiers[i].ratePerHour;
        }
    }

    /// @dev N(d). Overlaps are at most 2^64 and rates below 2^128, so each product stays below 2^192 and a
    /// sum over the at most 16 tiers a schedule may have stays far below 2^256.
    function _numeratorAt(IPayoutPool.Tier[] memory tiers, uint256 offSeconds) private pure returns (uint256 sum) {
        uint256 count = tiers.length;
        for (uint256 i = 0; i < count; ++i) {
            uint256 tierStart = tiers[i].startOffsetSeconds;
            if (tierStart >= offSeconds) {
                break;
            }

            uint256 tierEnd = i + 1 < count ? tiers[i + 1].startOffsetSeconds : type(uint256).max;
            uint256 coveredEnd = offSeconds < tierEnd ? offSeconds : tierEnd;

            // Safe: coveredEnd > tierStart because tierStart < offSeconds and tierStart < tierEnd, and the
            // product and sum stay below 2^200 as documented above.
            unchecked {
                sum += uint256(tiers[i].ratePerHour) * (coveredEnd - tierStart);
            }
        }
    }
}
