// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {MockV3Aggregator} from "@chainlink/contracts/src/v0.8/shared/mocks/MockV3Aggregator.sol";

/**
 * @title PriceFeedMock
 * @notice Chainlink's MockV3Aggregator, unchanged. Hardhat writes artifacts only for contracts defined in
 * the project, so this subclass makes the mock deployable by name in tests.
 */
contract PriceFeedMock is MockV3Aggregator {
    constructor(uint8 decimals_, int256 initialAnswer) MockV3Aggregator(decimals_, initialAnswer) {}
}
