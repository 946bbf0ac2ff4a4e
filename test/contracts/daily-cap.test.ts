import { expect } from "chai";
import { network } from "hardhat";
import { RUPEE, deployPool, entry, registerDevices, settleNext } from "./pool-fixture.ts";

const { ethers, networkHelpers } = await network.create();

const DAY = 86_400n;
const CAP = 150n * RUPEE;

/** Deploys a pool whose schedule caps each device at 150 rupees per UTC day. */
async function cappedPool() {
  const deployed = await deployPool(ethers, { dailyCapPerDevice: CAP });
  const devices = await registerDevices(deployed.registry, 2);
  await networkHelpers.time.increase(30 * 86_400);
  const now = BigInt(await networkHelpers.time.latest());
  const midnight = (now / DAY - 10n) * DAY;
  return { ...deployed, ...devices, midnight };
}

describe("PayoutPool daily cap", function () {
  it("caps one day's outage at the cap", async function () {
    const { pool, token, domain, deviceIds, wallets, midnight } = await networkHelpers.loadFixture(cappedPool);
    const device = deviceIds[0]!;

    // Six hours off would owe 400 rupees; the cap allows 150.
    await settleNext(pool, domain, [entry(device, midnight, midnight + 21_599n)]);

    expect(await token.balanceOf(wallets[0]!)).to.equal(CAP);
  });

  it("gives each UTC day its own cap", async function () {
    const { pool, token, domain, deviceIds, wallets, midnight } = await networkHelpers.loadFixture(cappedPool);
    const device = deviceIds[0]!;

    // Eight hours off from two hours before midnight: 7,200 off-seconds on the first day
    // owe C(7200) = 50 rupees; the next 21,600 owe 550 rupees, capped at 150.
    await settleNext(pool, domain, [entry(device, midnight - 7_200n, midnight + 21_599n)]);

    expect(await token.balanceOf(wallets[0]!)).to.equal(200n * RUPEE);
  });

  it("pays the same capped total however entries split", async function () {
    const { pool, token, domain, deviceIds, wallets, midnight } = await networkHelpers.loadFixture(cappedPool);
    const [whole, split] = [deviceIds[0]!, deviceIds[1]!];
    const from = midnight - 7_200n;
    const to = midnight + 21_599n;

    await settleNext(pool, domain, [entry(whole, from, to)]);
    await settleNext(pool, domain, [entry(split, from, midnight - 3_001n)]);
    await settleNext(pool, domain, [entry(split, midnight - 3_000n, midnight + 5_000n)]);
    await settleNext(pool, domain, [entry(split, midnight + 5_001n, to)]);

    expect(await token.balanceOf(wallets[0]!)).to.equal(200n * RUPEE);
    expect(await token.balanceOf(wallets[1]!)).to.equal(200n * RUPEE);
  });

  it("caps a second outage on the same day", async function () {
    const { pool, token, domain, deviceIds, wallets, midnight } = await networkHelpers.loadFixture(cappedPool);
    const device = deviceIds[0]!;

    // Two outages of 4 hours on one day, 1 hour apart: each owes C(14,400) = 200 rupees,
    // but the day allows 150 in all, so the second pays nothing.
    await settleNext(pool, domain, [entry(device, midnight, midnight + 14_399n)]);
    await settleNext(pool, domain, [entry(device, midnight + 18_000n, midnight + 32_399n)]);

    expect(await token.balanceOf(wallets[0]!)).to.equal(CAP);
    const state = await pool.deviceState(device);
    expect(state.offSeconds).to.equal(14_400n);
    expect(state.outageStart).to.equal(midnight + 18_000n);
  });
});
