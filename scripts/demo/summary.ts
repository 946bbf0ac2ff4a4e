import type { PoolTotals, SettlementHistory } from "./chain-state.ts";
import { fit, formatTokens } from "./format.ts";

/** Payout record of one wallet, from the pool's events and the token balance. */
export type WalletSummary = {
  label: string;
  deviceId: string;
  wallet: string;
  /** Off-seconds the pool settled for the device. */
  offSecondsSettled: number;
  owedWei: bigint;
  paidWei: bigint;
  deferredWei: bigint;
  /** The wallet's token balance at the end. */
  balanceWei: bigint;
  /** Amount the schedule owes for the off-seconds replayed before the demo stopped, computed off chain. */
  expectedWei: bigint;
};

export type DemoSummary = {
  wallets: WalletSummary[];
  batches: number;
  entries: number;
  gasUsed: bigint;
  pool: PoolTotals;
};

/** Builds the summary from the settlement history and the end balances. */
export function buildSummary(
  devices: readonly { label: string; deviceId: string; wallet: string }[],
  history: SettlementHistory,
  balances: readonly bigint[],
  expected: readonly bigint[],
  pool: PoolTotals,
): DemoSummary {
  const wallets = devices.map((device, index): WalletSummary => {
    const settled = history.perDevice.get(device.deviceId) ?? { offSeconds: 0, owedWei: 0n, paidWei: 0n, deferredWei: 0n };
    return {
      label: device.label,
      deviceId: device.deviceId,
      wallet: device.wallet,
      offSecondsSettled: settled.offSeconds,
      owedWei: settled.owedWei,
      paidWei: settled.paidWei,
      deferredWei: settled.deferredWei,
      balanceWei: balances[index] ?? 0n,
      expectedWei: expected[index] ?? 0n,
    };
  });
  return { wallets, batches: history.batches, entries: history.entries, gasUsed: history.gasUsed, pool };
}

/** Renders the summary as a table of wallets and the pool's totals. */
export function renderSummary(summary: DemoSummary): string {
  const lines = ["Summary", ""];
  lines.push(`${fit("device", 16)} ${fit("wallet", 42)} ${"outage s".padStart(9)} ${"owed".padStart(10)} ${"paid".padStart(10)} ${"deferred".padStart(10)} ${"expected".padStart(10)}`);
  for (const wallet of summary.wallets) {
    lines.push(
      `${fit(wallet.label, 16)} ${fit(wallet.wallet, 42)} ${String(wallet.offSecondsSettled).padStart(9)} ${formatTokens(wallet.owedWei).padStart(10)} ${formatTokens(wallet.paidWei).padStart(10)} ${formatTokens(wallet.deferredWei).padStart(10)} ${formatTokens(wallet.expectedWei).padStart(10)}`,
    );
  }
  lines.push("");
  lines.push("Amounts in eINR. owed, paid and deferred come from the pool's OutageSettled events. expected is what the schedule");
  lines.push("owes for the off-seconds replayed until the demo stopped, computed without the chain. owed can trail it by the");
  lines.push("seconds that were not yet in a settled batch when the demo stopped.");
  lines.push(`Batches ${summary.batches}, entries ${summary.entries}, gas used by settle transactions ${summary.gasUsed.toLocaleString("en-US")}`);
  lines.push(`Pool: funded ${formatTokens(summary.pool.totalFundedWei)}, paid ${formatTokens(summary.pool.totalPaidWei)}, owed (debt) ${formatTokens(summary.pool.totalDebtWei)}, balance ${formatTokens(summary.pool.balanceWei)}`);
  return lines.join("\n");
}

/** Returns the summary and the deployment it ran on as JSON text, with amounts as decimal strings of token base units. */
export function summaryToJson(summary: DemoSummary, deployment: { deploymentId: string; deploymentDir: string; pool: string; registry: string; token: string }): string {
  const record = { deployment, summary };
  return JSON.stringify(record, (_key, value: unknown) => (typeof value === "bigint" ? value.toString() : value), 2) + "\n";
}
