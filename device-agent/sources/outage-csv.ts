import { readFile } from "node:fs/promises";
import { PowerSourceError } from "./power-source.ts";
import type { OutageInterval, SourceClock } from "./power-source.ts";
import { ReplaySource } from "./replay.ts";

/**
 * One outage event of the BC Hydro public outage feed. Times are unix seconds.
 * `dateOnSecond` is null while the event was still running at `lastUpdatedSecond`.
 */
export type OutageEvent = {
  id: string;
  municipality: string;
  area: string;
  regionName: string;
  cause: string;
  planned: boolean;
  numCustomersOut: number;
  dateOffSecond: number;
  dateOnSecond: number | null;
  lastUpdatedSecond: number;
  latitude: number | null;
  longitude: number | null;
  /** 1-based line of the row in the file, counting the header as line 1. */
  rowNumber: number;
};

export type OutageCsvSourceOptions = SourceClock & {
  path: string;
  /** The event whose feeder this device sits on. */
  eventId: string;
  name?: string;
  /** Simulated seconds between the run start and the replayed outage. Default 60. */
  startOffsetSimSeconds?: number;
  runStartSecond?: number;
};

const REQUIRED_COLUMNS = ["id", "municipality", "area", "cause", "numCustomersOut", "dateOff", "lastUpdated", "regionName", "latitude", "longitude", "dateOn"] as const;

type Column = (typeof REQUIRED_COLUMNS)[number];

// ISO-8601 with a space or "T", optional fraction, and "Z" or a numeric offset.
const TIMESTAMP_PATTERN = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})$/;

/**
 * Splits CSV text into records of fields (RFC 4180): fields may be quoted, and a quoted
 * field may contain commas, line breaks and doubled quotes. Each record carries the line
 * it starts on.
 */
export function parseCsvRecords(text: string): { lineNumber: number; fields: string[] }[] {
  const records: { lineNumber: number; fields: string[] }[] = [];
  let fields: string[] = [];
  let field = "";
  let quoted = false;
  let line = 1;
  let recordLine = 1;
  let i = 0;

  const endRecord = (): void => {
    fields.push(field);
    if (!(fields.length === 1 && fields[0] === "")) {
      records.push({ lineNumber: recordLine, fields });
    }
    fields = [];
    field = "";
  };

  while (i < text.length) {
    const char = text[i];
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (char === '"') {
        quoted = false;
      } else {
        if (char === "\n") {
          line += 1;
        }
        field += char;
      }
      i += 1;
      continue;
    }

    if (char === '"' && field === "") {
      quoted = true;
    } else if (char === ",") {
      fields.push(field);
      field = "";
    } else if (char === "\n" || char === "\r") {
      if (char === "\r" && text[i + 1] === "\n") {
        i += 1;
      }
      endRecord();
      line += 1;
      recordLine = line;
    } else {
      field += char;
    }
    i += 1;
  }

  if (quoted) {
    throw new PowerSourceError("INVALID_CSV", `CSV quoted field opened on line ${recordLine} is never closed`, { lineNumber: recordLine });
  }
  if (field !== "" || fields.length > 0) {
    endRecord();
  }
  return records;
}

/** Parses an ISO-8601 time with an offset into unix seconds, rounding a fraction down. */
export function parseIsoSecond(text: string): number | null {
  const match = TIMESTAMP_PATTERN.exec(text.trim());
  if (match === null) {
    return null;
  }
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number);
  const zone = match[7];
  if (year === undefined || month === undefined || day === undefined || hour === undefined || minute === undefined || second === undefined || zone === undefined) {
    return null;
  }
  const localMs = Date.UTC(year, month - 1, day, hour, minute, second);
  const check = new Date(localMs);
  if (check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) {
    return null;
  }

  let offsetSeconds = 0;
  if (zone !== "Z") {
    const digits = zone.slice(1).replace(":", "");
    const offsetHours = Number(digits.slice(0, 2));
    const offsetMinutes = Number(digits.slice(2));
    if (offsetMinutes > 59) {
      return null;
    }
    offsetSeconds = (zone.startsWith("-") ? -1 : 1) * (offsetHours * 3600 + offsetMinutes * 60);
  }
  return localMs / 1000 - offsetSeconds;
}

/** Reports whether a BC Hydro cause names announced work ("Planned work being done on our equipment"). */
export function isPlannedCause(cause: string): boolean {
  return /^planned\b/i.test(cause.trim());
}

function columnIndexes(header: string[]): Record<Column, number> {
  const indexOf = (column: Column): number => {
    const index = header.findIndex((name) => name.trim() === column);
    if (index === -1) {
      throw new PowerSourceError("INVALID_CSV", `outage CSV header has no "${column}" column; expected columns include ${REQUIRED_COLUMNS.join(", ")}`, { column });
    }
    return index;
  };
  return {
    id: indexOf("id"),
    municipality: indexOf("municipality"),
    area: indexOf("area"),
    cause: indexOf("cause"),
    numCustomersOut: indexOf("numCustomersOut"),
    dateOff: indexOf("dateOff"),
    lastUpdated: indexOf("lastUpdated"),
    regionName: indexOf("regionName"),
    latitude: indexOf("latitude"),
    longitude: indexOf("longitude"),
    dateOn: indexOf("dateOn"),
  };
}

function invalidField(rowNumber: number, column: Column, value: string, expected: string): PowerSourceError {
  return new PowerSourceError("INVALID_CSV", `outage CSV line ${rowNumber}: ${column} ${JSON.stringify(value)} is not ${expected}`, { rowNumber, column, value });
}

