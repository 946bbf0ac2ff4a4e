import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { clockToEnv, type ClockDefinition } from "../../protocol/clock.ts";
import { createKeyFile } from "../../device-agent/keystore.ts";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** Path of the device-agent CLI. */
export const AGENT_CLI = path.join(repoRoot, "device-agent", "bin", "device-agent.ts");

/** Keystore password of test devices. */
export const TEST_PASSWORD = "test password";

/** A simulated second after the build date, so the agent trusts the test clock. */
export const TEST_SIM_START_SECOND = 1_800_000_000;

/** A temporary data directory with a light-cost keystore of a new device. */
export type TestDevice = { dataDir: string; keystore: string; deviceId: string };

export async function createTestDevice(): Promise<TestDevice> {
  const dataDir = mkdtempSync(path.join(tmpdir(), "device-agent-"));
  const keystore = path.join(dataDir, "keystore.json");
  const keyFile = await createKeyFile(keystore, TEST_PASSWORD, "light", TEST_SIM_START_SECOND);
  return { dataDir, keystore, deviceId: keyFile.deviceId };
}

/** Returns a clock that shows TEST_SIM_START_SECOND (plus `offsetSeconds`) now and runs `scale` times faster than real time. */
export function testClock(scale: number, offsetSeconds = 0): ClockDefinition {
  return { realAnchorMs: Date.now(), simAnchorSeconds: TEST_SIM_START_SECOND + offsetSeconds, scale };
}

/** Environment for a child CLI: the test password, the clock, and no .env from the working directory. */
export function agentEnv(clock: ClockDefinition | undefined, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith("DEVICE_AGENT_") && !key.startsWith("CLOCK_")) {
      env[key] = value;
    }
  }
  return { ...env, DEVICE_AGENT_KEYSTORE_PASSWORD: TEST_PASSWORD, ...(clock === undefined ? {} : clockToEnv(clock)), ...extra };
}

/** One JSON log line of the agent. */
export type AgentLogLine = Record<string, unknown> & { level: string; message: string };

/** A device-agent child process whose stdout log lines are collected. */
export class AgentProcess {
  readonly child: ChildProcess;
  readonly logs: AgentLogLine[] = [];
  stderr = "";
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #buffer = "";
  #waiters: (() => void)[] = [];

  constructor(args: readonly string[], env: Record<string, string>, cwd: string) {
    this.child = spawn(process.execPath, [AGENT_CLI, ...args], { env, cwd, stdio: ["ignore", "pipe", "pipe"] });
    this.child.stdout?.setEncoding("utf8");
    this.child.stdout?.on("data", (chunk: string) => this.#read(chunk));
    this.child.stderr?.setEncoding("utf8");
    this.child.stderr?.on("data", (chunk: string) => {
      this.stderr += chunk;
    });
    this.exited = new Promise((resolve) => this.child.once("exit", (code, signal) => resolve({ code, signal })));
  }

  #read(chunk: string): void {
    this.#buffer += chunk;
    let newline = this.#buffer.indexOf("\n");
    while (newline >= 0) {
      const line = this.#buffer.slice(0, newline);
      this.#buffer = this.#buffer.slice(newline + 1);
      try {
        const parsed: unknown = JSON.parse(line);
        if (typeof parsed === "object" && parsed !== null && "level" in parsed && "message" in parsed && typeof parsed.level === "string" && typeof parsed.message === "string") {
          this.logs.push({ ...parsed, level: parsed.level, message: parsed.message });
        }
      } catch {
        // A line that is not JSON is not a log record; the agent writes none on stdout.
      }
      newline = this.#buffer.indexOf("\n");
    }
    for (const waiter of [...this.#waiters]) {
      waiter();
    }
  }

  /** Resolves with the first log line matching `predicate`. */
  waitForLog(predicate: (line: AgentLogLine) => boolean, description: string, timeoutRealMs = 60_000): Promise<AgentLogLine> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const match = this.logs.find(predicate);
        if (match !== undefined) {
          this.#waiters = this.#waiters.filter((waiter) => waiter !== listener);
          clearTimeout(timer);
          resolve(match);
          return true;
        }
        return false;
      };
      const listener = (): void => {
        check();
      };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((waiter) => waiter !== listener);
        reject(new Error(`timed out waiting for log "${description}"; stderr: ${this.stderr}`));
      }, timeoutRealMs);
      if (!check()) {
        this.#waiters.push(listener);
      }
    });
  }

  /** Sends SIGTERM and waits for the exit. */
  async stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill("SIGTERM");
    }
    return this.exited;
  }
}

/** Standard `run` arguments against a test server. */
export function runArgs(device: TestDevice, serverUrl: string, chainId: bigint, pool: string, extra: readonly string[]): string[] {
  return [
    "run",
    "--data-dir",
    device.dataDir,
    "--oracle-url",
    serverUrl,
    "--chain-id",
    chainId.toString(),
    "--pool-address",
    pool,
    "--reconnect-min-real-ms",
    "50",
    "--reconnect-max-real-ms",
    "400",
    "--ping-interval-real-ms",
    "1000",
    ...extra,
  ];
}

/** Runs a CLI command to completion and returns its exit code and output. */
export function runCli(args: readonly string[], env: Record<string, string>, cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [AGENT_CLI, ...args], { env, cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Resolves once `predicate` holds, checking every 50 real milliseconds. */
export async function waitUntil(predicate: () => boolean, description: string, timeoutRealMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutRealMs;
  while (!predicate()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutRealMs} ms waiting for ${description}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
