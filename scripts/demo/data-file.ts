import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseApcupsdLog } from "../../device-agent/sources/apcupsd-log.ts";
import { confirmOutages } from "../../device-agent/sources/debounce.ts";
import { outageIntervalOf, parseOutageEvents, type OutageEvent } from "../../device-agent/sources/outage-csv.ts";
import { formatCount } from "./format.ts";
import type { DevicePlan, ReplayGroup } from "./plan.ts";

/** Seconds of the unpaid first hour of the default schedule. */
const UNPAID_FIRST_SECONDS = 3_600;

/** Events the demo picks from a CSV when `--events` is not given, and the durations it accepts. */
export const DEFAULT_EVENT_COUNT = 3;
const DEFAULT_EVENT_MIN_SECONDS = 3_600;
const DEFAULT_EVENT_MAX_SECONDS = 6 * 3_600;

/** A data file or event choice the demo cannot replay; the message names the value and the fix. */
export class DataFileError extends Error {
  override readonly name = "DataFileError";
}

export type DataFileOptions = {
  file: string;
  /** Devices in total, spread over the chosen events. */
  devices: number;
  /** Event ids to replay from a CSV; empty picks DEFAULT_EVENT_COUNT events. */
  eventIds: string[];
  debounceSimSeconds: number;
};

/** Returns true when `text` starts with the header of a BC Hydro outage CSV. */
function isOutageCsv(text: string): boolean {
  const header = text.slice(0, text.indexOf("\n") === -1 ? text.length : text.indexOf("\n"));
  return header.split(",").includes("dateOff");
}

function durationOf(event: OutageEvent): number {
  const interval = outageIntervalOf(event);
  return interval.endSecond - interval.startSecond;
}

/**
 * Picks the events to replay: the ones named, in order, or else the first events by start
 * time that ended and lasted 1 to 6 hours, long enough to reach the paid tiers and short
 * enough to replay in minutes.
 */
function chooseEvents(events: readonly OutageEvent[], eventIds: readonly string[], file: string): OutageEvent[] {
  if (eventIds.length > 0) {
    return eventIds.map((eventId) => {
      const event = events.find((candidate) => candidate.id === eventId);
      if (event === undefined) {
        throw new DataFileError(`--events: event ${eventId} is not in ${file}; pick ids from its "id" column`);
      }
      return event;
    });
  }
  const chosen = [...events]
    .filter((event) => event.dateOnSecond !== null && durationOf(event) >= DEFAULT_EVENT_MIN_SECONDS && durationOf(event) <= DEFAULT_EVENT_MAX_SECONDS)
    .sort((a, b) => a.dateOffSecond - b.dateOffSecond)
    .slice(0, DEFAULT_EVENT_COUNT);
  if (chosen.length === 0) {
    throw new DataFileError(`${file} has no ended event lasting 1 to 6 hours; name events with --events`);
  }
  return chosen;
}

/**
 * Spreads `devices` over the events one round at a time, giving an event no more devices
 * than it had customers out. Returns the device count per event, in event order.
 */
export function spreadDevices(customersPerEvent: readonly number[], devices: number): number[] {
  const counts = customersPerEvent.map(() => 0);
  let left = devices;
  let added = true;
  while (left > 0 && added) {
    added = false;
    for (const [index, customers] of customersPerEvent.entries()) {
      const count = counts[index] ?? 0;
      if (left > 0 && count < Math.max(1, customers)) {
        counts[index] = count + 1;
        left -= 1;
        added = true;
      }
    }
  }
  return counts;
}

function csvGroup(text: string, options: DataFileOptions): ReplayGroup {
  const file = path.resolve(options.file);
  const events = chooseEvents(parseOutageEvents(text), options.eventIds, options.file);
  const counts = spreadDevices(
    events.map((event) => event.numCustomersOut),
    options.devices,
  );
  const devices: DevicePlan[] = [];
  for (const [index, event] of events.entries()) {
    const outages = confirmOutages([outageIntervalOf(event)], options.debounceSimSeconds);
    for (let device = 1; device <= (counts[index] ?? 0); device++) {
      devices.push({
        label: `${event.id}-${device}`,
        feederName: `${event.municipality}: ${event.area}`.slice(0, 60),
        outages,
        source: { kind: "outage-csv", path: file, eventId: event.id },
      });
    }
  }
  const notes = events.map((event) => {
    const hours = (durationOf(event) / 3_600).toFixed(2);
    const open = event.dateOnSecond === null ? ", still out when the feed was last updated (replayed until stopped)" : "";
    return `event ${event.id}: ${event.municipality}, ${hours} h, ${formatCount(event.numCustomersOut, "customer")} out, ${event.cause}${open}`;
  });
  return { title: `BC Hydro outage CSV ${options.file}`, timeZone: "America/Vancouver", devices: devices.filter((device) => device.outages.length > 0), notes };
}

function apcupsdGroup(text: string, options: DataFileOptions): ReplayGroup {
  const parsed = parseApcupsdLog(text);
  const confirmed = confirmOutages(parsed, options.debounceSimSeconds);
  const notes: string[] = [`${formatCount(parsed.length, "outage")} in the log, ${confirmed.length} lasting at least ${options.debounceSimSeconds} s`];
  const last = confirmed.at(-1);
  if (last?.open === true) {
    notes.push("the log ends during an outage: it is replayed until the log's last line");
  }
  const outages = confirmed.map((outage) => ({ ...outage, open: false })).filter((outage) => outage.endSecond > outage.startSecond);
  if (outages.length === 0) {
    throw new DataFileError(`${options.file} has no outage of at least ${options.debounceSimSeconds} s to replay`);
  }
  const longest = Math.max(...outages.map((outage) => outage.endSecond - outage.startSecond));
  if (longest < UNPAID_FIRST_SECONDS) {
    notes.push(`every outage in this log is shorter than the unpaid first hour (longest ${longest} s), so the wallet receives nothing`);
  }
  return {
    title: `apcupsd events log ${options.file}`,
    timeZone: "UTC",
    devices: [{ label: "ups-1", feederName: `UPS log ${path.basename(options.file)}`, outages, source: { kind: "outages" } }],
    notes,
  };
}

/** Reads a BC Hydro outage CSV or an apcupsd events log and plans its replay. */
export async function loadDataFile(options: DataFileOptions): Promise<ReplayGroup> {
  let text: string;
  try {
    text = await readFile(options.file, "utf8");
  } catch (error) {
    throw new DataFileError(`--data ${options.file} cannot be read: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (isOutageCsv(text)) {
    return csvGroup(text, options);
  }
  if (options.eventIds.length > 0) {
    throw new DataFileError(`--events applies to a BC Hydro outage CSV, but ${options.file} is not one`);
  }
  try {
    return apcupsdGroup(text, options);
  } catch (error) {
    if (error instanceof DataFileError) {
      throw error;
    }
    throw new DataFileError(`--data ${options.file} is neither a BC Hydro outage CSV (header with dateOff) nor an apcupsd events log: ${error instanceof Error ? error.message : String(error)}`);
  }
}
