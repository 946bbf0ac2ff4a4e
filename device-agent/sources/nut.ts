import { Socket } from "node:net";
import { PowerSourceError, checkClock, nowSecond } from "./power-source.ts";
import type { PowerChange, PowerSource, PowerState, SourceClock } from "./power-source.ts";

/** Port of upsd in Network UPS Tools. */
export const DEFAULT_NUT_PORT = 3493;
export const DEFAULT_NUT_POLL_INTERVAL_REAL_MS = 1_000;
export const DEFAULT_NUT_MIN_BACKOFF_REAL_MS = 250;
export const DEFAULT_NUT_MAX_BACKOFF_REAL_MS = 30_000;
export const DEFAULT_NUT_REPLY_TIMEOUT_REAL_MS = 5_000;

export type NutSourceOptions = SourceClock & {
  /** UPS name as configured in upsd (the section name in ups.conf). */
  upsName: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 3493. */
  port?: number;
  /** Real milliseconds between status reads. Default 1000. */
  pollIntervalRealMs?: number;
  /** First reconnect delay in real milliseconds, doubled after each failure. Default 250. */
  minBackoffRealMs?: number;
  /** Upper bound of the reconnect delay in real milliseconds. Default 30000. */
  maxBackoffRealMs?: number;
  /** Real milliseconds to wait for a reply before the connection counts as lost. Default 5000. */
  replyTimeoutRealMs?: number;
  name?: string;
};

// upsd reply to GET VAR: VAR <ups> ups.status "<value>", the value with \" and \\ escaped.
const STATUS_REPLY_PATTERN = /^VAR (\S+) ups\.status "((?:[^"\\]|\\.)*)"$/;

/**
 * Maps a NUT `ups.status` value to the mains state. "OB" (on battery) is off and "OL" (on
 * line) is on. Flags such as LB, CHRG, DISCHRG may accompany either. "OB CAL" is a runtime
 * calibration, which drains the battery with mains present, so it counts as on. Anything
 * else, such as "OFF" alone, is unknown.
 */
export function parseUpsStatus(status: string): PowerState | "unknown" {
  const flags = new Set(status.trim().split(/\s+/));
  if (flags.has("OB")) {
    return flags.has("CAL") ? "on" : "off";
  }
  return flags.has("OL") ? "on" : "unknown";
}

/** Parses the reply to `GET VAR <ups> ups.status`. Throws UNEXPECTED_REPLY for anything else, ERR replies included. */
export function parseStatusReply(line: string, upsName: string): string {
  const match = STATUS_REPLY_PATTERN.exec(line);
  if (match === null || match[1] !== upsName) {
    const code = line.startsWith("ERR ") ? line.slice(4).trim() : null;
    throw new PowerSourceError("UNEXPECTED_REPLY", `upsd replied ${JSON.stringify(line)} to GET VAR ${upsName} ups.status`, { upsName, reply: line, nutError: code });
  }
  return (match[2] ?? "").replace(/\\(.)/g, "$1");
}

/** One TCP connection to upsd, sending one request at a time and reading line replies. */
class NutConnection {
  readonly #socket: Socket;
  #buffer = "";
  #pending: { resolve: (line: string) => void; reject: (error: Error) => void; timer: NodeJS.Timeout } | null = null;
  #closedError: Error | null = null;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => this.#receive(chunk));
    socket.on("error", (error) => this.#fail(error));
    socket.on("close", () => this.#fail(new Error("upsd closed the connection")));
  }

  static open(host: string, port: number, timeoutMs: number): Promise<NutConnection> {
    return new Promise((resolve, reject) => {
      const socket = new Socket();
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connecting to ${host}:${port} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
      socket.connect(port, host, () => {
        clearTimeout(timer);
        socket.removeAllListeners("error");
        resolve(new NutConnection(socket));
      });
    });
  }

  request(line: string, timeoutMs: number): Promise<string> {
    if (this.#closedError !== null) {
      return Promise.reject(this.#closedError);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.#fail(new Error(`upsd sent no reply to ${JSON.stringify(line)} within ${timeoutMs} ms`)), timeoutMs);
      this.#pending = { resolve, reject, timer };
      this.#socket.write(`${line}\n`);
    });
  }

  close(): void {
    this.#fail(new Error("connection closed by the client"));
  }

  #receive(chunk: string): void {
    this.#buffer += chunk;
    for (;;) {
      const end = this.#buffer.indexOf("\n");
      if (end === -1) {
        return;
      }
      const line = this.#buffer.slice(0, end).replace(/\r$/, "");
      this.#buffer = this.#buffer.slice(end + 1);
      const pending = this.#pending;
      this.#pending = null;
      if (pending !== null) {
        clearTimeout(pending.timer);
        pending.resolve(line);
      }
    }
  }

