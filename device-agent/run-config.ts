import path from "node:path";
import { ClockConfigError, clockFromEnv, CLOCK_ENV, type ClockDefinition } from "../protocol/clock.ts";
import { protocolDomain, type ProtocolDomain } from "../protocol/eip712.ts";
import { AgentError } from "./agent-error.ts";
import { BUILD_SECOND } from "./attester.ts";
import { isLogLevel, type LogLevel } from "./logger.ts";
import { COMMON_OPTIONS, readChoice, readInteger, readPositiveNumber, requireAddress, requireInteger, requireString, type OptionSpec, type OptionValues } from "./options.ts";
import { DEFAULT_MIN_OFF_SIM_SECONDS } from "./sources/debounce.ts";
import { PowerSourceError, type OutageInterval } from "./sources/power-source.ts";
import { DEFAULT_SCHEDULE_TIME_ZONE, SCHEDULE_EXAMPLES, parseSchedule, type Schedule } from "./sources/schedule.ts";

/** Power sources the agent can read. */
export const SOURCE_KINDS = ["sysfs", "nut", "apcupsd-log", "outage-csv", "schedule", "outages"] as const;

export type SourceKind = (typeof SOURCE_KINDS)[number];

/** Placement of a replayed source's outages on the simulated clock. */
export type ReplaySettings = {
  startOffsetSimSeconds: number | undefined;
  /** Fixed run start; when unset the agent stores the first run's start and reuses it after restarts. */
  runStartSecond: number | undefined;
};

export type SourceConfig =
  | { kind: "sysfs"; root: string | undefined; pollIntervalRealMs: number | undefined }
  | { kind: "nut"; upsName: string; host: string | undefined; port: number | undefined; pollIntervalRealMs: number | undefined }
  | { kind: "apcupsd-log"; path: string; replay: ReplaySettings }
  | { kind: "outage-csv"; path: string; eventId: string; replay: ReplaySettings }
  | { kind: "schedule"; schedule: Schedule; runStartSecond: number | undefined }
  | { kind: "outages"; outages: OutageInterval[]; replay: ReplaySettings };

/** Everything `device-agent run` needs, validated. */
export type RunConfig = {
  dataDir: string;
  keystorePath: string;
  oracleUrl: string;
  domain: ProtocolDomain;
  source: SourceConfig;
  debounceSimSeconds: number;
  maxQueuedMessages: number;
  sendWindow: number;
  reconnectMinRealMs: number;
  reconnectMaxRealMs: number;
  pingIntervalRealMs: number;
  shutdownGraceRealMs: number;
  minClockSecond: number;
  clock: ClockDefinition;
  logLevel: LogLevel;
};

export const DEFAULT_MAX_QUEUED_MESSAGES = 200_000;

