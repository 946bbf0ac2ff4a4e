import { expect } from "chai";
import { readFileSync } from "node:fs";
import path from "node:path";
import { parseApcupsdLog } from "../../device-agent/sources/apcupsd-log.ts";
import { outageIntervalOf, parseOutageEvents } from "../../device-agent/sources/outage-csv.ts";
import { DEFAULT_SCHEDULE, amountOwedForRuns } from "../../protocol/compensation.ts";
import { loadDataFile } from "../../scripts/demo/data-file.ts";
import type { ReplayGroup } from "../../scripts/demo/plan.ts";
import { runDemo, type DemoOutcome } from "../../scripts/demo/run.ts";
import { DEBOUNCE_SIM_SECONDS } from "../../scripts/demo/services.ts";
import type { WalletSummary } from "../../scripts/demo/summary.ts";
import { BCHYDRO_CSV, REPO_ROOT, offRunsOf, removeRun, tempRunDir, testDemoOptions } from "../helpers/e2e-demo.ts";

/**
 * Three overlapping BC Hydro events of 2025-01-01/02 (Nanaimo 5.10 h, Vancouver 3.49 h,
 * Courtenay 4.65 h): each reaches a paid tier, and together they replay in about 18,400
 * simulated seconds.
 */
const BCHYDRO_EVENTS = ["2532863", "2532865", "2532866"];
const BCHYDRO_DEVICES = 4;

const GRACE_FIXTURE = path.join(REPO_ROOT, "test", "fixtures", "e2e-grace-boundary.csv");
/** Events of the grace fixture and their off-seconds. */
const GRACE_EVENTS = { "9000001": 3_599, "9000002": 3_600, "9000003": 3_601 } as const;
const MERGE_GAP_299_LOG = path.join(REPO_ROOT, "test", "fixtures", "e2e-merge-gap-299.log");
const MERGE_GAP_300_LOG = path.join(REPO_ROOT, "test", "fixtures", "e2e-merge-gap-300.log");

/** Simulated seconds per real second: the BC Hydro slice replays in about 70 real seconds. */
const TIME_SCALE = 300;

/** 3,601 off-seconds: one second of the 50 eINR/hour tier, floor(50e18 / 3600). */
const ONE_PAID_SECOND_WEI = 13_888_888_888_888_888n;
/** 3,000 + 700 off-seconds merged into 3,700: 100 seconds of the 50 eINR/hour tier. */
const MERGED_3700_SECONDS_WEI = 1_388_888_888_888_888_888n;

/** Computes what one BC Hydro event owes a device from the CSV alone. */
function expectedForEvent(csvText: string, eventId: string): { wei: bigint; offSeconds: number } {
  const event = parseOutageEvents(csvText).find((candidate) => candidate.id === eventId);
  if (event === undefined) {
    throw new Error(`event ${eventId} is missing from the CSV`);
  }
  const interval = outageIntervalOf(event);
  return { wei: amountOwedForRuns(DEFAULT_SCHEDULE, offRunsOf([interval])).total, offSeconds: interval.endSecond - interval.startSecond };
}

/** Computes what an apcupsd log owes a device from the log alone. */
function expectedForLog(file: string): { wei: bigint; offSeconds: number } {
  const outages = parseApcupsdLog(readFileSync(file, "utf8"));
  return {
    wei: amountOwedForRuns(DEFAULT_SCHEDULE, offRunsOf(outages)).total,
    offSeconds: outages.reduce((sum, outage) => sum + outage.endSecond - outage.startSecond, 0),
  };
}

async function logGroup(file: string, label: string): Promise<ReplayGroup> {
  const group = await loadDataFile({ file, devices: 1, eventIds: [], debounceSimSeconds: DEBOUNCE_SIM_SECONDS });
  return { ...group, devices: group.devices.map((device) => ({ ...device, label })) };
}

