import { expect } from "chai";
import { network } from "hardhat";
import { Signature } from "ethers";
import { RUPEE, deployPool, entry, registerDevices, settleNext } from "./pool-fixture.ts";

const { ethers, networkHelpers } = await network.create();

const HOUR = 3_600n;
/** What the second hour of an outage pays under the default schedule. */
const SECOND_HOUR_WEI = 50n * RUPEE;

/** A pool on the blacklistable token holding 120 rupees, with three devices whose outages lie in the past. */
async function shortPool() {
  const deployed = await deployPool(ethers, { useBlacklistableToken: true, fundingWei: 120n * RUPEE });
  const devices = await registerDevices(deployed.registry, 3);
  await networkHelpers.time.increase(10 * 86_400);
  const now = BigInt(await networkHelpers.time.latest());
  return { ...deployed, ...devices, start: now - 5n * 86_400n };
}

/** Two-hour entries for each device, each owed 50 rupees. */
function twoHourEntries(deviceIds: string[], start: bigint) {
  return deviceIds.map((deviceId) => entry(deviceId, start, start + 2n * HOUR - 1n));
}

async function expectConservation(pool: Awaited<ReturnType<typeof shortPool>>["pool"]) {
  const funded = await pool.totalFunded();
  const held = await pool.balance();
  const paid = await pool.totalPaid();
  const withdrawn = await pool.totalWithdrawn();
  expect(funded).to.equal(held + paid + withdrawn);
}

