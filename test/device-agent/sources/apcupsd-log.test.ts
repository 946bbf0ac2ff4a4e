import { expect } from "chai";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createApcupsdLogSource, loadApcupsdLog, parseApcupsdLine, parseApcupsdLog } from "../../../device-agent/sources/apcupsd-log.ts";
import { confirmOutages } from "../../../device-agent/sources/debounce.ts";
import { PowerSourceError } from "../../../device-agent/sources/power-source.ts";
import type { OutageInterval, PowerChange } from "../../../device-agent/sources/power-source.ts";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const realLogPath = path.resolve(repoRoot, "../shared/data/apcupsd-events-2024-07-31_08-01.log");
// Lines 3340-3351 of the real log: two self-tests, then a power failure with no end.
const endsMidOutagePath = path.resolve(repoRoot, "test/fixtures/apcupsd-ends-mid-outage.log");

/** Lines `first` to `last` (1-based, inclusive) of the real log. */
function realLines(first: number, last: number): string {
  return readFileSync(realLogPath, "utf8").split("\n").slice(first - 1, last).join("\n");
}

function offSeconds(outages: readonly OutageInterval[]): number {
  return outages.reduce((total, outage) => total + outage.endSecond - outage.startSecond, 0);
}

/** Clock that starts at `startSecond` and runs `scale` simulated seconds per real second. */
function scaledClock(startSecond: number, scale: number): { now: () => number; scale: number } {
  const realStartMs = Date.now();
  return { now: () => startSecond * 1000 + (Date.now() - realStartMs) * scale, scale };
}

