import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { parse as parseDotenv } from "dotenv";
import { getAddress, isAddress } from "ethers";
import { AgentError } from "./agent-error.ts";

/** One command-line option: its flag, environment variable, default and help text (with unit). */
export type OptionSpec = {
  name: string;
  env?: string;
  boolean?: boolean;
  defaultValue?: string;
  help: string;
};

/** Options and environment every command reads. */
export const COMMON_OPTIONS: readonly OptionSpec[] = [
  { name: "data-dir", env: "DEVICE_AGENT_DATA_DIR", defaultValue: ".data/device-agent", help: "folder of the agent's state database (agent.db) and, by default, its keystore" },
  { name: "keystore", env: "DEVICE_AGENT_KEYSTORE", help: "path of the key file; default <data-dir>/keystore.json" },
  {
    name: "password-env",
    env: "DEVICE_AGENT_PASSWORD_ENV",
    defaultValue: "DEVICE_AGENT_KEYSTORE_PASSWORD",
    help: "name of the environment variable (or .env entry) that contains the keystore password",
  },
  { name: "env-file", defaultValue: ".env", help: "dotenv file read for variables not set in the environment; a missing file is ignored" },
  { name: "help", boolean: true, help: "print this help" },
];

/** Resolved option values: flag first, then the environment, then the .env file, then the default. */
export type OptionValues = {
  /** Returns the value of `name`, or undefined when it is unset and has no default. */
  get(name: string): string | undefined;
  /** Returns true when a boolean flag was given. */
  flag(name: string): boolean;
  /** Returns the environment merged with the .env file, for variables read by name (password, clock). */
  env: Record<string, string | undefined>;
  /** Returns where a value came from, for error messages: "--flag" or "ENV_NAME". */
  origin(name: string): string;
};

/** Parses `argv` against `specs` and merges the environment and the .env file. */
export function resolveOptions(command: string, specs: readonly OptionSpec[], argv: readonly string[], processEnv: Record<string, string | undefined>): OptionValues {
  const parseOptions: Record<string, { type: "string" | "boolean" }> = {};
  for (const spec of specs) {
    parseOptions[spec.name] = { type: spec.boolean === true ? "boolean" : "string" };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: parseOptions, strict: true, allowPositionals: false });
  } catch (error) {
    throw new AgentError("INVALID_CONFIG", `${error instanceof Error ? error.message : String(error)}; run \`device-agent ${command} --help\` for the options`, { command });
  }
  const flags: Record<string, unknown> = parsed.values;
  const envFileFlag = flags["env-file"];
  const envFile = typeof envFileFlag === "string" ? envFileFlag : ".env";
  let fileEnv: Record<string, string> = {};
  try {
    fileEnv = parseDotenv(readFileSync(envFile));
  } catch (error) {
    if (!(error instanceof Error && "code" in error && error.code === "ENOENT")) {
      throw new AgentError("INVALID_CONFIG", `cannot read --env-file ${envFile}: ${error instanceof Error ? error.message : String(error)}`, { envFile });
    }
    if (typeof envFileFlag === "string") {
      throw new AgentError("INVALID_CONFIG", `--env-file ${envFile} not found; pass an existing dotenv file or leave the flag out`, { envFile });
    }
  }
  const env: Record<string, string | undefined> = { ...fileEnv, ...processEnv };
  const byName = new Map(specs.map((spec) => [spec.name, spec]));
  const origins = new Map<string, string>();

  const get = (name: string): string | undefined => {
    const spec = byName.get(name);
    if (spec === undefined) {
      throw new Error(`option ${name} is not defined for ${command}`);
    }
    const fromFlag = flags[name];
    if (typeof fromFlag === "string") {
      origins.set(name, `--${name}`);
      return fromFlag;
    }
    if (spec.env !== undefined) {
      const fromEnv = env[spec.env];
      if (fromEnv !== undefined && fromEnv !== "") {
        origins.set(name, spec.env);
        return fromEnv;
      }
    }
    origins.set(name, `--${name}`);
    return spec.defaultValue;
  };
  return {
    get,
    flag: (name) => flags[name] === true,
    env,
    origin: (name) => {
      get(name);
      return origins.get(name) ?? `--${name}`;
    },
  };
}

