import { expect } from "chai";
import { PowerSourceError } from "../../../device-agent/sources/power-source.ts";
import type { OutageInterval, PowerChange } from "../../../device-agent/sources/power-source.ts";
import { DEFAULT_START_OFFSET_SIM_SECONDS, IntervalSource, ReplaySource, mergeOutages, shiftOutages } from "../../../device-agent/sources/replay.ts";

const T = 1_900_000_000;

function outage(startSecond: number, endSecond: number, flags: { open?: boolean; planned?: boolean } = {}): OutageInterval {
  return { startSecond, endSecond, open: flags.open ?? false, planned: flags.planned ?? false };
}

function scaledClock(startSecond: number, scale: number): { now: () => number; scale: number } {
  const realStartMs = Date.now();
  return { now: () => startSecond * 1000 + (Date.now() - realStartMs) * scale, scale };
}

/** Starts `source` and collects changes until `count` have arrived, then stops it. */
async function collect(source: ReplaySource | IntervalSource, count: number): Promise<[string, number][]> {
  const changes: PowerChange[] = [];
  await new Promise<void>((resolve, reject) => {
    void source.start((change) => {
      changes.push(change);
      if (changes.length === count) {
        resolve();
      }
    }, reject);
  });
  await source.stop();
  return changes.map((change) => [change.state, change.atSecond]);
}

describe("replay", () => {
  it("mergeOutages sorts and joins touching outages", () => {
    expect(mergeOutages([outage(50, 60), outage(10, 20, { planned: true }), outage(20, 30, { planned: true }), outage(55, 70, { planned: true })])).to.deep.equal([
      outage(10, 30, { planned: true }),
      outage(50, 70),
    ]);
    expect(mergeOutages([outage(10, 20, { open: true }), outage(15, 40)])).to.deep.equal([outage(10, 40)]);
    expect(mergeOutages([outage(10, 50), outage(15, 40, { open: true })])).to.deep.equal([outage(10, 50)]);
    expect(mergeOutages([outage(10, 50), outage(15, 60, { open: true })])).to.deep.equal([outage(10, 60, { open: true })]);
    expect(mergeOutages([outage(10, 20, { open: true }), outage(30, 40)])).to.deep.equal([outage(10, 20, { open: true }), outage(30, 40)]);
  });

  it("shiftOutages keeps lengths and gaps", () => {
    const shifted = shiftOutages([outage(1_000, 1_010), outage(5_000, 8_601, { planned: true }), outage(9_000, 9_005, { open: true })], T);
    expect(shifted).to.deep.equal([outage(T, T + 10), outage(T + 4_000, T + 7_601, { planned: true }), outage(T + 8_000, T + 8_005, { open: true })]);
    expect(shiftOutages([], T)).to.deep.equal([]);
  });

  it("replays outages after the start offset", async () => {
    const source = new ReplaySource({
      name: "replay",
      outages: [outage(1_000, 1_010), outage(1_100, 4_701)],
      ...scaledClock(T, 10_000),
      runStartSecond: T,
      startOffsetSimSeconds: 300,
    });
    expect(source.shiftedOutages()).to.equal(null);
    expect(await collect(source, 5)).to.deep.equal([
      ["on", T],
      ["off", T + 300],
      ["on", T + 310],
      ["off", T + 400],
      ["on", T + 4_001],
    ]);
    expect(source.shiftedOutages()).to.deep.equal([outage(T + 300, T + 310), outage(T + 400, T + 4_001)]);
  });

  it("default start offset is 60 seconds", async () => {
    expect(DEFAULT_START_OFFSET_SIM_SECONDS).to.equal(60);
    const source = new ReplaySource({ name: "replay", outages: [outage(1_000, 1_001)], ...scaledClock(T, 1_000), runStartSecond: T });
    expect(await collect(source, 3)).to.deep.equal([
      ["on", T],
      ["off", T + 60],
      ["on", T + 61],
    ]);
  });

  it("late timer still reports exact seconds", async () => {
    // The clock is already an hour past the run start, so every boundary is due at once.
    const source = new ReplaySource({ name: "replay", outages: [outage(0, 5), outage(100, 200)], now: () => (T + 3_600) * 1000, scale: 1, runStartSecond: T, startOffsetSimSeconds: 10 });
    expect(await collect(source, 5)).to.deep.equal([
      ["on", T],
      ["off", T + 10],
      ["on", T + 15],
      ["off", T + 110],
      ["on", T + 210],
    ]);
  });

  it("interval source starting mid-outage reports from its start", async () => {
    const source = new IntervalSource({
      name: "intervals",
      ...scaledClock(T, 10_000),
      runStartSecond: T,
      outagesFrom: () => [outage(T - 500, T - 100), outage(T - 50, T + 20), outage(T + 20, T + 30, { planned: true }), outage(T + 40, T + 41)],
    });
    // The outage ending at T + 20 and the one starting at T + 20 make one outage.
    expect(await collect(source, 4)).to.deep.equal([
      ["off", T],
      ["on", T + 30],
      ["off", T + 40],
      ["on", T + 41],
    ]);
  });

  it("invalid outages and offsets are rejected", () => {
    const clock = { now: () => T * 1000, scale: 1 };
    const errorOf = (run: () => unknown): PowerSourceError | null => {
      try {
        run();
      } catch (error) {
        return error instanceof PowerSourceError ? error : null;
      }
      return null;
    };
    const empty = errorOf(() => new ReplaySource({ name: "replay", outages: [outage(10, 10)], ...clock }));
    expect(empty?.code).to.equal("INVALID_CONFIG");
    expect(empty?.details).to.deep.equal({ source: "replay", startSecond: 10, endSecond: 10 });
    expect(errorOf(() => new ReplaySource({ name: "replay", outages: [], ...clock, startOffsetSimSeconds: -1 }))?.details).to.deep.equal({ source: "replay", startOffsetSimSeconds: -1 });
    expect(errorOf(() => new ReplaySource({ name: "replay", outages: [], now: clock.now, scale: -2 }))?.details).to.deep.equal({ source: "replay", scale: -2 });
  });
});
