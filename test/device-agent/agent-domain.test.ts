import { expect } from "chai";
import { rmSync } from "node:fs";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { protocolDomain } from "../../protocol/eip712.ts";
import { AgentStore, STATE_FILE_NAME, type QueuedMessage } from "../../device-agent/agent-store.ts";
import { readStatus } from "../../device-agent/commands/status.ts";
import { AgentProcess, agentEnv, createTestDevice, runArgs, runCli, testClock, waitUntil, type TestDevice } from "../helpers/agent-process.ts";
import { AgentTestServer } from "../helpers/agent-test-server.ts";

const POOL = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const WRONG_POOL = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512";
const CHAIN_ID = 31_337n;
const QUEUED_UNDER_WRONG_POOL = 16;

function safeStatus(dataDir: string): ReturnType<typeof readStatus> | undefined {
  try {
    return readStatus(dataDir);
  } catch {
    return undefined;
  }
}

function queuedMessages(dataDir: string): QueuedMessage[] {
  const store = AgentStore.openReadOnly(dataDir);
  try {
    return store.queuedAfter(0, 1_000_000);
  } finally {
    store.close();
  }
}

describe("device agent EIP-712 domain", () => {
  let server: AgentTestServer;
  let device: TestDevice;
  const agents: AgentProcess[] = [];
  const clock = testClock(100);

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

  function startAgent(pool: string, outages = "5+open"): AgentProcess {
    const extra = ["--source", "outages", "--outages", outages, "--debounce-sim-seconds", "0", "--replay-run-start-second", String(clock.simAnchorSeconds)];
    const agent = new AgentProcess(runArgs(device, server.url, CHAIN_ID, pool, extra), agentEnv(clock), device.dataDir);
    agents.push(agent);
    return agent;
  }

  /** Runs the agent with the wrong pool until it queued QUEUED_UNDER_WRONG_POOL messages, stops it and returns the queue. */
  async function queueUnderWrongPool(): Promise<QueuedMessage[]> {
    const agent = startAgent(WRONG_POOL);
    await waitUntil(() => (safeStatus(device.dataDir)?.queued ?? 0) >= QUEUED_UNDER_WRONG_POOL, `${QUEUED_UNDER_WRONG_POOL} queued messages`);
    const exit = await agent.stop();
    expect(exit.code).to.equal(0);
    expect(server.accepted).to.deep.equal([]);
    return queuedMessages(device.dataDir);
  }

  /** Checks that the oracle accepted every message of `queued` from seq 1, with its second and a new signature by the device key. */
  function expectDeliveredReSigned(queued: readonly QueuedMessage[]): void {
    expect(queued.map((message) => message.seq)).to.deep.equal(queued.map((_message, index) => index + 1));
    expect(server.accepted.length).to.be.at.least(queued.length);
    server.accepted.forEach((message, index) => {
      expect(message.seq, `accepted message ${index}`).to.equal(BigInt(index + 1));
      expect(message.signer, `signer of seq ${message.seq}`).to.equal(device.deviceId);
    });
    for (const old of queued) {
      const delivered = server.accepted[old.seq - 1];
      expect(delivered?.kind, `kind of seq ${old.seq}`).to.equal(old.kind);
      expect(delivered?.second, `second of seq ${old.seq}`).to.equal(BigInt(old.second));
      expect(delivered?.signature, `signature of seq ${old.seq}`).to.not.equal(old.signature);
    }
    expect(server.rejected).to.deep.equal([]);
  }

  it("hello BAD_SIGNATURE shows the domain hint", async () => {
    const agent = startAgent(WRONG_POOL);
    const logged = await agent.waitForLog((line) => line.message === "oracle rejected the hello; reconnecting at the maximum delay", "the hello rejection");
    expect(logged.level).to.equal("error");
    expect(logged.code).to.equal("BAD_SIGNATURE");
    // runArgs sets --reconnect-max-real-ms 400, and the jitter draws between half and all of it.
    expect(logged.retryInRealMs).to.be.within(200, 400);

    await waitUntil(() => safeStatus(device.dataDir)?.lastError?.code === "BAD_SIGNATURE", "BAD_SIGNATURE as the last error");
    const status = readStatus(device.dataDir);
    const hint =
      `Check --chain-id 31337 and --pool-address ${WRONG_POOL} against the deployment, because a hello signed for another chain or pool does not verify, ` +
      `and restart the agent with the corrected values. If both match, check that key ${device.deviceId} is registered for device ${device.deviceId}. ` +
      "Until then the agent tries again after up to 400 ms (--reconnect-max-real-ms) each time.";
    expect(logged.hint).to.equal(hint);
    expect(status.lastError?.message).to.match(/^the oracle rejected the hello: hello signed by 0x[0-9a-fA-F]{40}, not a key of the device\. /);
    expect(status.lastError?.message.endsWith(hint)).to.equal(true);
    expect(status.lastError?.seq).to.equal(null);
    expect(status.domain).to.deep.equal({ chainId: "31337", poolAddress: WRONG_POOL });

    const printed = await runCli(["status", "--data-dir", device.dataDir], agentEnv(undefined), device.dataDir);
    expect(printed.code).to.equal(0);
    expect(printed.stdout).to.contain(`domain:        pool ${WRONG_POOL} on chain 31337`);
    expect(printed.stdout).to.contain(`BAD_SIGNATURE at `);
    expect(printed.stdout).to.contain(`Check --chain-id 31337 and --pool-address ${WRONG_POOL} against the deployment`);
    await waitUntil(() => safeStatus(device.dataDir)?.connection?.phase === "hello-rejected", "the hello-rejected phase");
  });

  it("wrong pool then right pool re-signs and delivers", async () => {
    const queued = await queueUnderWrongPool();
    expect(queued.length).to.be.at.least(QUEUED_UNDER_WRONG_POOL);

    const agent = startAgent(POOL);
    const moved = await agent.waitForLog((line) => line.message.startsWith("agent state moved to another EIP-712 domain"), "the re-sign warning");
    expect(moved.level).to.equal("warn");
    expect(moved.previousChainId).to.equal("31337");
    expect(moved.previousPool).to.equal(WRONG_POOL);
    expect(moved.chainId).to.equal("31337");
    expect(moved.pool).to.equal(POOL);
    expect(moved.reSigned).to.equal(queued.length);

    await server.waitFor(() => server.accepted.length >= queued.length + 10, `${queued.length + 10} accepted messages`);
    expectDeliveredReSigned(queued);
    const outageStart = clock.simAnchorSeconds + 5;
    server.accepted.forEach((message, index) => {
      expect(message.kind, `kind of seq ${message.seq}`).to.equal("attestation");
      expect(message.second, `second of seq ${message.seq}`).to.equal(BigInt(outageStart + index));
    });
    const status = readStatus(device.dataDir);
    expect(status.domain).to.deep.equal({ chainId: "31337", poolAddress: POOL });
    expect(status.rejected).to.equal(0);
  });

  it("state without a recorded domain re-signs foreign messages", async () => {
    const queued = await queueUnderWrongPool();
    // An agent from before domains were stored left no domain in agent.db.
    const db = new DatabaseSync(path.join(device.dataDir, STATE_FILE_NAME));
    db.prepare("DELETE FROM meta WHERE key IN ('domain_chain_id', 'domain_pool_address')").run();
    db.close();

    const agent = startAgent(POOL);
    const moved = await agent.waitForLog((line) => line.message.startsWith("agent state moved to another EIP-712 domain"), "the re-sign warning");
    expect(moved.previousChainId).to.equal(null);
    expect(moved.previousPool).to.equal(null);
    expect(moved.reSigned).to.equal(queued.length);
    await server.waitFor(() => server.accepted.length >= queued.length + 10, `${queued.length + 10} accepted messages`);
    expectDeliveredReSigned(queued);
  });

  it("unrecorded foreign domain with acknowledgements refuses", async () => {
    const queued = await queueUnderWrongPool();
    // An agent from before domains were stored, whose oracle acknowledged 5 earlier messages.
    const db = new DatabaseSync(path.join(device.dataDir, STATE_FILE_NAME));
    db.prepare("DELETE FROM meta WHERE key IN ('domain_chain_id', 'domain_pool_address')").run();
    db.prepare("INSERT INTO meta (key, value) VALUES ('acknowledged_count', '5') ON CONFLICT (key) DO UPDATE SET value = excluded.value").run();
    db.close();

    const refused = await runCli(runArgs(device, server.url, CHAIN_ID, POOL, ["--source", "outages", "--outages", "5+open"]), agentEnv(clock), device.dataDir);
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.equal(
      `device-agent run: DATA_DIR_DOMAIN_MISMATCH: The oldest queued message in ${device.dataDir} is not signed for pool ${POOL} on chain 31337, ` +
        "and the data directory did not record the pool it was signed for. " +
        "Its messages cannot be signed again for this pool because the oracle already acknowledged 5 of its messages. " +
        "Start with the --chain-id and --pool-address this data directory was used with. " +
        `For another deployment, start with a new --data-dir (add --keystore ${device.keystore} to keep this device key). ` +
        `Keep ${device.dataDir}: it holds ${queued.length} signed messages not yet acknowledged by the old pool's oracle.\n`,
    );
    expect(queuedMessages(device.dataDir)).to.deep.equal(queued);
    expect(readStatus(device.dataDir).domain).to.equal(null);
  });

  it("acknowledged data dir refuses another pool", async () => {
    const agent = startAgent(POOL);
    await server.waitFor(() => server.accepted.length >= 20, "20 accepted messages");
    await waitUntil(() => (safeStatus(device.dataDir)?.acknowledged ?? 0) >= 20, "20 acknowledged messages");
    const exit = await agent.stop();
    expect(exit.code).to.equal(0);
    const before = readStatus(device.dataDir);
    expect(before.acknowledged).to.be.at.least(20);
    const queuedBefore = queuedMessages(device.dataDir);

    const refused = await runCli(runArgs(device, server.url, CHAIN_ID, WRONG_POOL, ["--source", "outages", "--outages", "5+open"]), agentEnv(clock), device.dataDir);
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.equal(
      `device-agent run: DATA_DIR_DOMAIN_MISMATCH: ${device.dataDir} belongs to pool ${POOL} on chain 31337, not pool ${WRONG_POOL} on chain 31337. ` +
        `Its messages cannot be signed again for another pool because the oracle already acknowledged ${before.acknowledged} of its messages. ` +
        `For another deployment, start with a new --data-dir (add --keystore ${device.keystore} to keep this device key). ` +
        `Keep ${device.dataDir}: it holds ${before.queued} signed messages not yet acknowledged by the old pool's oracle.\n`,
    );

    const after = readStatus(device.dataDir);
    expect(after.domain).to.deep.equal({ chainId: "31337", poolAddress: POOL });
    expect(after.nextSeq).to.equal(before.nextSeq);
    expect(after.acknowledged).to.equal(before.acknowledged);
    expect(queuedMessages(device.dataDir)).to.deep.equal(queuedBefore);
  });

  it("welcomed data dir refuses another pool", async () => {
    // The outage starts 3 real seconds after the run start, after the first session began.
    const agent = startAgent(POOL, "300+open");
    await agent.waitForLog((line) => line.message === "oracle session started", "the welcome");
    server.setUnresponsive(true);
    await waitUntil(() => (safeStatus(device.dataDir)?.queued ?? 0) >= QUEUED_UNDER_WRONG_POOL, `${QUEUED_UNDER_WRONG_POOL} queued messages`);
    const exit = await agent.stop();
    expect(exit.code).to.equal(0);
    const before = readStatus(device.dataDir);
    expect(before.acknowledged).to.equal(0);
    expect(before.rejected).to.equal(0);

    const refused = await runCli(runArgs(device, server.url, CHAIN_ID, WRONG_POOL, ["--source", "outages", "--outages", "300+open"]), agentEnv(clock), device.dataDir);
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.contain(`DATA_DIR_DOMAIN_MISMATCH: ${device.dataDir} belongs to pool ${POOL} on chain 31337, not pool ${WRONG_POOL} on chain 31337. `);
    expect(refused.stderr).to.contain("because an oracle verified its hello, so queued messages may have reached it.");
    expect(queuedMessages(device.dataDir)).to.have.length(before.queued);
    expect(readStatus(device.dataDir).domain).to.deep.equal({ chainId: "31337", poolAddress: POOL });
  });
});
