// Benchmarks the oracle node: ingest throughput over real WebSocket connections, latency from
// an attestation to its confirmed settlement, and memory with many idle device connections.
// Usage: node scripts/bench/oracle-ingest.ts  (prints the result as JSON)
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { availableParallelism, cpus } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { SigningKey, hexlify, verifyTypedData } from "ethers";
import { PROJECT_ROOT } from "../../protocol/artifacts.ts";
import { SimClock, clockToEnv } from "../../protocol/clock.ts";
import { DeviceMessageHasher, type SignedDeviceMessage } from "../../protocol/device-message.ts";
import { ATTESTATION_TYPES, toEthersDomain } from "../../protocol/eip712.ts";
import { FEEDER_NORTH, ORACLE_KEY, clockAt, createOracleChain, tempDataDir, testWallet, type OracleChain } from "../../test/helpers/oracle-chain.ts";
import { TestDevice } from "../../test/helpers/oracle-device.ts";
import { OracleProcess, freePort } from "../../test/helpers/oracle-process.ts";
import { addressOf, benchDeviceKey } from "./oracle-load-generator.ts";

/** Numbers measured by runOracleBenchmarks, from which docs/benchmarks.md is written. */
export type OracleBenchmarkResult = {
  ingest: {
    /** Device connections sending at once. */
    connections: number;
    /** Attestations acknowledged in the measured run (each verified and committed first). */
    messages: number;
    /** Messages rejected with an error code (0 in a clean run). */
    errors: number;
    elapsedRealSeconds: number;
    perSecond: number;
    /** Attestations per second verified with ethers' verifyTypedData on one thread of this process. */
    baselinePerSecond: number;
    /** perSecond / baselinePerSecond. */
    speedup: number;
    verifyWorkers: number;
  };
  latency: {
    batchWindowRealMs: number;
    samples: number;
    p50Ms: number;
    p95Ms: number;
  };
  memory: {
    idleConnections: number;
    /** Resident memory of the oracle process before the connections opened. */
    rssBeforeMiB: number;
    /** Resident memory of the oracle process with every connection open and idle. */
    rssMiB: number;
    /** Open-file limit the processes ran with. */
    openFileLimit: number;
  };
  targets: { ingestPerSecond: number; speedup: number; latencyP95Ms: number; rssMiB: number };
  machine: { cpus: number; cpuModel: string; node: string };
};

export type OracleBenchmarkOptions = {
  ingestDevices?: number;
  messagesPerDevice?: number;
  idleConnections?: number;
  latencyDevices?: number;
  latencyRealSeconds?: number;
  /** Signature verification threads of the oracle; default: the number of CPUs. */
  verifyWorkers?: number;
  log?: (message: string) => void;
};

const LOAD_GENERATOR = path.join(path.dirname(fileURLToPath(import.meta.url)), "oracle-load-generator.ts");
const BATCH_WINDOW_REAL_MS = 1_000;
/**
 * Batch window of the oracle that serves the ingest run: its first settlement round is an
 * hour away, so the run measures verification and commit alone, not settlement of what it
 * accepted. The latency run uses a second oracle with BATCH_WINDOW_REAL_MS.
 */
const INGEST_BATCH_WINDOW_REAL_MS = 3_600_000;

/** Runs `node <script>` under bash with the open-file limit raised as far as the hard limit allows. */
function spawnWithFileLimit(script: string, env: Record<string, string>, ipc: boolean): ChildProcess {
  const command = `ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "${process.execPath}" "${script}"`;
  return spawn("bash", ["-c", command], { env: { ...process.env, ...env }, stdio: ipc ? ["ignore", "inherit", "inherit", "ipc"] : ["ignore", "pipe", "pipe"] });
}

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  return match?.[1] === undefined ? Number.NaN : Number(match[1]) / 1024;
}

function openFileLimit(pid: number): number {
  const limits = readFileSync(`/proc/${pid}/limits`, "utf8");
  const match = /Max open files\s+(\d+)/.exec(limits);
  return match?.[1] === undefined ? Number.NaN : Number(match[1]);
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) {
    return Number.NaN;
  }
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] ?? Number.NaN;
}

/** A load generator child driven over IPC. */
class LoadGenerator {
  readonly child: ChildProcess;
  readonly #waiting: Array<(message: Record<string, unknown>) => void> = [];

  constructor() {
    this.child = spawnWithFileLimit(LOAD_GENERATOR, {}, true);
    this.child.on("message", (message: unknown) => {
      if (typeof message === "object" && message !== null) {
        this.#waiting.shift()?.(Object.fromEntries(Object.entries(message)));
      }
    });
  }

  request(command: Record<string, unknown>): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      this.#waiting.push((message) => (message.event === "failed" ? reject(new Error(String(message.error))) : resolve(message)));
      this.child.send(command);
    });
  }

  stop(): void {
    this.child.send({ cmd: "exit" });
  }
}

