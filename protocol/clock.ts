/**
 * The simulated clock shared by every process of a run: `scale` simulated seconds pass per
 * real second, starting from `simAnchorSeconds` at the real instant `realAnchorMs`.
 * Scale 1 with no anchors is the wall clock, as in production.
 */
export type ClockDefinition = {
  realAnchorMs: number;
  simAnchorSeconds: number;
  scale: number;
};

/** Environment variables that carry the clock to child processes. */
export const CLOCK_ENV = {
  scale: "CLOCK_SCALE",
  realAnchorMs: "CLOCK_REAL_ANCHOR_MS",
  simAnchorSeconds: "CLOCK_SIM_ANCHOR_S",
} as const;

export const WALL_CLOCK: ClockDefinition = { realAnchorMs: 0, simAnchorSeconds: 0, scale: 1 };

/** A clock configuration value that could not be used; the message names the variable and the fix. */
export class ClockConfigError extends Error {
  override readonly name = "ClockConfigError";
}

function readNumber(env: Record<string, string | undefined>, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") {
    return undefined;
  }
  const value = Number(raw);
  if (!Number.isFinite(value)) {
    throw new ClockConfigError(`${name}=${raw} is not a number; unset it for the wall clock`);
  }
  return value;
}

/**
 * Reads the clock from the environment. With no variables set it returns the wall clock.
 * Anchors come as a pair: setting only one of them is an error, as is a scale that is not
 * a positive number.
 */
export function clockFromEnv(env: Record<string, string | undefined> = process.env): ClockDefinition {
  const scale = readNumber(env, CLOCK_ENV.scale) ?? 1;
  const realAnchorMs = readNumber(env, CLOCK_ENV.realAnchorMs);
  const simAnchorSeconds = readNumber(env, CLOCK_ENV.simAnchorSeconds);
  if (!(scale > 0)) {
    throw new ClockConfigError(`${CLOCK_ENV.scale}=${String(env[CLOCK_ENV.scale])} must be a positive number of simulated seconds per real second`);
  }
  if ((realAnchorMs === undefined) !== (simAnchorSeconds === undefined)) {
    throw new ClockConfigError(`set both ${CLOCK_ENV.realAnchorMs} and ${CLOCK_ENV.simAnchorSeconds}, or neither`);
  }
  if (realAnchorMs === undefined || simAnchorSeconds === undefined) {
    if (scale !== 1) {
      throw new ClockConfigError(`${CLOCK_ENV.scale}=${scale} needs ${CLOCK_ENV.realAnchorMs} and ${CLOCK_ENV.simAnchorSeconds} so every process shares one timeline`);
    }
    return WALL_CLOCK;
  }
  return { realAnchorMs, simAnchorSeconds, scale };
}

/** Returns the variables that hand `clock` to a child process. */
export function clockToEnv(clock: ClockDefinition): Record<string, string> {
  return {
    [CLOCK_ENV.scale]: String(clock.scale),
    [CLOCK_ENV.realAnchorMs]: String(clock.realAnchorMs),
    [CLOCK_ENV.simAnchorSeconds]: String(clock.simAnchorSeconds),
  };
}

/** Reads a clock definition; `realNowMs` is injectable for tests. */
export class SimClock {
  readonly definition: ClockDefinition;
  readonly #realNowMs: () => number;

  constructor(definition: ClockDefinition = WALL_CLOCK, realNowMs: () => number = Date.now) {
    this.definition = definition;
    this.#realNowMs = realNowMs;
  }

  /** Current simulated time in milliseconds since the unix epoch. */
  nowMs(): number {
    const { realAnchorMs, simAnchorSeconds, scale } = this.definition;
    return simAnchorSeconds * 1000 + (this.#realNowMs() - realAnchorMs) * scale;
  }

  /** Current simulated unix second (floor). */
  nowSeconds(): number {
    return Math.floor(this.nowMs() / 1000);
  }

  /** Real milliseconds until the simulated clock reaches `simSecond`; 0 if it already has. */
  realMsUntil(simSecond: number): number {
    return Math.max(0, (simSecond * 1000 - this.nowMs()) / this.definition.scale);
  }

  /** Converts a duration in simulated seconds to real milliseconds. */
  simSecondsToRealMs(simSeconds: number): number {
    return (simSeconds * 1000) / this.definition.scale;
  }
}
