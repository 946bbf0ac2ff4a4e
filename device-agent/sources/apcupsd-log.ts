import { readFile } from "node:fs/promises";
import { DEFAULT_MIN_OFF_SIM_SECONDS, confirmOutages } from "./debounce.ts";
import { PowerSourceError } from "./power-source.ts";
import type { OutageInterval, SourceClock } from "./power-source.ts";
import { ReplaySource } from "./replay.ts";

/** One line of an apcupsd events log: its unix second and the message after the time stamp. */
export type ApcupsdLogLine = {
  lineNumber: number;
  second: number;
  message: string;
};

export type ApcupsdLogSourceOptions = SourceClock & {
  /** Path of the apcupsd events file, usually /var/log/apcupsd.events. */
  path: string;
  name?: string;
  /** Simulated seconds between the run start and the first replayed outage. Default 60. */
  startOffsetSimSeconds?: number;
  /** Outages shorter than this many simulated seconds are not replayed. Default 5, 0 keeps all. */
  minOffSimSeconds?: number;
  runStartSecond?: number;
};

// `2024-07-31 14:10:11 +0100  Power failure.`: local time, its UTC offset, two spaces, message.
const LINE_PATTERN = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})\s+(.*)$/;

const OUTAGE_ENDS = new Set(["Power is back. UPS running on mains.", "Mains returned. No longer on UPS batteries."]);
const SELF_TEST_START = "UPS Self Test switch to battery.";
const SELF_TEST_END_PREFIX = "UPS Self Test completed";
const DAEMON_EXIT_PREFIX = "apcupsd exiting";

/**
 * Parses one log line. The time stamp is local time with its UTC offset, so a change of
 * offset inside the file (summer time) moves no event.
 */
export function parseApcupsdLine(line: string, lineNumber: number): ApcupsdLogLine {
  const match = LINE_PATTERN.exec(line);
  if (match === null) {
    throw new PowerSourceError("INVALID_LOG_LINE", `apcupsd log line ${lineNumber} is not "YYYY-MM-DD HH:MM:SS +ZZZZ  message": ${JSON.stringify(line)}`, { lineNumber, line });
  }
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number);
  const offsetSign = match[7] === "-" ? -1 : 1;
  const offsetMinutes = Number(match[8]) * 60 + Number(match[9]);
  const message = match[10] ?? "";
  if (year === undefined || month === undefined || day === undefined || hour === undefined || minute === undefined || second === undefined) {
    throw new PowerSourceError("INVALID_LOG_LINE", `apcupsd log line ${lineNumber} has an incomplete time stamp: ${JSON.stringify(line)}`, { lineNumber, line });
  }

  const localMs = Date.UTC(year, month - 1, day, hour, minute, second);
  const check = new Date(localMs);
  const valid =
    check.getUTCFullYear() === year &&
    check.getUTCMonth() === month - 1 &&
    check.getUTCDate() === day &&
    check.getUTCHours() === hour &&
    check.getUTCMinutes() === minute &&
    check.getUTCSeconds() === second &&
    Number(match[9]) < 60;
  if (!valid) {
    throw new PowerSourceError("INVALID_LOG_LINE", `apcupsd log line ${lineNumber} has an invalid date or offset: ${JSON.stringify(line)}`, { lineNumber, line });
  }

  return { lineNumber, second: localMs / 1000 - offsetSign * offsetMinutes * 60, message: message.trim() };
}

/**
 * Parses an apcupsd events log into mains outages, in file order.
 *
 * "Power failure." or "Running on UPS batteries." starts an outage, and "Power is back. UPS
 * running on mains." or "Mains returned. No longer on UPS batteries." ends it. Between "UPS
 * Self Test switch to battery." and the line that ends the test ("UPS Self Test completed:
 * ..." or "Power is back. ..."), the UPS runs on battery with mains present, so the battery
 * lines of the test start nothing. Battery disconnect and reattach, communication and
 * battery warnings change nothing. When the daemon exits during an outage, the outage ends
 * at the exit, because nothing is known about the mains after it.
 *
 * Outages that start and end in the same second hold no off-second and are left out. A log
 * that ends during an outage gives a last outage with `open` set, ending at the last line's
 * second. Flaps of a second or more are kept, and `confirmOutages` drops them.
 */
export function parseApcupsdLog(text: string): OutageInterval[] {
  const outages: OutageInterval[] = [];
  let mode: "mains" | "selfTest" | "outage" = "mains";
  let outageStartSecond = 0;
  let lastSecond: number | null = null;

  const close = (endSecond: number): void => {
    if (endSecond > outageStartSecond) {
      outages.push({ startSecond: outageStartSecond, endSecond, open: false, planned: false });
    }
    mode = "mains";
  };

  const lines = text.split(/\r?\n/);
  for (const [index, raw] of lines.entries()) {
    if (raw.trim() === "") {
      continue;
    }
    const { second, message } = parseApcupsdLine(raw, index + 1);
    lastSecond = second;

    if (message === "Power failure." && mode !== "outage") {
      mode = "outage";
      outageStartSecond = second;
    } else if (message === "Running on UPS batteries." && mode === "mains") {
      mode = "outage";
      outageStartSecond = second;
    } else if (message === SELF_TEST_START && mode === "mains") {
      mode = "selfTest";
    } else if (message.startsWith(SELF_TEST_END_PREFIX) && mode === "selfTest") {
      mode = "mains";
    } else if (OUTAGE_ENDS.has(message)) {
      if (mode === "outage") {
        close(second);
      }
      mode = "mains";
    } else if (message.startsWith(DAEMON_EXIT_PREFIX) && mode === "outage") {
      close(second);
    }
  }

  if (mode === "outage" && lastSecond !== null) {
    outages.push({ startSecond: outageStartSecond, endSecond: lastSecond, open: true, planned: false });
  }
  return outages;
}

/** Reads and parses an apcupsd events file, as `parseApcupsdLog` does. */
export async function loadApcupsdLog(path: string): Promise<OutageInterval[]> {
  return parseApcupsdLog(await readFile(path, "utf8"));
}

/**
 * Creates a replay of an apcupsd events file: outages of at least `minOffSimSeconds` are
 * replayed on the simulated clock, the first one `startOffsetSimSeconds` after the run
 * starts.
 */
export async function createApcupsdLogSource(options: ApcupsdLogSourceOptions): Promise<ReplaySource> {
  const outages = confirmOutages(await loadApcupsdLog(options.path), options.minOffSimSeconds ?? DEFAULT_MIN_OFF_SIM_SECONDS);
  return new ReplaySource({
    name: options.name ?? "apcupsd-log",
    outages,
    now: options.now,
    scale: options.scale,
    startOffsetSimSeconds: options.startOffsetSimSeconds,
    runStartSecond: options.runStartSecond,
  });
}
