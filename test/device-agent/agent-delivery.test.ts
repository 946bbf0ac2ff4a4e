import { expect } from "chai";
import { rmSync } from "node:fs";
import { protocolDomain } from "../../protocol/eip712.ts";
import { readStatus } from "../../device-agent/commands/status.ts";
import { readKeyFile } from "../../device-agent/keystore.ts";
import { AgentProcess, agentEnv, createTestDevice, runArgs, runCli, testClock, waitUntil, type TestDevice } from "../helpers/agent-process.ts";
import { AgentTestServer, type AcceptedMessage } from "../helpers/agent-test-server.ts";

const POOL = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const CHAIN_ID = 31_337n;

function expectSeqsOnceInOrder(accepted: readonly AcceptedMessage[]): void {
  accepted.forEach((message, index) => {
    expect(message.seq, `message ${index}`).to.equal(BigInt(index + 1));
  });
}

function expectContiguousSeconds(accepted: readonly AcceptedMessage[], firstSecond: number, offSeconds: number): void {
  const attestations = accepted.filter((message) => message.kind === "attestation");
  expect(attestations).to.have.length(offSeconds);
  attestations.forEach((message, index) => {
    expect(message.second, `attestation ${index}`).to.equal(BigInt(firstSecond + index));
  });
  const last = accepted.at(-1);
  expect(last?.kind).to.equal("restoration");
  expect(last?.second).to.equal(BigInt(firstSecond + offSeconds));
}

function safeStatus(dataDir: string): ReturnType<typeof readStatus> | undefined {
  try {
    return readStatus(dataDir);
  } catch {
    return undefined;
  }
}