/** Formats the help text of a command from its option specs. */
export function formatHelp(usage: string, summary: string, specs: readonly OptionSpec[]): string {
  const lines = [`Usage: ${usage}`, "", summary, "", "Options:"];
  for (const spec of specs) {
    const flag = spec.boolean === true ? `--${spec.name}` : `--${spec.name} <value>`;
    const extras: string[] = [];
    if (spec.env !== undefined) {
      extras.push(`env ${spec.env}`);
    }
    if (spec.defaultValue !== undefined) {
      extras.push(`default ${spec.defaultValue}`);
    }
    lines.push(`  ${flag}`);
    lines.push(`      ${spec.help}${extras.length > 0 ? ` (${extras.join(", ")})` : ""}`);
  }
  return lines.join("\n") + "\n";
}

function invalid(values: OptionValues, name: string, raw: string, expected: string): AgentError {
  return new AgentError("INVALID_CONFIG", `${values.origin(name)}=${raw} is invalid: ${expected}`, { option: name, value: raw });
}

/** Reads an integer option within [min, max]; undefined when unset. */
export function readInteger(values: OptionValues, name: string, min: number, max: number = Number.MAX_SAFE_INTEGER): number | undefined {
  const raw = values.get(name);
  if (raw === undefined) {
    return undefined;
  }
  const value = /^-?[0-9]+$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw invalid(values, name, raw, `expected a whole number from ${min} to ${max}`);
  }
  return value;
}

/** Reads an integer option that must be set. */
export function requireInteger(values: OptionValues, name: string, min: number, max?: number): number {
  const value = readInteger(values, name, min, max);
  if (value === undefined) {
    throw new AgentError("INVALID_CONFIG", `${values.origin(name)} is missing: set it with --${name}`, { option: name });
  }
  return value;
}

/** Reads a string option that must be set. */
export function requireString(values: OptionValues, name: string): string {
  const raw = values.get(name);
  if (raw === undefined || raw === "") {
    throw new AgentError("INVALID_CONFIG", `${values.origin(name)} is missing: set it with --${name}`, { option: name });
  }
  return raw;
}

/** Reads an address option that must be set, returned checksummed. */
export function requireAddress(values: OptionValues, name: string): string {
  const raw = requireString(values, name);
  if (!isAddress(raw) || !raw.startsWith("0x")) {
    throw invalid(values, name, raw, "expected a 0x-prefixed 20-byte address, such as the PayoutPool address from the deployment");
  }
  return getAddress(raw);
}

/** Reads a positive finite number option; undefined when unset. */
export function readPositiveNumber(values: OptionValues, name: string): number | undefined {
  const raw = values.get(name);
  if (raw === undefined) {
    return undefined;
  }
  const value = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(value) || value <= 0) {
    throw invalid(values, name, raw, "expected a positive number");
  }
  return value;
}

/** Reads an option limited to `choices`. */
export function readChoice<T extends string>(values: OptionValues, name: string, choices: readonly T[]): T | undefined {
  const raw = values.get(name);
  if (raw === undefined) {
    return undefined;
  }
  const match = choices.find((choice) => choice === raw);
  if (match === undefined) {
    throw invalid(values, name, raw, `expected one of ${choices.join(", ")}`);
  }
  return match;
}

/** Reads the keystore password from the variable named by --password-env. */
export function readPassword(values: OptionValues): string {
  const variable = values.get("password-env") ?? "DEVICE_AGENT_KEYSTORE_PASSWORD";
  const password = values.env[variable];
  if (password === undefined || password === "") {
    throw new AgentError("PASSWORD_MISSING", `the keystore password is missing: set ${variable} in the environment or the .env file`, { variable });
  }
  return password;
}
