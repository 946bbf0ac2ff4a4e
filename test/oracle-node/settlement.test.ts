import { expect } from "chai";
import { amountOwedForRuns } from "../../protocol/compensation.ts";
import { startOracleNode, type OracleNode } from "../../oracle-node/node.ts";
import { clockAt, createOracleChain, memoryLogger, tempDataDir, testDeviceKey, testOracleConfig, testWallet, waitFor, type OracleChain } from "../helpers/oracle-chain.ts";
import { TestDevice, attestRun } from "../helpers/oracle-device.ts";

describe("oracle node settlement", () => {
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

  it("pays every attested second exactly once", async () => {
    const key = testDeviceKey("settle-1");
    const wallet = testWallet("settle-1");
    await chain.registerDevice(key, wallet);
    const now = await chain.advanceTime(120);
    const { logger } = memoryLogger();
    node = await startOracleNode(testOracleConfig(chain, { clock: clockAt(now), dataDir: tempDataDir("settle") }), logger);

    const { device, welcome } = await TestDevice.connect(`ws://127.0.0.1:${node.port}`, chain.domain, key.address, key);
    expect(welcome).to.deep.equal({ type: "welcome", deviceId: key.address, lastSeq: 0n });
    const first = attestRun(device, key, now - 40, now - 21, 1);
    const restoration = device.sign("restoration", now - 20, 21, key);
    const second = attestRun(device, key, now - 10, now - 6, 22);
    const answers = await device.sendAll([...first, restoration, ...second]);
    expect(answers.map((answer) => (answer.type === "error" ? answer.code : answer.type))).to.deep.equal(Array(26).fill("ack"));

    const expected = amountOwedForRuns(chain.schedule, [
      { fromSecond: now - 40, toSecond: now - 21 },
      { fromSecond: now - 10, toSecond: now - 6 },
    ]).total;
    await waitFor("the device's payout", async () => ((await chain.balanceOf(wallet)) === expected ? true : undefined));
    await device.close();
    expect(await chain.balanceOf(wallet)).to.equal(expected);
  });
});