/** Options of `device-agent run`, in the order the help lists them. */
export const RUN_OPTIONS: readonly OptionSpec[] = [
  ...COMMON_OPTIONS,
  { name: "oracle-url", env: "DEVICE_AGENT_ORACLE_URL", help: "WebSocket URL of the oracle node, ws:// or wss:// (required)" },
  { name: "chain-id", env: "DEVICE_AGENT_CHAIN_ID", help: "chain id of the EIP-712 domain (required)" },
  { name: "pool-address", env: "DEVICE_AGENT_POOL_ADDRESS", help: "PayoutPool address, the EIP-712 verifying contract (required)" },
  { name: "source", env: "DEVICE_AGENT_SOURCE", defaultValue: "sysfs", help: `power source: ${SOURCE_KINDS.join(", ")}` },
  { name: "sysfs-root", env: "DEVICE_AGENT_SYSFS_ROOT", help: "sysfs: folder of power supplies (default /sys/class/power_supply)" },
  { name: "poll-interval-real-ms", env: "DEVICE_AGENT_POLL_INTERVAL_REAL_MS", help: "sysfs and nut: real milliseconds between reads (default 1000)" },
  { name: "nut-ups", env: "DEVICE_AGENT_NUT_UPS", help: "nut: UPS name in upsd (required for --source nut)" },
  { name: "nut-host", env: "DEVICE_AGENT_NUT_HOST", help: "nut: upsd host (default 127.0.0.1)" },
  { name: "nut-port", env: "DEVICE_AGENT_NUT_PORT", help: "nut: upsd TCP port (default 3493)" },
  { name: "apcupsd-log", env: "DEVICE_AGENT_APCUPSD_LOG", help: "apcupsd-log: path of the apcupsd events file to replay" },
  { name: "outage-csv", env: "DEVICE_AGENT_OUTAGE_CSV", help: "outage-csv: path of a BC Hydro outage CSV to replay" },
  { name: "outage-event-id", env: "DEVICE_AGENT_OUTAGE_EVENT_ID", help: "outage-csv: id of the event whose feeder this device is on" },
  { name: "schedule", env: "DEVICE_AGENT_SCHEDULE", help: `schedule: load-shedding schedule, e.g. "${SCHEDULE_EXAMPLES[0]}" or "${SCHEDULE_EXAMPLES[4]}"` },
  { name: "schedule-time-zone", env: "DEVICE_AGENT_SCHEDULE_TIME_ZONE", defaultValue: DEFAULT_SCHEDULE_TIME_ZONE, help: "schedule: IANA time zone of the schedule's local times" },
  {
    name: "outages",
    env: "DEVICE_AGENT_OUTAGES",
    help: "outages: comma-separated START+DURATION in simulated seconds from the run start, DURATION `open` for an outage that never ends, e.g. 60+3601,7200+600",
  },
  { name: "replay-start-offset-sim-seconds", env: "DEVICE_AGENT_REPLAY_START_OFFSET_SIM_SECONDS", help: "replays: simulated seconds from the run start to the first outage (default 60)" },
  {
    name: "replay-run-start-second",
    env: "DEVICE_AGENT_REPLAY_RUN_START_SECOND",
    help: "replays: run start in simulated unix seconds; default the first run's start, kept across restarts",
  },
  {
    name: "debounce-sim-seconds",
    env: "DEVICE_AGENT_DEBOUNCE_SIM_SECONDS",
    defaultValue: String(DEFAULT_MIN_OFF_SIM_SECONDS),
    help: "simulated seconds power must stay off before an outage counts; its first seconds are attested too, 0 disables",
  },
  {
    name: "max-queued-messages",
    env: "DEVICE_AGENT_MAX_QUEUED_MESSAGES",
    defaultValue: String(DEFAULT_MAX_QUEUED_MESSAGES),
    help: "signed messages the queue may hold unacknowledged; at the bound signing pauses (nothing signed is dropped)",
  },
  { name: "send-window", env: "DEVICE_AGENT_SEND_WINDOW", defaultValue: "64", help: "messages sent and not yet acknowledged at most" },
  { name: "reconnect-min-real-ms", env: "DEVICE_AGENT_RECONNECT_MIN_REAL_MS", defaultValue: "500", help: "first reconnect and retry delay in real milliseconds, doubled each time" },
  { name: "reconnect-max-real-ms", env: "DEVICE_AGENT_RECONNECT_MAX_REAL_MS", defaultValue: "60000", help: "largest reconnect and retry delay in real milliseconds" },
  { name: "ping-interval-real-ms", env: "DEVICE_AGENT_PING_INTERVAL_REAL_MS", defaultValue: "15000", help: "real milliseconds between pings; no pong by the next ping drops the connection" },
  {
    name: "shutdown-grace-real-ms",
    env: "DEVICE_AGENT_SHUTDOWN_GRACE_REAL_MS",
    defaultValue: "3000",
    help: "real milliseconds to wait for acknowledgements on SIGINT or SIGTERM before exiting",
  },
  {
    name: "min-clock-second",
    env: "DEVICE_AGENT_MIN_CLOCK_SECOND",
    defaultValue: String(BUILD_SECOND),
    help: "unix second before which the clock counts as wrong and nothing is signed (default the build date); lower it only to replay old data",
  },
  { name: "clock-scale", env: CLOCK_ENV.scale, help: "simulated seconds per real second (default 1, the wall clock)" },
  { name: "clock-real-anchor-ms", env: CLOCK_ENV.realAnchorMs, help: "real unix milliseconds at which the simulated clock shows --clock-sim-anchor-s" },
  { name: "clock-sim-anchor-s", env: CLOCK_ENV.simAnchorSeconds, help: "simulated unix second at --clock-real-anchor-ms" },
  { name: "log-level", env: "DEVICE_AGENT_LOG_LEVEL", defaultValue: "info", help: "minimum level of the log lines written: debug, info, warn, error" },
];

