import { expect } from "chai";
import { rmSync } from "node:fs";
import { clockToEnv } from "../../protocol/clock.ts";
import { amountOwedForRuns } from "../../protocol/compensation.ts";
import { readStatus } from "../../device-agent/commands/status.ts";
import { AgentProcess, agentEnv, createTestDevice, runArgs, waitUntil, type TestDevice } from "../helpers/agent-process.ts";
import { FEEDER_NORTH, ORACLE_KEY, clockAt, createOracleChain, tempDataDir, testWallet, waitFor, type OracleChain } from "../helpers/oracle-chain.ts";
import { OracleProcess, freePort } from "../helpers/oracle-process.ts";

describe("device agent with the oracle node", () => {
  let chain: OracleChain;
  let device: TestDevice;
  let oracle: OracleProcess | undefined;
  let agent: AgentProcess | undefined;
  let oracleDir: string;

  beforeEach(async () => {
    chain = await createOracleChain();
    device = await createTestDevice();
    oracleDir = tempDataDir("agent-e2e");
  });

  afterEach(async () => {
    await agent?.stop();
    if (oracle !== undefined && oracle.child.exitCode === null && oracle.child.signalCode === null) {
      await oracle.kill("SIGTERM");
    }
    await chain.close();
    rmSync(device.dataDir, { recursive: true, force: true });
    rmSync(oracleDir, { recursive: true, force: true });
  });

  it("outage is attested, settled and paid", async () => {
    const wallet = testWallet("agent-e2e");
    await (await chain.registry.getFunction("registerDevice")(device.deviceId, device.deviceId, wallet, FEEDER_NORTH)).wait();
    const now = await chain.advanceTime(5);
    const clock = clockAt(now);
    const port = await freePort();
    oracle = new OracleProcess(
      {
        ...clockToEnv(clock),
        ORACLE_RPC_URL: chain.bridge.url,
        ORACLE_POOL_ADDRESS: chain.poolAddress,
        ORACLE_REGISTRY_ADDRESS: chain.registryAddress,
        ORACLE_PRIVATE_KEY: ORACLE_KEY.privateKey,
        ORACLE_PORT: String(port),
        ORACLE_DATA_DIR: oracleDir,
        ORACLE_BATCH_WINDOW_MS: "200",
        ORACLE_POLL_INTERVAL_MS: "100",
        ORACLE_LOG_LEVEL: "info",
      },
      oracleDir,
    );
    await oracle.waitForLine((line) => line.msg === "oracle node started");

    // Power goes off 3 seconds after the run start and comes back 20 seconds later.
    agent = new AgentProcess(
      runArgs(device, `ws://127.0.0.1:${port}`, chain.chainId, chain.poolAddress, ["--source", "outages", "--outages", "3+20", "--debounce-sim-seconds", "0", "--replay-run-start-second", String(now)]),
      agentEnv(clock),
      device.dataDir,
    );
    const firstOff = now + 3;
    const expected = amountOwedForRuns(chain.schedule, [{ fromSecond: firstOff, toSecond: firstOff + 19 }]).total;
    expect(expected).to.be.greaterThan(0n);

    await waitFor("the outage to be paid", async () => ((await chain.balanceOf(wallet)) === expected ? true : undefined), 120_000);
    const [settledUntil] = await chain.pool.getFunction("deviceState")(device.deviceId);
    expect(settledUntil).to.equal(BigInt(firstOff + 19));

    await waitUntil(() => readStatus(device.dataDir).queued === 0, "an empty queue");
    const status = readStatus(device.dataDir);
    expect(status.acknowledged).to.equal(21);
    expect(status.rejected).to.equal(0);
    expect(status.nextSeq).to.equal(22);
    expect(await chain.balanceOf(wallet)).to.equal(expected);
  });
});
