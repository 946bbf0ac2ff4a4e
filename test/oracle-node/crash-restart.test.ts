import { expect } from "chai";
import { amountOwedForRuns } from "../../protocol/compensation.ts";
import { clockToEnv } from "../../protocol/clock.ts";
import type { SignedDeviceMessage } from "../../protocol/device-message.ts";
import { ORACLE_KEY, clockAt, createOracleChain, tempDataDir, testDeviceKey, testWallet, waitFor, type OracleChain } from "../helpers/oracle-chain.ts";
import { TestDevice, attestRun } from "../helpers/oracle-device.ts";
import { OracleProcess, freePort } from "../helpers/oracle-process.ts";

describe("oracle node crash and restart", () => {
  let chain: OracleChain;
  const processes: OracleProcess[] = [];

  beforeEach(async () => {
    chain = await createOracleChain();
  });

  afterEach(async () => {
    for (const oracle of processes.splice(0)) {
      if (oracle.child.exitCode === null && oracle.child.signalCode === null) {
        await oracle.kill("SIGTERM");
      }
    }
    await chain.close();
  });

  it("pays every second exactly once after SIGKILL mid-batch", async () => {
    const key = testDeviceKey("crash");
    const wallet = testWallet("crash");
    await chain.registerDevice(key, wallet);
    const now = await chain.advanceTime(600);
    const port = await freePort();
    const dataDir = tempDataDir("crash");
    const env = {
      ...clockToEnv(clockAt(now)),
      ORACLE_RPC_URL: chain.bridge.url,
      ORACLE_POOL_ADDRESS: chain.poolAddress,
      ORACLE_REGISTRY_ADDRESS: chain.registryAddress,
      ORACLE_PRIVATE_KEY: ORACLE_KEY.privateKey,
      ORACLE_PORT: String(port),
      ORACLE_DATA_DIR: dataDir,
      ORACLE_BATCH_WINDOW_MS: "200",
      ORACLE_MAX_BATCH_ENTRIES: "1",
      ORACLE_POLL_INTERVAL_MS: "100",
      ORACLE_LOG_LEVEL: "info",
    };
    const url = `ws://127.0.0.1:${port}`;

    const first = new OracleProcess(env, dataDir);
    processes.push(first);
    await first.waitForLine((line) => line.msg === "oracle node started");
    const { device } = await TestDevice.connect(url, chain.domain, key.address, key);
    // Three runs, so with one entry per batch the node settles over several batches.
    const messages: SignedDeviceMessage[] = [
      ...attestRun(device, key, now - 500, now - 481, 1),
      ...attestRun(device, key, now - 400, now - 381, 21),
      ...attestRun(device, key, now - 100, now - 81, 41),
    ];
    const acked = new Set<bigint>();
    const sending = messages.map((message) =>
      device.send(message).then((answer) => {
        if (answer.type === "ack") {
          acked.add(answer.seq);
        }
      }),
    );
    // Kill the node between sending a settlement transaction and recording its confirmation.
    await first.waitForLine((line) => line.msg === "transaction sent");
    const killed = await first.kill("SIGKILL");
    expect(killed.signal).to.equal("SIGKILL");
    await device.closed();
    void Promise.allSettled(sending);

    const second = new OracleProcess(env, dataDir);
    processes.push(second);
    await second.waitForLine((line) => line.msg === "oracle node started");
    const { device: resumed, welcome } = await TestDevice.connect(url, chain.domain, key.address, key);
    if (welcome.type !== "welcome") {
      throw new Error(`expected a welcome, got ${welcome.type}`);
    }
    // Everything acknowledged before the crash was durable.
    for (const seq of acked) {
      expect(seq <= welcome.lastSeq).to.equal(true);
    }
    const rest = messages.filter((message) => message.seq > welcome.lastSeq);
    expect((await resumed.sendAll(rest)).every((answer) => answer.type === "ack")).to.equal(true);

    const expected = amountOwedForRuns(chain.schedule, [
      { fromSecond: now - 500, toSecond: now - 481 },
      { fromSecond: now - 400, toSecond: now - 381 },
      { fromSecond: now - 100, toSecond: now - 81 },
    ]).total;
    await waitFor("every second to be paid", async () => ((await chain.balanceOf(wallet)) === expected ? true : undefined));
    const [settledUntil] = await chain.pool.getFunction("deviceState")(key.address);
    expect(settledUntil).to.equal(BigInt(now - 81));
    await resumed.close();
    const stopped = await second.kill("SIGTERM");
    expect(stopped.code).to.equal(0);
    expect(second.lines.some((line) => line.msg === "oracle node stopped")).to.equal(true);
    expect(await chain.balanceOf(wallet)).to.equal(expected);
  });
});
