import { PowerSourceError, checkClock, nowSecond } from "./power-source.ts";
import type { OutageInterval, PowerChange, PowerSource, PowerState, SourceClock } from "./power-source.ts";

/** The largest delay setTimeout accepts. A longer wait re-arms the timer when it fires. */
const MAX_TIMER_DELAY_MS = 2_147_483_647;

/** Default gap, in simulated seconds, between the start of a run and its first replayed outage. */
export const DEFAULT_START_OFFSET_SIM_SECONDS = 60;

export type IntervalSourceOptions = SourceClock & {
  name: string;
  /**
   * Returns the outages from `runStartSecond` on, in simulated unix seconds, sorted by start.
   * The iterable may be endless (a recurring schedule), because it is read one outage ahead.
   */
  outagesFrom: (runStartSecond: number) => Iterable<OutageInterval>;
  /** The run start in simulated unix seconds. By default the clock's second at `start()`. */
  runStartSecond?: number;
};

export type ReplayOptions = SourceClock & {
  name: string;
  /** Outages in the data's own unix seconds, for example from a parsed log. */
  outages: readonly OutageInterval[];
  /** Simulated seconds between the run start and the first replayed outage. Default 60. */
  startOffsetSimSeconds?: number;
  /** The run start in simulated unix seconds. By default the clock's second at `start()`. */
  runStartSecond?: number;
};

/**
 * Sorts outages by start and merges those that overlap or touch, so that power never comes
 * back and goes off in the same second. A merged outage is open if the part that ends last
 * is open (a known restoration beats an unknown one), and planned only if every part is.
 */
export function mergeOutages(outages: readonly OutageInterval[]): OutageInterval[] {
  const sorted = [...outages].sort((a, b) => a.startSecond - b.startSecond);
  const merged: OutageInterval[] = [];

  for (const outage of sorted) {
    const previous = merged.at(-1);
    if (previous !== undefined && outage.startSecond <= previous.endSecond) {
      let open = previous.open;
      if (outage.endSecond > previous.endSecond) {
        open = outage.open;
      } else if (outage.endSecond === previous.endSecond) {
        open = previous.open && outage.open;
      }
      merged[merged.length - 1] = {
        startSecond: previous.startSecond,
        endSecond: Math.max(previous.endSecond, outage.endSecond),
        open,
        planned: previous.planned && outage.planned,
      };
    } else {
      merged.push({ ...outage });
    }
  }

  return merged;
}

/**
 * Moves every outage by the same number of seconds so that the first one starts at
 * `firstStartSecond`. Durations and the gaps between outages stay as they were.
 */
export function shiftOutages(outages: readonly OutageInterval[], firstStartSecond: number): OutageInterval[] {
  const merged = mergeOutages(outages);
  const first = merged[0];
  if (first === undefined) {
    return [];
  }
  const shiftSeconds = firstStartSecond - first.startSecond;
  return merged.map((outage) => ({
    ...outage,
    startSecond: outage.startSecond + shiftSeconds,
    endSecond: outage.endSecond + shiftSeconds,
  }));
}

function checkOutage(outage: OutageInterval, sourceName: string): void {
  const valid =
    Number.isSafeInteger(outage.startSecond) &&
    Number.isSafeInteger(outage.endSecond) &&
    (outage.open ? outage.endSecond >= outage.startSecond : outage.endSecond > outage.startSecond);
  if (!valid) {
    throw new PowerSourceError("INVALID_CONFIG", `${sourceName}: outage [${outage.startSecond}, ${outage.endSecond}) is not a non-empty range of whole unix seconds`, {
      source: sourceName,
      startSecond: outage.startSecond,
      endSecond: outage.endSecond,
    });
  }
}

/**
 * Drives a power state from a list of outages on the simulated clock: it reports "off" at
 * each outage start and "on" at each end, when the clock passes them. Each boundary is
 * reported with its exact second even when the timer fires late, and every boundary that is
 * due is reported in one pass, in order. An open outage keeps power off until `stop()`.
 *
 * At `start()` the current state is reported at the run start second. An outage that began
 * before the run start is reported from the run start, because a device cannot speak for
 * seconds before it ran.
 */
export class IntervalSource implements PowerSource {
  readonly name: string;
  readonly #clock: SourceClock;
  readonly #outagesFrom: (runStartSecond: number) => Iterable<OutageInterval>;
  readonly #runStartSecond: number | undefined;
  #iterator: Iterator<OutageInterval> | null = null;
  #next: OutageInterval | null = null;
  #state: PowerState | "unknown" = "unknown";
  #timer: NodeJS.Timeout | null = null;
  #onChange: (change: PowerChange) => void = () => {};
  #onError: (error: Error) => void = () => {};

  constructor(options: IntervalSourceOptions) {
    checkClock(options, options.name);
    this.name = options.name;
    this.#clock = { now: options.now, scale: options.scale };
    this.#outagesFrom = options.outagesFrom;
    this.#runStartSecond = options.runStartSecond;
  }

  currentState(): PowerState | "unknown" {
    return this.#state;
  }

