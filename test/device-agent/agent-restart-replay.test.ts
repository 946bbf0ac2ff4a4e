import { expect } from "chai";
import { rmSync } from "node:fs";
import { protocolDomain } from "../../protocol/eip712.ts";
import { readStatus } from "../../device-agent/commands/status.ts";
import { AgentProcess, agentEnv, createTestDevice, runArgs, testClock, type TestDevice } from "../helpers/agent-process.ts";
import { AgentTestServer, type AcceptedMessage } from "../helpers/agent-test-server.ts";

const POOL = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const CHAIN_ID = 31_337n;
const CLOCK_SCALE = 20;

/**
 * Two replayed outages as offsets from the run start: off over [5, 25) and [120, 180). The
 * gap of 95 simulated seconds (about 4.7 real seconds) leaves room to restart the agent
 * between them.
 */
const OUTAGES = [
  { startOffset: 5, durationSeconds: 20 },
  { startOffset: 120, durationSeconds: 60 },
];
const OUTAGES_OPTION = OUTAGES.map((outage) => `${outage.startOffset}+${outage.durationSeconds}`).join(",");

/** Describes a message as its kind and its second's offset from the run start, such as "attestation +5". */
function describeMessage(kind: string, offsetSeconds: number): string {
  return `${kind} +${offsetSeconds}`;
}

/** Every message the replay must produce: one attestation per off-second, then one restoration per outage. */
function expectedMessages(): string[] {
  const messages: string[] = [];
  for (const outage of OUTAGES) {
    const endOffset = outage.startOffset + outage.durationSeconds;
    for (let offset = outage.startOffset; offset < endOffset; offset++) {
      messages.push(describeMessage("attestation", offset));
    }
    messages.push(describeMessage("restoration", endOffset));
  }
  return messages;
}

function restorationCount(accepted: readonly AcceptedMessage[]): number {
  return accepted.filter((message) => message.kind === "restoration").length;
}

describe("device agent restart during a replay", () => {
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

  function startAgent(clock: ReturnType<typeof testClock>): AgentProcess {
    const agent = new AgentProcess(
      runArgs(device, server.url, CHAIN_ID, POOL, [
        "--source",
        "outages",
        "--outages",
        OUTAGES_OPTION,
        "--debounce-sim-seconds",
        "0",
        "--replay-run-start-second",
        String(clock.simAnchorSeconds),
      ]),
      agentEnv(clock),
      device.dataDir,
    );
    agents.push(agent);
    return agent;
  }

  async function stopWith(agent: AgentProcess, signal: "SIGTERM" | "SIGKILL"): Promise<void> {
    agent.child.kill(signal);
    const exit = await agent.exited;
    if (signal === "SIGKILL") {
      expect(exit.signal).to.equal("SIGKILL");
    } else {
      expect(exit.code).to.equal(0);
    }
  }

  /** Asserts the oracle received exactly the replayed off-seconds and restorations, with seqs 1, 2, 3, ... */
  function expectExactlyReplayedOutages(runStartSecond: number): void {
    const received = server.accepted.map((message) => describeMessage(message.kind, Number(message.second) - runStartSecond));
    expect(received.join("\n")).to.equal(expectedMessages().join("\n"));
    server.accepted.forEach((message, index) => {
      expect(message.seq, `seq of message ${index}`).to.equal(BigInt(index + 1));
      expect(message.signer, `signer of message ${index}`).to.equal(device.deviceId);
    });
    expect(server.rejected).to.deep.equal([]);
  }

  /** Stops the agent and asserts its state file has nothing left to sign or send. */
  async function expectNothingPending(agent: AgentProcess): Promise<void> {
    await stopWith(agent, "SIGTERM");
    const status = readStatus(device.dataDir);
    expect(status.unfinishedOutage).to.equal(null);
    expect(status.queued).to.equal(0);
    expect(status.nextSeq).to.equal(server.accepted.length + 1);
  }

  for (const signal of ["SIGTERM", "SIGKILL"] as const) {
    it(`${signal} between outages starts no extra outage`, async () => {
      const clock = testClock(CLOCK_SCALE);
      const first = startAgent(clock);
      await server.waitFor(() => restorationCount(server.accepted) === 1, "the first restoration notice");
      await stopWith(first, signal);

      const second = startAgent(clock);
      await server.waitFor(() => restorationCount(server.accepted) === 2, "the second restoration notice");
      await expectNothingPending(second);

      expectExactlyReplayedOutages(clock.simAnchorSeconds);
    });

    it(`${signal} during second outage attests it once`, async () => {
      const clock = testClock(CLOCK_SCALE);
      const secondOutageStart = clock.simAnchorSeconds + (OUTAGES[1]?.startOffset ?? 0);
      const first = startAgent(clock);
      await server.waitFor(() => server.accepted.some((message) => message.second >= BigInt(secondOutageStart + 5)), "attestations inside the second outage");
      await stopWith(first, signal);

      const second = startAgent(clock);
      await server.waitFor(() => restorationCount(server.accepted) === 2, "the second restoration notice");
      await expectNothingPending(second);

      expectExactlyReplayedOutages(clock.simAnchorSeconds);
    });
  }

  it("restart after last outage opens none", async () => {
    const clock = testClock(CLOCK_SCALE);
    const lastOutageEnd = clock.simAnchorSeconds + (OUTAGES[1]?.startOffset ?? 0) + (OUTAGES[1]?.durationSeconds ?? 0);
    const first = startAgent(clock);
    await server.waitFor(() => restorationCount(server.accepted) === 2, "the second restoration notice");
    await stopWith(first, "SIGTERM");

    // The restarted replay reports every outage again at once, the last power-on included.
    const second = startAgent(clock);
    await second.waitForLog((line) => line.message === "power changed" && line.state === "on" && line.atSecond === lastOutageEnd, "the replayed end of the last outage");
    await expectNothingPending(second);

    expectExactlyReplayedOutages(clock.simAnchorSeconds);
  });
});
