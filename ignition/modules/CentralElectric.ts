import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

const RUPEE = 10n ** 18n;

/** First account of Hardhat's default mnemonic ("test test ... junk"), the deployer on a local chain. */
const FIRST_HARDHAT_ACCOUNT = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

/**
 * Deploys the payout token, the device registry and the payout pool with Delhi's default schedule.
 * The first hour of an outage is unpaid, hours two and three pay 50 rupees/hour and later hours 100.
 * Gaps under 300 seconds continue an outage, and there is no daily cap.
 *
 * Parameters (module "CentralElectric"):
 * - committeeSigners: oracle committee addresses. The default is the first account of Hardhat's default
 *   mnemonic (0xf39F...2266), the deployer on a local chain, so one local oracle node signing with that
 *   key can settle batches without further setup. Ignition parameter defaults must be plain values, so
 *   the address is written out instead of being read from the connected accounts.
 * - threshold: signatures needed per batch (default 1).
 * - initialFundingWei: eINR minted to the board and put into the pool (default 1,000,000 eINR); must be
 *   above 0, because the pool rejects funding of 0.
 *
 * The deployer (account 0) becomes the board: it holds the admin roles of all three contracts and the
 * token's minter role. The module always deploys the test token eINR, so it is meant for local and test
 * chains; with a real token the pool is deployed on its own and funded by the board.
 */
export default buildModule("CentralElectric", (m) => {
  const board = m.getAccount(0);
  const committeeSigners = m.getParameter<string[]>("committeeSigners", [FIRST_HARDHAT_ACCOUNT]);
  const threshold = m.getParameter("threshold", 1);
  const initialFundingWei = m.getParameter("initialFundingWei", 1_000_000n * RUPEE);

  const token = m.contract("PayoutToken", [board]);
  const registry = m.contract("DeviceRegistry", [board]);
  const pool = m.contract("PayoutPool", [
    token,
    registry,
    board,
    committeeSigners,
    threshold,
    [
      { startOffsetSeconds: 0n, ratePerHour: 0n },
      { startOffsetSeconds: 3_600n, ratePerHour: 50n * RUPEE },
      { startOffsetSeconds: 10_800n, ratePerHour: 100n * RUPEE },
    ],
    300n,
    0n,
  ]);

  const mint = m.call(token, "mint", [board, initialFundingWei]);
  const approve = m.call(token, "approve", [pool, initialFundingWei], { after: [mint] });
  m.call(pool, "fund", [initialFundingWei], { after: [approve] });

  return { token, registry, pool };
});
