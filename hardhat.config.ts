import { createRequire } from "node:module";
import hardhatToolboxMochaEthers from "@nomicfoundation/hardhat-toolbox-mocha-ethers";
import { defineConfig } from "hardhat/config";
import { CENTRAL_ELECTRIC_TASKS } from "./tasks/task-definitions.ts";

// solc comes from the `solc` npm package, so no compiler download is needed.
// The version here must equal that package's version.
const require = createRequire(import.meta.url);
const SOLC_VERSION = "0.8.30";
const soljsonPath = require.resolve("solc/soljson.js");

export default defineConfig({
  plugins: [hardhatToolboxMochaEthers],
  tasks: CENTRAL_ELECTRIC_TASKS,
  solidity: {
    version: SOLC_VERSION,
    path: soljsonPath,
    settings: {
      evmVersion: "cancun",
      optimizer: { enabled: true, runs: 10_000 },
      viaIR: false,
    },
  },
  networks: {
    // `npx hardhat node --network localnode` serves this chain: it mines a block every
    // second even without transactions, as a live chain does, so block timestamps keep up
    // with the wall clock and the pool can settle seconds that just ended.
    localnode: {
      type: "edr-simulated",
      mining: { auto: true, interval: 1000 },
    },
    localhost: {
      type: "http",
      url: "http://127.0.0.1:8545",
    },
  },
  test: {
    mocha: {
      // End-to-end tests start a chain, an oracle node and device agents as
      // separate processes; their own deadlines stop them, not this one.
      timeout: 600_000,
    },
  },
  paths: {
    tests: {
      mocha: "test",
      solidity: "contracts/test",
    },
  },
});
