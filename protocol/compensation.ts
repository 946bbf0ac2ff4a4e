/**
 * The compensation schedule as the pool applies it, mirrored off chain so the demo, the
 * wallet view and tests can compute amounts independently of the contract.
 */
export type Tier = {
  /** First off-second of the outage (counted from 0) that this tier pays for. */
  startOffsetSeconds: number;
  /** Amount per hour of off-seconds, in token base units. */
  ratePerHour: bigint;
};

export type Schedule = {
  /** Tiers ordered by start offset; the first starts at 0. */
  tiers: Tier[];
  /** A gap of this many seconds or more between two runs starts a new outage. */
  mergeGapSeconds: number;
};

const RUPEE = 10n ** 18n;

/** Delhi's automatic compensation rule: the first hour unpaid, 50 rupees/hour up to 3 hours, then 100 rupees/hour. */
export const DEFAULT_SCHEDULE: Schedule = {
  tiers: [
    { startOffsetSeconds: 0, ratePerHour: 0n },
    { startOffsetSeconds: 3_600, ratePerHour: 50n * RUPEE },
    { startOffsetSeconds: 10_800, ratePerHour: 100n * RUPEE },
  ],
  mergeGapSeconds: 300,
};

/**
 * Computes C(d): the amount owed for the first `offSeconds` off-seconds of an outage,
 * floor(sum over tiers of ratePerHour × (off-seconds of [0, d) inside the tier) / 3600).
 */
export function amountForOffSeconds(schedule: Schedule, offSeconds: number): bigint {
  let weighted = 0n;
  schedule.tiers.forEach((tier, index) => {
    const next = schedule.tiers[index + 1];
    const end = Math.min(offSeconds, next === undefined ? Number.POSITIVE_INFINITY : next.startOffsetSeconds);
    if (end > tier.startOffsetSeconds) {
      weighted += tier.ratePerHour * BigInt(end - tier.startOffsetSeconds);
    }
  });
  return weighted / 3600n;
}

/** Returns the rate per hour of the tier that pays off-second `offSeconds` of an outage. */
export function ratePerHourAt(schedule: Schedule, offSeconds: number): bigint {
  let rate = 0n;
  for (const tier of schedule.tiers) {
    if (offSeconds >= tier.startOffsetSeconds) {
      rate = tier.ratePerHour;
    }
  }
  return rate;
}

/** A run of contiguous off-seconds, both ends inclusive, in unix seconds. */
export type OffRun = { fromSecond: number; toSecond: number };

/**
 * Computes what a device is owed for its runs of off-seconds, in order: runs closer than the
 * merge gap continue one outage, as the pool merges them. Returns the total and the total
 * per outage.
 */
export function amountOwedForRuns(schedule: Schedule, runs: readonly OffRun[]): { total: bigint; perOutage: bigint[] } {
  const perOutage: bigint[] = [];
  let offSeconds = 0;
  let lastSecond: number | undefined;
  for (const run of runs) {
    if (run.toSecond < run.fromSecond) {
      throw new RangeError(`run [${run.fromSecond}, ${run.toSecond}] ends before it starts`);
    }
    if (lastSecond !== undefined && run.fromSecond <= lastSecond) {
      throw new RangeError(`run starting at ${run.fromSecond} overlaps the previous run ending at ${lastSecond}`);
    }
    const startsOutage = lastSecond === undefined || run.fromSecond - lastSecond - 1 >= schedule.mergeGapSeconds;
    if (startsOutage) {
      perOutage.push(0n);
      offSeconds = 0;
    }
    const before = amountForOffSeconds(schedule, offSeconds);
    offSeconds += run.toSecond - run.fromSecond + 1;
    const index = perOutage.length - 1;
    perOutage[index] = (perOutage[index] ?? 0n) + amountForOffSeconds(schedule, offSeconds) - before;
    lastSecond = run.toSecond;
  }
  return { total: perOutage.reduce((sum, amount) => sum + amount, 0n), perOutage };
}
