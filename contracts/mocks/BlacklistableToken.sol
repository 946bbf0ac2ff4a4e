// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/**
 * @title BlacklistableToken
 * @notice Test token that, like some stablecoins, rejects transfers to or from blacklisted addresses.
 */
contract BlacklistableToken is ERC20 {
    /// @notice Thrown when a transfer involves `account`, which is blacklisted.
    error TokenAccountBlacklisted(address account);

    mapping(address account => bool) public isBlacklisted;

    constructor() ERC20("Blacklistable Rupee", "bINR") {}

    /// @notice Creates `amountWei` tokens for `to`; open to anyone because this is a test token.
    function mint(address to, uint256 amountWei) external {
        _mint(to, amountWei);
    }

    /// @notice Blacklists `account` or lifts its blacklisting.
    function setBlacklisted(address account, bool blacklisted) external {
        isBlacklisted[account] = blacklisted;
    }

    function _update(address from, address to, uint256 value) internal override {
        if (isBlacklisted[from]) revert TokenAccountBlacklisted(from);
        if (isBlacklisted[to]) revert TokenAccountBlacklisted(to);
        super._update(from, to, value);
    }
}
