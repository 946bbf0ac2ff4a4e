import { expect } from "chai";
import { rmSync } from "node:fs";
import { protocolDomain } from "../../protocol/eip712.ts";
import { AgentProcess, agentEnv, createTestDevice, runArgs, testClock, type TestDevice } from "../helpers/agent-process.ts";
import { AgentTestServer } from "../helpers/agent-test-server.ts";

const POOL = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const CHAIN_ID = 31_337n;

describe("device agent outage attestation", () => {
  let server: AgentTestServer;
  let device: TestDevice;
  let agent: AgentProcess | undefined;

  beforeEach(async () => {
    server = new AgentTestServer(protocolDomain(CHAIN_ID, POOL));
    await server.start();
    device = await createTestDevice();
    server.registerDevice(device.deviceId);
  });

  afterEach(async () => {
    await agent?.stop();
    agent = undefined;
    await server.close();
    rmSync(device.dataDir, { recursive: true, force: true });
  });

  it("3,601-second outage yields 3,601 attestations and a restoration", async () => {
    const clock = testClock(600);
    agent = new AgentProcess(
      runArgs(device, server.url, CHAIN_ID, POOL, ["--source", "outages", "--outages", "30+3601", "--debounce-sim-seconds", "5", "--replay-run-start-second", String(clock.simAnchorSeconds)]),
      agentEnv(clock),
      device.dataDir,
    );

    await server.waitFor(() => server.accepted.some((message) => message.kind === "restoration"), "the restoration notice");

    const outageStart = clock.simAnchorSeconds + 30;
    const attestations = server.accepted.filter((message) => message.kind === "attestation");
    expect(attestations).to.have.length(3_601);
    expect(attestations[0]?.second).to.equal(BigInt(outageStart));
    expect(attestations.at(-1)?.second).to.equal(BigInt(outageStart + 3_600));
    attestations.forEach((message, index) => {
      expect(message.seq).to.equal(BigInt(index + 1));
      expect(message.second).to.equal(BigInt(outageStart + index));
      expect(message.signer).to.equal(device.deviceId);
    });
    const restoration = server.accepted.at(-1);
    expect(restoration?.kind).to.equal("restoration");
    expect(restoration?.second).to.equal(BigInt(outageStart + 3_601));
    expect(restoration?.seq).to.equal(3_602n);
    expect(server.rejected).to.deep.equal([]);
  });
});