  #fail(error: Error): void {
    if (this.#closedError === null) {
      this.#closedError = error;
    }
    this.#socket.destroy();
    const pending = this.#pending;
    this.#pending = null;
    if (pending !== null) {
      clearTimeout(pending.timer);
      pending.reject(error);
    }
  }
}

/**
 * Reads `ups.status` from a Network UPS Tools server (upsd) over its TCP text protocol:
 * off while the UPS runs on battery, on while it is on line.
 *
 * When upsd cannot be reached, drops the connection or has no fresh data from its driver,
 * the state is "unknown" and no change is reported, so a restart of upsd is never taken
 * for an outage. The source reconnects with a delay that doubles from `minBackoffRealMs` up
 * to `maxBackoffRealMs`. Once the status can be read again, a change is reported only if it
 * differs from the last reported state. The first failure of a series goes to `onError`.
 */
export class NutSource implements PowerSource {
  readonly name: string;
  readonly #upsName: string;
  readonly #host: string;
  readonly #port: number;
  readonly #pollIntervalRealMs: number;
  readonly #minBackoffRealMs: number;
  readonly #maxBackoffRealMs: number;
  readonly #replyTimeoutRealMs: number;
  readonly #clock: SourceClock;
  #connection: NutConnection | null = null;
  #backoffRealMs: number;
  #state: PowerState | "unknown" = "unknown";
  #reported: PowerState | null = null;
  #failing = false;
  #running = false;
  #timer: NodeJS.Timeout | null = null;
  #onChange: (change: PowerChange) => void = () => {};
  #onError: (error: Error) => void = () => {};

  constructor(options: NutSourceOptions) {
    const name = options.name ?? `nut:${options.upsName}`;
    checkClock(options, name);
    const port = options.port ?? DEFAULT_NUT_PORT;
    if (!/^[A-Za-z0-9_.:-]+$/.test(options.upsName)) {
      throw new PowerSourceError("INVALID_CONFIG", `${name}: UPS name ${JSON.stringify(options.upsName)} may contain only letters, digits and _ . : -`, { source: name, upsName: options.upsName });
    }
    if (!(Number.isInteger(port) && port > 0 && port < 65_536)) {
      throw new PowerSourceError("INVALID_CONFIG", `${name}: port ${port} is not a TCP port number`, { source: name, port });
    }
    const durations = {
      pollIntervalRealMs: options.pollIntervalRealMs ?? DEFAULT_NUT_POLL_INTERVAL_REAL_MS,
      minBackoffRealMs: options.minBackoffRealMs ?? DEFAULT_NUT_MIN_BACKOFF_REAL_MS,
      maxBackoffRealMs: options.maxBackoffRealMs ?? DEFAULT_NUT_MAX_BACKOFF_REAL_MS,
      replyTimeoutRealMs: options.replyTimeoutRealMs ?? DEFAULT_NUT_REPLY_TIMEOUT_REAL_MS,
    };
    for (const [key, value] of Object.entries(durations)) {
      if (!(Number.isFinite(value) && value > 0)) {
        throw new PowerSourceError("INVALID_CONFIG", `${name}: ${key} ${value} must be a positive number of milliseconds`, { source: name, [key]: value });
      }
    }

    this.name = name;
    this.#upsName = options.upsName;
    this.#host = options.host ?? "127.0.0.1";
    this.#port = port;
    this.#pollIntervalRealMs = durations.pollIntervalRealMs;
    this.#minBackoffRealMs = durations.minBackoffRealMs;
    this.#maxBackoffRealMs = Math.max(durations.maxBackoffRealMs, durations.minBackoffRealMs);
    this.#replyTimeoutRealMs = durations.replyTimeoutRealMs;
    this.#backoffRealMs = durations.minBackoffRealMs;
    this.#clock = { now: options.now, scale: options.scale };
  }

