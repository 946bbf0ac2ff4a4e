import { expect } from "chai";
import { amountOwedForRuns } from "../../protocol/compensation.ts";
import { startOracleNode, type OracleNode } from "../../oracle-node/node.ts";
import { clockAt, createOracleChain, memoryLogger, tempDataDir, testDeviceKey, testOracleConfig, testWallet, waitFor, type OracleChain } from "../helpers/oracle-chain.ts";
import { TestDevice, attestRun } from "../helpers/oracle-device.ts";

describe("oracle node seq holes", () => {
  let chain: OracleChain;
  let node: OracleNode | undefined;

  beforeEach(async () => {
    chain = await createOracleChain();
  });

  afterEach(async () => {
    await node?.stop();
    node = undefined;
    await chain.close();
  });

  it("settles nothing after a hole until the missing seq arrives", async () => {
    const key = testDeviceKey("hole");
    const wallet = testWallet("hole");
    await chain.registerDevice(key, wallet);
    const now = await chain.advanceTime(300);
    const { logger } = memoryLogger("warn");
    node = await startOracleNode(testOracleConfig(chain, { clock: clockAt(now), dataDir: tempDataDir("hole") }), logger);
    const { device } = await TestDevice.connect(`ws://127.0.0.1:${node.port}`, chain.domain, key.address, key);
    const run = attestRun(device, key, now - 60, now - 51, 1);
    const [one, two, three, ...rest] = run;
    if (one === undefined || two === undefined || three === undefined) {
      throw new Error("run too short");
    }

    expect((await device.sendAll([one, two])).map((answer) => answer.type)).to.deep.equal(["ack", "ack"]);
    const gapAnswers = await device.sendAll(rest);
    for (const answer of gapAnswers) {
      expect(answer.type === "error" ? [answer.code, answer.details?.expectedSeq] : answer.type).to.deep.equal(["SEQ_GAP", 3]);
    }
    const beforeHole = amountOwedForRuns(chain.schedule, [{ fromSecond: now - 60, toSecond: now - 59 }]).total;
    await waitFor("the seconds before the hole to be paid", async () => ((await chain.balanceOf(wallet)) === beforeHole ? true : undefined));
    const [settledBefore] = await chain.pool.getFunction("deviceState")(key.address);
    expect(settledBefore).to.equal(BigInt(now - 59));

    expect((await device.sendAll([three, ...rest])).map((answer) => answer.type)).to.deep.equal(Array(8).fill("ack"));
    const all = amountOwedForRuns(chain.schedule, [{ fromSecond: now - 60, toSecond: now - 51 }]).total;
    await waitFor("every second to be paid", async () => ((await chain.balanceOf(wallet)) === all ? true : undefined));
    const [settledAfter] = await chain.pool.getFunction("deviceState")(key.address);
    expect(settledAfter).to.equal(BigInt(now - 51));
    // A re-sent second is acknowledged again and never paid twice.
    expect((await device.send(three)).type).to.equal("ack");
    const sequenceBefore = await chain.lastBatchSequence();
    await chain.advanceTime(1);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await chain.lastBatchSequence()).to.equal(sequenceBefore);
    expect(await chain.balanceOf(wallet)).to.equal(all);
    await device.close();
  });
});
