import { expect } from "chai";
import { network } from "hardhat";
import { DEFAULT_SCHEDULE, amountOwedForRuns, type OffRun } from "../../protocol/compensation.ts";
import { RUPEE, deployPool, entry, registerDevices, settleNext } from "./pool-fixture.ts";

const { ethers, networkHelpers } = await network.create();

/** Deploys a funded pool with four devices and moves time far enough that outages lie in the past. */
async function poolWithDevices() {
  const deployed = await deployPool(ethers);
  const devices = await registerDevices(deployed.registry, 4);
  await networkHelpers.time.increase(120 * 86_400);
  const now = BigInt(await networkHelpers.time.latest());
  return { ...deployed, ...devices, start: now - 100n * 86_400n };
}

/** Returns the amountOwed of every OutageSettled event of a transaction. */
async function owedAmounts(pool: Awaited<ReturnType<typeof poolWithDevices>>["pool"], tx: { hash: string }): Promise<bigint[]> {
  const receipt = await ethers.provider.getTransactionReceipt(tx.hash);
  if (receipt === null) throw new Error(`no receipt for ${tx.hash}`);
  const amounts: bigint[] = [];
  for (const log of receipt.logs) {
    const parsed = pool.interface.parseLog(log);
    if (parsed?.name === "OutageSettled") amounts.push(parsed.args.amountOwed);
  }
  return amounts;
}