describe("demo end to end", function () {
  let outcome: DemoOutcome | undefined;
  let runDir: string;
  let output = "";

  before(async function () {
    runDir = tempRunDir("e2e");
    const groups = [
      await loadDataFile({ file: BCHYDRO_CSV, devices: BCHYDRO_DEVICES, eventIds: BCHYDRO_EVENTS, debounceSimSeconds: DEBOUNCE_SIM_SECONDS }),
      await loadDataFile({ file: GRACE_FIXTURE, devices: 3, eventIds: Object.keys(GRACE_EVENTS), debounceSimSeconds: DEBOUNCE_SIM_SECONDS }),
      await logGroup(MERGE_GAP_299_LOG, "gap-299"),
      await logGroup(MERGE_GAP_300_LOG, "gap-300"),
    ];
    outcome = await runDemo({
      options: testDemoOptions(runDir, TIME_SCALE),
      groups,
      write: (text) => {
        output += text;
      },
      interactive: false,
      signal: new AbortController().signal,
    });
  });

  after(function () {
    removeRun(runDir, outcome?.deployment?.deploymentDir);
  });

  function walletOf(label: string): WalletSummary {
    const wallet = outcome?.summary?.wallets.find((candidate) => candidate.label === label);
    if (wallet === undefined) {
      throw new Error(`no wallet for device ${label} in the summary; demo output:\n${output}`);
    }
    return wallet;
  }

  function expectPaidExactly(label: string, expected: { wei: bigint; offSeconds: number }): void {
    const wallet = walletOf(label);
    expect(wallet.balanceWei, `${label} wallet balance`).to.equal(expected.wei);
    expect(wallet.paidWei, `${label} paid`).to.equal(expected.wei);
    expect(wallet.owedWei, `${label} owed`).to.equal(expected.wei);
    expect(wallet.deferredWei, `${label} deferred`).to.equal(0n);
    expect(wallet.offSecondsSettled, `${label} off-seconds settled`).to.equal(expected.offSeconds);
  }

  it("runs until every second is settled", function () {
    expect(outcome?.exitCode, output).to.equal(0);
    expect(outcome?.reason).to.equal("the replay is over and every outage second is settled");
    expect(outcome?.devices.length).to.equal(BCHYDRO_DEVICES + 3 + 2);
  });

  it("pays BC Hydro devices to the wei", function () {
    const csvText = readFileSync(BCHYDRO_CSV, "utf8");
    const bchydroDevices = outcome?.devices.filter((device) => device.source.kind === "outage-csv" && BCHYDRO_EVENTS.includes(device.source.eventId)) ?? [];
    expect(bchydroDevices.map((device) => device.label)).to.deep.equal(["2532863-1", "2532863-2", "2532865-1", "2532866-1"]);
    for (const device of bchydroDevices) {
      const eventId = device.label.split("-")[0] ?? "";
      const expected = expectedForEvent(csvText, eventId);
      expect(expected.wei > 50n * 10n ** 18n, `${eventId} reaches a paid tier`).to.equal(true);
      expectPaidExactly(device.label, expected);
    }
  });

  it("pays the 5.1-hour event at 100 eINR/hour", function () {
    // 18,363 off-seconds: 0 for hour 1, 100 eINR for hours 2-3, then 7,563 s at 100 eINR/hour.
    expect(walletOf("2532863-1").offSecondsSettled).to.equal(18_363);
    expect(walletOf("2532863-1").balanceWei).to.equal(310_083_333_333_333_333_333n);
  });

  it("pays nothing up to 3,600 off-seconds", function () {
    const csvText = readFileSync(GRACE_FIXTURE, "utf8");
    expectPaidExactly("9000001-1", expectedForEvent(csvText, "9000001"));
    expectPaidExactly("9000002-1", expectedForEvent(csvText, "9000002"));
    expect(walletOf("9000001-1").offSecondsSettled).to.equal(GRACE_EVENTS["9000001"]);
    expect(walletOf("9000002-1").offSecondsSettled).to.equal(GRACE_EVENTS["9000002"]);
    expect(walletOf("9000001-1").balanceWei).to.equal(0n);
    expect(walletOf("9000002-1").balanceWei).to.equal(0n);
  });

  it("pays one second at 3,601 off-seconds", function () {
    expectPaidExactly("9000003-1", expectedForEvent(readFileSync(GRACE_FIXTURE, "utf8"), "9000003"));
    expect(walletOf("9000003-1").offSecondsSettled).to.equal(GRACE_EVENTS["9000003"]);
    expect(walletOf("9000003-1").balanceWei).to.equal(ONE_PAID_SECOND_WEI);
  });

  it("merges runs 299 seconds apart", function () {
    expectPaidExactly("gap-299", expectedForLog(MERGE_GAP_299_LOG));
    expect(walletOf("gap-299").balanceWei).to.equal(MERGED_3700_SECONDS_WEI);
  });

  it("separates runs 300 seconds apart", function () {
    expectPaidExactly("gap-300", expectedForLog(MERGE_GAP_300_LOG));
    expect(walletOf("gap-300").offSecondsSettled).to.equal(3_700);
    expect(walletOf("gap-300").balanceWei).to.equal(0n);
  });

  it("conserves the pool's funds", function () {
    const pool = outcome?.summary?.pool;
    const paid = outcome?.summary?.wallets.reduce((sum, wallet) => sum + wallet.paidWei, 0n);
    expect(pool?.totalPaidWei).to.equal(paid);
    expect(pool?.totalDebtWei).to.equal(0n);
    expect(pool?.totalFundedWei).to.equal((pool?.balanceWei ?? 0n) + (paid ?? 0n));
  });
});
