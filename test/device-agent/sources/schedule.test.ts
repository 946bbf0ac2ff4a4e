import { expect } from "chai";
import { PowerSourceError } from "../../../device-agent/sources/power-source.ts";
import type { PowerChange } from "../../../device-agent/sources/power-source.ts";
import {
  createScheduleSource,
  localToUnixSecond,
  parseSchedule,
  scheduleOutagesBetween,
  zoneOffsetSeconds,
} from "../../../device-agent/sources/schedule.ts";

/** Unix second of an ISO-8601 UTC time. */
function utc(iso: string): number {
  return Date.parse(iso) / 1000;
}

function cuts(text: string, timeZone: string, fromIso: string, toIso: string): [string, string][] {
  const schedule = parseSchedule(text, { timeZone });
  return scheduleOutagesBetween(schedule, utc(fromIso), utc(toIso)).map((outage) => {
    expect(outage.planned).to.equal(true);
    expect(outage.open).to.equal(false);
    return [new Date(outage.startSecond * 1000).toISOString(), new Date(outage.endSecond * 1000).toISOString()];
  });
}

function parseError(text: string, timeZone?: string): PowerSourceError | null {
  try {
    parseSchedule(text, timeZone === undefined ? {} : { timeZone });
  } catch (error) {
    return error instanceof PowerSourceError ? error : null;
  }
  return null;
}

