import { expect } from "chai";
import { amountOwedForRuns } from "../../protocol/compensation.ts";
import { startOracleNode, type OracleNode } from "../../oracle-node/node.ts";
import { clockAt, createOracleChain, memoryLogger, tempDataDir, testDeviceKey, testOracleConfig, testWallet, waitFor, type OracleChain } from "../helpers/oracle-chain.ts";
import { TestDevice, attestRun } from "../helpers/oracle-device.ts";

describe("oracle node during an RPC outage", () => {
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

  it("keeps accepting and settles once the endpoint returns", async () => {
    const key = testDeviceKey("rpc-outage");
    const wallet = testWallet("rpc-outage");
    await chain.registerDevice(key, wallet);
    const now = await chain.advanceTime(300);
    const { logger, lines } = memoryLogger("info");
    node = await startOracleNode(testOracleConfig(chain, { clock: clockAt(now), dataDir: tempDataDir("rpc-outage"), logLevel: "info" }), logger);
    const { device } = await TestDevice.connect(`ws://127.0.0.1:${node.port}`, chain.domain, key.address, key);

    await chain.bridge.stop();
    const messages = attestRun(device, key, now - 100, now - 81, 1);
    expect((await device.sendAll(messages)).map((answer) => answer.type)).to.deep.equal(Array(20).fill("ack"));
    await waitFor("a failed settlement round", () => (lines.some((line) => line.msg === "settlement round failed; retrying next window") ? true : undefined));
    expect(await chain.balanceOf(wallet)).to.equal(0n);

    await chain.bridge.start();
    const expected = amountOwedForRuns(chain.schedule, [{ fromSecond: now - 100, toSecond: now - 81 }]).total;
    await waitFor("the payout after the outage", async () => ((await chain.balanceOf(wallet)) === expected ? true : undefined));
    await waitFor("the recovery to be logged", () => (lines.some((line) => line.msg === "settlement works again") ? true : undefined));
    await device.close();
  });
});
