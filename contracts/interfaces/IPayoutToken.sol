// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/**
 * @title IPayoutToken
 * @notice "Test e-Rupee" (eINR), an ERC-20 with ERC-2612 permit and 18 decimals that is the board's rupee
 * on local and test chains. The pool accepts any ERC-20; this token only exists where no real one does.
 * The ERC-20 and ERC-2612 functions come from OpenZeppelin's IERC20 and IERC20Permit; this interface adds minting.
 */
interface IPayoutToken {
    /**
     * @notice Creates `amountWei` new tokens for `to`.
     * @dev Requirements: caller has MINTER_ROLE. Emits {Transfer} from address(0).
     */
    function mint(address to, uint256 amountWei) external;
}
