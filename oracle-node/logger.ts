/** Severity of a log line; lines below the configured level are not written. */
export type LogLevel = "debug" | "info" | "warn" | "error";

export const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

/** Values attached to a log line, such as `device`, `batchSequence` or `txHash`. */
export type LogFields = Record<string, unknown>;

/** A structured logger that writes one JSON object per line. */
export type Logger = {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** Returns a logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
};

export type LoggerOptions = {
  level: LogLevel;
  /** Destination of the log lines, standard output by default. */
  write?: (line: string) => void;
  /** Fields on every line, such as the service name. */
  fields?: LogFields;
};

/** Reports whether `value` names a log level. */
export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === "string" && (LOG_LEVELS as readonly string[]).includes(value);
}

function serialiseValue(value: unknown): unknown {
  if (typeof value === "bigint") {
    return value.toString(10);
  }
  if (value instanceof Error) {
    const out: Record<string, unknown> = { name: value.name, message: value.message };
    if ("code" in value && value.code !== undefined) {
      out.code = value.code;
    }
    if (value.cause !== undefined) {
      out.cause = serialiseValue(value.cause);
    }
    return out;
  }
  return value;
}

/**
 * Creates a JSON-lines logger. Each line carries `time` (ISO 8601), `level`, `msg` and the
 * given fields; bigints are written as decimal strings and errors as name, message and cause.
 */
export function createLogger(options: LoggerOptions): Logger {
  const threshold = LOG_LEVELS.indexOf(options.level);
  const write = options.write ?? ((line: string) => process.stdout.write(line + "\n"));
  const base = options.fields ?? {};

  const emit = (level: LogLevel, message: string, fields: LogFields | undefined): void => {
    if (LOG_LEVELS.indexOf(level) < threshold) {
      return;
    }
    const record: Record<string, unknown> = { time: new Date().toISOString(), level, msg: message };
    for (const [key, value] of Object.entries(base)) {
      record[key] = serialiseValue(value);
    }
    for (const [key, value] of Object.entries(fields ?? {})) {
      record[key] = serialiseValue(value);
    }
    write(JSON.stringify(record));
  };

  return {
    debug: (message, fields) => emit("debug", message, fields),
    info: (message, fields) => emit("info", message, fields),
    warn: (message, fields) => emit("warn", message, fields),
    error: (message, fields) => emit("error", message, fields),
    child: (fields) => createLogger({ level: options.level, write, fields: { ...base, ...fields } }),
  };
}
