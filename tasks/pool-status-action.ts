import { MaxUint256, ZeroAddress } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { openChain, type ChainContext } from "./chain-context.ts";
import { runTaskBody, type TaskOutcome } from "./task-io.ts";
import { TOKEN_SYMBOL, formatTokenExact, formatUnixSecond } from "./value-format.ts";

export type StatusArguments = {
  debts: number;
  rpcUrl: string | undefined;
  deploymentId: string | undefined;
  pool: string | undefined;
};

function tokens(amountWei: bigint): string {
  return `${formatTokenExact(amountWei)} ${TOKEN_SYMBOL} (${amountWei} wei)`;
}

/** Formats a duration in seconds as days, hours and minutes: "12d 3h 5m". */
export function formatDuration(seconds: bigint): string {
  const days = seconds / 86_400n;
  const hours = (seconds % 86_400n) / 3_600n;
  const minutes = (seconds % 3_600n) / 60n;
  const parts = [days > 0n ? `${days}d` : "", days > 0n || hours > 0n ? `${hours}h` : "", `${minutes}m`].filter((part) => part !== "");
  return parts.join(" ");
}

async function describeSchedules(chain: ChainContext): Promise<string[]> {
  const lines: string[] = [];
  const count = await chain.pool.scheduleCount();
  for (let scheduleId = 0n; scheduleId < count; scheduleId += 1n) {
    const [effectiveFrom, tiers, mergeGapSeconds, dailyCap] = await chain.pool.schedule(scheduleId);
    const tierText = tiers.map((tier) => `from ${tier.startOffsetSeconds} s ${formatTokenExact(tier.ratePerHour)} ${TOKEN_SYMBOL}/h`).join(", ");
    const cap = dailyCap === 0n ? "no daily cap" : `daily cap ${tokens(dailyCap)}`;
    lines.push(`schedule ${scheduleId}: outages from ${formatUnixSecond(effectiveFrom)}: ${tierText}; merge gap ${mergeGapSeconds} s; ${cap}`);
  }
  return lines;
}

async function describeDebts(chain: ChainContext, maxListed: number): Promise<string[]> {
  const [firstOpen, next] = await chain.pool.debtQueue();
  if (firstOpen === next) {
    return ["debt queue:      empty"];
  }
  const lines = [`debt queue:      ${next - firstOpen} open, ids ${firstOpen} to ${next - 1n}`];
  for (let debtId = firstOpen; debtId < next && debtId < firstOpen + BigInt(maxListed); debtId += 1n) {
    const [device, remainingWei] = await chain.pool.debt(debtId);
    lines.push(`  debt ${debtId}: device ${device} owed ${tokens(remainingWei)}`);
  }
  if (next - firstOpen > BigInt(maxListed)) {
    lines.push(`  ... ${next - firstOpen - BigInt(maxListed)} more; pass a larger --debts to list them`);
  }
  return lines;
}

/** Prints the pool's balances and totals, runway, committee, schedules and debt queue. */
export default async function statusAction(args: StatusArguments, hre: HardhatRuntimeEnvironment): Promise<TaskOutcome> {
  return runTaskBody(hre, async (io) => {
    const chain = await openChain(hre, args);
    try {
      const { pool } = chain;
      const blockNumber = await chain.provider.getBlockNumber();
      const [balance, totalFunded, totalPaid, totalWithdrawn, totalDebt, runway, committee, lastBatch, paused, [feed, maxAgeSeconds]] = await Promise.all([
        pool.balance(),
        pool.totalFunded(),
        pool.totalPaid(),
        pool.totalWithdrawn(),
        pool.totalDebt(),
        pool.runway(),
        pool.committee(),
        pool.lastBatchSequence(),
        pool.paused(),
        pool.priceFeed(),
      ]);
      const [availableWei, owedPerHour, runwaySeconds] = runway;
      const runwayText = runwaySeconds === MaxUint256
        ? "unlimited at the current rate (no payout rate from the recent batches)"
        : `${formatDuration(runwaySeconds)} (${runwaySeconds} s) at ${tokens(owedPerHour)} per hour`;
      const lines = [
        `pool:            ${chain.addresses.pool} (${chain.source}, chain ${chain.chainId}, block ${blockNumber})`,
        `registry:        ${chain.addresses.registry}`,
        `token:           ${chain.addresses.token}`,
        `paused:          ${paused ? "yes" : "no"}`,
        `balance:         ${tokens(balance)}`,
        `total funded:    ${tokens(totalFunded)}`,
        `total paid:      ${tokens(totalPaid)}`,
        `total withdrawn: ${tokens(totalWithdrawn)}`,
        `total debt:      ${tokens(totalDebt)}`,
        `available:       ${tokens(availableWei)}`,
        `runway:          ${runwayText}`,
        `committee:       ${committee.threshold} of ${committee.signers.length} signatures, configuration ${committee.configCount}, digest ${committee.configDigest}`,
        ...committee.signers.map((signer) => `  signer ${signer}`),
        `last batch:      ${lastBatch}`,
        `price feed:      ${feed === ZeroAddress ? "none (amounts are in tokens)" : `${feed}, max age ${maxAgeSeconds} s`}`,
        ...(await describeSchedules(chain)),
        ...(await describeDebts(chain, args.debts)),
      ];
      io.out.write(`${lines.join("\n")}\n`);
    } finally {
      chain.close();
    }
  });
}
