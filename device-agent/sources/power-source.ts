/** Whether mains power is present at the device. */
export type PowerState = "on" | "off";

/**
 * A change of the mains state, at a unix second of the simulated clock.
 * `atSecond` is the first second in the new state: for "off" the first second without
 * power, for "on" the first second with power back.
 */
export type PowerChange = {
  state: PowerState;
  atSecond: number;
  source: string;
  detail?: { planned?: boolean };
};

/**
 * An outage as a half-open interval [startSecond, endSecond) of unix seconds, so it lasts
 * endSecond - startSecond off-seconds.
 * `open` marks an outage still running when the data ends: power stayed off at least until
 * endSecond, the last second the data speaks of, and no restoration is known.
 * `planned` marks announced work or scheduled load shedding.
 */
export type OutageInterval = {
  startSecond: number;
  endSecond: number;
  open: boolean;
  planned: boolean;
};

/**
 * The simulated clock as sources see it: `now` returns simulated unix milliseconds and
 * `scale` is the number of simulated seconds per real second, used to size real timers.
 */
export type SourceClock = {
  now: () => number;
  scale: number;
};

/**
 * A detector of mains power.
 *
 * `start` calls `onChange` whenever the known state differs from the last reported one,
 * including the first known state. While the source cannot tell (a lost connection, an
 * unreadable file), `currentState` returns "unknown" and no change is reported, so a
 * monitoring failure never looks like an outage. Failures are passed to `onError` with a
 * `PowerSourceError`, and a source that can recover keeps running.
 */
export interface PowerSource {
  readonly name: string;
  start(onChange: (change: PowerChange) => void, onError: (error: Error) => void): Promise<void>;
  stop(): Promise<void>;
  currentState(): PowerState | "unknown";
}

/** Stable codes of `PowerSourceError`. Callers compare the code, never the message. */
export const POWER_SOURCE_ERROR_CODES = [
  "INVALID_CONFIG",
  "INVALID_LOG_LINE",
  "INVALID_CSV",
  "EVENT_NOT_FOUND",
  "INVALID_SCHEDULE",
  "SOURCE_UNAVAILABLE",
  "UNEXPECTED_REPLY",
] as const;

export type PowerSourceErrorCode = (typeof POWER_SOURCE_ERROR_CODES)[number];

export type PowerSourceErrorDetails = Record<string, string | number | boolean | null>;

/** The one error type of the power sources: a stable code and the values that explain it. */
export class PowerSourceError extends Error {
  override readonly name = "PowerSourceError";
  readonly code: PowerSourceErrorCode;
  readonly details: PowerSourceErrorDetails;

  constructor(code: PowerSourceErrorCode, message: string, details: PowerSourceErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.details = details;
  }
}

/** Returns the current unix second of `clock`, rounded down. */
export function nowSecond(clock: SourceClock): number {
  return Math.floor(clock.now() / 1000);
}

/** Throws INVALID_CONFIG unless `clock.scale` is a positive finite number. */
export function checkClock(clock: SourceClock, sourceName: string): void {
  if (!(Number.isFinite(clock.scale) && clock.scale > 0)) {
    throw new PowerSourceError("INVALID_CONFIG", `${sourceName}: clock scale ${clock.scale} must be a positive number of simulated seconds per real second`, {
      source: sourceName,
      scale: clock.scale,
    });
  }
}
