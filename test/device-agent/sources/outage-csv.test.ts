import { expect } from "chai";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  createOutageCsvSource,
  findOutageEvent,
  loadOutageEvents,
  outageIntervalOf,
  parseCsvRecords,
  parseIsoSecond,
  parseOutageCsvRows,
  parseOutageEvents,
} from "../../../device-agent/sources/outage-csv.ts";
import { PowerSourceError } from "../../../device-agent/sources/power-source.ts";
import type { PowerChange } from "../../../device-agent/sources/power-source.ts";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const realCsvPath = path.resolve(repoRoot, "../shared/data/bchydro-outages-12days.csv");
// The header and both rows of event 2534800 from the real CSV, with dateOn of the later
// update emptied, as the feed shows an outage that is still running.
const stillOutPath = path.resolve(repoRoot, "test/fixtures/bchydro-still-out.csv");

function catchError(run: () => unknown): PowerSourceError | null {
  try {
    run();
  } catch (error) {
    return error instanceof PowerSourceError ? error : null;
  }
  return null;
}

describe("BC Hydro outage CSV source", () => {
  it("CSV records with quotes, commas and line breaks", () => {
    const text = 'a,b,c\r\n1,"x, y",""""\n2,"line\nbreak",\n\n';
    expect(parseCsvRecords(text)).to.deep.equal([
      { lineNumber: 1, fields: ["a", "b", "c"] },
      { lineNumber: 2, fields: ["1", "x, y", '"'] },
      { lineNumber: 3, fields: ["2", "line\nbreak", ""] },
    ]);
    expect(catchError(() => parseCsvRecords('a\n"open'))?.code).to.equal("INVALID_CSV");
  });

  it("ISO-8601 times with offsets", () => {
    expect(parseIsoSecond("2024-12-20 15:26:00+00:00")).to.equal(1_734_708_360);
    expect(parseIsoSecond("2024-12-20T07:26:00-08:00")).to.equal(1_734_708_360);
    expect(parseIsoSecond("2024-12-20T15:26:00.750Z")).to.equal(1_734_708_360);
    expect(parseIsoSecond("2024-12-20 15:26:00")).to.equal(null);
    expect(parseIsoSecond("2024-02-30 15:26:00+00:00")).to.equal(null);
  });

  it("real CSV has 609 rows and 604 events", () => {
    const text = readFileSync(realCsvPath, "utf8");
    expect(parseOutageCsvRows(text)).to.have.length(609);
    const events = parseOutageEvents(text);
    expect(events).to.have.length(604);
    expect(new Set(events.map((event) => event.id)).size).to.equal(604);
    expect(events.filter((event) => event.planned)).to.have.length(292);
    expect(events.reduce((total, event) => total + event.numCustomersOut, 0)).to.equal(59_180);
  });

  it("duplicate id keeps the latest update, not the last row", async () => {
    const events = await loadOutageEvents(realCsvPath);
    // Event 2537367 is on lines 532 and 533. Line 533 comes later but was updated earlier
    // (20:17:30 against 20:45:24), so line 532 wins.
    const event = findOutageEvent(events, "2537367");
    expect(event.rowNumber).to.equal(532);
    expect(event.area).to.equal("West of ORLAND DR, North of FOSTER AVE, South-East of WALNUT CRS");
    expect(event.numCustomersOut).to.equal(56);
    expect(event.lastUpdatedSecond).to.equal(1_736_541_924);
    expect(outageIntervalOf(event)).to.deep.equal({ startSecond: 1_736_539_966, endSecond: 1_736_544_270, open: false, planned: true });
  });

  it("duplicate id takes the cause of the latest update", async () => {
    const event = findOutageEvent(await loadOutageEvents(realCsvPath), "2533525");
    // Line 167 says "Under investigation" and ends at 2025-01-06 20:47:05, and the update on
    // line 168 extends the outage to 2025-01-07 10:32:59.
    expect(event.rowNumber).to.equal(168);
    expect(event.cause).to.equal("Work being done on our equipment");
    expect(event.planned).to.equal(false);
    expect(outageIntervalOf(event)).to.deep.equal({ startSecond: 1_736_183_160, endSecond: 1_736_245_979, open: false, planned: false });
  });

  it("quoted area with a comma", async () => {
    const event = findOutageEvent(await loadOutageEvents(realCsvPath), "2529684");
    expect(event.municipality).to.equal("Nakusp");
    expect(event.area).to.equal("MT SCAIA RADIO SITE, BENCH CREEK  HWY 6");
    expect(event.regionName).to.equal("Okanagan/Kootenay");
    expect(event.cause).to.equal("Tree down across our wires");
    expect(event.numCustomersOut).to.equal(2);
    expect(event.latitude).to.equal(49.90809);
    expect(event.longitude).to.equal(-118.316474);
    expect(outageIntervalOf(event)).to.deep.equal({ startSecond: 1_734_993_656, endSecond: 1_735_870_339, open: false, planned: false });
  });

  it("empty dateOn gives an open outage", async () => {
    const [event] = await loadOutageEvents(stillOutPath);
    expect(event?.id).to.equal("2534800");
    expect(event?.dateOnSecond).to.equal(null);
    // Off since 2025-01-08 21:26:32 and still off at the update of 23:49:24.
    expect(event === undefined ? null : outageIntervalOf(event)).to.deep.equal({ startSecond: 1_736_371_592, endSecond: 1_736_380_164, open: true, planned: false });
  });

  it("unknown event id is rejected", async () => {
    const events = await loadOutageEvents(realCsvPath);
    const error = catchError(() => findOutageEvent(events, "999"));
    expect(error?.code).to.equal("EVENT_NOT_FOUND");
    expect(error?.details).to.deep.equal({ eventId: "999" });
  });

  it("invalid field names its line and column", () => {
    const header = "id,municipality,area,cause,numCustomersOut,dateOff,lastUpdated,regionName,latitude,longitude,dateOn";
    const badDate = `${header}\n1,Town,"A, B",Wire down,3,yesterday,2025-01-01 00:00:00+00:00,Region,,,`;
    const error = catchError(() => parseOutageCsvRows(badDate));
    expect(error?.code).to.equal("INVALID_CSV");
    expect(error?.details).to.deep.equal({ rowNumber: 2, column: "dateOff", value: "yesterday" });

    const badCount = `${header}\n1,Town,Area,Wire down,many,2025-01-01 00:00:00+00:00,2025-01-01 00:00:00+00:00,Region,,,`;
    expect(catchError(() => parseOutageCsvRows(badCount))?.details).to.deep.equal({ rowNumber: 2, column: "numCustomersOut", value: "many" });

    const missingColumn = "id,area\n1,Area";
    expect(catchError(() => parseOutageCsvRows(missingColumn))?.details).to.deep.equal({ column: "municipality" });
  });

  it("replays one event shifted to the run", async () => {
    const runStartSecond = 1_900_000_000;
    const realStartMs = Date.now();
    const scale = 20_000;
    const source = await createOutageCsvSource({
      path: realCsvPath,
      eventId: "2537367",
      now: () => runStartSecond * 1000 + (Date.now() - realStartMs) * scale,
      scale,
      runStartSecond,
      startOffsetSimSeconds: 120,
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

    // 1,736,544,270 - 1,736,539,966 = 4,304 off-seconds.
    expect(changes).to.deep.equal([
      { state: "on", atSecond: runStartSecond, source: "outage-csv:2537367" },
      { state: "off", atSecond: runStartSecond + 120, source: "outage-csv:2537367", detail: { planned: true } },
      { state: "on", atSecond: runStartSecond + 120 + 4_304, source: "outage-csv:2537367", detail: { planned: true } },
    ]);
  });
});
