import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, readFileSync, type WriteStream } from "node:fs";

/** Exit status of a child: its exit code, or the signal that ended it. */
export type ChildExit = { code: number | null; signal: NodeJS.Signals | null };

export type ChildOptions = {
  /** Name in messages and the view, such as "oracle-node" or "agent urban-1". */
  name: string;
  command: string;
  args: readonly string[];
  env: Record<string, string>;
  cwd: string;
  /** File that receives the child's stdout and stderr. */
  logFile: string;
  /** Called with each complete stdout line, for children that log JSON. */
  onLine?: (line: string) => void;
};

/** Children still running, so an unexpected exit of the demo can still end them. */
const running = new Set<ManagedChild>();

process.once("exit", () => {
  for (const child of running) {
    child.killGroup("SIGKILL");
  }
});

/**
 * A child process in its own process group, with its output in a log file. Stopping sends a
 * signal to the whole group, so grandchildren (worker threads are not processes, but a
 * wrapper script's child is) end with it, and waits for the exit.
 */
export class ManagedChild {
  readonly name: string;
  readonly logFile: string;
  readonly exited: Promise<ChildExit>;
  #child: ChildProcess;
  #log: WriteStream;
  #exit: ChildExit | undefined;
  #stopping = false;
  #buffer = "";

  constructor(options: ChildOptions) {
    this.name = options.name;
    this.logFile = options.logFile;
    this.#log = createWriteStream(options.logFile, { flags: "a" });
    this.#child = spawn(options.command, [...options.args], { cwd: options.cwd, env: options.env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    running.add(this);
    this.#child.stdout?.on("data", (chunk: Buffer) => {
      this.#log.write(chunk);
      if (options.onLine !== undefined) {
        this.#readLines(chunk.toString("utf8"), options.onLine);
      }
    });
    this.#child.stderr?.on("data", (chunk: Buffer) => this.#log.write(chunk));
    this.exited = new Promise((resolve) => {
      this.#child.once("error", (error) => {
        this.#log.write(`failed to start ${options.command}: ${error.message}\n`);
        this.#exit = { code: 127, signal: null };
        running.delete(this);
        resolve(this.#exit);
      });
      this.#child.once("close", (code, signal) => {
        this.#exit = { code, signal };
        running.delete(this);
        this.#log.end();
        resolve(this.#exit);
      });
    });
  }

  #readLines(text: string, onLine: (line: string) => void): void {
    this.#buffer += text;
    let newline = this.#buffer.indexOf("\n");
    while (newline >= 0) {
      const line = this.#buffer.slice(0, newline);
      this.#buffer = this.#buffer.slice(newline + 1);
      onLine(line);
      newline = this.#buffer.indexOf("\n");
    }
  }

  /** The exit, once the child has ended. */
  get exit(): ChildExit | undefined {
    return this.#exit;
  }

  /** True when the child ended without being asked to stop. */
  get crashed(): boolean {
    return this.#exit !== undefined && !this.#stopping;
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Sends `signal` to the child's process group; a group that is already gone is ignored. */
  killGroup(signal: NodeJS.Signals): void {
    const pid = this.#child.pid;
    if (pid === undefined || this.#exit !== undefined) {
      return;
    }
    try {
      process.kill(-pid, signal);
    } catch (error) {
      if (!(error instanceof Error && "code" in error && error.code === "ESRCH")) {
        throw error;
      }
    }
  }

  /** Sends SIGTERM to the group, then SIGKILL after `graceRealMs`, and waits for the exit. */
  async stop(graceRealMs: number): Promise<ChildExit> {
    this.#stopping = true;
    if (this.#exit !== undefined) {
      return this.#exit;
    }
    this.killGroup("SIGTERM");
    const timer = setTimeout(() => this.killGroup("SIGKILL"), graceRealMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }

  /** Returns the last `count` lines of the log file. */
  tail(count: number): string[] {
    try {
      return readFileSync(this.logFile, "utf8").trimEnd().split("\n").slice(-count);
    } catch {
      return [];
    }
  }
}