  currentState(): PowerState | "unknown" {
    return this.#state;
  }

  /** Makes the first read before it returns, so the first state (or error) is already reported. */
  async start(onChange: (change: PowerChange) => void, onError: (error: Error) => void): Promise<void> {
    this.#onChange = onChange;
    this.#onError = onError;
    this.#running = true;
    await this.#poll();
  }

  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    this.#connection?.close();
    this.#connection = null;
  }

  async #poll(): Promise<void> {
    this.#timer = null;
    let nextDelayMs = this.#pollIntervalRealMs;
    try {
      const status = await this.#readStatus();
      const state = parseUpsStatus(status);
      if (state === "unknown") {
        throw new PowerSourceError("UNEXPECTED_REPLY", `${this.name}: ups.status ${JSON.stringify(status)} contains neither OL (on line) nor OB (on battery)`, { source: this.name, status });
      }
      this.#failing = false;
      this.#backoffRealMs = this.#minBackoffRealMs;
      this.#update(state);
    } catch (error) {
      this.#state = "unknown";
      if (this.#connection === null) {
        nextDelayMs = this.#backoffRealMs;
        this.#backoffRealMs = Math.min(this.#backoffRealMs * 2, this.#maxBackoffRealMs);
      }
      if (!this.#failing && this.#running) {
        this.#failing = true;
        this.#onError(this.#asSourceError(error));
      }
    }
    if (this.#running) {
      this.#timer = setTimeout(() => void this.#poll(), nextDelayMs);
    }
  }

  /** Reads ups.status, opening a connection first if there is none. A lost connection is dropped. */
  async #readStatus(): Promise<string> {
    try {
      if (this.#connection === null) {
        this.#connection = await NutConnection.open(this.#host, this.#port, this.#replyTimeoutRealMs);
        if (!this.#running) {
          this.#connection.close();
          this.#connection = null;
          throw new Error("source stopped while connecting");
        }
      }
      const reply = await this.#connection.request(`GET VAR ${this.#upsName} ups.status`, this.#replyTimeoutRealMs);
      return parseStatusReply(reply, this.#upsName);
    } catch (error) {
      // An ERR reply (stale data, driver not connected) leaves the connection usable.
      if (!(error instanceof PowerSourceError)) {
        this.#connection?.close();
        this.#connection = null;
      }
      throw error;
    }
  }

  #asSourceError(error: unknown): PowerSourceError {
    if (error instanceof PowerSourceError) {
      return error;
    }
    const reason = error instanceof Error ? error.message : String(error);
    return new PowerSourceError("SOURCE_UNAVAILABLE", `${this.name}: cannot read ups.status from upsd at ${this.#host}:${this.#port} (${reason}); retrying`, {
      source: this.name,
      host: this.#host,
      port: this.#port,
    }, { cause: error });
  }

  #update(state: PowerState): void {
    this.#state = state;
    if (state === this.#reported || !this.#running) {
      return;
    }
    this.#reported = state;
    this.#onChange({ state, atSecond: nowSecond(this.#clock), source: this.name });
  }
}
