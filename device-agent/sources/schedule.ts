import { PowerSourceError } from "./power-source.ts";
import type { OutageInterval, SourceClock } from "./power-source.ts";
import { IntervalSource } from "./replay.ts";

export const DEFAULT_SCHEDULE_TIME_ZONE = "Asia/Kolkata";

/** Forms that `parseSchedule` accepts, shown in its error messages. */
export const SCHEDULE_EXAMPLES = ["Saturdays 09:00-17:00", "daily 18:00-20:00", "Mon, Wed, Fri 06:00-08:30", "weekdays 22:00-02:00", "3h on 3h off", "2h off 4h on from 2025-01-06 06:00"] as const;

/**
 * A cut on the given weekdays (0 = Sunday) from `startMinute` to `endMinute` of local time,
 * in minutes after midnight. An end at or before the start falls on the next day.
 */
export type WeeklyRule = { kind: "weekly"; weekdays: number[]; startMinute: number; endMinute: number };

/**
 * A cycle of `onSeconds` with power and `offSeconds` without, repeating from `anchorSecond`
 * in elapsed time, so a daylight-saving change moves it by an hour of local time.
 * `offFirst` selects the phase that starts at the anchor.
 */
export type CycleRule = { kind: "cycle"; onSeconds: number; offSeconds: number; offFirst: boolean; anchorSecond: number };

export type ScheduleRule = WeeklyRule | CycleRule;

/** A parsed load-shedding schedule: the union of its rules' cuts, in one IANA time zone. */
export type Schedule = { text: string; timeZone: string; rules: ScheduleRule[] };

export type ScheduleSourceOptions = SourceClock & {
  schedule: Schedule;
  name?: string;
  /** The run start in simulated unix seconds. By default the clock's second at `start()`. */
  runStartSecond?: number;
};

const WEEKDAY_NAMES: Record<string, number> = {
  sun: 0, sunday: 0, sundays: 0,
  mon: 1, monday: 1, mondays: 1,
  tue: 2, tues: 2, tuesday: 2, tuesdays: 2,
  wed: 3, wednesday: 3, wednesdays: 3,
  thu: 4, thur: 4, thurs: 4, thursday: 4, thursdays: 4,
  fri: 5, friday: 5, fridays: 5,
  sat: 6, saturday: 6, saturdays: 6,
};

const DAY_GROUPS: Record<string, number[]> = {
  daily: [0, 1, 2, 3, 4, 5, 6],
  day: [0, 1, 2, 3, 4, 5, 6],
  everyday: [0, 1, 2, 3, 4, 5, 6],
  weekdays: [1, 2, 3, 4, 5],
  weekends: [0, 6],
};

const WEEKLY_PATTERN = /^(?:every\s+)?(.+?)\s+(\d{1,2}):(\d{2})\s*(?:-|–|to)\s*(\d{1,2}):(\d{2})$/;
const CYCLE_PATTERN = /^(.+?)\s+(on|off)\s+(.+?)\s+(on|off)(?:\s+from\s+(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}))?$/;
const DURATION_PATTERN = /^(?:(\d+)\s*h(?:ours?|rs?)?)?\s*(?:(\d+)\s*m(?:in(?:utes?|s)?)?)?$/;

// ---------------------------------------------------------------------------------------
// Time zone arithmetic with Intl: offsets are read from the zone database for each instant.

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** Local calendar fields of `unixSecond` in `timeZone`. */
export function localFieldsAt(timeZone: string, unixSecond: number): { year: number; month: number; day: number; hour: number; minute: number; second: number } {
  const fields = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 };
  for (const part of formatterFor(timeZone).formatToParts(new Date(unixSecond * 1000))) {
    if (part.type === "year" || part.type === "month" || part.type === "day" || part.type === "hour" || part.type === "minute" || part.type === "second") {
      fields[part.type] = Number(part.value);
    }
  }
  return fields;
}