/** Deterministic PRNG (mulberry32) so a failing case can be replayed from its seed. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

describe("PayoutPool compensation", function () {
  it("pays 13,888,888,888,888,888 wei for 3,601 off-seconds", async function () {
    const { pool, domain, deviceIds, wallets, token, start } = await networkHelpers.loadFixture(poolWithDevices);
    const device = deviceIds[0]!;

    const tx = await settleNext(pool, domain, [entry(device, start, start + 3_600n)]);

    expect(await owedAmounts(pool, tx)).to.deep.equal([13_888_888_888_888_888n]);
    expect(await token.balanceOf(wallets[0]!)).to.equal(13_888_888_888_888_888n);
  });

  it("pays nothing for off-seconds 0 to 3599 and starts at 3600", async function () {
    const { pool, domain, deviceIds, start } = await networkHelpers.loadFixture(poolWithDevices);
    const device = deviceIds[0]!;

    const first = await settleNext(pool, domain, [entry(device, start, start + 3_599n)]);
    const second = await settleNext(pool, domain, [entry(device, start + 3_600n, start + 3_600n)]);

    expect(await owedAmounts(pool, first)).to.deep.equal([0n]);
    expect(await owedAmounts(pool, second)).to.deep.equal([(50n * RUPEE) / 3_600n]);
  });

  it("switches to 100 rupees per hour at off-second 10800", async function () {
    const { pool, domain, deviceIds, start } = await networkHelpers.loadFixture(poolWithDevices);
    const device = deviceIds[0]!;

    await settleNext(pool, domain, [entry(device, start, start + 10_798n)]);
    const at10799 = await settleNext(pool, domain, [entry(device, start + 10_799n, start + 10_799n)]);
    const at10800 = await settleNext(pool, domain, [entry(device, start + 10_800n, start + 10_800n)]);

    // C(10799) = floor(50e18 * 7199 / 3600); C(10800) = 100e18; C(10801) = floor(100e18 + 100e18 / 3600).
    const c10799 = (50n * RUPEE * 7_199n) / 3_600n;
    const c10800 = 100n * RUPEE;
    const c10801 = (50n * RUPEE * 7_200n + 100n * RUPEE) / 3_600n;
    expect(await owedAmounts(pool, at10799)).to.deep.equal([c10800 - c10799]);
    expect(await owedAmounts(pool, at10800)).to.deep.equal([c10801 - c10800]);
    const state = await pool.deviceState(device);
    expect(state.offSeconds).to.equal(10_801n);
    expect(state.owedInOutage).to.equal(c10801);
    expect(state.ratePerHour).to.equal(100n * RUPEE);
  });

  it("continues an outage across a 299-second gap", async function () {
    const { pool, domain, deviceIds, start } = await networkHelpers.loadFixture(poolWithDevices);
    const device = deviceIds[0]!;

    await settleNext(pool, domain, [entry(device, start, start + 3_599n)]);
    // Gap = c - b - 1 = 299 seconds, so the outage continues with 3600 off-seconds behind it.
    const resumeAt = start + 3_599n + 300n;
    const tx = await settleNext(pool, domain, [entry(device, resumeAt, resumeAt + 59n)]);

    expect(await owedAmounts(pool, tx)).to.deep.equal([(50n * RUPEE * 60n) / 3_600n]);
    const state = await pool.deviceState(device);
    expect(state.outageStart).to.equal(start);
    expect(state.offSeconds).to.equal(3_660n);
  });

  it("starts a new outage after a 300-second gap", async function () {
    const { pool, domain, deviceIds, start } = await networkHelpers.loadFixture(poolWithDevices);
    const device = deviceIds[0]!;

    await settleNext(pool, domain, [entry(device, start, start + 3_599n)]);
    const resumeAt = start + 3_599n + 301n;
    const tx = await settleNext(pool, domain, [entry(device, resumeAt, resumeAt + 59n)]);

    expect(await owedAmounts(pool, tx)).to.deep.equal([0n]);
    const state = await pool.deviceState(device);
    expect(state.outageStart).to.equal(resumeAt);
    expect(state.offSeconds).to.equal(60n);
    expect(state.lastSettledSecond).to.equal(resumeAt + 59n);
  });

  it("emits the outage fields of each settled entry", async function () {
    const { pool, domain, deviceIds, wallets, start } = await networkHelpers.loadFixture(poolWithDevices);
    const device = deviceIds[1]!;

    await settleNext(pool, domain, [entry(device, start, start + 3_599n)]);
    const tx = settleNext(pool, domain, [entry(device, start + 3_600n, start + 7_199n)]);

    await expect(tx)
      .to.emit(pool, "OutageSettled")
      .withArgs(device, wallets[1], ethers.id("feeder-A"), 2n, start, 3_600n, start + 3_600n, start + 7_199n, 50n * RUPEE, 50n * RUPEE, 0n);
    await expect(tx).to.emit(pool, "BatchSettled").withArgs(2n, ethers.ZeroHash, 1n, 50n * RUPEE, 50n * RUPEE);
  });

  it("keeps an outage's schedule when the schedule changes mid-outage", async function () {
    const { pool, domain, deviceIds, wallets, token, start } = await networkHelpers.loadFixture(poolWithDevices);
    const device = deviceIds[0]!;
    await settleNext(pool, domain, [entry(device, start, start + 5_000n)]);

    await expect(pool.setSchedule([{ startOffsetSeconds: 0n, ratePerHour: 1_000n * RUPEE }], 600n, 0n)).to.emit(pool, "ScheduleSet");
    await settleNext(pool, domain, [entry(device, start + 5_001n, start + 14_399n)]);

    const expected = amountOwedForRuns(DEFAULT_SCHEDULE, [{ fromSecond: Number(start), toSecond: Number(start + 14_399n) }]).total;
    expect(await token.balanceOf(wallets[0]!)).to.equal(expected);
    expect((await pool.deviceState(device)).scheduleId).to.equal(0n);
  });

  it("applies a new schedule to outages starting after it", async function () {
    const { pool, domain, deviceIds, start } = await networkHelpers.loadFixture(poolWithDevices);
    const device = deviceIds[0]!;
    await pool.setSchedule([{ startOffsetSeconds: 0n, ratePerHour: 36n * RUPEE }], 600n, 0n);
    const now = BigInt(await networkHelpers.time.latest());
    await networkHelpers.time.increase(100);

    // An outage that started before the change keeps schedule 0; one starting after it uses schedule 1.
    const before = await settleNext(pool, domain, [entry(device, start, start + 99n)]);
    const after = await settleNext(pool, domain, [entry(deviceIds[1]!, now + 1n, now + 10n)]);

    expect(await owedAmounts(pool, before)).to.deep.equal([0n]);
    expect(await owedAmounts(pool, after)).to.deep.equal([10n * RUPEE / 100n]);
    expect((await pool.deviceState(deviceIds[1]!)).scheduleId).to.equal(1n);
  });

  it("pays the same total for any split into batches", async function () {
    const { pool, domain, deviceIds, wallets, token, start } = await networkHelpers.loadFixture(poolWithDevices);
    const random = prng(20_240_601);
    const cases = 300;
    for (let caseIndex = 0; caseIndex < cases; caseIndex += 1) {
      const slot = caseIndex % 2;
      const splitDevice = deviceIds[slot * 2]!;
      const wholeDevice = deviceIds[slot * 2 + 1]!;
      const base = start + BigInt(caseIndex) * 20_000n;
      // An outage of up to 5 hours in up to 4 runs separated by gaps around the merge gap.
      const runs: OffRun[] = [];
      let cursor = Number(base);
      const runCount = 1 + Math.floor(random() * 4);
      for (let r = 0; r < runCount; r += 1) {
        const length = 1 + Math.floor(random() * 5_000);
        runs.push({ fromSecond: cursor, toSecond: cursor + length - 1 });
        cursor += length + Math.floor(random() * 400);
      }
      // The whole device gets each run in one entry; the split device gets each run cut at random points.
      const splitEntries = runs.flatMap((run) => {
        const pieces = [];
        let from = run.fromSecond;
        while (from <= run.toSecond) {
          const to = Math.min(run.toSecond, from + Math.floor(random() * 2_000));
          pieces.push(entry(splitDevice, BigInt(from), BigInt(to)));
          from = to + 1;
        }
        return pieces;
      });
      const splitBefore = await token.balanceOf(wallets[slot * 2]!);
      const wholeBefore = await token.balanceOf(wallets[slot * 2 + 1]!);
      const batchSize = 1 + Math.floor(random() * 4);
      for (let i = 0; i < splitEntries.length; i += batchSize) {
        await settleNext(pool, domain, splitEntries.slice(i, i + batchSize));
      }
      await settleNext(pool, domain, runs.map((run) => entry(wholeDevice, BigInt(run.fromSecond), BigInt(run.toSecond))));

      const expected = amountOwedForRuns(DEFAULT_SCHEDULE, runs).total;
      expect((await token.balanceOf(wallets[slot * 2]!)) - splitBefore, `case ${caseIndex} split`).to.equal(expected);
      expect((await token.balanceOf(wallets[slot * 2 + 1]!)) - wholeBefore, `case ${caseIndex} whole`).to.equal(expected);
    }
  });
});
