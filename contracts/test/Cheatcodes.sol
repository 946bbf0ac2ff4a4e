// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @dev The few cheatcodes these tests use, at the standard cheatcode address the Hardhat test runner serves.
interface Vm {
    function warp(uint256 newTimestamp) external;
    function prank(address sender) external;
    function expectRevert(bytes calldata revertData) external;
    function sign(uint256 privateKey, bytes32 digest) external pure returns (uint8 v, bytes32 r, bytes32 s);
    function addr(uint256 privateKey) external pure returns (address);
}

Vm constant vm = Vm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D);

/// @dev Clamps `value` into [min, max].
function bound(uint256 value, uint256 min, uint256 max) pure returns (uint256) {
    return min + value % (max - min + 1);
}