  async start(onChange: (change: PowerChange) => void, onError: (error: Error) => void): Promise<void> {
    this.#onChange = onChange;
    this.#onError = onError;
    const runStartSecond = this.#runStartSecond ?? nowSecond(this.#clock);
    this.#iterator = this.#outagesFrom(runStartSecond)[Symbol.iterator]();
    this.#next = this.#pull(runStartSecond);

    const current = this.#next;
    if (current !== null && current.startSecond <= runStartSecond) {
      this.#report("off", runStartSecond, current.planned);
    } else {
      this.#report("on", runStartSecond, false);
    }
    this.#arm();
  }

  async stop(): Promise<void> {
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    this.#iterator = null;
  }

  /** Reads the next outage that still ends after `afterSecond`, or null when there is none. */
  #pull(afterSecond: number): OutageInterval | null {
    const iterator = this.#iterator;
    if (iterator === null) {
      return null;
    }
    for (;;) {
      const result = iterator.next();
      if (result.done === true) {
        return null;
      }
      checkOutage(result.value, this.name);
      if (result.value.open || result.value.endSecond > afterSecond) {
        return result.value;
      }
    }
  }

  /** Returns the second of the next boundary, or null when the state never changes again. */
  #nextBoundarySecond(): number | null {
    const outage = this.#next;
    if (outage === null) {
      return null;
    }
    if (this.#state === "on") {
      return outage.startSecond;
    }
    return outage.open ? null : outage.endSecond;
  }

  #arm(): void {
    const boundarySecond = this.#nextBoundarySecond();
    if (boundarySecond === null || this.#iterator === null) {
      return;
    }
    const delayMs = (boundarySecond * 1000 - this.#clock.now()) / this.#clock.scale;
    this.#timer = setTimeout(() => this.#fire(), Math.min(MAX_TIMER_DELAY_MS, Math.max(0, delayMs)));
  }

  #fire(): void {
    this.#timer = null;
    try {
      this.#reportDueBoundaries();
    } catch (error) {
      this.#onError(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    this.#arm();
  }

  #reportDueBoundaries(): void {
    for (;;) {
      const boundarySecond = this.#nextBoundarySecond();
      const outage = this.#next;
      if (boundarySecond === null || outage === null || boundarySecond * 1000 > this.#clock.now()) {
        return;
      }
      if (this.#state === "on") {
        this.#report("off", boundarySecond, outage.planned);
      } else {
        const following = this.#pull(boundarySecond);
        if (following !== null && following.startSecond <= boundarySecond) {
          // The next outage starts in the second power would come back, so the outage goes on.
          this.#next = { ...following, startSecond: outage.startSecond };
          continue;
        }
        this.#report("on", boundarySecond, outage.planned);
        this.#next = following;
      }
    }
  }

  #report(state: PowerState, atSecond: number, planned: boolean): void {
    this.#state = state;
    const change: PowerChange = planned ? { state, atSecond, source: this.name, detail: { planned } } : { state, atSecond, source: this.name };
    this.#onChange(change);
  }
}

/**
 * Replays recorded outages on the simulated clock, shifted so that the first one starts
 * `startOffsetSimSeconds` after the run start. `shiftedOutages` returns the outages as they
 * are replayed, once the source has started, so callers can compute what a run must pay.
 */
export class ReplaySource implements PowerSource {
  readonly name: string;
  readonly #source: IntervalSource;
  readonly #outages: readonly OutageInterval[];
  readonly #startOffsetSimSeconds: number;
  #shifted: OutageInterval[] | null = null;

  constructor(options: ReplayOptions) {
    const startOffsetSimSeconds = options.startOffsetSimSeconds ?? DEFAULT_START_OFFSET_SIM_SECONDS;
    if (!(Number.isSafeInteger(startOffsetSimSeconds) && startOffsetSimSeconds >= 0)) {
      throw new PowerSourceError("INVALID_CONFIG", `${options.name}: startOffsetSimSeconds ${startOffsetSimSeconds} must be a whole number of seconds, 0 or more`, {
        source: options.name,
        startOffsetSimSeconds,
      });
    }
    for (const outage of options.outages) {
      checkOutage(outage, options.name);
    }

    this.name = options.name;
    this.#outages = options.outages;
    this.#startOffsetSimSeconds = startOffsetSimSeconds;
    this.#source = new IntervalSource({
      name: options.name,
      now: options.now,
      scale: options.scale,
      outagesFrom: (runStartSecond) => this.#shift(runStartSecond),
      runStartSecond: options.runStartSecond,
    });
  }

  /** The replayed outages in simulated seconds, or null before `start()`. */
  shiftedOutages(): readonly OutageInterval[] | null {
    return this.#shifted;
  }

  currentState(): PowerState | "unknown" {
    return this.#source.currentState();
  }

  start(onChange: (change: PowerChange) => void, onError: (error: Error) => void): Promise<void> {
    return this.#source.start(onChange, onError);
  }

  stop(): Promise<void> {
    return this.#source.stop();
  }

  #shift(runStartSecond: number): OutageInterval[] {
    this.#shifted = shiftOutages(this.#outages, runStartSecond + this.#startOffsetSimSeconds);
    return this.#shifted;
  }
}