async function registerBenchDevices(chain: OracleChain, label: string, count: number): Promise<string[]> {
  const addresses: string[] = [];
  const registerDevice = chain.registry.getFunction("registerDevice");
  let last;
  for (let index = 0; index < count; index++) {
    const address = addressOf(benchDeviceKey(label, index));
    addresses.push(address);
    last = await registerDevice(address, address, testWallet(`bench ${label} ${index}`), FEEDER_NORTH);
  }
  await last?.wait();
  return addresses;
}

/** Measures ethers' verifyTypedData on `count` attestations signed here. */
function baselinePerSecond(chain: OracleChain, count: number): number {
  const key = new SigningKey(hexlify(benchDeviceKey("baseline", 0)));
  const hasher = new DeviceMessageHasher(chain.domain);
  const deviceId = addressOf(benchDeviceKey("baseline", 0));
  const messages: SignedDeviceMessage[] = [];
  for (let i = 0; i < count; i++) {
    messages.push(hasher.sign({ kind: "attestation", deviceId, second: BigInt(1_800_000_000 + i), seq: BigInt(i + 1) }, key));
  }
  const domain = toEthersDomain(chain.domain);
  const started = performance.now();
  for (const message of messages) {
    const signer = verifyTypedData(domain, ATTESTATION_TYPES, { deviceId: message.deviceId, second: message.second, seq: message.seq }, message.signature);
    if (signer !== deviceId) {
      throw new Error("baseline verification recovered another signer");
    }
  }
  return count / ((performance.now() - started) / 1000);
}