describe("apcupsd log source", () => {
  it("line time honours its UTC offset", () => {
    expect(parseApcupsdLine("2024-07-31 14:10:11 +0100  Power failure.", 10)).to.deep.equal({ lineNumber: 10, second: 1_722_431_411, message: "Power failure." });
    expect(parseApcupsdLine("2024-07-31 15:10:11 +0200  Power failure.", 11).second).to.equal(1_722_431_411);
    expect(parseApcupsdLine("2024-07-31 09:10:11 -0400  Power failure.", 12).second).to.equal(1_722_431_411);
  });

  it("offset change inside the real log moves no event", () => {
    // Line 176 is the daemon exit at 15:45:09 +0100 and line 178 its restart at 16:45:50 +0200.
    const exit = parseApcupsdLine(realLines(176, 176), 176);
    const restart = parseApcupsdLine(realLines(178, 178), 178);
    expect(exit.message).to.equal("apcupsd exiting, signal 15");
    expect(restart.second - exit.second).to.equal(41);
  });

  it("real log gives every outage, self-tests excluded", () => {
    const outages = parseApcupsdLog(readFileSync(realLogPath, "utf8"));
    expect(outages).to.have.length(127);
    const lengths = new Map<number, number>();
    for (const outage of outages) {
      const seconds = outage.endSecond - outage.startSecond;
      lengths.set(seconds, (lengths.get(seconds) ?? 0) + 1);
    }
    expect(Object.fromEntries(lengths)).to.deep.equal({ 1: 122, 3: 1, 8: 1, 11: 2, 12: 1 });
    expect(outages.every((outage) => !outage.open && !outage.planned)).to.equal(true);
  });

  it("real log after debounce keeps four outages", async () => {
    const confirmed = confirmOutages(await loadApcupsdLog(realLogPath), 5);
    expect(confirmed).to.deep.equal([
      // 2024-07-31 14:10:11 +0100 Power failure, 14:10:19 Power is back.
      { startSecond: 1_722_431_411, endSecond: 1_722_431_419, open: false, planned: false },
      // 2024-07-31 14:17:24 +0100 Power failure, 14:17:35 Power is back.
      { startSecond: 1_722_431_844, endSecond: 1_722_431_855, open: false, planned: false },
      // 2024-08-01 16:01:20 +0200 Power failure, 16:01:32 Power is back.
      { startSecond: 1_722_520_880, endSecond: 1_722_520_892, open: false, planned: false },
      // 2024-08-01 16:47:27 +0200 Power failure, 16:47:38 Power is back.
      { startSecond: 1_722_523_647, endSecond: 1_722_523_658, open: false, planned: false },
    ]);
    expect(offSeconds(confirmed)).to.equal(42);
  });

  it("real outage with battery lines inside", () => {
    // Lines 9-25: startup, Power failure, Running on UPS batteries, Mains returned, Power is
    // back, then battery disconnect and reattach pairs and a daemon stop.
    const outages = parseApcupsdLog(realLines(9, 25));
    expect(outages).to.deep.equal([{ startSecond: 1_722_431_411, endSecond: 1_722_431_419, open: false, planned: false }]);
  });

  it("real self-test block makes no outage", () => {
    // Lines 178-483: a daemon start followed by hundreds of self-tests and battery events.
    const text = realLines(178, 483);
    expect(text).to.include("UPS Self Test switch to battery.");
    expect(text).to.include("Power is back. UPS running on mains.");
    expect(parseApcupsdLog(text)).to.deep.equal([]);
  });

  it("real sub-second flaps are one-second outages", () => {
    // Lines 92-96: Power failure 14:49:25, back 14:49:26, failure 14:49:27, back 14:49:30.
    expect(parseApcupsdLog(realLines(92, 96))).to.deep.equal([
      { startSecond: 1_722_433_765, endSecond: 1_722_433_766, open: false, planned: false },
      { startSecond: 1_722_433_767, endSecond: 1_722_433_770, open: false, planned: false },
    ]);
  });

  it("self-test battery lines start no outage", () => {
    const text = [
      "2024-08-02 10:00:00 +0200  UPS Self Test switch to battery.",
      "2024-08-02 10:00:02 +0200  Running on UPS batteries.",
      "2024-08-02 10:00:09 +0200  Mains returned. No longer on UPS batteries.",
      "2024-08-02 10:00:09 +0200  UPS Self Test completed: Battery OK",
      "2024-08-02 10:05:00 +0200  Running on UPS batteries.",
      "2024-08-02 10:05:30 +0200  Mains returned. No longer on UPS batteries.",
    ].join("\n");
    expect(parseApcupsdLog(text)).to.deep.equal([{ startSecond: 1_722_585_900, endSecond: 1_722_585_930, open: false, planned: false }]);
  });

  it("daemon exit ends a running outage", () => {
    const text = [
      "2024-08-02 10:00:00 +0200  Power failure.",
      "2024-08-02 10:00:40 +0200  apcupsd exiting, signal 15",
      "2024-08-02 10:00:40 +0200  apcupsd shutdown succeeded",
      "2024-08-02 10:02:00 +0200  Power is back. UPS running on mains.",
    ].join("\n");
    expect(parseApcupsdLog(text)).to.deep.equal([{ startSecond: 1_722_585_600, endSecond: 1_722_585_640, open: false, planned: false }]);
  });

  it("log ending mid-outage gives an open outage", async () => {
    const outages = await loadApcupsdLog(endsMidOutagePath);
    // Power failure at 2024-08-01 16:01:20 +0200, and the last line is at 16:01:26.
    expect(outages).to.deep.equal([{ startSecond: 1_722_520_880, endSecond: 1_722_520_886, open: true, planned: false }]);
    expect(confirmOutages(outages, 5)).to.deep.equal(outages);
  });

  it("invalid line is rejected with its number", () => {
    const text = "2024-07-31 14:10:11 +0100  Power failure.\n31/07/2024 14:10:19 Power is back.";
    let caught: unknown;
    try {
      parseApcupsdLog(text);
    } catch (error) {
      caught = error;
    }
    expect(caught).to.be.instanceOf(PowerSourceError);
    const error = caught instanceof PowerSourceError ? caught : null;
    expect(error?.code).to.equal("INVALID_LOG_LINE");
    expect(error?.details).to.deep.equal({ lineNumber: 2, line: "31/07/2024 14:10:19 Power is back." });
    expect(() => parseApcupsdLine("2024-02-30 10:00:00 +0100  Power failure.", 1)).to.throw(PowerSourceError, "invalid date");
  });

  it("replays the real log shifted to the run", async () => {
    const runStartSecond = 1_900_000_000;
    const source = await createApcupsdLogSource({ path: realLogPath, ...scaledClock(runStartSecond, 100_000), runStartSecond, startOffsetSimSeconds: 60 });
    const changes: PowerChange[] = [];
    await new Promise<void>((resolve, reject) => {
      void source.start((change) => {
        changes.push(change);
        if (changes.length === 9) {
          resolve();
        }
      }, reject);
    });
    await source.stop();

    const first = runStartSecond + 60;
    const shift = first - 1_722_431_411;
    expect(changes.map((change) => [change.state, change.atSecond])).to.deep.equal([
      ["on", runStartSecond],
      ["off", first],
      ["on", 1_722_431_419 + shift],
      ["off", 1_722_431_844 + shift],
      ["on", 1_722_431_855 + shift],
      ["off", 1_722_520_880 + shift],
      ["on", 1_722_520_892 + shift],
      ["off", 1_722_523_647 + shift],
      ["on", 1_722_523_658 + shift],
    ]);
    expect(changes.every((change) => change.source === "apcupsd-log")).to.equal(true);
    expect(source.currentState()).to.equal("on");
  });

  it("replay of a log ending mid-outage stays off", async () => {
    const runStartSecond = 1_900_000_000;
    const source = await createApcupsdLogSource({ path: endsMidOutagePath, ...scaledClock(runStartSecond, 1_000), runStartSecond, startOffsetSimSeconds: 30 });
    const changes: PowerChange[] = [];
    await new Promise<void>((resolve, reject) => {
      void source.start((change) => {
        changes.push(change);
        if (change.state === "off") {
          resolve();
        }
      }, reject);
    });
    await source.stop();

    expect(changes.map((change) => [change.state, change.atSecond])).to.deep.equal([
      ["on", runStartSecond],
      ["off", runStartSecond + 30],
    ]);
    expect(source.shiftedOutages()).to.deep.equal([{ startSecond: runStartSecond + 30, endSecond: runStartSecond + 36, open: true, planned: false }]);
    expect(source.currentState()).to.equal("off");
  });
});
