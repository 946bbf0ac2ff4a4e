import { expect } from "chai";
import { DEFAULT_MIN_OFF_SIM_SECONDS, DebouncedSource, confirmOutages } from "../../../device-agent/sources/debounce.ts";
import { PowerSourceError } from "../../../device-agent/sources/power-source.ts";
import type { OutageInterval, PowerChange, PowerSource, PowerState } from "../../../device-agent/sources/power-source.ts";

const T = 1_900_000_000;

/** A source the test drives by hand, standing in for a detector such as sysfs or NUT. */
class ManualSource implements PowerSource {
  readonly name = "manual";
  state: PowerState | "unknown" = "unknown";
  #onChange: (change: PowerChange) => void = () => {};

  currentState(): PowerState | "unknown" {
    return this.state;
  }

  async start(onChange: (change: PowerChange) => void): Promise<void> {
    this.#onChange = onChange;
  }

  async stop(): Promise<void> {}

  emit(state: PowerState, atSecond: number, planned?: boolean): void {
    this.state = state;
    this.#onChange(planned === undefined ? { state, atSecond, source: this.name } : { state, atSecond, source: this.name, detail: { planned } });
  }
}

/** A clock at second `startSecond` that runs `scale` simulated seconds per real second. */
function scaledClock(startSecond: number, scale: number): { now: () => number; scale: number } {
  const realStartMs = Date.now();
  return { now: () => startSecond * 1000 + (Date.now() - realStartMs) * scale, scale };
}

async function startDebounced(inner: ManualSource, clock: { now: () => number; scale: number }, minOffSimSeconds?: number): Promise<{ source: DebouncedSource; changes: PowerChange[]; next: () => Promise<PowerChange> }> {
  const source = new DebouncedSource(inner, minOffSimSeconds === undefined ? clock : { ...clock, minOffSimSeconds });
  const changes: PowerChange[] = [];
  const waiting: ((change: PowerChange) => void)[] = [];
  await source.start(
    (change) => {
      changes.push(change);
      waiting.shift()?.(change);
    },
    (error) => {
      throw error;
    },
  );
  const next = (): Promise<PowerChange> => new Promise((resolve) => waiting.push(resolve));
  return { source, changes, next };
}

function interval(startSecond: number, endSecond: number, open = false): OutageInterval {
  return { startSecond, endSecond, open, planned: false };
}

describe("debounce", () => {
  it("default minimum off time is 5 seconds", () => {
    expect(DEFAULT_MIN_OFF_SIM_SECONDS).to.equal(5);
  });

  it("flap below the threshold is dropped", async () => {
    const inner = new ManualSource();
    // The clock stands still, so no confirmation timer can come due.
    const { source, changes } = await startDebounced(inner, { now: () => T * 1000, scale: 1 });
    inner.emit("on", T);
    inner.emit("off", T + 10);
    inner.emit("on", T + 14);
    await source.stop();

    expect(changes).to.deep.equal([{ state: "on", atSecond: T, source: "manual" }]);
    expect(source.currentState()).to.equal("on");
  });

  it("outage at the threshold is kept", async () => {
    const inner = new ManualSource();
    const { source, changes } = await startDebounced(inner, { now: () => T * 1000, scale: 1 });
    inner.emit("on", T);
    inner.emit("off", T + 10, true);
    inner.emit("on", T + 15, true);
    await source.stop();

    expect(changes).to.deep.equal([
      { state: "on", atSecond: T, source: "manual" },
      { state: "off", atSecond: T + 10, source: "manual", detail: { planned: true } },
      { state: "on", atSecond: T + 15, source: "manual", detail: { planned: true } },
    ]);
  });

  it("confirmed outage is back-dated to its start", async () => {
    const inner = new ManualSource();
    const { source, changes, next } = await startDebounced(inner, scaledClock(T, 1_000));
    inner.emit("on", T);
    inner.emit("off", T);
    const confirmed = await next();
    expect(confirmed).to.deep.equal({ state: "off", atSecond: T, source: "manual" });
    expect(source.currentState()).to.equal("off");

    inner.emit("on", T + 3_601);
    await source.stop();
    const [, off, on] = changes;
    expect(on).to.deep.equal({ state: "on", atSecond: T + 3_601, source: "manual" });
    expect((on?.atSecond ?? 0) - (off?.atSecond ?? 0)).to.equal(3_601);
  });

  it("repeated off reports keep the first start", async () => {
    const inner = new ManualSource();
    const { source, changes } = await startDebounced(inner, { now: () => T * 1000, scale: 1 });
    inner.emit("off", T + 1);
    inner.emit("off", T + 3);
    inner.emit("on", T + 9);
    await source.stop();
    expect(changes).to.deep.equal([
      { state: "off", atSecond: T + 1, source: "manual" },
      { state: "on", atSecond: T + 9, source: "manual" },
    ]);
  });

  it("configurable threshold", async () => {
    const inner = new ManualSource();
    const { source, changes } = await startDebounced(inner, { now: () => T * 1000, scale: 1 }, 60);
    inner.emit("on", T);
    inner.emit("off", T + 100);
    inner.emit("on", T + 159);
    inner.emit("off", T + 200);
    inner.emit("on", T + 260);
    await source.stop();
    expect(changes.map((change) => [change.state, change.atSecond])).to.deep.equal([
      ["on", T],
      ["off", T + 200],
      ["on", T + 260],
    ]);
  });

  it("no confirmation while the source is unknown", async () => {
    const inner = new ManualSource();
    const { source, changes, next } = await startDebounced(inner, scaledClock(T, 1_000));
    inner.emit("on", T);
    inner.emit("off", T);
    inner.state = "unknown";
    expect(source.currentState()).to.equal("unknown");

    // Let the confirmation come due (5 simulated seconds are 5 real ms) while unknown.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(changes).to.have.length(1);

    // The source sees the mains again, still off, without a new report.
    const confirmed = next();
    inner.state = "off";
    expect(await confirmed).to.deep.equal({ state: "off", atSecond: T, source: "manual" });
    await source.stop();
    expect(changes).to.have.length(2);
  });

  it("confirmOutages filters by length", () => {
    const outages = [interval(100, 101), interval(200, 204), interval(300, 305), interval(400, 4_001), interval(5_000, 5_002, true)];
    expect(confirmOutages(outages)).to.deep.equal([interval(300, 305), interval(400, 4_001), interval(5_000, 5_002, true)]);
    expect(confirmOutages(outages, 0)).to.deep.equal(outages);
    expect(confirmOutages(outages, 3_601)).to.deep.equal([interval(400, 4_001), interval(5_000, 5_002, true)]);
  });

  it("invalid threshold is rejected", () => {
    for (const minOffSimSeconds of [-1, 1.5, Number.NaN]) {
      let caught: unknown;
      try {
        confirmOutages([], minOffSimSeconds);
      } catch (error) {
        caught = error;
      }
      expect(caught).to.be.instanceOf(PowerSourceError);
      expect(caught instanceof PowerSourceError ? caught.code : null).to.equal("INVALID_CONFIG");
    }
    expect(() => new DebouncedSource(new ManualSource(), { now: () => 0, scale: 0 })).to.throw(PowerSourceError, "scale");
  });
});
