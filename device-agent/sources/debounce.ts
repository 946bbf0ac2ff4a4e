import { PowerSourceError, checkClock, nowSecond } from "./power-source.ts";
import type { OutageInterval, PowerChange, PowerSource, PowerState, SourceClock } from "./power-source.ts";

/**
 * Default minimum off time, in simulated seconds, before an outage is confirmed. A UPS
 * switching to battery for a moment (a brown-out or a relay flap) stays below it.
 */
export const DEFAULT_MIN_OFF_SIM_SECONDS = 5;

/** The largest delay setTimeout accepts. */
const MAX_TIMER_DELAY_MS = 2_147_483_647;

/** Real milliseconds between checks while a pending outage waits for its source to recover. */
const UNKNOWN_RECHECK_REAL_MS = 1_000;

export type DebounceOptions = SourceClock & {
  /** Minimum off time in simulated seconds before an outage counts. Default 5. */
  minOffSimSeconds?: number;
};

function checkMinOff(minOffSimSeconds: number): void {
  if (!(Number.isSafeInteger(minOffSimSeconds) && minOffSimSeconds >= 0)) {
    throw new PowerSourceError("INVALID_CONFIG", `minOffSimSeconds ${minOffSimSeconds} must be a whole number of seconds, 0 or more`, { minOffSimSeconds });
  }
}

/**
 * Keeps the outages that last at least `minOffSimSeconds`, with their original start and
 * end. Open outages are kept whatever their length, because power was still off when the
 * data ended. This is the pure counterpart of `DebouncedSource`.
 */
export function confirmOutages(outages: readonly OutageInterval[], minOffSimSeconds: number = DEFAULT_MIN_OFF_SIM_SECONDS): OutageInterval[] {
  checkMinOff(minOffSimSeconds);
  return outages.filter((outage) => outage.open || outage.endSecond - outage.startSecond >= minOffSimSeconds);
}

/**
 * Wraps a power source so that an outage is reported only once power has been off for
 * `minOffSimSeconds`. The confirmed "off" carries the second power actually went off, so a
 * 3,601-second outage still yields 3,601 off-seconds. An outage whose restoration arrives
 * with a second less than `minOffSimSeconds` after its start is dropped without a report.
 *
 * The decision depends only on the reported seconds when the restoration arrives before
 * the confirmation timer. NOTE: a source that reports restorations more than
 * `minOffSimSeconds` late (timer lag at a very high clock scale) can have a flap confirmed,
 * so replays of recorded data should filter with `confirmOutages` instead.
 */
export class DebouncedSource implements PowerSource {
  readonly name: string;
  readonly #inner: PowerSource;
  readonly #clock: SourceClock;
  readonly #minOffSimSeconds: number;
  #reported: PowerState | null = null;
  #pendingOff: PowerChange | null = null;
  #timer: NodeJS.Timeout | null = null;
  #onChange: (change: PowerChange) => void = () => {};

  constructor(inner: PowerSource, options: DebounceOptions) {
    const minOffSimSeconds = options.minOffSimSeconds ?? DEFAULT_MIN_OFF_SIM_SECONDS;
    checkMinOff(minOffSimSeconds);
    checkClock(options, inner.name);

    this.name = inner.name;
    this.#inner = inner;
    this.#clock = { now: options.now, scale: options.scale };
    this.#minOffSimSeconds = minOffSimSeconds;
  }

  /** "unknown" while the wrapped source cannot tell or before the first report. */
  currentState(): PowerState | "unknown" {
    if (this.#inner.currentState() === "unknown") {
      return "unknown";
    }
    return this.#reported ?? "unknown";
  }

  start(onChange: (change: PowerChange) => void, onError: (error: Error) => void): Promise<void> {
    this.#onChange = onChange;
    return this.#inner.start((change) => this.#receive(change), onError);
  }

  async stop(): Promise<void> {
    this.#clearTimer();
    this.#pendingOff = null;
    await this.#inner.stop();
  }

  #receive(change: PowerChange): void {
    if (change.state === "off") {
      if (this.#reported === "off" || this.#pendingOff !== null) {
        return;
      }
      this.#pendingOff = change;
      this.#armConfirmation();
      return;
    }

    const pending = this.#pendingOff;
    if (pending !== null) {
      this.#pendingOff = null;
      this.#clearTimer();
      if (change.atSecond - pending.atSecond >= this.#minOffSimSeconds) {
        this.#report(pending);
      }
    }
    if (this.#reported !== "on") {
      this.#report(change);
    }
  }

  #armConfirmation(): void {
    const pending = this.#pendingOff;
    if (pending === null) {
      return;
    }
    const confirmSecond = pending.atSecond + this.#minOffSimSeconds;
    const delayMs = (confirmSecond * 1000 - this.#clock.now()) / this.#clock.scale;
    this.#timer = setTimeout(() => this.#confirm(), Math.min(MAX_TIMER_DELAY_MS, Math.max(0, delayMs)));
  }

  #confirm(): void {
    this.#timer = null;
    const pending = this.#pendingOff;
    if (pending === null) {
      return;
    }
    if (nowSecond(this.#clock) < pending.atSecond + this.#minOffSimSeconds) {
      this.#armConfirmation();
      return;
    }
    const innerState = this.#inner.currentState();
    if (innerState === "unknown") {
      // The source lost sight of the mains, so check again later rather than confirm an
      // outage the source did not observe.
      this.#timer = setTimeout(() => this.#confirm(), UNKNOWN_RECHECK_REAL_MS);
      return;
    }

    this.#pendingOff = null;
    if (innerState === "off") {
      this.#report(pending);
    }
  }

  #report(change: PowerChange): void {
    this.#reported = change.state;
    this.#onChange({ ...change, source: this.name });
  }

  #clearTimer(): void {
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
  }
}