/** Offset of `timeZone` from UTC at `unixSecond`, in seconds (+19800 for Asia/Kolkata). */
export function zoneOffsetSeconds(timeZone: string, unixSecond: number): number {
  const local = localFieldsAt(timeZone, unixSecond);
  const localAsUtc = Date.UTC(local.year, local.month - 1, local.day, local.hour, local.minute, local.second) / 1000;
  return localAsUtc - Math.floor(unixSecond);
}

/**
 * Converts a local date and time in `timeZone` to unix seconds. A time that occurs twice
 * (clocks turned back) maps to its first occurrence. A time that does not exist (clocks
 * turned forward) is moved forward by the length of the gap, so 01:30 on the day London
 * springs forward becomes 02:30 BST.
 */
export function localToUnixSecond(timeZone: string, year: number, month: number, day: number, minuteOfDay: number): number {
  const localAsUtc = Date.UTC(year, month - 1, day, 0, minuteOfDay) / 1000;
  // Offsets 12 hours before and after cover both sides of any transition near this time.
  const offsetBefore = zoneOffsetSeconds(timeZone, localAsUtc - 43_200);
  const offsetAfter = zoneOffsetSeconds(timeZone, localAsUtc + 43_200);
  const candidates = [localAsUtc - offsetBefore, localAsUtc - offsetAfter].filter(
    (candidate) => localAsUtc - zoneOffsetSeconds(timeZone, candidate) === candidate,
  );
  if (candidates.length > 0) {
    return Math.min(...candidates);
  }
  return localAsUtc - offsetBefore;
}

function checkTimeZone(timeZone: string): void {
  try {
    formatterFor(timeZone);
  } catch (error) {
    throw new PowerSourceError("INVALID_SCHEDULE", `time zone ${JSON.stringify(timeZone)} is not an IANA time zone such as ${DEFAULT_SCHEDULE_TIME_ZONE} or Europe/London`, { timeZone }, { cause: error });
  }
}

// ---------------------------------------------------------------------------------------
// Parsing.

function invalidSchedule(text: string, part: string, reason: string): PowerSourceError {
  const examples = SCHEDULE_EXAMPLES.map((example) => JSON.stringify(example)).join(", ");
  return new PowerSourceError("INVALID_SCHEDULE", `schedule ${JSON.stringify(text)}: ${JSON.stringify(part)} ${reason}; accepted forms are for example ${examples}`, { text, part });
}

function parseWeekdays(text: string, daysText: string, part: string): number[] {
  const group = DAY_GROUPS[daysText];
  if (group !== undefined) {
    return group;
  }
  const weekdays = new Set<number>();
  for (const name of daysText.split(/\s*(?:,|\band\b|&)\s*/)) {
    const weekday = WEEKDAY_NAMES[name.trim()];
    if (weekday === undefined) {
      throw invalidSchedule(text, part, `names an unknown day ${JSON.stringify(name.trim())}`);
    }
    weekdays.add(weekday);
  }
  return [...weekdays].sort((a, b) => a - b);
}

function parseMinuteOfDay(text: string, part: string, hoursText: string | undefined, minutesText: string | undefined): number {
  const hours = Number(hoursText);
  const minutes = Number(minutesText);
  if (!(minutes < 60 && (hours < 24 || (hours === 24 && minutes === 0)))) {
    throw invalidSchedule(text, part, `has an invalid time ${hoursText}:${minutesText}`);
  }
  return hours * 60 + minutes;
}

function parseDuration(text: string, part: string, durationText: string): number {
  const match = DURATION_PATTERN.exec(durationText.trim());
  const hours = Number(match?.[1] ?? 0);
  const minutes = Number(match?.[2] ?? 0);
  const seconds = hours * 3600 + minutes * 60;
  if (match === null || seconds === 0) {
    throw invalidSchedule(text, part, `has a duration ${JSON.stringify(durationText)} that is not like 3h, 90m or 1h30m`);
  }
  return seconds;
}

