/** Log levels in increasing order of severity. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;

export type LogLevel = (typeof LOG_LEVELS)[number];

export type LogFields = Record<string, unknown>;

/** A structured logger: one JSON object per line with time, level, message and fields. */
export type Logger = {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** Returns a logger that adds `fields` to every line, such as the device id. */
  child(fields: LogFields): Logger;
};

/** Reports whether `value` names a log level. */
export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === "string" && (LOG_LEVELS as readonly string[]).includes(value);
}

function serialise(value: unknown): unknown {
  if (typeof value === "bigint") {
    return value.toString(10);
  }
  if (value instanceof Error) {
    const out: Record<string, unknown> = { name: value.name, message: value.message };
    if ("code" in value && value.code !== undefined) {
      out.code = value.code;
    }
    return out;
  }
  return value;
}

/**
 * Creates a logger that writes JSON lines through `write` (stdout by default), dropping
 * lines below `minLevel`. Errors are written as their name, code and message, without stack
 * or cause. Callers must not pass secrets as fields.
 */
export function createLogger(minLevel: LogLevel = "info", base: LogFields = {}, write: (line: string) => void = (line) => process.stdout.write(line)): Logger {
  const threshold = LOG_LEVELS.indexOf(minLevel);
  const emit = (level: LogLevel, message: string, fields: LogFields = {}): void => {
    if (LOG_LEVELS.indexOf(level) < threshold) {
      return;
    }
    const record = { time: new Date().toISOString(), level, message, ...base, ...fields };
    write(JSON.stringify(record, (_key, value: unknown) => serialise(value)) + "\n");
  };
  return {
    debug: (message, fields) => emit("debug", message, fields),
    info: (message, fields) => emit("info", message, fields),
    warn: (message, fields) => emit("warn", message, fields),
    error: (message, fields) => emit("error", message, fields),
    child: (fields) => createLogger(minLevel, { ...base, ...fields }, write),
  };
}