describe("PayoutPool debts", function () {
  it("records the unpaid part when the pool is short", async function () {
    const { pool, domain, deviceIds, wallets, blacklistable, start } = await networkHelpers.loadFixture(shortPool);

    const tx = settleNext(pool, domain, twoHourEntries(deviceIds, start));

    // 120 rupees pay devices 0 and 1 in full and 20 of device 2's 50; the rest becomes debt 0.
    await expect(tx).to.emit(pool, "DebtRecorded").withArgs(0n, deviceIds[2], 30n * RUPEE);
    await expect(tx)
      .to.emit(pool, "OutageSettled")
      .withArgs(deviceIds[2], wallets[2], ethers.id("feeder-A"), 1n, start, 0n, start, start + 2n * HOUR - 1n, SECOND_HOUR_WEI, 20n * RUPEE, 30n * RUPEE);
    await expect(tx).to.emit(pool, "BatchSettled").withArgs(1n, ethers.ZeroHash, 3n, 150n * RUPEE, 120n * RUPEE);
    expect(await blacklistable.balanceOf(wallets[2]!)).to.equal(20n * RUPEE);
    expect(await pool.totalDebt()).to.equal(30n * RUPEE);
    expect(await pool.debtQueue()).to.deep.equal([0n, 1n]);

    // The next hour of device 0 queues behind debt 0.
    await expect(settleNext(pool, domain, [entry(deviceIds[0]!, start + 2n * HOUR, start + 3n * HOUR - 1n)]))
      .to.emit(pool, "DebtRecorded")
      .withArgs(1n, deviceIds[0], SECOND_HOUR_WEI);
    expect(await pool.debt(1n)).to.deep.equal([deviceIds[0], SECOND_HOUR_WEI]);
    expect(await pool.totalDebt()).to.equal(80n * RUPEE);
    await expectConservation(pool);
  });

  it("turns a failed transfer into a debt and queues later entitlements", async function () {
    const { pool, domain, deviceIds, wallets, blacklistable, funder, start } = await networkHelpers.loadFixture(shortPool);
    await blacklistable.setBlacklisted(wallets[0]!, true);
    await blacklistable.mint(funder.address, 1_000n * RUPEE);
    await blacklistable.connect(funder).approve(await pool.getAddress(), 1_000n * RUPEE);
    await pool.connect(funder).fund(1_000n * RUPEE);

    const tx = settleNext(pool, domain, twoHourEntries(deviceIds, start));

    await expect(tx).to.emit(pool, "DebtRecorded").withArgs(0n, deviceIds[0], SECOND_HOUR_WEI);
    await expect(tx).to.emit(pool, "DebtRecorded").withArgs(1n, deviceIds[1], SECOND_HOUR_WEI);
    await expect(tx).to.emit(pool, "DebtRecorded").withArgs(2n, deviceIds[2], SECOND_HOUR_WEI);
    await expect(tx).to.emit(pool, "BatchSettled").withArgs(1n, ethers.ZeroHash, 3n, 150n * RUPEE, 0n);
    expect(await pool.totalDebt()).to.equal(150n * RUPEE);
  });

  it("pays debts in recording order after funding", async function () {
    const { pool, domain, deviceIds, wallets, blacklistable, funder, start, others } = await networkHelpers.loadFixture(shortPool);
    await blacklistable.setBlacklisted(wallets[0]!, true);
    await settleNext(pool, domain, twoHourEntries(deviceIds, start));
    // Device 0's transfer failed: debts 0 (device 0), 1 (device 1) and 2 (device 2), 50 rupees each.
    expect(await pool.totalDebt()).to.equal(150n * RUPEE);

    await blacklistable.setBlacklisted(wallets[0]!, false);
    await expect(pool.connect(others[0]!).payDebts(10n))
      .to.emit(pool, "DebtPaid")
      .withArgs(0n, deviceIds[0], wallets[0], SECOND_HOUR_WEI, 0n)
      .and.to.emit(pool, "DebtPaid")
      .withArgs(1n, deviceIds[1], wallets[1], SECOND_HOUR_WEI, 0n)
      .and.to.emit(pool, "DebtPaid")
      .withArgs(2n, deviceIds[2], wallets[2], 20n * RUPEE, 30n * RUPEE);
    expect(await pool.debtQueue()).to.deep.equal([2n, 3n]);

    await blacklistable.mint(funder.address, 100n * RUPEE);
    await blacklistable.connect(funder).approve(await pool.getAddress(), 100n * RUPEE);
    await pool.connect(funder).fund(100n * RUPEE);
    await expect(pool.payDebts(1n)).to.emit(pool, "DebtPaid").withArgs(2n, deviceIds[2], wallets[2], 30n * RUPEE, 0n);

    expect(await blacklistable.balanceOf(wallets[2]!)).to.equal(SECOND_HOUR_WEI);
    expect(await pool.totalDebt()).to.equal(0n);
    expect(await pool.balance()).to.equal(70n * RUPEE);
    await expectConservation(pool);
  });

  it("pays a debt to the wallet current at payment", async function () {
    const { pool, registry, domain, deviceIds, wallets, blacklistable, start } = await networkHelpers.loadFixture(shortPool);
    await blacklistable.setBlacklisted(wallets[0]!, true);
    await settleNext(pool, domain, [entry(deviceIds[0]!, start, start + 2n * HOUR - 1n)]);
    const replacement = ethers.Wallet.createRandom().address;
    await registry.setPayoutWallet(deviceIds[0]!, replacement);

    await expect(pool.payDebts(5n)).to.emit(pool, "DebtPaid").withArgs(0n, deviceIds[0], replacement, SECOND_HOUR_WEI, 0n);
    expect(await blacklistable.balanceOf(replacement)).to.equal(SECOND_HOUR_WEI);
  });

  it("holds a debt whose wallet still rejects and pays the rest", async function () {
    const { pool, domain, deviceIds, wallets, blacklistable, start } = await networkHelpers.loadFixture(shortPool);
    await blacklistable.setBlacklisted(wallets[0]!, true);
    await settleNext(pool, domain, twoHourEntries(deviceIds.slice(0, 2), start));

    const tx = pool.payDebts(10n);

    await expect(tx).to.emit(pool, "DebtHeld").withArgs(0n, deviceIds[0], wallets[0], SECOND_HOUR_WEI);
    await expect(tx).to.emit(pool, "DebtPaid").withArgs(1n, deviceIds[1], wallets[1], SECOND_HOUR_WEI, 0n);
    expect(await pool.heldFor(deviceIds[0]!)).to.equal(SECOND_HOUR_WEI);
    expect(await pool.totalDebt()).to.equal(SECOND_HOUR_WEI);
    await expect(pool.releaseHeld(deviceIds[0]!)).to.be.revertedWithCustomError(blacklistable, "TokenAccountBlacklisted").withArgs(wallets[0]);

    await blacklistable.setBlacklisted(wallets[0]!, false);
    await expect(pool.releaseHeld(deviceIds[0]!)).to.emit(pool, "HeldReleased").withArgs(deviceIds[0], wallets[0], SECOND_HOUR_WEI);
    expect(await pool.totalDebt()).to.equal(0n);
    await expect(pool.releaseHeld(deviceIds[0]!)).to.be.revertedWithCustomError(pool, "PoolNothingHeld").withArgs(deviceIds[0]);
    await expectConservation(pool);
  });

  it("pays debts through the upkeep once funds arrive", async function () {
    const { pool, domain, deviceIds, wallets, blacklistable, funder, start } = await networkHelpers.loadFixture(shortPool);
    await settleNext(pool, domain, twoHourEntries(deviceIds, start));
    expect((await pool.checkUpkeep.staticCall("0x")).upkeepNeeded).to.equal(false);
    await expect(pool.performUpkeep("0x")).to.be.revertedWithCustomError(pool, "PoolUpkeepNotNeeded").withArgs(1n, 0n);

    await blacklistable.mint(funder.address, 30n * RUPEE);
    await blacklistable.connect(funder).approve(await pool.getAddress(), 30n * RUPEE);
    await pool.connect(funder).fund(30n * RUPEE);
    expect((await pool.checkUpkeep.staticCall("0x")).upkeepNeeded).to.equal(true);

    await expect(pool.performUpkeep("0x")).to.emit(pool, "DebtPaid").withArgs(0n, deviceIds[2], wallets[2], 30n * RUPEE, 0n);
    expect((await pool.checkUpkeep.staticCall("0x")).upkeepNeeded).to.equal(false);
    expect(await pool.totalDebt()).to.equal(0n);
    expect(await blacklistable.balanceOf(wallets[2]!)).to.equal(SECOND_HOUR_WEI);
  });

  it("withdraws only what is not owed", async function () {
    const { pool, domain, deviceIds, board, blacklistable, funder, start, others } = await networkHelpers.loadFixture(shortPool);
    await settleNext(pool, domain, [entry(deviceIds[0]!, start, start + 2n * HOUR - 1n)]);
    // 70 rupees left, nothing owed.
    await expect(pool.withdraw(board.address, 71n * RUPEE))
      .to.be.revertedWithCustomError(pool, "PoolWithdrawalExceedsAvailable")
      .withArgs(71n * RUPEE, 70n * RUPEE);
    await expect(pool.withdraw(board.address, 0n)).to.be.revertedWithCustomError(pool, "PoolAmountZero");
    await expect(pool.withdraw(ethers.ZeroAddress, 1n)).to.be.revertedWithCustomError(pool, "PoolRecipientZero");
    await expect(pool.connect(others[0]!).withdraw(board.address, 1n)).to.be.revertedWithCustomError(pool, "AccessControlUnauthorizedAccount");

    await expect(pool.withdraw(board.address, 20n * RUPEE)).to.emit(pool, "PoolWithdrawn").withArgs(board.address, 20n * RUPEE);
    // Two more devices owe 100 rupees with 50 in the pool: nothing is free to withdraw.
    await settleNext(pool, domain, [entry(deviceIds[1]!, start, start + 2n * HOUR - 1n), entry(deviceIds[2]!, start, start + 2n * HOUR - 1n)]);
    await blacklistable.mint(funder.address, 60n * RUPEE);
    await blacklistable.connect(funder).approve(await pool.getAddress(), 60n * RUPEE);
    await pool.connect(funder).fund(60n * RUPEE);
    await expect(pool.withdraw(board.address, 20n * RUPEE))
      .to.be.revertedWithCustomError(pool, "PoolWithdrawalExceedsAvailable")
      .withArgs(20n * RUPEE, 10n * RUPEE);
    await expectConservation(pool);
  });

  it("winds down: pauses and withdraws the free balance", async function () {
    const { pool, domain, deviceIds, board, start } = await networkHelpers.loadFixture(shortPool);
    await settleNext(pool, domain, [entry(deviceIds[0]!, start, start + 2n * HOUR - 1n)]);

    await expect(pool.windDown(board.address)).to.emit(pool, "Paused").and.to.emit(pool, "PoolWithdrawn").withArgs(board.address, 70n * RUPEE);
    expect(await pool.paused()).to.equal(true);
    expect(await pool.balance()).to.equal(0n);
    await expectConservation(pool);
  });

  it("estimates the runway from recent batches", async function () {
    const { pool, domain, deviceIds, start } = await networkHelpers.loadFixture(shortPool);
    const [availableBefore, rateBefore, runwayBefore] = await pool.runway();
    expect(availableBefore).to.equal(120n * RUPEE);
    expect(rateBefore).to.equal(0n);
    expect(runwayBefore).to.equal(ethers.MaxUint256);

    await settleNext(pool, domain, [entry(deviceIds[0]!, start, start + HOUR - 1n)]);
    const first = BigInt(await networkHelpers.time.latest());
    await networkHelpers.time.setNextBlockTimestamp(first + 1_800n);
    // Half an hour later a batch owes 25 rupees: 50 rupees an hour.
    await settleNext(pool, domain, [entry(deviceIds[0]!, start + HOUR, start + HOUR + 1_799n)]);

    const [available, owedPerHour, runwaySeconds] = await pool.runway();
    expect(available).to.equal(95n * RUPEE);
    expect(owedPerHour).to.equal(50n * RUPEE);
    expect(runwaySeconds).to.equal((95n * 1_800n) / 25n);
  });
});

