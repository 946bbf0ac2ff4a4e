import type { ChainSnapshot, PoolTotals } from "./chain-state.ts";
import { fit, formatDuration, formatTokens, progressBar } from "./format.ts";
import type { OutageProgress } from "./outage-progress.ts";

/** Contents of one frame of the live view. */
export type ViewModel = {
  runId: string;
  runDir: string;
  chainLabel: string;
  timeScale: number;
  elapsedRealSeconds: number;
  /** Per replayed group: its title, the data's local time now and its notes. */
  groups: { title: string; localTime: string; notes: string[] }[];
  progressFraction: number;
  devices: { label: string; feederName: string; wallet: string; progress: OutageProgress }[];
  snapshot: ChainSnapshot | undefined;
  status: string;
};

const TOKEN_UNIT = 10n ** 18n;

/** Batches over which PayoutPool.runway() measures its payout rate (RECENT_BATCHES in contracts/PayoutPool.sol). */
const RUNWAY_BATCHES = 8;

/** Describes the pool's runway and the payout rate it assumes. */
function runwayText(pool: PoolTotals): string {
  if (pool.runwaySeconds === null) {
    return "runway unbounded: fewer than 2 batches settled, or the last ones owed nothing, so the measured payout rate is 0";
  }
  const batches = Math.min(pool.lastBatchSequence, RUNWAY_BATCHES);
  return `runway ${formatDuration(Number(pool.runwaySeconds))} at ${formatTokens(pool.owedPerHourWei)} eINR/h, the payout rate measured over the last ${batches} batches`;
}

/** Renders the live view as lines of text, one device per row. */
export function renderView(model: ViewModel): string {
  const lines: string[] = [];
  lines.push(`Central Electric demo   run ${model.runId}   ${model.chainLabel}   x${model.timeScale} simulated time   ${formatDuration(model.elapsedRealSeconds)} real`);
  for (const group of model.groups) {
    lines.push(`Replaying ${group.title}`);
    lines.push(`  time in the data: ${group.localTime}`);
  }
  lines.push(`Replay ${progressBar(model.progressFraction, 40)} ${Math.floor(model.progressFraction * 100)}%   ${model.status}`);
  lines.push("");
  lines.push(`${fit("device", 16)} ${fit("feeder", 34)} ${fit("wallet", 13)} ${fit("power", 12)} ${"rate/h".padStart(7)} ${"earned".padStart(10)} ${"wallet eINR".padStart(12)}`);

  for (const [index, device] of model.devices.entries()) {
    const chain = model.snapshot?.devices[index];
    const power = device.progress.off ? `OFF ${formatDuration(device.progress.offSecondsInOutage)}` : "on";
    const rate = device.progress.off ? (device.progress.ratePerHour / TOKEN_UNIT).toString() : "-";
    const wallet = `${device.wallet.slice(0, 6)}…${device.wallet.slice(-4)}`;
    lines.push(
      `${fit(device.label, 16)} ${fit(device.feederName, 34)} ${fit(wallet, 13)} ${fit(power, 12)} ${rate.padStart(7)} ${formatTokens(device.progress.owedWei).padStart(10)} ${(chain === undefined ? "-" : formatTokens(chain.balanceWei)).padStart(12)}`,
    );
  }

  lines.push("");
  const pool = model.snapshot?.pool;
  if (pool === undefined) {
    lines.push("Pool: waiting for the chain");
  } else {
    const scheduleRatePerHourWei = model.devices.reduce((sum, device) => sum + (device.progress.off ? device.progress.ratePerHour : 0n), 0n);
    lines.push(`Pool   funded ${formatTokens(pool.totalFundedWei)}   paid ${formatTokens(pool.totalPaidWei)}   owed (debt) ${formatTokens(pool.totalDebtWei)}   balance ${formatTokens(pool.balanceWei)} eINR   batches settled ${pool.lastBatchSequence}`);
    lines.push(`       ${runwayText(pool)}`);
    lines.push(`       schedule rate of the devices off now: ${formatTokens(scheduleRatePerHourWei)} eINR/h`);
  }
  lines.push("");
  lines.push("earned: what the schedule owes for the off-seconds so far (first hour 0, then 50 eINR/h, from the 4th hour 100 eINR/h);");
  lines.push("wallet: the payout wallet's token balance on chain, paid batch by batch by the oracle node.");
  lines.push(`runway: simulated time the balance that is not owed lasts at the pool's payout rate, which is the amount owed by its last`);
  lines.push(`batches (up to ${RUNWAY_BATCHES}) divided by the chain time they span. It differs from the schedule rate while outages start, end`);
  lines.push("or change tier, and while batches cover uneven stretches of seconds.");
  for (const group of model.groups) {
    for (const note of group.notes) {
      lines.push(`  ${note}`);
    }
  }
  lines.push(`Logs in ${model.runDir}   Ctrl-C stops everything`);
  return lines.join("\n");
}
