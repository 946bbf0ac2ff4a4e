import { expect } from "chai";
import { DEFAULT_SCHEDULE, amountForOffSeconds, amountOwedForRuns, ratePerHourAt } from "../../protocol/compensation.ts";

describe("compensation schedule", () => {
  it("pays nothing for the first hour", () => {
    expect(amountForOffSeconds(DEFAULT_SCHEDULE, 0)).to.equal(0n);
    expect(amountForOffSeconds(DEFAULT_SCHEDULE, 3_600)).to.equal(0n);
  });

  it("3,601 off-seconds pay one second at 50 rupees per hour", () => {
    expect(amountForOffSeconds(DEFAULT_SCHEDULE, 3_601)).to.equal(13_888_888_888_888_888n);
  });

  it("tier boundaries at 10,800 off-seconds", () => {
    expect(amountForOffSeconds(DEFAULT_SCHEDULE, 10_800)).to.equal(100n * 10n ** 18n);
    expect(amountForOffSeconds(DEFAULT_SCHEDULE, 10_801)).to.equal(100n * 10n ** 18n + 27_777_777_777_777_777n);
    expect(ratePerHourAt(DEFAULT_SCHEDULE, 3_599)).to.equal(0n);
    expect(ratePerHourAt(DEFAULT_SCHEDULE, 3_600)).to.equal(50n * 10n ** 18n);
    expect(ratePerHourAt(DEFAULT_SCHEDULE, 10_800)).to.equal(100n * 10n ** 18n);
  });

  it("a gap of 299 seconds continues the outage, 300 starts a new one", () => {
    const continued = amountOwedForRuns(DEFAULT_SCHEDULE, [
      { fromSecond: 0, toSecond: 3_599 },
      { fromSecond: 3_600 + 299, toSecond: 3_600 + 299 },
    ]);
    expect(continued.perOutage).to.deep.equal([13_888_888_888_888_888n]);
    const separate = amountOwedForRuns(DEFAULT_SCHEDULE, [
      { fromSecond: 0, toSecond: 3_599 },
      { fromSecond: 3_600 + 300, toSecond: 3_600 + 300 },
    ]);
    expect(separate.perOutage).to.deep.equal([0n, 0n]);
  });

  it("rejects overlapping runs", () => {
    expect(() => amountOwedForRuns(DEFAULT_SCHEDULE, [{ fromSecond: 0, toSecond: 10 }, { fromSecond: 10, toSecond: 20 }])).to.throw(RangeError);
  });
});