describe("PayoutPool funding", function () {
  it("counts funds and emits PoolFunded", async function () {
    const deployed = await deployPool(ethers, { fundingWei: 0n });
    const { pool, token, board, funder } = deployed;
    await token.mint(funder.address, 5n * RUPEE);
    await token.connect(funder).approve(await pool.getAddress(), 5n * RUPEE);

    await expect(pool.connect(funder).fund(5n * RUPEE)).to.emit(pool, "PoolFunded").withArgs(funder.address, 5n * RUPEE);
    await expect(pool.fund(0n)).to.be.revertedWithCustomError(pool, "PoolAmountZero");
    expect(await pool.totalFunded()).to.equal(5n * RUPEE);
    expect(await pool.balance()).to.equal(5n * RUPEE);
    expect(board.address).to.not.equal(funder.address);
  });

  it("funds with an ERC-2612 permit", async function () {
    const { pool, token, funder } = await deployPool(ethers, { fundingWei: 0n });
    await token.mint(funder.address, 7n * RUPEE);
    const deadline = BigInt(await networkHelpers.time.latest()) + 3_600n;
    const { chainId } = await ethers.provider.getNetwork();
    const signature = Signature.from(
      await funder.signTypedData(
        { name: "Test e-Rupee", version: "1", chainId, verifyingContract: await token.getAddress() },
        {
          Permit: [
            { name: "owner", type: "address" },
            { name: "spender", type: "address" },
            { name: "value", type: "uint256" },
            { name: "nonce", type: "uint256" },
            { name: "deadline", type: "uint256" },
          ],
        },
        { owner: funder.address, spender: await pool.getAddress(), value: 7n * RUPEE, nonce: 0n, deadline },
      ),
    );

    await expect(pool.connect(funder).fundWithPermit(7n * RUPEE, deadline, signature.v, signature.r, signature.s))
      .to.emit(pool, "PoolFunded")
      .withArgs(funder.address, 7n * RUPEE);
    expect(await token.balanceOf(funder.address)).to.equal(0n);
    // The permit is used up; without an allowance the transfer is rejected.
    await token.mint(funder.address, 7n * RUPEE);
    await expect(pool.connect(funder).fundWithPermit(7n * RUPEE, deadline, signature.v, signature.r, signature.s))
      .to.be.revertedWithCustomError(token, "ERC20InsufficientAllowance")
      .withArgs(await pool.getAddress(), 0n, 7n * RUPEE);
  });
});