function parseRow(fields: string[], rowNumber: number, columns: Record<Column, number>): OutageEvent {
  const get = (column: Column): string => (fields[columns[column]] ?? "").trim();

  const id = get("id");
  if (id === "") {
    throw invalidField(rowNumber, "id", id, "a non-empty event id");
  }
  const numCustomersText = get("numCustomersOut");
  if (!/^\d+$/.test(numCustomersText)) {
    throw invalidField(rowNumber, "numCustomersOut", numCustomersText, "a whole number of customers");
  }
  const dateOffSecond = parseIsoSecond(get("dateOff"));
  if (dateOffSecond === null) {
    throw invalidField(rowNumber, "dateOff", get("dateOff"), "an ISO-8601 time with offset such as 2024-12-20 15:26:00+00:00");
  }
  const lastUpdatedSecond = parseIsoSecond(get("lastUpdated"));
  if (lastUpdatedSecond === null) {
    throw invalidField(rowNumber, "lastUpdated", get("lastUpdated"), "an ISO-8601 time with offset such as 2024-12-20 15:26:00+00:00");
  }
  const dateOnText = get("dateOn");
  const dateOnSecond = dateOnText === "" ? null : parseIsoSecond(dateOnText);
  if (dateOnText !== "" && dateOnSecond === null) {
    throw invalidField(rowNumber, "dateOn", dateOnText, "empty or an ISO-8601 time with offset such as 2024-12-20 15:26:00+00:00");
  }
  if (dateOnSecond !== null && dateOnSecond < dateOffSecond) {
    throw invalidField(rowNumber, "dateOn", dateOnText, `at or after dateOff ${get("dateOff")}`);
  }

  const coordinate = (column: "latitude" | "longitude"): number | null => {
    const text = get(column);
    if (text === "") {
      return null;
    }
    const value = Number(text);
    if (!Number.isFinite(value)) {
      throw invalidField(rowNumber, column, text, "a decimal number of degrees");
    }
    return value;
  };

  const cause = get("cause");
  return {
    id,
    municipality: get("municipality"),
    area: get("area"),
    regionName: get("regionName"),
    cause,
    planned: isPlannedCause(cause),
    numCustomersOut: Number(numCustomersText),
    dateOffSecond,
    dateOnSecond,
    lastUpdatedSecond,
    latitude: coordinate("latitude"),
    longitude: coordinate("longitude"),
    rowNumber,
  };
}

/** Parses every row of a BC Hydro outage CSV, in file order, duplicates included. */
export function parseOutageCsvRows(text: string): OutageEvent[] {
  const [header, ...rows] = parseCsvRecords(text);
  if (header === undefined) {
    throw new PowerSourceError("INVALID_CSV", "outage CSV is empty; expected a header line", {});
  }
  const columns = columnIndexes(header.fields);
  return rows.map((row) => parseRow(row.fields, row.lineNumber, columns));
}

/**
 * Parses a BC Hydro outage CSV into one event per id. The feed repeats an event each time
 * it is updated, so the row with the latest `lastUpdated` wins, and on a tie the later row in
 * the file wins. Events are sorted by `dateOff`, then id.
 */
export function parseOutageEvents(text: string): OutageEvent[] {
  const latest = new Map<string, OutageEvent>();
  for (const event of parseOutageCsvRows(text)) {
    const previous = latest.get(event.id);
    if (previous === undefined || event.lastUpdatedSecond >= previous.lastUpdatedSecond) {
      latest.set(event.id, event);
    }
  }
  return [...latest.values()].sort((a, b) => a.dateOffSecond - b.dateOffSecond || a.id.localeCompare(b.id));
}

/** Reads and parses a BC Hydro outage CSV, as `parseOutageEvents` does. */
export async function loadOutageEvents(path: string): Promise<OutageEvent[]> {
  return parseOutageEvents(await readFile(path, "utf8"));
}

/** Returns the event with `eventId`, or throws EVENT_NOT_FOUND. */
export function findOutageEvent(events: readonly OutageEvent[], eventId: string): OutageEvent {
  const event = events.find((candidate) => candidate.id === eventId);
  if (event === undefined) {
    throw new PowerSourceError("EVENT_NOT_FOUND", `outage event ${eventId} is not in the CSV; pick an id from its "id" column`, { eventId });
  }
  return event;
}

/**
 * Returns the outage of a device on the event's feeder: off over [dateOff, dateOn).
 * An event without `dateOn` was still running when last updated, so it gives an open
 * outage ending at `lastUpdated` (or at `dateOff` if the update is older), and a replay
 * keeps power off until it is stopped.
 */
export function outageIntervalOf(event: OutageEvent): OutageInterval {
  if (event.dateOnSecond === null) {
    return { startSecond: event.dateOffSecond, endSecond: Math.max(event.dateOffSecond, event.lastUpdatedSecond), open: true, planned: event.planned };
  }
  return { startSecond: event.dateOffSecond, endSecond: event.dateOnSecond, open: false, planned: event.planned };
}

/** Creates a replay of one event of a BC Hydro outage CSV, starting `startOffsetSimSeconds` after the run start. */
export async function createOutageCsvSource(options: OutageCsvSourceOptions): Promise<ReplaySource> {
  const event = findOutageEvent(await loadOutageEvents(options.path), options.eventId);
  const outage = outageIntervalOf(event);
  const outages = outage.open || outage.endSecond > outage.startSecond ? [outage] : [];
  return new ReplaySource({
    name: options.name ?? `outage-csv:${event.id}`,
    outages,
    now: options.now,
    scale: options.scale,
    startOffsetSimSeconds: options.startOffsetSimSeconds,
    runStartSecond: options.runStartSecond,
  });
}
