import { expect } from "chai";
import { ClockConfigError, SimClock, clockFromEnv, clockToEnv } from "../../protocol/clock.ts";

describe("simulated clock", () => {
  it("no variables is the wall clock", () => {
    expect(clockFromEnv({})).to.deep.equal({ realAnchorMs: 0, simAnchorSeconds: 0, scale: 1 });
    const clock = new SimClock(clockFromEnv({}), () => 1_700_000_000_500);
    expect(clock.nowSeconds()).to.equal(1_700_000_000);
  });

  it("scaled clock advances scale simulated seconds per real second", () => {
    const definition = { realAnchorMs: 1_000_000, simAnchorSeconds: 1_800_000_000, scale: 60 };
    let real = 1_000_000;
    const clock = new SimClock(definition, () => real);
    expect(clock.nowSeconds()).to.equal(1_800_000_000);
    real += 2_500;
    expect(clock.nowSeconds()).to.equal(1_800_000_150);
    expect(clock.realMsUntil(1_800_000_210)).to.equal(1_000);
    expect(clock.simSecondsToRealMs(3_600)).to.equal(60_000);
  });

  it("round-trips through the environment", () => {
    const definition = { realAnchorMs: 123_456, simAnchorSeconds: 1_800_000_000, scale: 120 };
    expect(clockFromEnv(clockToEnv(definition))).to.deep.equal(definition);
  });

  it("rejects bad values naming the variable", () => {
    expect(() => clockFromEnv({ CLOCK_SCALE: "fast" })).to.throw(ClockConfigError, "CLOCK_SCALE=fast");
    expect(() => clockFromEnv({ CLOCK_SCALE: "0", CLOCK_REAL_ANCHOR_MS: "1", CLOCK_SIM_ANCHOR_S: "1" })).to.throw(ClockConfigError, "positive");
    expect(() => clockFromEnv({ CLOCK_REAL_ANCHOR_MS: "1" })).to.throw(ClockConfigError, "both");
    expect(() => clockFromEnv({ CLOCK_SCALE: "10" })).to.throw(ClockConfigError, "CLOCK_REAL_ANCHOR_MS");
  });
});
