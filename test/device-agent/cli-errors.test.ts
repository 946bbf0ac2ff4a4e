import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { agentEnv, createTestDevice, runCli, type TestDevice } from "../helpers/agent-process.ts";

const POOL = "0x5FbDB2315678afecb367f032d93F642f64180aa3";

describe("device-agent CLI errors", () => {
  let device: TestDevice;

  beforeEach(async () => {
    device = await createTestDevice();
  });

  afterEach(() => {
    rmSync(device.dataDir, { recursive: true, force: true });
  });

  function run(extra: readonly string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const args = ["run", "--data-dir", device.dataDir, "--oracle-url", "ws://127.0.0.1:9", "--chain-id", "31337", "--pool-address", POOL, "--source", "outages", "--outages", "5+10", ...extra];
    return runCli(args, agentEnv(undefined, env), device.dataDir);
  }

  const badValues: [string, readonly string[], string][] = [
    ["chain id", ["--chain-id", "mainnet"], "--chain-id=mainnet is invalid: expected a whole number"],
    ["pool address", ["--pool-address", "0x1234"], "--pool-address=0x1234 is invalid: expected a 0x-prefixed 20-byte address"],
    ["oracle URL scheme", ["--oracle-url", "http://127.0.0.1:9"], "--oracle-url=http://127.0.0.1:9 is invalid: the scheme must be ws: or wss:"],
    ["queue bound", ["--max-queued-messages", "0"], "--max-queued-messages=0 is invalid: expected a whole number from 1"],
    ["backoff bounds", ["--reconnect-min-real-ms", "5000", "--reconnect-max-real-ms", "100"], "--reconnect-max-real-ms=100 is invalid: it must be at least --reconnect-min-real-ms=5000"],
    ["outage list", ["--outages", "5-10"], '"5-10" is not START+DURATION'],
    ["source", ["--source", "solar"], "--source=solar is invalid: expected one of sysfs, nut"],
    ["unknown flag", ["--colour", "red"], "Unknown option '--colour'"],
    ["apcupsd log path", ["--source", "apcupsd-log", "--apcupsd-log", "/nonexistent/apcupsd.events"], "--apcupsd-log /nonexistent/apcupsd.events cannot be read (ENOENT)"],
    ["clock without anchors", ["--clock-scale", "60"], "CLOCK_SCALE=60 needs CLOCK_REAL_ANCHOR_MS and CLOCK_SIM_ANCHOR_S"],
  ];
  for (const [name, extra, message] of badValues) {
    it(`bad ${name} exits 2 naming it`, async () => {
      const result = await run(extra);
      expect(result.code).to.equal(2);
      expect(result.stderr).to.contain("INVALID_CONFIG");
      expect(result.stderr).to.contain(message);
      expect(result.stdout).to.equal("");
    });
  }

  it("bad value from the environment names the variable", async () => {
    const result = await runCli(
      ["run", "--data-dir", device.dataDir, "--oracle-url", "ws://127.0.0.1:9", "--pool-address", POOL],
      agentEnv(undefined, { DEVICE_AGENT_CHAIN_ID: "-5" }),
      device.dataDir,
    );
    expect(result.code).to.equal(2);
    expect(result.stderr).to.contain("DEVICE_AGENT_CHAIN_ID=-5 is invalid");
  });

  it("reads settings from the .env file", async () => {
    writeFileSync(path.join(device.dataDir, ".env"), "DEVICE_AGENT_CHAIN_ID=abc\n");
    const result = await runCli(["run", "--data-dir", device.dataDir, "--oracle-url", "ws://127.0.0.1:9", "--pool-address", POOL], agentEnv(undefined), device.dataDir);
    expect(result.code).to.equal(2);
    expect(result.stderr).to.contain("DEVICE_AGENT_CHAIN_ID=abc is invalid");
  });

  it("missing keystore exits 1", async () => {
    const empty = mkdtempSync(path.join(tmpdir(), "device-agent-empty-"));
    try {
      const result = await runCli(
        ["run", "--data-dir", empty, "--oracle-url", "ws://127.0.0.1:9", "--chain-id", "31337", "--pool-address", POOL, "--source", "outages", "--outages", "5+10"],
        agentEnv(undefined),
        empty,
      );
      expect(result.code).to.equal(1);
      expect(result.stderr).to.contain("KEYSTORE_NOT_FOUND");
      expect(result.stderr).to.contain(path.join(empty, "keystore.json"));
      expect(result.stderr).to.contain("device-agent init");
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it("wrong password exits 1", async () => {
    const result = await run([], { DEVICE_AGENT_KEYSTORE_PASSWORD: "not the password" });
    expect(result.code).to.equal(1);
    expect(result.stderr).to.contain("WRONG_PASSWORD");
    expect(result.stderr).to.contain(device.deviceId);
  });

  it("missing password names the variable", async () => {
    const result = await run(["--password-env", "MY_DEVICE_PASSWORD"]);
    expect(result.code).to.equal(1);
    expect(result.stderr).to.contain("PASSWORD_MISSING");
    expect(result.stderr).to.contain("set MY_DEVICE_PASSWORD");
  });

  it("init refuses to overwrite a keystore", async () => {
    const result = await runCli(["init", "--data-dir", device.dataDir, "--kdf-cost", "light"], agentEnv(undefined), device.dataDir);
    expect(result.code).to.equal(1);
    expect(result.stderr).to.contain("KEYSTORE_EXISTS");
    const address = await runCli(["address", "--data-dir", device.dataDir], agentEnv(undefined), device.dataDir);
    expect(address.code).to.equal(0);
    expect(address.stdout).to.contain(`device id: ${device.deviceId}`);
  });

  it("init creates a keystore that address reads", async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), "device-agent-init-"));
    try {
      const created = await runCli(["init", "--data-dir", dataDir, "--kdf-cost", "light"], agentEnv(undefined), dataDir);
      expect(created.code).to.equal(0);
      const deviceId = /device id: (0x[0-9a-fA-F]{40})/.exec(created.stdout)?.[1];
      expect(created.stdout).to.contain(`  npx hardhat device register --network localhost --device ${deviceId} --wallet <payout wallet> --feeder <feeder id>\n`);
      expect(created.stdout).to.contain(`  registerDevice(${deviceId}, ${deviceId}, <payout wallet>, <feeder id>)\n`);
      const address = await runCli(["address", "--data-dir", dataDir, "--json"], agentEnv(undefined), dataDir);
      const parsed: unknown = JSON.parse(address.stdout);
      expect(parsed).to.deep.equal({ deviceId, currentKey: deviceId, keys: [{ address: deviceId, validFrom: 0, retired: false }] });
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it("rotate rejects a validFrom in the past", async () => {
    const result = await runCli(["rotate", "--data-dir", device.dataDir, "--valid-from", "1000", "--kdf-cost", "light"], agentEnv(undefined), device.dataDir);
    expect(result.code).to.equal(1);
    expect(result.stderr).to.contain("INVALID_ROTATION");
    expect(result.stderr).to.contain("--valid-from 1000 is in the past");
  });

  it("every command documents its options", async () => {
    for (const command of ["init", "address", "rotate", "status", "run"]) {
      const result = await runCli([command, "--help"], agentEnv(undefined), device.dataDir);
      expect(result.code, command).to.equal(0);
      expect(result.stdout, command).to.contain(`Usage: device-agent ${command}`);
    }
    const help = await runCli(["run", "--help"], agentEnv(undefined), device.dataDir);
    expect(help.stdout).to.contain("--reconnect-max-real-ms");
    expect(help.stdout).to.contain("--debounce-sim-seconds");
    expect(help.stdout).to.contain("env DEVICE_AGENT_MAX_QUEUED_MESSAGES");
  });
});
