import { DEFAULT_SCHEDULE_TIME_ZONE, localToUnixSecond, parseSchedule, scheduleOutagesBetween } from "../../device-agent/sources/schedule.ts";
import { confirmOutages } from "../../device-agent/sources/debounce.ts";
import type { DevicePlan, ReplayGroup } from "./plan.ts";

/** One feeder of the built-in scenario: a load-shedding schedule in the schedule source's syntax. */
type ScenarioFeeder = { name: string; labelPrefix: string; schedule: string; devices: number };

/**
 * Load-shedding patterns of Indian distribution feeders on one Saturday, in Asia/Kolkata time.
 * A day-long maintenance cut on an urban feeder reaches the 100 rupees/hour tier. Rotational
 * shedding on a rural feeder (three hours off, three on) reaches the 50 rupees/hour tier.
 * A 40-minute cut stays inside the unpaid first hour. Two cuts 4 minutes apart count as one
 * outage, because the gap is under the pool's 300-second merge gap.
 */
const FEEDERS: readonly ScenarioFeeder[] = [
  { name: "Urban feeder, Saturday maintenance 09:00-17:00", labelPrefix: "urban", schedule: "Saturdays 09:00-17:00", devices: 2 },
  { name: "Rural feeder, 3 h off / 3 h on", labelPrefix: "rural", schedule: "3h off 3h on from 2025-01-04 09:00", devices: 2 },
  { name: "Market feeder, 40-minute cut", labelPrefix: "market", schedule: "Saturdays 10:00-10:40", devices: 1 },
  { name: "Colony feeder, two cuts 4 minutes apart", labelPrefix: "colony", schedule: "Saturdays 13:00-13:40; Saturdays 13:44-14:10", devices: 1 },
];

/** The Saturday replayed, and the local hours of it that contain every cut. */
const SCENARIO_DATE = { year: 2025, month: 1, day: 4 };
const WINDOW_START_MINUTE = 9 * 60;
const WINDOW_END_MINUTE = 18 * 60;

/**
 * Builds the built-in scenario: each feeder's schedule parsed by the schedule source and
 * expanded over the Saturday, each device replaying its feeder's cuts.
 */
export function builtInScenario(debounceSimSeconds: number): ReplayGroup {
  const timeZone = DEFAULT_SCHEDULE_TIME_ZONE;
  const fromSecond = localToUnixSecond(timeZone, SCENARIO_DATE.year, SCENARIO_DATE.month, SCENARIO_DATE.day, WINDOW_START_MINUTE);
  const toSecond = localToUnixSecond(timeZone, SCENARIO_DATE.year, SCENARIO_DATE.month, SCENARIO_DATE.day, WINDOW_END_MINUTE);
  const devices: DevicePlan[] = [];

  for (const feeder of FEEDERS) {
    const schedule = parseSchedule(feeder.schedule, { timeZone });
    const outages = confirmOutages(
      scheduleOutagesBetween(schedule, fromSecond, toSecond).filter((outage) => outage.startSecond >= fromSecond),
      debounceSimSeconds,
    );
    for (let index = 1; index <= feeder.devices; index++) {
      devices.push({ label: `${feeder.labelPrefix}-${index}`, feederName: feeder.name, outages, source: { kind: "outages" } });
    }
  }

  return {
    title: "built-in load-shedding scenario, Saturday 4 January 2025 (Asia/Kolkata)",
    timeZone,
    devices,
    notes: [
      "urban: 8 h cut, pays 0 for hour 1, 50/h for hours 2-3, 100/h after: 600 eINR",
      "rural: two 3 h cuts, each pays 0 for hour 1 and 50/h for hours 2-3: 200 eINR",
      "market: one 40-minute cut, inside the unpaid first hour: 0 eINR",
      "colony: 40 min + 26 min, 4 min apart, merged into one 66-minute outage: 5 eINR",
    ],
  };
}
