import { ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import path from "node:path";
import { PROJECT_ROOT } from "../../protocol/artifacts.ts";

/** Returns a free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** An oracle node running as a child process from its command-line entry point. */
export class OracleProcess {
  readonly child: ChildProcess;
  readonly lines: Array<Record<string, unknown>> = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly #waiters: Array<{ match: (line: Record<string, unknown>) => boolean; resolve: (line: Record<string, unknown>) => void }> = [];

  /** Starts the node's command-line entry point with `env` only (plus PATH) in `cwd`. */
  constructor(env: Record<string, string>, cwd: string);
  /** Follows the output of a node started elsewhere, with its stdout and stderr piped. */
  constructor(child: ChildProcess);
  constructor(envOrChild: Record<string, string> | ChildProcess, cwd?: string) {
    if (envOrChild instanceof ChildProcess) {
      this.child = envOrChild;
    } else {
      const entry = path.join(PROJECT_ROOT, "oracle-node", "bin", "oracle-node.ts");
      this.child = spawn(process.execPath, [entry], { cwd, env: { PATH: process.env.PATH ?? "", ...envOrChild }, stdio: ["ignore", "pipe", "pipe"] });
    }
    let pending = "";
    this.child.stdout?.on("data", (chunk: Buffer) => {
      pending += chunk.toString("utf8");
      let newline = pending.indexOf("\n");
      while (newline >= 0) {
        const text = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        newline = pending.indexOf("\n");
        if (process.env.ORACLE_TEST_LOGS === "1") {
          process.stderr.write(`[oracle] ${text}\n`);
        }
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          continue;
        }
        if (typeof parsed !== "object" || parsed === null) {
          continue;
        }
        const line = Object.fromEntries(Object.entries(parsed));
        this.lines.push(line);
        for (let i = this.#waiters.length - 1; i >= 0; i--) {
          const waiter = this.#waiters[i];
          if (waiter !== undefined && waiter.match(line)) {
            this.#waiters.splice(i, 1);
            waiter.resolve(line);
          }
        }
      }
    });
    this.child.stderr?.on("data", (chunk: Buffer) => this.stderr.push(chunk.toString("utf8")));
    this.exited = new Promise((resolve) => this.child.once("exit", (code, signal) => resolve({ code, signal })));
  }

  /** Wraps a running child whose stdout carries the node's log lines. */
  static attach(child: ChildProcess): OracleProcess {
    return new OracleProcess(child);
  }

  /** Resolves with the first log line (past or future) that `match` accepts. */
  waitForLine(match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
    const seen = this.lines.find(match);
    if (seen !== undefined) {
      return Promise.resolve(seen);
    }
    return new Promise((resolve) => this.#waiters.push({ match, resolve }));
  }

  /** Sends `signal` and waits for the exit. */
  async kill(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.child.kill(signal);
    return this.exited;
  }
}