/** Returns the key file path: --keystore, or keystore.json in the data directory. */
export function keystorePathOf(values: OptionValues): string {
  return values.get("keystore") ?? path.join(values.get("data-dir") ?? ".data/device-agent", "keystore.json");
}

/** Reads the simulated clock from the clock flags, the environment and the .env file. */
export function readClock(values: OptionValues): ClockDefinition {
  const env: Record<string, string | undefined> = { ...values.env };
  const fromFlags: [string, string][] = [
    ["clock-scale", CLOCK_ENV.scale],
    ["clock-real-anchor-ms", CLOCK_ENV.realAnchorMs],
    ["clock-sim-anchor-s", CLOCK_ENV.simAnchorSeconds],
  ];
  for (const [name, variable] of fromFlags) {
    env[variable] = values.get(name);
  }
  try {
    return clockFromEnv(env);
  } catch (error) {
    if (error instanceof ClockConfigError) {
      throw new AgentError("INVALID_CONFIG", error.message, {}, { cause: error });
    }
    throw error;
  }
}

/** Parses the --outages list into outages relative to second 0 of the run. */
export function parseOutageList(values: OptionValues, raw: string): OutageInterval[] {
  const outages: OutageInterval[] = [];
  for (const part of raw.split(",")) {
    const match = /^\s*([0-9]+)\+([0-9]+|open)\s*$/.exec(part);
    if (match === null || match[1] === undefined || match[2] === undefined) {
      throw new AgentError("INVALID_CONFIG", `${values.origin("outages")}=${raw} is invalid: "${part}" is not START+DURATION in seconds (or START+open)`, { option: "outages" });
    }
    const startSecond = Number(match[1]);
    const open = match[2] === "open";
    const durationSeconds = open ? 0 : Number(match[2]);
    if (!open && durationSeconds === 0) {
      throw new AgentError("INVALID_CONFIG", `${values.origin("outages")}=${raw} is invalid: "${part}" lasts 0 seconds`, { option: "outages" });
    }
    const previous = outages.at(-1);
    if (previous !== undefined && (previous.open || startSecond <= previous.endSecond)) {
      throw new AgentError("INVALID_CONFIG", `${values.origin("outages")}=${raw} is invalid: "${part}" starts before the previous outage ends; list outages in order`, { option: "outages" });
    }
    outages.push({ startSecond, endSecond: startSecond + durationSeconds, open, planned: false });
  }
  return outages;
}

function readReplay(values: OptionValues): ReplaySettings {
  return {
    startOffsetSimSeconds: readInteger(values, "replay-start-offset-sim-seconds", 0),
    runStartSecond: readInteger(values, "replay-run-start-second", 0),
  };
}

function readSchedule(values: OptionValues): Schedule {
  const text = requireString(values, "schedule");
  try {
    return parseSchedule(text, { timeZone: values.get("schedule-time-zone") ?? DEFAULT_SCHEDULE_TIME_ZONE });
  } catch (error) {
    if (error instanceof PowerSourceError) {
      throw new AgentError("INVALID_CONFIG", `${values.origin("schedule")} is invalid: ${error.message}`, { option: "schedule" }, { cause: error });
    }
    throw error;
  }
}

