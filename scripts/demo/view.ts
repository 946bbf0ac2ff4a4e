import type { ChainSnapshot } from "./chain-state.ts";
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
    const runway = pool.runwaySeconds === null ? "no payouts yet" : `${formatDuration(Number(pool.runwaySeconds))} at ${formatTokens(pool.owedPerHourWei)} eINR/h`;
    lines.push(`Pool   funded ${formatTokens(pool.totalFundedWei)}   paid ${formatTokens(pool.totalPaidWei)}   owed (debt) ${formatTokens(pool.totalDebtWei)}   balance ${formatTokens(pool.balanceWei)} eINR`);
    lines.push(`       runway ${runway}   batches settled ${pool.lastBatchSequence}`);
  }
  lines.push("");
  lines.push("earned: what the schedule owes for the off-seconds so far (first hour 0, then 50 eINR/h, from the 4th hour 100 eINR/h);");
  lines.push("wallet: the payout wallet's token balance on chain, paid batch by batch by the oracle node.");
  for (const group of model.groups) {
    for (const note of group.notes) {
      lines.push(`  ${note}`);
    }
  }
  lines.push(`Logs in ${model.runDir}   Ctrl-C stops everything`);
  return lines.join("\n");
}
