import { mkdirSync } from "node:fs";
import path from "node:path";
import { PROJECT_ROOT } from "../../protocol/artifacts.ts";
import { clockToEnv, type ClockDefinition } from "../../protocol/clock.ts";
import { ManagedChild } from "./child-process.ts";
import type { DemoDeployment } from "./deploy.ts";
import type { DemoDevice } from "./devices.ts";

const ORACLE_CLI = path.join(PROJECT_ROOT, "oracle-node", "bin", "oracle-node.ts");
const AGENT_CLI = path.join(PROJECT_ROOT, "device-agent", "bin", "device-agent.ts");

/** Real milliseconds the demo waits for the oracle node to log that it started. */
const ORACLE_START_TIMEOUT_REAL_MS = 60_000;

/** Simulated seconds power must stay off before an agent counts an outage (the agent's default). */
export const DEBOUNCE_SIM_SECONDS = 5;

/**
 * Returns the demo's environment for a child: this process's environment without any
 * setting of the oracle node, the agent or the clock that could override the run's own,
 * plus `extra`.
 */
export function childEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith("ORACLE_") && !key.startsWith("DEVICE_AGENT_") && !key.startsWith("CLOCK_")) {
      env[key] = value;
    }
  }
  return { ...env, ...extra };
}

/** A running oracle node and the port its device WebSocket listens on. */
export type OracleProcess = { child: ManagedChild; port: number };

function startedPort(line: string): number | undefined {
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof record === "object" && record !== null && "msg" in record && record.msg === "oracle node started" && "port" in record && typeof record.port === "number") {
    return record.port;
  }
  return undefined;
}

/**
 * Starts the oracle node CLI on a free port with the committee key and the run's clock, its
 * database in `<runDir>/oracle`, and waits for its "oracle node started" log line. The
 * working folder is the run folder, so no .env file of the user's changes the run.
 */
export async function startOracle(runDir: string, rpcUrl: string, deployment: DemoDeployment, committeeKey: string, clock: ClockDefinition): Promise<OracleProcess> {
  let resolvePort: (port: number) => void = () => {};
  const portLogged = new Promise<number>((resolve) => {
    resolvePort = resolve;
  });
  const child = new ManagedChild({
    name: "oracle-node",
    command: process.execPath,
    args: [
      ORACLE_CLI,
      "--rpc-url", rpcUrl,
      "--deployment-dir", deployment.deploymentDir,
      "--host", "127.0.0.1",
      "--port", "0",
      "--data-dir", path.join(runDir, "oracle"),
      "--registry-from-block", String(deployment.fromBlock),
      "--batch-window-ms", "1000",
      "--poll-interval-ms", "250",
      "--confirmations", "0",
      "--log-level", "info",
    ],
    env: childEnv({ ORACLE_PRIVATE_KEY: committeeKey, ...clockToEnv(clock) }),
    cwd: runDir,
    logFile: path.join(runDir, "oracle-node.log"),
    onLine: (line) => {
      const port = startedPort(line);
      if (port !== undefined) {
        resolvePort(port);
      }
    },
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the oracle node did not start within ${ORACLE_START_TIMEOUT_REAL_MS / 1000} s; see ${child.logFile}`)), ORACLE_START_TIMEOUT_REAL_MS);
  });
  const exited = child.exited.then((exit) => {
    throw new Error(`the oracle node exited with ${exit.code ?? exit.signal} while starting; see ${child.logFile}`);
  });
  try {
    const port = await Promise.race([portLogged, timeout, exited]);
    return { child, port };
  } catch (error) {
    await child.stop(3_000);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** Returns the `device-agent run` options that make the agent replay `device`'s outages from `runStartSecond`. */
export function agentSourceArgs(device: DemoDevice, runStartSecond: number): string[] {
  const replay = ["--replay-run-start-second", String(runStartSecond)];
  if (device.source.kind === "outage-csv") {
    const first = device.simOutages[0];
    const offset = first === undefined ? 0 : first.startSecond - runStartSecond;
    return ["--source", "outage-csv", "--outage-csv", device.source.path, "--outage-event-id", device.source.eventId, "--replay-start-offset-sim-seconds", String(offset), ...replay];
  }
  const list = device.simOutages.map((outage) => `${outage.startSecond - runStartSecond}+${outage.open ? "open" : outage.endSecond - outage.startSecond}`).join(",");
  return ["--source", "outages", "--outages", list, ...replay];
}

/** Starts one device agent CLI per device, each in its own folder and logging to `<runDir>/agent-<label>.log`. */
export function startAgents(runDir: string, devices: readonly DemoDevice[], oraclePort: number, chainId: bigint, poolAddress: string, password: string, clock: ClockDefinition, runStartSecond: number): ManagedChild[] {
  return devices.map((device) => {
    mkdirSync(device.dataDir, { recursive: true });
    return new ManagedChild({
      name: `agent ${device.label}`,
      command: process.execPath,
      args: [
        AGENT_CLI,
        "run",
        "--data-dir", device.dataDir,
        "--keystore", device.keystore,
        "--oracle-url", `ws://127.0.0.1:${oraclePort}`,
        "--chain-id", chainId.toString(),
        "--pool-address", poolAddress,
        "--debounce-sim-seconds", String(DEBOUNCE_SIM_SECONDS),
        "--reconnect-min-real-ms", "250",
        "--reconnect-max-real-ms", "2000",
        "--shutdown-grace-real-ms", "1000",
        ...agentSourceArgs(device, runStartSecond),
      ],
      env: childEnv({ DEVICE_AGENT_KEYSTORE_PASSWORD: password, ...clockToEnv(clock) }),
      cwd: device.dataDir,
      logFile: path.join(runDir, `agent-${device.label}.log`),
    });
  });
}
