// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

import {IPayoutToken} from "./interfaces/IPayoutToken.sol";

/**
 * @title PayoutToken
 * @notice "Test e-Rupee" (eINR) with 18 decimals, minted by the board for local and test chains.
 */
contract PayoutToken is IPayoutToken, ERC20, ERC20Permit, AccessControl {
    /// @notice Role allowed to mint.
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");

    /// @param board Receives DEFAULT_ADMIN_ROLE and MINTER_ROLE.
    constructor(address board) ERC20("Test e-Rupee", "eINR") ERC20Permit("Test e-Rupee") {
        _grantRole(DEFAULT_ADMIN_ROLE, board);
        _grantRole(MINTER_ROLE, board);
    }

    /// @inheritdoc IPayoutToken
    function mint(address to, uint256 amountWei) external onlyRole(MINTER_ROLE) {
        _mint(to, amountWei);
    }
}