describe("load-shedding schedule source", () => {
  it("zone offsets from the zone database", () => {
    expect(zoneOffsetSeconds("Asia/Kolkata", utc("2025-01-01T00:00:00Z"))).to.equal(19_800);
    expect(zoneOffsetSeconds("Europe/London", utc("2025-03-30T00:59:59Z"))).to.equal(0);
    expect(zoneOffsetSeconds("Europe/London", utc("2025-03-30T01:00:00Z"))).to.equal(3_600);
    expect(zoneOffsetSeconds("America/Vancouver", utc("2025-11-02T09:00:00Z"))).to.equal(-28_800);
  });

  it("local times in a DST gap and overlap", () => {
    // London springs forward at 01:00 GMT on 2025-03-30: 01:30 does not exist and becomes 02:30 BST.
    expect(localToUnixSecond("Europe/London", 2025, 3, 30, 90)).to.equal(utc("2025-03-30T01:30:00Z"));
    // London falls back at 02:00 BST on 2025-10-26: 01:30 occurs twice and maps to the first.
    expect(localToUnixSecond("Europe/London", 2025, 10, 26, 90)).to.equal(utc("2025-10-26T00:30:00Z"));
    expect(localToUnixSecond("Asia/Kolkata", 2025, 1, 4, 9 * 60)).to.equal(utc("2025-01-04T03:30:00Z"));
  });

  it("Saturdays in Asia/Kolkata by default", () => {
    const schedule = parseSchedule("Saturdays 09:00-17:00");
    expect(schedule.timeZone).to.equal("Asia/Kolkata");
    expect(schedule.rules).to.deep.equal([{ kind: "weekly", weekdays: [6], startMinute: 540, endMinute: 1020 }]);
    expect(cuts("Saturdays 09:00-17:00", "Asia/Kolkata", "2025-01-01T00:00:00Z", "2025-01-15T00:00:00Z")).to.deep.equal([
      ["2025-01-04T03:30:00.000Z", "2025-01-04T11:30:00.000Z"],
      ["2025-01-11T03:30:00.000Z", "2025-01-11T11:30:00.000Z"],
    ]);
  });

  it("daily cut across London spring DST", () => {
    // 00:00-03:00 local lasts two hours on 2025-03-30, when 01:00-02:00 is skipped.
    expect(cuts("daily 00:00-03:00", "Europe/London", "2025-03-29T00:00:00Z", "2025-03-31T12:00:00Z")).to.deep.equal([
      ["2025-03-29T00:00:00.000Z", "2025-03-29T03:00:00.000Z"],
      ["2025-03-30T00:00:00.000Z", "2025-03-30T02:00:00.000Z"],
      ["2025-03-30T23:00:00.000Z", "2025-03-31T02:00:00.000Z"],
    ]);
  });

  it("daily cut across London autumn DST", () => {
    // 00:00-03:00 local lasts four hours on 2025-10-26, when 01:00-02:00 happens twice.
    expect(cuts("daily 00:00-03:00", "Europe/London", "2025-10-25T00:00:00Z", "2025-10-27T12:00:00Z")).to.deep.equal([
      ["2025-10-24T23:00:00.000Z", "2025-10-25T02:00:00.000Z"],
      ["2025-10-25T23:00:00.000Z", "2025-10-26T03:00:00.000Z"],
      ["2025-10-27T00:00:00.000Z", "2025-10-27T03:00:00.000Z"],
    ]);
  });

  it("overnight weekday cut across Vancouver DST", () => {
    // Vancouver springs forward at 02:00 PST on Sunday 2025-03-09. The Saturday cut
    // 22:00-06:00 runs from 06:00Z to 13:00Z, seven hours, and other nights last eight.
    expect(cuts("Fri, Sat 22:00-06:00", "America/Vancouver", "2025-03-07T12:00:00Z", "2025-03-10T12:00:00Z")).to.deep.equal([
      ["2025-03-08T06:00:00.000Z", "2025-03-08T14:00:00.000Z"],
      ["2025-03-09T06:00:00.000Z", "2025-03-09T13:00:00.000Z"],
    ]);
  });

  it("cycle from an anchor in elapsed time", () => {
    // Anchored at 06:00 IST on 2025-01-06 (00:30Z): three hours on, then three off.
    expect(cuts("3h on 3h off from 2025-01-06 06:00", "Asia/Kolkata", "2025-01-06T00:00:00Z", "2025-01-07T00:00:00Z")).to.deep.equal([
      ["2025-01-05T21:30:00.000Z", "2025-01-06T00:30:00.000Z"],
      ["2025-01-06T03:30:00.000Z", "2025-01-06T06:30:00.000Z"],
      ["2025-01-06T09:30:00.000Z", "2025-01-06T12:30:00.000Z"],
      ["2025-01-06T15:30:00.000Z", "2025-01-06T18:30:00.000Z"],
      ["2025-01-06T21:30:00.000Z", "2025-01-07T00:30:00.000Z"],
    ]);
    // Without an anchor the cycle starts at local midnight of 1970-01-01.
    expect(parseSchedule("90m off 1h30m on").rules).to.deep.equal([{ kind: "cycle", onSeconds: 5_400, offSeconds: 5_400, offFirst: true, anchorSecond: -19_800 }]);
  });

  it("overlapping rules merge into one cut", () => {
    // On Sunday 2025-03-09 in Vancouver, 01:30-02:30 ends at 03:30 PDT (10:30Z) because
    // 02:30 does not exist, so it overlaps the cycle's cut of 08:00Z-10:00Z.
    expect(cuts("2h off 4h on from 2025-03-08 00:00; Sundays 01:30-02:30", "America/Vancouver", "2025-03-09T06:00:00Z", "2025-03-09T15:00:00Z")).to.deep.equal([
      ["2025-03-09T08:00:00.000Z", "2025-03-09T10:30:00.000Z"],
      ["2025-03-09T14:00:00.000Z", "2025-03-09T16:00:00.000Z"],
    ]);
  });

  it("parse errors name the text and an example", () => {
    const cases: [string, string, string][] = [
      ["Saturdays 9-17", "Saturdays 9-17", "is not a schedule"],
      ["daily 18:00-20:00; Funday 09:00-10:00", "Funday 09:00-10:00", 'unknown day "funday"'],
      ["daily 25:00-26:00", "daily 25:00-26:00", "invalid time 25:00"],
      ["daily 10:00-10:00", "daily 10:00-10:00", "no length"],
      ["3h on 3h on", "3h on 3h on", "one on and one off"],
      ["3x on 3h off", "3x on 3h off", "duration"],
      ["3h on 3h off from 2025-02-30 06:00", "3h on 3h off from 2025-02-30 06:00", "invalid date"],
    ];
    for (const [text, part, reason] of cases) {
      const error = parseError(text);
      expect(error?.code, text).to.equal("INVALID_SCHEDULE");
      expect(error?.details, text).to.deep.equal({ text, part });
      expect(error?.message, text).to.include(reason);
      expect(error?.message, text).to.include('"Saturdays 09:00-17:00"');
    }
    expect(parseError("daily 10:00-11:00", "Mars/Base")?.details).to.deep.equal({ timeZone: "Mars/Base" });
  });

  it("source reports cuts as the clock passes them", async () => {
    // The run starts at 09:59 IST on 2025-01-06 and the cut runs 10:00-10:30 IST.
    const runStartSecond = utc("2025-01-06T04:29:00Z");
    const realStartMs = Date.now();
    const scale = 6_000;
    const source = createScheduleSource({
      schedule: parseSchedule("daily 10:00-10:30"),
      now: () => runStartSecond * 1000 + (Date.now() - realStartMs) * scale,
      scale,
      runStartSecond,
      name: "schedule",
    });
    const changes: PowerChange[] = [];
    await new Promise<void>((resolve, reject) => {
      void source.start((change) => {
        changes.push(change);
        if (changes.length === 3) {
          resolve();
        }
      }, reject);
    });
    await source.stop();

    expect(changes).to.deep.equal([
      { state: "on", atSecond: runStartSecond, source: "schedule" },
      { state: "off", atSecond: runStartSecond + 60, source: "schedule", detail: { planned: true } },
      { state: "on", atSecond: runStartSecond + 60 + 1_800, source: "schedule", detail: { planned: true } },
    ]);
  });

  it("source started inside a cut reports it from the start", async () => {
    const runStartSecond = utc("2025-01-06T04:45:00Z");
    const source = createScheduleSource({ schedule: parseSchedule("daily 10:00-10:30"), now: () => runStartSecond * 1000, scale: 1, runStartSecond, name: "schedule" });
    const changes: PowerChange[] = [];
    await source.start((change) => changes.push(change), (error) => {
      throw error;
    });
    await source.stop();
    expect(changes).to.deep.equal([{ state: "off", atSecond: runStartSecond, source: "schedule", detail: { planned: true } }]);
  });
});