function parseWeeklyRule(text: string, part: string, match: RegExpExecArray): WeeklyRule {
  const weekdays = parseWeekdays(text, (match[1] ?? "").trim(), part);
  const startMinute = parseMinuteOfDay(text, part, match[2], match[3]);
  const endMinute = parseMinuteOfDay(text, part, match[4], match[5]);
  if (startMinute === endMinute || startMinute === 1440) {
    throw invalidSchedule(text, part, "has a time range of no length");
  }
  return { kind: "weekly", weekdays, startMinute, endMinute };
}

function parseCycleRule(text: string, part: string, match: RegExpExecArray, timeZone: string): CycleRule {
  const firstPhase = match[2];
  const secondPhase = match[4];
  if (firstPhase === secondPhase) {
    throw invalidSchedule(text, part, "needs one on and one off phase");
  }
  const firstSeconds = parseDuration(text, part, match[1] ?? "");
  const secondSeconds = parseDuration(text, part, match[3] ?? "");
  const offFirst = firstPhase === "off";

  let anchorSecond = localToUnixSecond(timeZone, 1970, 1, 1, 0);
  if (match[5] !== undefined) {
    const [year, month, day] = [Number(match[5]), Number(match[6]), Number(match[7])];
    const check = new Date(Date.UTC(year, month - 1, day));
    if (check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) {
      throw invalidSchedule(text, part, `has an invalid date ${match[5]}-${match[6]}-${match[7]}`);
    }
    anchorSecond = localToUnixSecond(timeZone, year, month, day, parseMinuteOfDay(text, part, match[8], match[9]));
  }

  return {
    kind: "cycle",
    onSeconds: offFirst ? secondSeconds : firstSeconds,
    offSeconds: offFirst ? firstSeconds : secondSeconds,
    offFirst,
    anchorSecond,
  };
}

/**
 * Parses a load-shedding schedule as people write it. Rules are separated by ";" and the
 * schedule cuts power whenever any rule does.
 *
 * - Weekly: days then a local time range, such as "Saturdays 09:00-17:00", "daily
 *   18:00-20:00", "weekdays 06:00 to 08:00" or "Mon, Wed and Fri 22:00-02:00". Days are
 *   weekday names (full, plural or three letters), "daily", "every day", "weekdays" or
 *   "weekends". A range whose end is at or before its start ends on the next day, and
 *   24:00 is accepted as an end.
 * - Cycle: "3h on 3h off" or "2h off 4h on", optionally "from 2025-01-06 06:00" (local
 *   time) to set when the first phase starts. Without it the cycle starts at local midnight
 *   of 1970-01-01. Durations are like 3h, 90m or 1h30m.
 *
 * Weekly times follow the zone's local clock across daylight-saving changes: a cut
 * "daily 00:00-03:00" lasts two hours on the night clocks go forward and four on the night
 * they go back. Throws INVALID_SCHEDULE naming the text that failed and accepted examples.
 */
export function parseSchedule(text: string, options: { timeZone?: string } = {}): Schedule {
  const timeZone = options.timeZone ?? DEFAULT_SCHEDULE_TIME_ZONE;
  checkTimeZone(timeZone);

  const parts = text.split(";").map((part) => part.trim()).filter((part) => part !== "");
  if (parts.length === 0) {
    throw invalidSchedule(text, text, "is empty");
  }

  const rules = parts.map((part): ScheduleRule => {
    const normalized = part.toLowerCase().replace(/\s+/g, " ");
    const cycle = CYCLE_PATTERN.exec(normalized);
    if (cycle !== null) {
      return parseCycleRule(text, part, cycle, timeZone);
    }
    const weekly = WEEKLY_PATTERN.exec(normalized);
    if (weekly !== null) {
      return parseWeeklyRule(text, part, weekly);
    }
    throw invalidSchedule(text, part, "is not a schedule");
  });

  return { text, timeZone, rules };
}

// ---------------------------------------------------------------------------------------
// Expanding rules into outages.

