import type { OutageInterval } from "../../device-agent/sources/power-source.ts";
import { amountOwedForRuns, ratePerHourAt, type OffRun, type Schedule } from "../../protocol/compensation.ts";

/** A device's outages as of one simulated second, computed from its replayed outages and the schedule alone. */
export type OutageProgress = {
  /** True when the device is without power at the second. */
  off: boolean;
  /** Off-seconds of the current (or last) outage, merged as the pool merges runs. */
  offSecondsInOutage: number;
  /** Rate per hour of the tier the outage is in, in token base units. */
  ratePerHour: bigint;
  /** Off-seconds before the second, over all outages. */
  offSecondsTotal: number;
  /** Amount the pool owes for every off-second before the second. */
  owedWei: bigint;
};

/** Returns the runs of off-seconds (inclusive ends) that lie before `simSecond`. */
export function runsBefore(outages: readonly OutageInterval[], simSecond: number): OffRun[] {
  const runs: OffRun[] = [];
  for (const outage of outages) {
    const toSecond = Math.min(outage.endSecond, simSecond) - 1;
    if (outage.startSecond <= toSecond) {
      runs.push({ fromSecond: outage.startSecond, toSecond });
    }
  }
  return runs;
}

/** Computes where `outages` stand at `simSecond` under `schedule`. */
export function outageProgressAt(schedule: Schedule, outages: readonly OutageInterval[], simSecond: number): OutageProgress {
  const runs = runsBefore(outages, simSecond);
  const off = outages.some((outage) => outage.startSecond <= simSecond && (outage.open || simSecond < outage.endSecond));
  let offSecondsInOutage = 0;
  let offSecondsTotal = 0;
  let lastSecond: number | undefined;
  for (const run of runs) {
    const seconds = run.toSecond - run.fromSecond + 1;
    if (lastSecond === undefined || run.fromSecond - lastSecond - 1 >= schedule.mergeGapSeconds) {
      offSecondsInOutage = 0;
    }
    offSecondsInOutage += seconds;
    offSecondsTotal += seconds;
    lastSecond = run.toSecond;
  }
  return { off, offSecondsInOutage, ratePerHour: ratePerHourAt(schedule, offSecondsInOutage), offSecondsTotal, owedWei: amountOwedForRuns(schedule, runs).total };
}
