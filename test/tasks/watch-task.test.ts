import { expect } from "chai";
import hre from "hardhat";
import { amountForOffSeconds, type Schedule } from "../../protocol/compensation.ts";
import { DEVICE_A, DEVICE_B, OFF_SECONDS_A, OWED_A, OWED_B, RUPEE, WALLET_A, WALLET_B, captureTaskIo, connection, deploySettledChain } from "./task-chain-fixture.ts";

const { networkHelpers } = connection;

async function runWatch(options: Record<string, unknown>) {
  const io = captureTaskIo();
  const result: unknown = await hre.tasks.getTask("watch").run({ once: true, ...options });
  return { io, result };
}

describe("watch task", function () {
  it("prints the confirmed balance once", async function () {
    const chain = await networkHelpers.loadFixture(deploySettledChain);
    // An hour after the last settled second the outage is taken as over, so nothing is pending.
    const at = chain.outageStart + OFF_SECONDS_A + 3_600n;
    const { io, result } = await runWatch({ pool: chain.poolAddress, wallet: WALLET_A, at: String(at) });

    expect(result).to.deep.equal({ success: true, value: undefined });
    expect(io.out.text).to.equal("confirmed 0.013888 eINR\n");
  });

  it("interpolates a paid outage from deviceState", async function () {
    const chain = await networkHelpers.loadFixture(deploySettledChain);
    const state = await chain.pool.deviceState(DEVICE_A.address);
    const [, tiers, mergeGapSeconds] = await chain.pool.schedule(state.scheduleId);
    const schedule: Schedule = {
      tiers: tiers.map((tier) => ({ startOffsetSeconds: Number(tier.startOffsetSeconds), ratePerHour: tier.ratePerHour })),
      mergeGapSeconds: Number(mergeGapSeconds),
    };
    const elapsed = 10n;
    const expectedPending = amountForOffSeconds(schedule, Number(state.offSeconds + elapsed)) - amountForOffSeconds(schedule, Number(state.offSeconds));
    // 11 seconds into the second hour pay floor(50e18 * 11 / 3600) - floor(50e18 / 3600).
    expect(expectedPending).to.equal(138_888_888_888_888_889n);
    expect(state.ratePerHour).to.equal(50n * RUPEE);

    const at = String(state.lastSettledSecond + elapsed);
    const line = await runWatch({ pool: chain.poolAddress, wallet: WALLET_A, at });
    expect(line.io.out.text).to.equal("confirmed 0.013888 eINR  +0.138888 pending (interpolated)\n");

    const json = await runWatch({ pool: chain.poolAddress, wallet: WALLET_A, at, json: true });
    expect(JSON.parse(json.io.out.text)).to.deep.equal({
      wallet: WALLET_A,
      blockNumber: chain.blocks.settleBlock,
      atSecond: at,
      confirmedWei: String(OWED_A),
      pendingWei: String(expectedPending),
      devices: [{ deviceId: DEVICE_A.address, pendingSeconds: "10", pendingWei: String(expectedPending), ratePerHour: String(50n * RUPEE) }],
    });
  });

  it("follows a device to its new wallet", async function () {
    const chain = await networkHelpers.loadFixture(deploySettledChain);
    await chain.registry.setPayoutWallet(DEVICE_A.address, WALLET_B);
    const state = await chain.pool.deviceState(DEVICE_A.address);
    const at = String(state.lastSettledSecond + 10n);

    const oldWallet = await runWatch({ pool: chain.poolAddress, wallet: WALLET_A, at, json: true });
    const oldReading: { pendingWei: string; devices: unknown[] } = JSON.parse(oldWallet.io.out.text);
    expect(oldReading.pendingWei).to.equal("0");
    expect(oldReading.devices).to.deep.equal([]);

    const newWallet = await runWatch({ pool: chain.poolAddress, wallet: WALLET_B, at, json: true });
    const newReading: { confirmedWei: string; pendingWei: string; devices: { deviceId: string }[] } = JSON.parse(newWallet.io.out.text);
    expect(newReading.confirmedWei).to.equal(String(OWED_B));
    expect(newReading.pendingWei).to.equal("138888888888888889");
    // Device B was settled past `at`, so only device A adds a pending part.
    expect(newReading.devices.map((device) => device.deviceId)).to.deep.equal([DEVICE_B.address, DEVICE_A.address]);
  });

  it("rejects bad options with the fix", async function () {
    const chain = await networkHelpers.loadFixture(deploySettledChain);
    const cases: [Record<string, unknown>, string][] = [
      [{}, "error: --wallet is missing: pass a value with --wallet <value>\n"],
      [{ wallet: "alice" }, 'error: --wallet "alice" is not an address: pass 0x followed by 40 hex digits\n'],
      [{ wallet: WALLET_A, once: false, at: "1" }, "error: --at fixes the time of a single reading: use it together with --once\n"],
      [{ wallet: WALLET_A, intervalMs: 0 }, "error: --interval-ms 0 is not a positive integer: pass a number such as 1000\n"],
    ];
    for (const [options, message] of cases) {
      const { io, result } = await runWatch({ pool: chain.poolAddress, ...options });
      expect(result, JSON.stringify(options)).to.have.property("success", false);
      expect(io.err.text).to.equal(message);
    }
  });
});
