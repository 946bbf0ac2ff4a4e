import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, cpus, tmpdir } from "node:os";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { SigningKey, Wallet } from "ethers";
import { DeviceMessageHasher } from "../../protocol/device-message.ts";
import { protocolDomain } from "../../protocol/eip712.ts";
import { AgentProcess, agentEnv, createTestDevice, runArgs, runCli, testClock, type TestDevice } from "../../test/helpers/agent-process.ts";
import { AgentTestServer } from "../../test/helpers/agent-test-server.ts";

/** Results of the device-agent benchmark. */
export type DeviceAgentBenchmark = {
  /** Real seconds over which CPU time was measured, after start-up. */
  measuredRealSeconds: number;
  /** Attestations the oracle stand-in accepted during the measurement. */
  attestationsInWindow: number;
  /** Node settings of the measured run, as the documented systemd unit sets them. */
  nodeSettings: Record<string, string>;
  /** Resident memory at the end of the run, in MiB (VmRSS). */
  rssMiB: number;
  /** Peak resident memory over the run, in MiB (VmHWM). */
  peakRssMiB: number;
  /** Private (anonymous) resident memory at the end of the run, in MiB (RssAnon); the rest is pages of the node executable and libraries. */
  privateRssMiB: number;
  /** Resident memory with Node's default settings (no compile cache, default heap), in MiB, after the same warm-up. */
  defaultSettingsRssMiB: number;
  /** CPU time (user + system) over the window as a percentage of one core. */
  cpuPercentOfOneCore: number;
  /** Signatures per second of DeviceMessageHasher.sign on one core of this machine. */
  signaturesPerSecond: number;
  targets: { maxRssMiB: number; maxCpuPercent: number };
  machine: string;
};

const CHAIN_ID = 31_337n;
const POOL = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const WARM_UP_REAL_MS = 5_000;
const MEASURE_REAL_MS = 30_000;
const SIGNATURES = 3_000;

type ProcSample = { cpuTicks: number; rssKiB: number; peakRssKiB: number; anonKiB: number };

function sampleProc(pid: number): ProcSample {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN);
  return { cpuTicks: utime + stime, rssKiB: kib("VmRSS"), peakRssKiB: kib("VmHWM"), anonKiB: kib("RssAnon") };
}

function clockTicksPerSecond(): number {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
}

function measureSigningRate(): number {
  const hasher = new DeviceMessageHasher(protocolDomain(CHAIN_ID, POOL));
  const wallet = Wallet.createRandom();
  const key = new SigningKey(wallet.privateKey);
  const startMs = performance.now();
  for (let i = 0; i < SIGNATURES; i++) {
    hasher.sign({ kind: "attestation", deviceId: wallet.address, second: 1_800_000_000n + BigInt(i), seq: BigInt(i + 1) }, key);
  }
  return SIGNATURES / ((performance.now() - startMs) / 1000);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function startAgent(server: AgentTestServer, device: TestDevice, nodeSettings: Record<string, string>): AgentProcess {
  const clock = testClock(1);
  return new AgentProcess(
    runArgs(device, server.url, CHAIN_ID, POOL, ["--source", "outages", "--outages", "1+open", "--debounce-sim-seconds", "0", "--replay-run-start-second", String(clock.simAnchorSeconds)]),
    agentEnv(clock, nodeSettings),
    device.dataDir,
  );
}

function pidOf(agent: AgentProcess): number {
  const pid = agent.child.pid;
  if (pid === undefined) {
    throw new Error(`device agent did not start: ${agent.stderr}`);
  }
  return pid;
}

const toMiB = (kib: number): number => Math.round((kib / 1024) * 10) / 10;

/**
 * Runs a real device-agent process at scale 1 during an outage that lasts the whole run
 * (one attestation per second) against the test oracle, and reads its CPU time and
 * resident memory from /proc. The measured run uses the settings of the documented systemd
 * unit: a warm compile cache and a small young generation. A second, shorter run reads the
 * memory with Node's defaults. Also measures the signing rate in this process.
 */
export async function runDeviceAgentBenchmark(): Promise<DeviceAgentBenchmark> {
  const server = new AgentTestServer(protocolDomain(CHAIN_ID, POOL));
  await server.start();
  const cacheDir = mkdtempSync(path.join(tmpdir(), "device-agent-compile-cache-"));
  const nodeSettings = { NODE_COMPILE_CACHE: cacheDir, NODE_OPTIONS: "--max-semi-space-size=1" };
  const devices: TestDevice[] = [];
  const agents: AgentProcess[] = [];
  try {
    const device = await createTestDevice();
    devices.push(device);
    server.registerDevice(device.deviceId);
    // Fills the compile cache, as the first start after installation does.
    await runCli(["run", "--help"], agentEnv(undefined, nodeSettings), device.dataDir);

    const agent = startAgent(server, device, nodeSettings);
    agents.push(agent);
    const pid = pidOf(agent);
    await sleep(WARM_UP_REAL_MS);
    const acceptedBefore = server.accepted.length;
    const before = sampleProc(pid);
    const startMs = performance.now();
    await sleep(MEASURE_REAL_MS);
    const after = sampleProc(pid);
    const measuredRealSeconds = (performance.now() - startMs) / 1000;
    const attestationsInWindow = server.accepted.length - acceptedBefore;
    await agent.stop();

    const plainDevice = await createTestDevice();
    devices.push(plainDevice);
    server.registerDevice(plainDevice.deviceId);
    const plain = startAgent(server, plainDevice, {});
    agents.push(plain);
    await sleep(WARM_UP_REAL_MS * 2);
    const plainSample = sampleProc(pidOf(plain));
    await plain.stop();

    const cpuSeconds = (after.cpuTicks - before.cpuTicks) / clockTicksPerSecond();
    return {
      measuredRealSeconds: Math.round(measuredRealSeconds * 10) / 10,
      attestationsInWindow,
      nodeSettings: { NODE_COMPILE_CACHE: "<cache dir>", NODE_OPTIONS: nodeSettings.NODE_OPTIONS },
      rssMiB: toMiB(after.rssKiB),
      peakRssMiB: toMiB(after.peakRssKiB),
      privateRssMiB: toMiB(after.anonKiB),
      defaultSettingsRssMiB: toMiB(plainSample.rssKiB),
      cpuPercentOfOneCore: Math.round((cpuSeconds / measuredRealSeconds) * 1000) / 10,
      signaturesPerSecond: Math.round(measureSigningRate()),
      targets: { maxRssMiB: 80, maxCpuPercent: 2 },
      machine: `${cpus()[0]?.model ?? "unknown CPU"}, ${availableParallelism()} cores, Node ${process.version}`,
    };
  } finally {
    for (const agent of agents) {
      await agent.stop();
    }
    await server.close();
    for (const device of devices) {
      rmSync(device.dataDir, { recursive: true, force: true });
    }
    rmSync(cacheDir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const result = await runDeviceAgentBenchmark();
  process.stdout.write(JSON.stringify(result, null, 2) + "\n");
}