function* weeklyOutages(rule: WeeklyRule, timeZone: string, fromSecond: number): Generator<OutageInterval> {
  // Start a day early so that a cut that began yesterday evening and runs past midnight is included.
  const first = localFieldsAt(timeZone, fromSecond);
  for (let dayIndex = -1; ; dayIndex += 1) {
    const date = new Date(Date.UTC(first.year, first.month - 1, first.day + dayIndex));
    if (!rule.weekdays.includes(date.getUTCDay())) {
      continue;
    }
    const [year, month, day] = [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate()];
    const startSecond = localToUnixSecond(timeZone, year, month, day, rule.startMinute);
    const endDayOffset = rule.endMinute <= rule.startMinute ? 1 : 0;
    const endSecond = localToUnixSecond(timeZone, year, month, day + endDayOffset, rule.endMinute);
    if (endSecond > startSecond && endSecond > fromSecond) {
      yield { startSecond, endSecond, open: false, planned: true };
    }
  }
}

function* cycleOutages(rule: CycleRule, fromSecond: number): Generator<OutageInterval> {
  const periodSeconds = rule.onSeconds + rule.offSeconds;
  const offsetInPeriod = rule.offFirst ? 0 : rule.onSeconds;
  for (let cycle = Math.floor((fromSecond - rule.anchorSecond) / periodSeconds) - 1; ; cycle += 1) {
    const startSecond = rule.anchorSecond + cycle * periodSeconds + offsetInPeriod;
    const endSecond = startSecond + rule.offSeconds;
    if (endSecond > fromSecond) {
      yield { startSecond, endSecond, open: false, planned: true };
    }
  }
}

/**
 * Yields the schedule's cuts that end after `fromSecond`, in order of start, merging cuts
 * of different rules that overlap or touch. The sequence never ends.
 */
export function* scheduleOutagesFrom(schedule: Schedule, fromSecond: number): Generator<OutageInterval> {
  const streams = schedule.rules.map((rule) => (rule.kind === "weekly" ? weeklyOutages(rule, schedule.timeZone, fromSecond) : cycleOutages(rule, fromSecond)));
  const heads: (OutageInterval | null)[] = streams.map((stream) => stream.next().value ?? null);
  let current: OutageInterval | null = null;

  for (;;) {
    const index = earliestIndex(heads);
    const next = index === -1 ? null : heads[index];
    if (next === null || next === undefined) {
      if (current !== null) {
        yield current;
      }
      return;
    }
    heads[index] = streams[index]?.next().value ?? null;

    if (current === null) {
      current = next;
    } else if (next.startSecond <= current.endSecond) {
      current = { startSecond: current.startSecond, endSecond: Math.max(current.endSecond, next.endSecond), open: false, planned: true };
    } else {
      yield current;
      current = next;
    }
  }
}

function earliestIndex(heads: readonly (OutageInterval | null)[]): number {
  let index = -1;
  let earliest = Number.POSITIVE_INFINITY;
  for (const [i, head] of heads.entries()) {
    if (head !== null && head.startSecond < earliest) {
      earliest = head.startSecond;
      index = i;
    }
  }
  return index;
}

/** Returns the cuts that overlap [fromSecond, toSecond), unclipped, in order of start. */
export function scheduleOutagesBetween(schedule: Schedule, fromSecond: number, toSecond: number): OutageInterval[] {
  const outages: OutageInterval[] = [];
  for (const outage of scheduleOutagesFrom(schedule, fromSecond)) {
    if (outage.startSecond >= toSecond) {
      break;
    }
    outages.push(outage);
  }
  return outages;
}

/**
 * Creates a source that cuts power as the schedule defines, on the simulated clock. Outages
 * carry `detail.planned`. A cut already running at the start is reported from the start.
 */
export function createScheduleSource(options: ScheduleSourceOptions): IntervalSource {
  return new IntervalSource({
    name: options.name ?? `schedule:${options.schedule.text}`,
    now: options.now,
    scale: options.scale,
    outagesFrom: (runStartSecond) => scheduleOutagesFrom(options.schedule, runStartSecond),
    runStartSecond: options.runStartSecond,
  });
}
