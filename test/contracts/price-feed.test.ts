import { expect } from "chai";
import { network } from "hardhat";
import { COMMITTEE, RUPEE, buildReport, deployPool, entry, registerDevices, settleNext, signReport } from "./pool-fixture.ts";

const { ethers, networkHelpers } = await network.create();

const FEED_DECIMALS = 8;
/** One token costs 2 rupees. */
const TWO_RUPEES = 2n * 10n ** 8n;
const MAX_AGE_SECONDS = 3_600n;

async function poolWithFeed() {
  const deployed = await deployPool(ethers);
  const devices = await registerDevices(deployed.registry, 2);
  await networkHelpers.time.increase(10 * 86_400);
  const feed = await ethers.deployContract("PriceFeedMock", [FEED_DECIMALS, TWO_RUPEES]);
  await expect(deployed.pool.setPriceFeed(await feed.getAddress(), MAX_AGE_SECONDS))
    .to.emit(deployed.pool, "PriceFeedSet")
    .withArgs(await feed.getAddress(), MAX_AGE_SECONDS);
  const now = BigInt(await networkHelpers.time.latest());
  return { ...deployed, ...devices, feed, start: now - 5n * 86_400n };
}

describe("PayoutPool price feed", function () {
  it("converts rupee amounts into tokens at the feed's price", async function () {
    const { pool, domain, deviceIds, wallets, token, start } = await networkHelpers.loadFixture(poolWithFeed);

    await expect(settleNext(pool, domain, [entry(deviceIds[0]!, start, start + 7_199n)]))
      .to.emit(pool, "BatchSettled")
      .withArgs(1n, ethers.ZeroHash, 1n, 25n * RUPEE, 25n * RUPEE);
    expect(await token.balanceOf(wallets[0]!)).to.equal(25n * RUPEE);
  });

  it("rejects a stale price", async function () {
    const { pool, domain, feed, start, deviceIds } = await networkHelpers.loadFixture(poolWithFeed);
    const now = BigInt(await networkHelpers.time.latest());
    const updatedAt = now - MAX_AGE_SECONDS;
    await feed.updateRoundData(2n, TWO_RUPEES, updatedAt, updatedAt);
    const { configDigest } = await pool.committee();
    const report = buildReport({ configDigest, sequence: 1n, entries: [entry(deviceIds[0]!, start, start)] });
    const signatures = await signReport(domain, report, COMMITTEE.slice(0, 2));

    // Exactly maxAge old is still accepted; one second more is stale.
    await networkHelpers.time.setNextBlockTimestamp(now + 2n);
    await expect(pool.settle(report, signatures))
      .to.be.revertedWithCustomError(pool, "StalePrice")
      .withArgs(updatedAt, MAX_AGE_SECONDS, now + 2n);
    await feed.updateRoundData(3n, TWO_RUPEES, now + 3n - MAX_AGE_SECONDS, now);
    await networkHelpers.time.setNextBlockTimestamp(now + 3n);
    await expect(pool.settle(report, signatures)).to.emit(pool, "BatchSettled");
  });

  it("rejects an incomplete round", async function () {
    const { pool, domain, feed } = await networkHelpers.loadFixture(poolWithFeed);
    await feed.updateRoundData(7n, TWO_RUPEES, 0n, 0n);

    await expect(settleNext(pool, domain, [])).to.be.revertedWithCustomError(pool, "IncompleteRound").withArgs(7n, 7n, 0n);
  });

  it("rejects a price of zero", async function () {
    const { pool, domain, feed } = await networkHelpers.loadFixture(poolWithFeed);
    await feed.updateAnswer(0n);

    await expect(settleNext(pool, domain, [])).to.be.revertedWithCustomError(pool, "InvalidPrice").withArgs(0n);
  });

  it("stops converting when the feed is removed", async function () {
    const { pool, domain, deviceIds, wallets, token, start } = await networkHelpers.loadFixture(poolWithFeed);
    await pool.setPriceFeed(ethers.ZeroAddress, 0n);

    await settleNext(pool, domain, [entry(deviceIds[1]!, start, start + 7_199n)]);
    expect(await token.balanceOf(wallets[1]!)).to.equal(50n * RUPEE);
    expect(await pool.priceFeed()).to.deep.equal([ethers.ZeroAddress, 0n]);
  });
});
