import { expect } from "chai";
import hre from "hardhat";
import { Wallet, encodeBytes32String, id } from "ethers";
import {
  DEVICE_A,
  FEEDER_A,
  OFF_SECONDS_A,
  OWED_A,
  RUPEE,
  WALLET_A,
  WALLET_B,
  captureTaskIo,
  connection,
  deploySettledChain,
  settleBatch,
} from "./task-chain-fixture.ts";

const { networkHelpers } = connection;

async function runTask(taskId: string[], options: Record<string, unknown>) {
  const io = captureTaskIo();
  const result: unknown = await hre.tasks.getTask(taskId).run(options);
  return { io, result };
}

const DEVICE_C = new Wallet(id("central-electric task tests device C"));
const NEW_KEY = new Wallet(id("central-electric task tests device C second key"));

describe("board tasks", function () {
  it("funds the pool after approving it", async function () {
    const chain = await networkHelpers.loadFixture(deploySettledChain);
    await chain.token.mint(chain.board.address, 250n * RUPEE);
    const balanceBefore = await chain.pool.balance();

    const { io, result } = await runTask(["pool", "fund"], { pool: chain.poolAddress, amount: "250" });

    expect(result).to.deep.equal({ success: true, value: undefined });
    expect(await chain.pool.balance()).to.equal(balanceBefore + 250n * RUPEE);
    expect(await chain.token.balanceOf(chain.board.address)).to.equal(0n);
    const lines = io.out.text.trimEnd().split("\n");
    expect(lines[0]).to.match(/^approve: transaction 0x[0-9a-f]{64} mined in block \d+$/);
    expect(lines[1]).to.match(/^fund: transaction 0x[0-9a-f]{64} mined in block \d+$/);
    expect(lines[2]).to.equal(`funded 250 eINR (${250n * RUPEE} wei); pool balance 1,000,199.986111111111111112 eINR (1000199986111111111111112 wei)`);
  });

  it("rejects funding beyond the account's tokens", async function () {
    const chain = await networkHelpers.loadFixture(deploySettledChain);
    const { io, result } = await runTask(["pool", "fund"], { pool: chain.poolAddress, amount: "12.5" });

    expect(result).to.have.property("success", false);
    expect(io.err.text).to.equal(
      `error: --amount 12.5 eINR (12500000000000000000 wei) is more than the balance of account ${chain.board.address}, 0 eINR (0 wei): transfer or mint tokens to it first, or fund less\n`,
    );
  });

  it("withdraws to a recipient", async function () {
    const chain = await networkHelpers.loadFixture(deploySettledChain);
    const { result } = await runTask(["pool", "withdraw"], { pool: chain.poolAddress, amount: "1000wei", to: chain.other.address });

    expect(result).to.have.property("success", true);
    expect(await chain.token.balanceOf(chain.other.address)).to.equal(1000n);
    expect(await chain.pool.totalWithdrawn()).to.equal(1000n);
  });

  it("decodes a withdrawal beyond the available amount", async function () {
    const chain = await networkHelpers.loadFixture(deploySettledChain);
    const available = await chain.pool.balance();
    const { io, result } = await runTask(["pool", "withdraw"], { pool: chain.poolAddress, amount: "2,000,000" });

    expect(result).to.have.property("success", false);
    expect(io.err.text).to.equal(
      `error: withdraw reverted with PoolWithdrawalExceedsAvailable(amountWei=${2_000_000n * RUPEE}, availableWei=${available}): ` +
        "withdraw at most the available amount (balance minus debts); see `npx hardhat pool status`\n",
    );
  });

  it("decodes a call from an account without the role", async function () {
    const chain = await networkHelpers.loadFixture(deploySettledChain);
    const { io } = await runTask(["pool", "pause"], { pool: chain.poolAddress, from: chain.other.address });

    expect(io.err.text).to.equal(
      `error: pause reverted with AccessControlUnauthorizedAccount(account=${chain.other.address}, neededRole=${"0x" + "00".repeat(32)}): ` +
        "send it from the board account with --from, or grant that account the role first\n",
    );
    expect(await chain.pool.paused()).to.equal(false);
  });

  it("registers, rotates, moves, rewires and revokes a device", async function () {
    const chain = await networkHelpers.loadFixture(deploySettledChain);
    const target = { pool: chain.poolAddress };

    const registered = await runTask(["device", "register"], { ...target, device: DEVICE_C.address.toLowerCase(), wallet: WALLET_A, feeder: "DL-NDPL-F7" });
    expect(registered.result).to.have.property("success", true);
    const device = await chain.registry.getDevice(DEVICE_C.address);
    expect(device.status).to.equal(1n);
    expect(device.wallet).to.equal(WALLET_A);
    expect(device.feederId).to.equal(encodeBytes32String("DL-NDPL-F7"));
    expect(device.currentKey).to.equal(DEVICE_C.address);
    expect(registered.io.out.text.split("\n")[1]).to.equal(
      `registered ${DEVICE_C.address} with key ${DEVICE_C.address}, paying to ${WALLET_A}, on feeder ${encodeBytes32String("DL-NDPL-F7")} ("DL-NDPL-F7"), from ${new Date(Number(device.registeredAt) * 1000).toISOString().replace(".000Z", "Z")}`,
    );

    const validFrom = BigInt(await networkHelpers.time.latest()) + 600n;
    await runTask(["device", "rotate-key"], { ...target, device: DEVICE_C.address, newKey: NEW_KEY.address, validFrom: String(validFrom) });
    expect(await chain.registry.keyAt(DEVICE_C.address, 1n)).to.deep.equal([NEW_KEY.address, validFrom, 2n ** 64n - 1n]);
    expect((await chain.registry.keyAt(DEVICE_C.address, 0n))[2]).to.equal(validFrom);

    await runTask(["device", "move"], { ...target, device: DEVICE_C.address, feeder: FEEDER_A });
    expect((await chain.registry.getDevice(DEVICE_C.address)).feederId).to.equal(FEEDER_A);

    await runTask(["device", "set-wallet"], { ...target, device: DEVICE_C.address, wallet: WALLET_B });
    expect((await chain.registry.getDevice(DEVICE_C.address)).wallet).to.equal(WALLET_B);

    const revoked = await runTask(["device", "revoke"], { ...target, device: DEVICE_C.address });
    expect(revoked.result).to.have.property("success", true);
    const after = await chain.registry.getDevice(DEVICE_C.address);
    expect(after.status).to.equal(2n);
    expect(after.revokedAt).to.equal(BigInt(await networkHelpers.time.latest()));
  });

  it("decodes registry errors with their arguments", async function () {
    const chain = await networkHelpers.loadFixture(deploySettledChain);
    const target = { pool: chain.poolAddress };

    const duplicate = await runTask(["device", "register"], { ...target, device: DEVICE_A.address, wallet: WALLET_A, feeder: "x" });
    expect(duplicate.io.err.text).to.equal(
      `error: register device reverted with DeviceAlreadyRegistered(device=${DEVICE_A.address}, status=1): a device id is registered once for life; give the new device its own key\n`,
    );

    const sameFeeder = await runTask(["device", "move"], { ...target, device: DEVICE_A.address, feeder: "DL-NDPL-F12" });
    expect(sameFeeder.io.err.text).to.equal(
      `error: move device reverted with DeviceFeederUnchanged(device=${DEVICE_A.address}, feederId=${FEEDER_A}): the device is already on that feeder\n`,
    );

    const earlyKey = await runTask(["device", "rotate-key"], { ...target, device: DEVICE_A.address, newKey: WALLET_B, validFrom: "2020-01-01T00:00:00Z" });
    expect(earlyKey.io.err.text).to.match(
      new RegExp(`^error: rotate key reverted with DeviceKeyValidFromTooEarly\\(device=${DEVICE_A.address}, validFrom=1577836800, earliestValidFrom=\\d+\\): pass a --valid-from at or after earliestValidFrom\\n$`),
    );

    const unknown = await runTask(["device", "revoke"], { ...target, device: WALLET_A });
    expect(unknown.io.err.text).to.equal(
      `error: revoke device reverted with DeviceNotRegistered(device=${WALLET_A}): check the id, or register the device with \`npx hardhat device register\`\n`,
    );
  });

  it("rejects bad device input before sending", async function () {
    const chain = await networkHelpers.loadFixture(deploySettledChain);
    const target = { pool: chain.poolAddress };
    const cases: [string[], Record<string, unknown>, string][] = [
      [["device", "register"], { wallet: WALLET_A, feeder: "F1" }, "--device is missing: pass a value with --device <value>"],
      [["device", "register"], { device: DEVICE_C.address, wallet: WALLET_A, feeder: "a feeder name that is longer than 31 bytes" }, '--feeder "a feeder name that is longer than 31 bytes" is 42 bytes of text, more than the 31 that fit in a bytes32 string: shorten it or pass the 32-byte id in hex'],
      [["device", "register"], { device: DEVICE_C.address, wallet: "0xabc", feeder: "F1" }, '--wallet "0xabc" is not an address: pass 0x followed by 40 hex digits'],
      [["device", "rotate-key"], { device: DEVICE_A.address, newKey: WALLET_B, validFrom: "soon" }, '--valid-from "soon" is not a time: pass unix seconds such as 1767225600 or an ISO time such as 2026-01-01T00:00:00Z'],
    ];
    for (const [taskId, options, message] of cases) {
      const { io, result } = await runTask(taskId, { ...target, ...options });
      expect(result, message).to.have.property("success", false);
      expect(io.err.text).to.equal(`error: ${message}\n`);
    }
  });

  it("sets a compensation schedule", async function () {
    const chain = await networkHelpers.loadFixture(deploySettledChain);
    const { io, result } = await runTask(["pool", "schedule"], { pool: chain.poolAddress, tiers: "0:0, 1800:40.5,7200:90", mergeGapSeconds: "600", dailyCap: "500" });

    expect(result).to.have.property("success", true);
    expect(await chain.pool.scheduleCount()).to.equal(2n);
    const [effectiveFrom, tiers, mergeGapSeconds, dailyCap] = await chain.pool.schedule(1n);
    expect(tiers.map((tier) => [tier.startOffsetSeconds, tier.ratePerHour])).to.deep.equal([
      [0n, 0n],
      [1_800n, 405n * RUPEE / 10n],
      [7_200n, 90n * RUPEE],
    ]);
    expect(mergeGapSeconds).to.equal(600n);
    expect(dailyCap).to.equal(500n * RUPEE);
    expect(effectiveFrom).to.equal(BigInt(await networkHelpers.time.latest()));
    expect(io.out.text.split("\n")[1]).to.match(new RegExp(`^schedule 1 applies to outages starting at or after ${effectiveFrom} \\(`));
  });

  it("rejects invalid schedules with the fix", async function () {
    const chain = await networkHelpers.loadFixture(deploySettledChain);
    const cases: [Record<string, unknown>, string][] = [
      [{ tiers: "3600:50" }, '--tiers starts at offset 3600: the first tier must start at 0, such as "0:0,3600:50"'],
      [{ tiers: "0:0,3600:50,1800:100" }, "--tiers tier 2 starts at 1800, not after tier 1 at 3600: list offsets in strictly ascending order"],
      [{ tiers: "0:0,3600=50" }, '--tiers tier 1 "3600=50" is not "offsetSeconds:rupeesPerHour": write tiers such as "0:0,3600:50,10800:100"'],
      [{ tiers: "0:0", mergeGapSeconds: "0" }, "--merge-gap-seconds is 0, which would start a new outage at every entry: pass a gap such as 300"],
      [{ tiers: "0:0", dailyCap: "-1" }, '--daily-cap "-1" is not an amount: pass whole tokens such as 1000 or 12.5, or base units such as 5000wei'],
      [{ tiers: Array.from({ length: 17 }, (_, index) => `${index * 60}:1`).join(",") }, "--tiers has 17 tiers, more than the pool's maximum of 16: merge some tiers"],
    ];
    for (const [options, message] of cases) {
      const { io, result } = await runTask(["pool", "schedule"], { pool: chain.poolAddress, ...options });
      expect(result, message).to.have.property("success", false);
      expect(io.err.text).to.equal(`error: ${message}\n`);
    }
    expect(await chain.pool.scheduleCount()).to.equal(1n);
  });

  it("pauses and unpauses the pool", async function () {
    const chain = await networkHelpers.loadFixture(deploySettledChain);
    await runTask(["pool", "pause"], { pool: chain.poolAddress });
    expect(await chain.pool.paused()).to.equal(true);

    const again = await runTask(["pool", "pause"], { pool: chain.poolAddress });
    expect(again.io.err.text).to.equal("error: pause reverted with EnforcedPause(): the pool is already paused\n");

    await runTask(["pool", "unpause"], { pool: chain.poolAddress });
    expect(await chain.pool.paused()).to.equal(false);
  });

  it("pays debts in order up to the count", async function () {
    const chain = await networkHelpers.loadFixture(deploySettledChain);
    const target = { pool: chain.poolAddress };
    const none = await runTask(["pool", "pay-debts"], target);
    expect(none.io.out.text).to.equal("no open debts\n");

    // Empty the pool, then settle another hour of device A's outage: it becomes debt 0 of 50 rupees.
    await chain.pool.withdraw(chain.board.address, await chain.pool.balance());
    const next = chain.outageStart + OFF_SECONDS_A;
    await settleBatch(chain.pool, [{ deviceId: DEVICE_A.address, fromSecond: next, toSecond: next + 3_599n }]);
    expect(await chain.pool.totalDebt()).to.equal(50n * RUPEE);

    const funded = await runTask(["pool", "fund"], { ...target, amount: "30" });
    expect(funded.result).to.have.property("success", true);
    const paid = await runTask(["pool", "pay-debts"], { ...target, maxCount: "1" });

    expect(paid.io.out.text.split("\n")[1]).to.equal(`paid 30 eINR (${30n * RUPEE} wei); open debts left: 1, owing 20 eINR (${20n * RUPEE} wei)`);
    expect(await chain.token.balanceOf(WALLET_A)).to.equal(OWED_A + 30n * RUPEE);
    expect(await chain.pool.debt(0n)).to.deep.equal([DEVICE_A.address, 20n * RUPEE]);

    const zero = await runTask(["pool", "pay-debts"], { ...target, maxCount: "0" });
    expect(zero.io.err.text).to.equal("error: --max-count is 0: pass how many debts to pay, from 1 to 200\n");
  });

  it("shows the pool status", async function () {
    const chain = await networkHelpers.loadFixture(deploySettledChain);
    const { io, result } = await runTask(["pool", "status"], { pool: chain.poolAddress });

    expect(result).to.have.property("success", true);
    const lines = io.out.text.trimEnd().split("\n");
    const balance = 1_000_000n * RUPEE - OWED_A - 50n * RUPEE;
    expect(lines.slice(1)).to.deep.equal([
      `registry:        ${chain.registryAddress}`,
      `token:           ${chain.tokenAddress}`,
      "paused:          no",
      `balance:         999,949.986111111111111112 eINR (${balance} wei)`,
      `total funded:    1,000,000 eINR (${1_000_000n * RUPEE} wei)`,
      `total paid:      50.013888888888888888 eINR (${OWED_A + 50n * RUPEE} wei)`,
      "total withdrawn: 0 eINR (0 wei)",
      "total debt:      0 eINR (0 wei)",
      `available:       999,949.986111111111111112 eINR (${balance} wei)`,
      "runway:          unlimited at the current rate (no payout rate from the recent batches)",
      `committee:       1 of 1 signatures, configuration 1, digest ${(await chain.pool.committee()).configDigest}`,
      `  signer ${(await chain.pool.committee()).signers[0]}`,
      "last batch:      1",
      "price feed:      none (amounts are in tokens)",
      "schedule 0: outages from 1970-01-01T00:00:00Z: from 0 s 0 eINR/h, from 3600 s 50 eINR/h, from 10800 s 100 eINR/h; merge gap 300 s; no daily cap",
      "debt queue:      empty",
    ]);
    expect(lines[0]).to.equal(`pool:            ${chain.poolAddress} (--pool, chain 31337, block ${chain.blocks.settleBlock})`);
  });
});