/** Runs the three oracle benchmarks and returns their numbers. */
export async function runOracleBenchmarks(options: OracleBenchmarkOptions = {}): Promise<OracleBenchmarkResult> {
  const log = options.log ?? ((message: string) => process.stderr.write(`oracle bench: ${message}\n`));
  const ingestDevices = options.ingestDevices ?? 50;
  const messagesPerDevice = options.messagesPerDevice ?? 800;
  const idleConnections = options.idleConnections ?? 10_000;
  const latencyDevices = options.latencyDevices ?? 4;
  const latencyRealSeconds = options.latencyRealSeconds ?? 20;
  const verifyWorkers = options.verifyWorkers ?? Math.max(1, availableParallelism());

  const chain = await createOracleChain({ blockIntervalRealMs: 200 });
  const oracles: OracleProcess[] = [];
  const generators: LoadGenerator[] = [];
  try {
    log(`registering ${ingestDevices + latencyDevices + idleConnections} devices`);
    await registerBenchDevices(chain, "ingest", ingestDevices);
    await registerBenchDevices(chain, "latency", latencyDevices);
    await registerBenchDevices(chain, "idle", idleConnections);
    const now = await chain.advanceTime(messagesPerDevice + 600);
    const clockDefinition = clockAt(now);
    const clock = new SimClock(clockDefinition);

    const baseEnv = {
      ...clockToEnv(clockDefinition),
      ORACLE_RPC_URL: chain.bridge.url,
      ORACLE_POOL_ADDRESS: chain.poolAddress,
      ORACLE_REGISTRY_ADDRESS: chain.registryAddress,
      ORACLE_PRIVATE_KEY: ORACLE_KEY.privateKey,
      ORACLE_POLL_INTERVAL_MS: "100",
      ORACLE_LOG_LEVEL: "info",
      ORACLE_VERIFY_WORKERS: String(verifyWorkers),
      ORACLE_MAX_BACKFILL_AGE_S: String(messagesPerDevice + 3_600),
      ORACLE_RATE_LIMIT_PER_S: "1000000",
    };
    const startOracle = async (label: string, batchWindowRealMs: number): Promise<{ process: OracleProcess; child: ChildProcess; url: string }> => {
      const port = await freePort();
      const env = { ...baseEnv, ORACLE_PORT: String(port), ORACLE_DATA_DIR: tempDataDir(`bench-${label}`), ORACLE_BATCH_WINDOW_MS: String(batchWindowRealMs) };
      const child = spawnWithFileLimit(path.join(PROJECT_ROOT, "oracle-node", "bin", "oracle-node.ts"), env, false);
      const started = OracleProcess.attach(child);
      oracles.push(started);
      const line = await Promise.race([
        started.waitForLine((entry) => entry.msg === "oracle node started" || entry.level === "error"),
        started.exited.then(({ code }) => ({ msg: `oracle node exited with code ${String(code)}: ${started.stderr.join("")}` })),
      ]);
      if (line.msg !== "oracle node started") {
        throw new Error(`the ${label} oracle node did not start: ${JSON.stringify(line)}`);
      }
      // Let the registry mirror catch up with every registration before devices send their hello.
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      return { process: started, child, url: `ws://127.0.0.1:${port}` };
    };

    const ingestOracle = await startOracle("ingest", INGEST_BATCH_WINDOW_REAL_MS);
    log(`ingest: ${ingestDevices} connections x ${messagesPerDevice} attestations`);
    const loader = new LoadGenerator();
    generators.push(loader);
    await loader.request({ cmd: "connect", url: ingestOracle.url, chainId: chain.chainId.toString(), pool: chain.poolAddress, label: "ingest", count: ingestDevices, perDevice: messagesPerDevice, firstSecond: now - messagesPerDevice - 300 });
    const done = await loader.request({ cmd: "blast", window: 256 });
    const acked = Number(done.acked);
    const elapsedRealSeconds = Number(done.elapsedMs) / 1000;
    loader.stop();
    await ingestOracle.process.kill("SIGTERM");
    const baseline = baselinePerSecond(chain, 2_000);

    const settlingOracle = await startOracle("latency", BATCH_WINDOW_REAL_MS);
    const url = settlingOracle.url;
    const pid = settlingOracle.child.pid ?? 0;

    log(`latency: ${latencyDevices} devices for ${latencyRealSeconds} s`);
    const latencies: number[] = [];
    const latencyKeys = Array.from({ length: latencyDevices }, (_, index) => benchDeviceKey("latency", index));
    const devices = await Promise.all(
      latencyKeys.map(async (privateKey) => {
        const wallet = new (await import("ethers")).Wallet(hexlify(privateKey));
        const { device } = await TestDevice.connect(url, chain.domain, wallet.address, wallet);
        return { device, wallet };
      }),
    );
    const pending: Array<{ deviceId: string; second: number; sentMs: number }> = [];
    const deviceState = chain.pool.getFunction("deviceState");
    const poller = setInterval(() => {
      void Promise.all(devices.map(async ({ wallet }) => [wallet.address, Number((await deviceState(wallet.address))[0])] as const)).then((states) => {
        const settled = new Map(states);
        const nowMs = Date.now();
        for (let i = pending.length - 1; i >= 0; i--) {
          const item = pending[i];
          if (item !== undefined && (settled.get(item.deviceId) ?? 0) >= item.second) {
            latencies.push(nowMs - item.sentMs);
            pending.splice(i, 1);
          }
        }
      });
    }, 25);
    let seq = 1;
    let lastSecond = 0;
    const endMs = Date.now() + latencyRealSeconds * 1000;
    while (Date.now() < endMs) {
      const second = clock.nowSeconds() - 1;
      if (second > lastSecond) {
        lastSecond = second;
        const sentMs = Date.now();
        await Promise.all(
          devices.map(async ({ device, wallet }) => {
            const answer = await device.send(device.sign("attestation", second, seq, wallet));
            if (answer.type === "ack") {
              pending.push({ deviceId: wallet.address, second, sentMs });
            }
          }),
        );
        seq++;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const drainUntil = Date.now() + 10_000;
    while (pending.length > 0 && Date.now() < drainUntil) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    clearInterval(poller);
    await Promise.all(devices.map(({ device }) => device.close()));
    latencies.sort((a, b) => a - b);

    log(`memory: ${idleConnections} idle connections`);
    const rssBefore = rssMiB(pid);
    const idle = new LoadGenerator();
    generators.push(idle);
    await idle.request({ cmd: "connect", url, chainId: chain.chainId.toString(), pool: chain.poolAddress, label: "idle", count: idleConnections, perDevice: 0, firstSecond: 0 });
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const rssWithConnections = rssMiB(pid);
    const fileLimit = openFileLimit(pid);
    idle.stop();

    const perSecond = acked / elapsedRealSeconds;
    return {
      ingest: {
        connections: ingestDevices,
        messages: acked,
        errors: Number(done.errors),
        elapsedRealSeconds,
        perSecond,
        baselinePerSecond: baseline,
        speedup: perSecond / baseline,
        verifyWorkers,
      },
      latency: { batchWindowRealMs: BATCH_WINDOW_REAL_MS, samples: latencies.length, p50Ms: percentile(latencies, 50), p95Ms: percentile(latencies, 95) },
      memory: { idleConnections, rssBeforeMiB: rssBefore, rssMiB: rssWithConnections, openFileLimit: fileLimit },
      targets: { ingestPerSecond: 20_000, speedup: 30, latencyP95Ms: 2_000, rssMiB: 1_024 },
      machine: { cpus: availableParallelism(), cpuModel: cpus()[0]?.model ?? "unknown", node: process.version },
    };
  } finally {
    for (const generator of generators) {
      generator.child.kill("SIGTERM");
    }
    for (const oracle of oracles) {
      await oracle.kill("SIGTERM");
    }
    await chain.close();
  }
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const result = await runOracleBenchmarks();
  process.stdout.write(JSON.stringify(result, null, 2) + "\n");
  process.exit(0);
}
