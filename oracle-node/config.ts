import { existsSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { parse as parseDotenv } from "dotenv";
import { getAddress, isAddress, isHexString } from "ethers";
import { clockFromEnv, type ClockDefinition } from "../protocol/clock.ts";
import { readDeployment } from "../protocol/deployment.ts";
import { isLogLevel, type LogLevel } from "./logger.ts";

/** Source of the node's committee key. */
export type SignerSource = { kind: "privateKey"; privateKey: string } | { kind: "keystore"; path: string; password: string };

/** The validated configuration of one oracle node. */
export type OracleConfig = {
  rpcUrl: string;
  poolAddress: string;
  registryAddress: string;
  signer: SignerSource;
  host: string;
  port: number;
  dataDir: string;
  batchWindowRealMs: number;
  maxBatchEntries: number;
  blockGasShare: number;
  /** Undefined: 0 on a local chain (id 31337 or 1337), 3 elsewhere. */
  confirmations: number | undefined;
  maxBackfillAgeSimSeconds: number;
  futureSkewSimSeconds: number;
  corroborationK: number;
  attestationRetentionRealSeconds: number;
  registryFromBlock: number;
  logRangeBlocks: number;
  pollIntervalRealMs: number;
  gasBumpAfterRealMs: number;
  verifyWorkers: number;
  groupCommitRealMs: number;
  rateLimitPerSecond: number;
  rateLimitBurst: number;
  storeMaxBytes: number | undefined;
  logLevel: LogLevel;
  clock: ClockDefinition;
};

/** A configuration value that cannot be used; the message names the value and the fix. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

type OptionSpec = {
  flag: string;
  env: string;
  help: string;
  unit?: string;
  default?: string;
};

/** Every option, with its flag, environment variable, unit and default; `--help` prints this table. */
export const OPTIONS = {
  rpcUrl: { flag: "rpc-url", env: "ORACLE_RPC_URL", help: "JSON-RPC endpoint of the chain", default: "http://127.0.0.1:8545" },
  deploymentDir: { flag: "deployment-dir", env: "ORACLE_DEPLOYMENT_DIR", help: "Ignition deployment folder holding deployed_addresses.json" },
  poolAddress: { flag: "pool-address", env: "ORACLE_POOL_ADDRESS", help: "PayoutPool address (instead of --deployment-dir)" },
  registryAddress: { flag: "registry-address", env: "ORACLE_REGISTRY_ADDRESS", help: "DeviceRegistry address (instead of --deployment-dir)" },
  keystore: { flag: "keystore", env: "ORACLE_KEYSTORE", help: "encrypted JSON keystore of the committee key; the password comes from ORACLE_KEYSTORE_PASSWORD" },
  host: { flag: "host", env: "ORACLE_HOST", help: "address to listen on for devices and HTTP", default: "127.0.0.1" },
  port: { flag: "port", env: "ORACLE_PORT", help: "port for device WebSockets and HTTP (0 picks a free one)", default: "8787" },
  dataDir: { flag: "data-dir", env: "ORACLE_DATA_DIR", help: "folder of the node's SQLite database", default: ".data/oracle-node" },
  batchWindowRealMs: { flag: "batch-window-ms", env: "ORACLE_BATCH_WINDOW_MS", unit: "real ms", help: "time between settlement batches", default: "1000" },
  maxBatchEntries: { flag: "max-batch-entries", env: "ORACLE_MAX_BATCH_ENTRIES", help: "largest number of entries in one batch", default: "200" },
  blockGasShare: { flag: "block-gas-share", env: "ORACLE_BLOCK_GAS_SHARE", unit: "fraction", help: "share of the block gas limit one batch may use", default: "0.5" },
  confirmations: { flag: "confirmations", env: "ORACLE_CONFIRMATIONS", unit: "blocks", help: "blocks before registry events and settlements count; default 0 on chain 31337/1337, else 3" },
  maxBackfillAgeSimSeconds: { flag: "max-backfill-age-s", env: "ORACLE_MAX_BACKFILL_AGE_S", unit: "simulated s", help: "oldest second accepted, as an age on the protocol clock; also how long corroboration waits", default: "86400" },
  futureSkewSimSeconds: { flag: "future-skew-s", env: "ORACLE_FUTURE_SKEW_S", unit: "simulated s", help: "how far past the protocol clock a second may be", default: "5" },
  corroborationK: { flag: "corroboration-k", env: "ORACLE_CORROBORATION_K", unit: "devices", help: "devices on one feeder that must report an outage before it is paid", default: "1" },
  attestationRetentionRealSeconds: { flag: "attestation-retention-s", env: "ORACLE_ATTESTATION_RETENTION_S", unit: "real s", help: "how long settled attestations stay available for audit", default: "2592000" },
  registryFromBlock: { flag: "registry-from-block", env: "ORACLE_REGISTRY_FROM_BLOCK", unit: "block", help: "first block of the registry mirror (the registry's deployment block)", default: "0" },
  logRangeBlocks: { flag: "log-range-blocks", env: "ORACLE_LOG_RANGE_BLOCKS", unit: "blocks", help: "largest block range per eth_getLogs call", default: "2000" },
  pollIntervalRealMs: { flag: "poll-interval-ms", env: "ORACLE_POLL_INTERVAL_MS", unit: "real ms", help: "time between polls for registry events and receipts", default: "500" },
  gasBumpAfterRealMs: { flag: "gas-bump-after-ms", env: "ORACLE_GAS_BUMP_AFTER_MS", unit: "real ms", help: "time without a receipt before a transaction is re-sent with 12.5% higher fees", default: "15000" },
  verifyWorkers: { flag: "verify-workers", env: "ORACLE_VERIFY_WORKERS", unit: "threads", help: "signature verification threads; default: the number of CPUs" },
  groupCommitRealMs: { flag: "group-commit-ms", env: "ORACLE_GROUP_COMMIT_MS", unit: "real ms", help: "time messages are collected before one durable commit", default: "2" },
  rateLimitPerSecond: { flag: "rate-limit-per-s", env: "ORACLE_RATE_LIMIT_PER_S", unit: "messages per real s", help: "sustained message rate allowed per connection", default: "1000" },
  rateLimitBurst: { flag: "rate-limit-burst", env: "ORACLE_RATE_LIMIT_BURST", unit: "messages", help: "burst allowed per connection, for back-fill after a link outage", default: "100000" },
  storeMaxBytes: { flag: "store-max-bytes", env: "ORACLE_STORE_MAX_BYTES", unit: "bytes", help: "largest size of the database; beyond it messages get STORE_UNAVAILABLE" },
  logLevel: { flag: "log-level", env: "ORACLE_LOG_LEVEL", help: "debug, info, warn or error", default: "info" },
} as const satisfies Record<string, OptionSpec>;

type OptionName = keyof typeof OPTIONS;

const PRIVATE_KEY_ENV = "ORACLE_PRIVATE_KEY";
const KEYSTORE_PASSWORD_ENV = "ORACLE_KEYSTORE_PASSWORD";

/** Returns the text of `--help`. */
export function helpText(): string {
  const lines = [
    "Usage: oracle-node [options]",
    "",
    "Verifies device attestations received over WebSocket and settles them on the PayoutPool.",
    "Each option can also be set by its environment variable or in a .env file in the working folder",
    "(flags win over the environment, the environment over .env).",
    "",
  ];
  for (const spec of Object.values(OPTIONS)) {
    const unit = "unit" in spec ? ` [${spec.unit}]` : "";
    const fallback = "default" in spec ? ` (default ${spec.default})` : "";
    lines.push(`  --${spec.flag} <value>`.padEnd(33) + ` ${spec.help}${unit}${fallback}; env ${spec.env}`);
  }
  lines.push(
    "",
    "Committee key (one of):",
    `  ${PRIVATE_KEY_ENV}               hex private key, for local chains`,
    `  --keystore + ${KEYSTORE_PASSWORD_ENV}  encrypted JSON keystore and its password`,
    "",
    "Protocol clock (see docs/protocol.md): CLOCK_SCALE, CLOCK_REAL_ANCHOR_MS, CLOCK_SIM_ANCHOR_S; unset = wall clock.",
    "",
    "  --help                          print this text",
  );
  return lines.join("\n");
}

/**
 * Reads the configuration from flags, the environment and `.env` in `cwd`, and validates it.
 * Returns "help" when --help was given. Raises ConfigError naming the value and the fix.
 */
export function loadConfig(argv: readonly string[], env: Record<string, string | undefined> = process.env, cwd: string = process.cwd()): OracleConfig | "help" {
  const flagOptions: Record<string, { type: "string" } | { type: "boolean" }> = { help: { type: "boolean" } };
  for (const spec of Object.values(OPTIONS)) {
    flagOptions[spec.flag] = { type: "string" };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: flagOptions, strict: true, allowPositionals: false });
  } catch (error) {
    throw new ConfigError(`${error instanceof Error ? error.message : String(error)}; run with --help for the options`);
  }
  const values: Record<string, unknown> = parsed.values;
  if (values.help === true) {
    return "help";
  }
  const dotenvPath = path.join(cwd, ".env");
  const fileEnv: Record<string, string> = existsSync(dotenvPath) ? parseDotenv(readFileSync(dotenvPath)) : {};
  const merged: Record<string, string | undefined> = { ...fileEnv, ...env };

  const raw = (name: OptionName): string | undefined => {
    const spec: OptionSpec = OPTIONS[name];
    const fromFlag = values[spec.flag];
    if (typeof fromFlag === "string") {
      return fromFlag;
    }
    const fromEnv = merged[spec.env];
    if (fromEnv !== undefined && fromEnv.trim() !== "") {
      return fromEnv.trim();
    }
    return spec.default;
  };
  const describe = (name: OptionName): string => `--${OPTIONS[name].flag} (${OPTIONS[name].env})`;
  const number = (name: OptionName, check: { min: number; integer?: boolean; max?: number }): number => {
    const text = raw(name);
    const value = Number(text);
    if (text === undefined || !Number.isFinite(value) || value < check.min || (check.max !== undefined && value > check.max) || (check.integer !== false && !Number.isInteger(value))) {
      const range = check.max === undefined ? `at least ${check.min}` : `between ${check.min} and ${check.max}`;
      throw new ConfigError(`${describe(name)}=${String(text)} is invalid: use ${check.integer === false ? "a number" : "an integer"} ${range}`);
    }
    return value;
  };
  const optionalNumber = (name: OptionName, min: number): number | undefined => (raw(name) === undefined ? undefined : number(name, { min }));
  const address = (name: OptionName): string | undefined => {
    const text = raw(name);
    if (text === undefined) {
      return undefined;
    }
    if (!isAddress(text)) {
      throw new ConfigError(`${describe(name)}=${text} is not an address: use a 0x-prefixed 20-byte hex address`);
    }
    return getAddress(text);
  };

  const rpcUrl = raw("rpcUrl") ?? "";
  try {
    const url = new URL(rpcUrl);
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new Error("unsupported protocol");
    }
  } catch {
    throw new ConfigError(`${describe("rpcUrl")}=${rpcUrl} is not a URL: use an http:// or https:// URL, for example http://127.0.0.1:8545`);
  }

  let poolAddress = address("poolAddress");
  let registryAddress = address("registryAddress");
  const deploymentDir = raw("deploymentDir");
  if (deploymentDir !== undefined) {
    let deployment;
    try {
      deployment = readDeployment(path.resolve(cwd, deploymentDir));
    } catch (error) {
      throw new ConfigError(`${describe("deploymentDir")}=${deploymentDir}: ${error instanceof Error ? error.message : String(error)}`);
    }
    poolAddress ??= deployment.pool;
    registryAddress ??= deployment.registry;
  }
  if (poolAddress === undefined || registryAddress === undefined) {
    throw new ConfigError(`the contract addresses are missing: pass ${describe("deploymentDir")} or both ${describe("poolAddress")} and ${describe("registryAddress")}`);
  }

  const signer = readSigner(raw("keystore"), merged, cwd);
  const logLevel = raw("logLevel");
  if (!isLogLevel(logLevel)) {
    throw new ConfigError(`${describe("logLevel")}=${String(logLevel)} is invalid: use debug, info, warn or error`);
  }
  let clock: ClockDefinition;
  try {
    clock = clockFromEnv(merged);
  } catch (error) {
    throw new ConfigError(error instanceof Error ? error.message : String(error));
  }

  const maxBackfillAgeSimSeconds = number("maxBackfillAgeSimSeconds", { min: 1 });
  const attestationRetentionRealSeconds = number("attestationRetentionRealSeconds", { min: 60 });
  const scale = clock.scale;
  if (attestationRetentionRealSeconds * scale < maxBackfillAgeSimSeconds) {
    throw new ConfigError(
      `${describe("attestationRetentionRealSeconds")}=${attestationRetentionRealSeconds} keeps attestations for less than the maximum back-fill age (${maxBackfillAgeSimSeconds} simulated s): raise it`,
    );
  }

  return {
    rpcUrl,
    poolAddress,
    registryAddress,
    signer,
    host: raw("host") ?? "127.0.0.1",
    port: number("port", { min: 0, max: 65_535 }),
    dataDir: path.resolve(cwd, raw("dataDir") ?? ".data/oracle-node"),
    batchWindowRealMs: number("batchWindowRealMs", { min: 10 }),
    maxBatchEntries: number("maxBatchEntries", { min: 1 }),
    blockGasShare: number("blockGasShare", { min: 0.01, max: 1, integer: false }),
    confirmations: optionalNumber("confirmations", 0),
    maxBackfillAgeSimSeconds,
    futureSkewSimSeconds: number("futureSkewSimSeconds", { min: 0 }),
    corroborationK: number("corroborationK", { min: 1, max: 255 }),
    attestationRetentionRealSeconds,
    registryFromBlock: number("registryFromBlock", { min: 0 }),
    logRangeBlocks: number("logRangeBlocks", { min: 1 }),
    pollIntervalRealMs: number("pollIntervalRealMs", { min: 10 }),
    gasBumpAfterRealMs: number("gasBumpAfterRealMs", { min: 100 }),
    verifyWorkers: optionalNumber("verifyWorkers", 1) ?? Math.max(1, availableParallelism()),
    groupCommitRealMs: number("groupCommitRealMs", { min: 0 }),
    rateLimitPerSecond: number("rateLimitPerSecond", { min: 1 }),
    rateLimitBurst: number("rateLimitBurst", { min: 1 }),
    storeMaxBytes: optionalNumber("storeMaxBytes", 65_536),
    logLevel,
    clock,
  };
}

function readSigner(keystore: string | undefined, env: Record<string, string | undefined>, cwd: string): SignerSource {
  const privateKey = env[PRIVATE_KEY_ENV]?.trim();
  if (keystore !== undefined) {
    const password = env[KEYSTORE_PASSWORD_ENV];
    if (password === undefined) {
      throw new ConfigError(`--keystore needs its password in ${KEYSTORE_PASSWORD_ENV}`);
    }
    const file = path.resolve(cwd, keystore);
    if (!existsSync(file)) {
      throw new ConfigError(`--keystore ${file} does not exist: create it or pass the right path`);
    }
    return { kind: "keystore", path: file, password };
  }
  if (privateKey !== undefined && privateKey !== "") {
    const normalised = privateKey.startsWith("0x") ? privateKey : `0x${privateKey}`;
    if (!isHexString(normalised, 32)) {
      throw new ConfigError(`${PRIVATE_KEY_ENV} is not a 32-byte hex private key`);
    }
    return { kind: "privateKey", privateKey: normalised };
  }
  throw new ConfigError(`the committee key is missing: set ${PRIVATE_KEY_ENV} (local chains) or pass --keystore with ${KEYSTORE_PASSWORD_ENV}`);
}
