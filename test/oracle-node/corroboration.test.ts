import { expect } from "chai";
import { SimClock } from "../../protocol/clock.ts";
import { amountOwedForRuns } from "../../protocol/compensation.ts";
import { startOracleNode, type OracleNode } from "../../oracle-node/node.ts";
import { FEEDER_NORTH, FEEDER_SOUTH, clockAt, createOracleChain, memoryLogger, tempDataDir, testDeviceKey, testOracleConfig, testWallet, waitFor, type OracleChain } from "../helpers/oracle-chain.ts";
import { TestDevice, attestRun } from "../helpers/oracle-device.ts";

/** Simulated seconds the node waits for neighbours, and the oldest second it accepts. */
const WAIT_SIM_SECONDS = 12;

describe("oracle node feeder corroboration", () => {
  let chain: OracleChain;
  let node: OracleNode;
  let clock: SimClock;
  let url: string;
  const lone = testDeviceKey("corroboration-lone");
  const first = testDeviceKey("corroboration-first");
  const late = testDeviceKey("corroboration-late");

  before(async () => {
    chain = await createOracleChain();
    await chain.registerDevice(lone, testWallet("corroboration-lone"), FEEDER_SOUTH);
    await chain.registerDevice(first, testWallet("corroboration-first"), FEEDER_NORTH);
    await chain.registerDevice(late, testWallet("corroboration-late"), FEEDER_NORTH);
    const now = await chain.advanceTime(60);
    const definition = clockAt(now);
    clock = new SimClock(definition);
    const { logger } = memoryLogger("warn");
    node = await startOracleNode(
      testOracleConfig(chain, { clock: definition, dataDir: tempDataDir("corroboration"), corroborationK: 2, maxBackfillAgeSimSeconds: WAIT_SIM_SECONDS }),
      logger,
    );
    url = `ws://127.0.0.1:${node.port}`;
  });

  after(async () => {
    await node.stop();
    await chain.close();
  });

  it("pays a lone device nothing", async () => {
    const { device } = await TestDevice.connect(url, chain.domain, lone.address, lone);
    const t = clock.nowSeconds();
    const answers = await device.sendAll(attestRun(device, lone, t - 8, t - 4, 1));
    expect(answers.map((answer) => answer.type)).to.deep.equal(Array(5).fill("ack"));
    await waitFor(
      "the uncorroborated seconds to be dropped",
      async () => {
        const dropped = await node.metrics.secondsDropped.get();
        return dropped.values.find((value) => value.labels.reason === "uncorroborated")?.value === 5 ? true : undefined;
      },
      60_000,
    );
    expect(await chain.balanceOf(testWallet("corroboration-lone"))).to.equal(0n);
    const [settledUntil] = await chain.pool.getFunction("deviceState")(lone.address);
    expect(settledUntil).to.equal(0n);
    await device.close();
  });

  it("pays two devices on one feeder, the second back-filling late", async () => {
    const t = clock.nowSeconds();
    const { device: early } = await TestDevice.connect(url, chain.domain, first.address, first);
    expect((await early.sendAll(attestRun(early, first, t - 6, t - 2, 1))).every((answer) => answer.type === "ack")).to.equal(true);
    // The neighbour reports the same outage a few seconds later, still within the back-fill age.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(await chain.balanceOf(testWallet("corroboration-first"))).to.equal(0n);
    const { device: lateDevice } = await TestDevice.connect(url, chain.domain, late.address, late);
    expect((await lateDevice.sendAll(attestRun(lateDevice, late, t - 5, t - 3, 1))).every((answer) => answer.type === "ack")).to.equal(true);

    const firstExpected = amountOwedForRuns(chain.schedule, [{ fromSecond: t - 6, toSecond: t - 2 }]).total;
    const lateExpected = amountOwedForRuns(chain.schedule, [{ fromSecond: t - 5, toSecond: t - 3 }]).total;
    await waitFor("both payouts", async () =>
      (await chain.balanceOf(testWallet("corroboration-first"))) === firstExpected && (await chain.balanceOf(testWallet("corroboration-late"))) === lateExpected ? true : undefined,
    );
    await early.close();
    await lateDevice.close();
  });
});
