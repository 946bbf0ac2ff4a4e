// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

// Imported so that the compiler builds Chainlink's price feed mock and tests can deploy it by name.
import {MockV3Aggregator} from "@chainlink/contracts/src/v0.8/shared/mocks/MockV3Aggregator.sol";