describe("device agent delivery", () => {
  let server: AgentTestServer;
  let device: TestDevice;
  const agents: AgentProcess[] = [];

  beforeEach(async () => {
    server = new AgentTestServer(protocolDomain(CHAIN_ID, POOL));
    await server.start();
    device = await createTestDevice();
    server.registerDevice(device.deviceId);
  });

  afterEach(async () => {
    for (const agent of agents.splice(0)) {
      await agent.stop();
    }
    await server.close();
    rmSync(device.dataDir, { recursive: true, force: true });
  });

  function startAgent(clock: ReturnType<typeof testClock>, extra: readonly string[]): AgentProcess {
    const agent = new AgentProcess(
      runArgs(device, server.url, CHAIN_ID, POOL, ["--replay-run-start-second", String(clock.simAnchorSeconds), ...extra]),
      agentEnv(clock),
      device.dataDir,
    );
    agents.push(agent);
    return agent;
  }

  it("SIGKILL and restart delivers every seq once", async () => {
    const clock = testClock(100);
    const outageStart = clock.simAnchorSeconds + 10;
    const first = startAgent(clock, ["--source", "outages", "--outages", "10+600", "--debounce-sim-seconds", "0"]);
    await server.waitFor(() => server.accepted.length >= 150, "150 accepted messages");
    first.child.kill("SIGKILL");
    const exit = await first.exited;
    expect(exit.signal).to.equal("SIGKILL");

    const second = startAgent(clock, ["--source", "outages", "--outages", "10+600", "--debounce-sim-seconds", "0"]);
    await server.waitFor(() => server.accepted.some((message) => message.kind === "restoration"), "the restoration notice");
    await second.stop();

    expectSeqsOnceInOrder(server.accepted);
    // The replay reports the outage again from its start, so the restarted agent attests
    // the seconds it was down for as well.
    expectContiguousSeconds(server.accepted, outageStart, 600);
    expect(server.rejected).to.deep.equal([]);
    const status = readStatus(device.dataDir);
    expect(status.queued).to.equal(0);
    expect(status.nextSeq).to.equal(server.accepted.length + 1);
  });

  it("reconnect back-fills in seq order", async () => {
    const clock = testClock(100);
    const outageStart = clock.simAnchorSeconds + 5;
    startAgent(clock, ["--source", "outages", "--outages", "5+800", "--debounce-sim-seconds", "0"]);
    await server.waitFor(() => server.accepted.length >= 100, "100 accepted messages");

    server.setOffline(true);
    const acceptedBeforeLoss = server.accepted.length;
    await waitUntil(() => (safeStatus(device.dataDir)?.queued ?? 0) >= 150, "150 messages queued while offline");
    expect(server.accepted.length).to.equal(acceptedBeforeLoss);
    server.setOffline(false);

    await server.waitFor(() => server.accepted.some((message) => message.kind === "restoration"), "the restoration notice");
    expectSeqsOnceInOrder(server.accepted);
    expectContiguousSeconds(server.accepted, outageStart, 800);
    expect(server.rejected).to.deep.equal([]);
  });

  it("rotation mid-outage keeps old-key seconds valid", async () => {
    const clock = testClock(100);
    const outageStart = clock.simAnchorSeconds + 5;
    startAgent(clock, ["--source", "outages", "--outages", "5+1200", "--debounce-sim-seconds", "0"]);
    await server.waitFor(() => server.accepted.length >= 50, "50 accepted messages");
    server.setOffline(true);

    const validFrom = outageStart + 400;
    const rotation = await runCli(
      ["rotate", "--data-dir", device.dataDir, "--valid-from", String(validFrom), "--kdf-cost", "light"],
      agentEnv(clock),
      device.dataDir,
    );
    expect(rotation.stderr).to.equal("");
    expect(rotation.code).to.equal(0);
    const newKey = /new key: (0x[0-9a-fA-F]{40})/.exec(rotation.stdout)?.[1];
    expect(newKey).to.be.a("string");
    server.rotateKey(device.deviceId, newKey ?? "", validFrom);
    expect(rotation.stdout).to.contain(`rotateKey(${device.deviceId}, ${newKey}, ${validFrom})`);

    await waitUntil(() => (safeStatus(device.dataDir)?.unfinishedOutage?.nextSecond ?? 0) > validFrom + 100, "seconds signed past the rotation");
    server.setOffline(false);
    await server.waitFor(() => server.accepted.some((message) => message.kind === "restoration"), "the restoration notice");

    expectSeqsOnceInOrder(server.accepted);
    expectContiguousSeconds(server.accepted, outageStart, 1200);
    for (const message of server.accepted) {
      const expected = message.second < BigInt(validFrom) ? device.deviceId : newKey;
      expect(message.signer, `signer of second ${message.second}`).to.equal(expected);
    }
    expect(server.rejected).to.deep.equal([]);

    await waitUntil(() => readKeyFile(device.keystore).keys[0]?.encryptedKey === undefined, "the old key to be retired");
    const keys = readKeyFile(device.keystore).keys;
    expect(keys.map((key) => key.address)).to.deep.equal([device.deviceId, newKey]);
    expect(keys[0]?.retiredAt).to.be.a("number");
    expect(keys[1]?.validFrom).to.equal(validFrom);
  });

  it("final error is not re-sent; retryable is", async () => {
    const clock = testClock(100);
    const outageStart = clock.simAnchorSeconds + 5;
    let rateLimited = false;
    server.inject = (message) => {
      if (message.seq === 10n) {
        return "SECOND_TOO_OLD";
      }
      if (message.seq === 20n && !rateLimited) {
        rateLimited = true;
        return "RATE_LIMITED";
      }
      return undefined;
    };
    startAgent(clock, ["--source", "outages", "--outages", "5+200", "--debounce-sim-seconds", "0"]);
    await server.waitFor(() => server.accepted.some((message) => message.kind === "restoration"), "the restoration notice");
    await waitUntil(() => safeStatus(device.dataDir)?.queued === 0, "an empty queue");

    expect(server.receivedSeqs.filter((seq) => seq === 10n)).to.have.length(1);
    expect(server.receivedSeqs.filter((seq) => seq === 20n).length).to.be.at.least(2);
    expect(server.rejected).to.deep.equal([{ seq: 10n, code: "SECOND_TOO_OLD" }]);
    expect(server.accepted.map((message) => message.seq)).to.not.include(10n);
    expect(server.accepted.map((message) => message.seq)).to.include(20n);
    expect(server.accepted).to.have.length(200);
    expect(server.accepted.at(-1)?.second).to.equal(BigInt(outageStart + 200));

    const status = readStatus(device.dataDir);
    expect(status.rejected).to.equal(1);
    expect(status.recentRejected[0]?.seq).to.equal(10);
    expect(status.recentRejected[0]?.code).to.equal("SECOND_TOO_OLD");
    expect(status.recentRejected[0]?.second).to.equal(outageStart + 9);
    expect(status.acknowledged).to.equal(200);
    const printed = await runCli(["status", "--data-dir", device.dataDir], agentEnv(undefined), device.dataDir);
    expect(printed.code).to.equal(0);
    expect(printed.stdout).to.contain("rejected:      1 messages");
    expect(printed.stdout).to.contain("seq 10");
    expect(printed.stdout).to.contain("SECOND_TOO_OLD");
  });

  it("queue bound pauses signing and loses nothing", async () => {
    const clock = testClock(100);
    const outageStart = clock.simAnchorSeconds + 5;
    server.setOffline(true);
    const agent = startAgent(clock, ["--source", "outages", "--outages", "5+600", "--debounce-sim-seconds", "0", "--max-queued-messages", "50"]);

    const warning = await agent.waitForLog((line) => line.message.startsWith("queue full"), "queue full warning");
    expect(warning.level).to.equal("error");
    expect(warning.maxQueuedMessages).to.equal(50);
    expect(warning.deviceId).to.equal(device.deviceId);
    const full = readStatus(device.dataDir);
    expect(full.queued).to.equal(50);
    expect(full.queueFull).to.equal(true);

    server.setOffline(false);
    await server.waitFor(() => server.accepted.some((message) => message.kind === "restoration"), "the restoration notice");
    expectSeqsOnceInOrder(server.accepted);
    expectContiguousSeconds(server.accepted, outageStart, 600);
    await agent.waitForLog((line) => line.message.startsWith("queue has room again"), "signing resumed");
  });

  it("SIGTERM keeps unacknowledged messages on disk", async () => {
    const clock = testClock(100);
    const agent = startAgent(clock, ["--source", "outages", "--outages", "5+2000", "--debounce-sim-seconds", "0", "--shutdown-grace-real-ms", "200"]);
    await server.waitFor(() => server.accepted.length >= 20, "20 accepted messages");
    server.setOffline(true);
    await waitUntil(() => (safeStatus(device.dataDir)?.queued ?? 0) >= 30, "30 messages queued while offline");

    const exit = await agent.stop();
    expect(exit.code).to.equal(0);
    const stopped = await agent.waitForLog((line) => line.message === "agent stopped", "the stop log");
    const status = readStatus(device.dataDir);
    expect(stopped.queuedOnDisk).to.equal(status.queued);
    expect(status.queued).to.be.at.least(30);
    // Every signed seq is either acknowledged or still queued. An acknowledgement lost with
    // the connection leaves its message queued, and the next send gets it acknowledged again.
    expect(status.acknowledged + status.queued).to.equal(status.nextSeq - 1);
    expect(status.acknowledged).to.be.at.most(server.accepted.length);
    expect(status.rejected).to.equal(0);
  });

  it("missing pong drops the connection", async () => {
    const clock = testClock(100);
    const outageStart = clock.simAnchorSeconds + 5;
    const agent = startAgent(clock, ["--source", "outages", "--outages", "5+600", "--debounce-sim-seconds", "0", "--ping-interval-real-ms", "200"]);
    await server.waitFor(() => server.accepted.length >= 20, "20 accepted messages");

    server.setUnresponsive(true);
    const dropped = await agent.waitForLog((line) => line.message === "no pong from the oracle; dropping the connection", "the dead-connection warning");
    expect(dropped.level).to.equal("warn");
    expect(dropped.pingIntervalRealMs).to.equal(200);
    server.setUnresponsive(false);

    await server.waitFor(() => server.accepted.some((message) => message.kind === "restoration"), "the restoration notice");
    expectSeqsOnceInOrder(server.accepted);
    expectContiguousSeconds(server.accepted, outageStart, 600);
  });
});