function readSource(values: OptionValues): SourceConfig {
  const kind = readChoice(values, "source", SOURCE_KINDS) ?? "sysfs";
  switch (kind) {
    case "sysfs":
      return { kind, root: values.get("sysfs-root"), pollIntervalRealMs: readInteger(values, "poll-interval-real-ms", 10) };
    case "nut":
      return {
        kind,
        upsName: requireString(values, "nut-ups"),
        host: values.get("nut-host"),
        port: readInteger(values, "nut-port", 1, 65_535),
        pollIntervalRealMs: readInteger(values, "poll-interval-real-ms", 10),
      };
    case "apcupsd-log":
      return { kind, path: requireString(values, "apcupsd-log"), replay: readReplay(values) };
    case "outage-csv":
      return { kind, path: requireString(values, "outage-csv"), eventId: requireString(values, "outage-event-id"), replay: readReplay(values) };
    case "schedule":
      return { kind, schedule: readSchedule(values), runStartSecond: readInteger(values, "replay-run-start-second", 0) };
    case "outages":
      return { kind, outages: parseOutageList(values, requireString(values, "outages")), replay: readReplay(values) };
  }
}

function readOracleUrl(values: OptionValues): string {
  const raw = requireString(values, "oracle-url");
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AgentError("INVALID_CONFIG", `${values.origin("oracle-url")}=${raw} is invalid: expected a URL such as wss://oracle.example.org/device`, { option: "oracle-url", value: raw });
  }
  if (url.protocol !== "ws:" && url.protocol !== "wss:") {
    throw new AgentError("INVALID_CONFIG", `${values.origin("oracle-url")}=${raw} is invalid: the scheme must be ws: or wss:`, { option: "oracle-url", value: raw });
  }
  return raw;
}

/** Validates every option of `device-agent run`; throws INVALID_CONFIG naming the option and the fix. */
export function loadRunConfig(values: OptionValues): RunConfig {
  const logLevel = values.get("log-level") ?? "info";
  if (!isLogLevel(logLevel)) {
    throw new AgentError("INVALID_CONFIG", `${values.origin("log-level")}=${logLevel} is invalid: expected debug, info, warn or error`, { option: "log-level" });
  }
  const oracleUrl = readOracleUrl(values);
  const chainId = requireInteger(values, "chain-id", 1);
  const poolAddress = requireAddress(values, "pool-address");
  const reconnectMinRealMs = requireInteger(values, "reconnect-min-real-ms", 1);
  const reconnectMaxRealMs = requireInteger(values, "reconnect-max-real-ms", 1);
  if (reconnectMaxRealMs < reconnectMinRealMs) {
    throw new AgentError(
      "INVALID_CONFIG",
      `${values.origin("reconnect-max-real-ms")}=${reconnectMaxRealMs} is invalid: it must be at least ${values.origin("reconnect-min-real-ms")}=${reconnectMinRealMs}`,
      { option: "reconnect-max-real-ms" },
    );
  }
  readPositiveNumber(values, "clock-scale");
  return {
    dataDir: values.get("data-dir") ?? ".data/device-agent",
    keystorePath: keystorePathOf(values),
    oracleUrl,
    domain: protocolDomain(chainId, poolAddress),
    source: readSource(values),
    debounceSimSeconds: requireInteger(values, "debounce-sim-seconds", 0),
    maxQueuedMessages: requireInteger(values, "max-queued-messages", 1),
    sendWindow: requireInteger(values, "send-window", 1, 10_000),
    reconnectMinRealMs,
    reconnectMaxRealMs,
    pingIntervalRealMs: requireInteger(values, "ping-interval-real-ms", 100),
    shutdownGraceRealMs: requireInteger(values, "shutdown-grace-real-ms", 0),
    minClockSecond: requireInteger(values, "min-clock-second", 0),
    clock: readClock(values),
    logLevel,
  };
}
