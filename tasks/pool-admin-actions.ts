import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { openBoardChain } from "./chain-context.ts";
import { sendBoardTransaction } from "./board-transaction.ts";
import { TaskUserError, runTaskBody, type TaskOutcome } from "./task-io.ts";
import { parseOptionalAddress, parsePositiveTokenAmount, parseTiers, parseTokenAmount, parseUnsignedInteger } from "./task-input.ts";
import { TOKEN_SYMBOL, formatTokenExact, formatUnixSecond } from "./value-format.ts";

/** Options every board task takes. */
export type BoardTaskArguments = {
  from: string | undefined;
  deploymentId: string | undefined;
  pool: string | undefined;
};

export type FundArguments = BoardTaskArguments & { amount: string | undefined };
export type WithdrawArguments = BoardTaskArguments & { amount: string | undefined; to: string | undefined };
export type ScheduleArguments = BoardTaskArguments & { tiers: string | undefined; mergeGapSeconds: string | undefined; dailyCap: string | undefined };
export type PayDebtsArguments = BoardTaskArguments & { maxCount: string | undefined };

/** Most debts one pay-debts transaction may process, so it stays well inside a block's gas limit. */
export const MAX_DEBTS_PER_TRANSACTION = 200n;
const MAX_UINT32 = 2n ** 32n - 1n;
const MAX_UINT128 = 2n ** 128n - 1n;

function tokens(amountWei: bigint): string {
  return `${formatTokenExact(amountWei)} ${TOKEN_SYMBOL} (${amountWei} wei)`;
}

/** Moves tokens from the board account into the pool, approving the pool first when its allowance is short. */
export async function fundAction(args: FundArguments, hre: HardhatRuntimeEnvironment): Promise<TaskOutcome> {
  return runTaskBody(hre, async (io) => {
    const amount = parsePositiveTokenAmount("amount", args.amount);
    const chain = await openBoardChain(hre, args);
    const senderBalance = await chain.token.balanceOf(chain.signerAddress);
    if (senderBalance < amount) {
      throw new TaskUserError(
        `--amount ${tokens(amount)} is more than the balance of account ${chain.signerAddress}, ${tokens(senderBalance)}: transfer or mint tokens to it first, or fund less`,
      );
    }
    const allowance = await chain.token.allowance(chain.signerAddress, chain.addresses.pool);
    if (allowance < amount) {
      await sendBoardTransaction(chain, io, "approve", () => chain.token.approve(chain.addresses.pool, amount));
    }
    await sendBoardTransaction(chain, io, "fund", () => chain.pool.fund(amount));
    io.out.write(`funded ${tokens(amount)}; pool balance ${tokens(await chain.pool.balance())}\n`);
  });
}

/** Withdraws from the part of the pool's balance that is not owed. */
export async function withdrawAction(args: WithdrawArguments, hre: HardhatRuntimeEnvironment): Promise<TaskOutcome> {
  return runTaskBody(hre, async (io) => {
    const amount = parsePositiveTokenAmount("amount", args.amount);
    const chain = await openBoardChain(hre, args);
    const to = parseOptionalAddress("to", args.to) ?? chain.signerAddress;
    await sendBoardTransaction(chain, io, "withdraw", () => chain.pool.withdraw(to, amount), {
      PoolWithdrawalExceedsAvailable: "withdraw at most the available amount (balance minus debts); see `npx hardhat pool status`",
    });
    io.out.write(`withdrew ${tokens(amount)} to ${to}; pool balance ${tokens(await chain.pool.balance())}\n`);
  });
}

/** Adds a compensation schedule for outages that start from the next block on. */
export async function scheduleAction(args: ScheduleArguments, hre: HardhatRuntimeEnvironment): Promise<TaskOutcome> {
  return runTaskBody(hre, async (io) => {
    const tiers = parseTiers("tiers", args.tiers);
    for (const [index, tier] of tiers.entries()) {
      if (tier.ratePerHour > MAX_UINT128) {
        throw new TaskUserError(`--tiers tier ${index} rate ${tier.ratePerHour} wei per hour does not fit in uint128: pass a smaller rate`);
      }
    }
    const mergeGapSeconds = parseUnsignedInteger("merge-gap-seconds", args.mergeGapSeconds ?? "300", MAX_UINT32);
    if (mergeGapSeconds === 0n) {
      throw new TaskUserError("--merge-gap-seconds is 0, which would start a new outage at every entry: pass a gap such as 300");
    }
    const dailyCap = parseTokenAmount("daily-cap", args.dailyCap ?? "0");
    if (dailyCap > MAX_UINT128) {
      throw new TaskUserError(`--daily-cap ${dailyCap} wei does not fit in uint128: pass a smaller cap, or 0 for none`);
    }
    const chain = await openBoardChain(hre, args);
    await sendBoardTransaction(chain, io, "set schedule", () => chain.pool.setSchedule(tiers, mergeGapSeconds, dailyCap));
    const scheduleId = (await chain.pool.scheduleCount()) - 1n;
    const [effectiveFrom] = await chain.pool.schedule(scheduleId);
    io.out.write(`schedule ${scheduleId} applies to outages starting at or after ${effectiveFrom} (${formatUnixSecond(effectiveFrom)})\n`);
  });
}

/** Pays up to --max-count open debts in the order they were recorded. */
export async function payDebtsAction(args: PayDebtsArguments, hre: HardhatRuntimeEnvironment): Promise<TaskOutcome> {
  return runTaskBody(hre, async (io) => {
    const maxCount = parseUnsignedInteger("max-count", args.maxCount ?? "10", MAX_DEBTS_PER_TRANSACTION);
    if (maxCount === 0n) {
      throw new TaskUserError(`--max-count is 0: pass how many debts to pay, from 1 to ${MAX_DEBTS_PER_TRANSACTION}`);
    }
    const chain = await openBoardChain(hre, args);
    const [firstOpen, next] = await chain.pool.debtQueue();
    if (firstOpen === next) {
      io.out.write("no open debts\n");
      return;
    }
    const debtBefore = await chain.pool.totalDebt();
    await sendBoardTransaction(chain, io, "pay debts", () => chain.pool.payDebts(maxCount));
    const [firstOpenAfter, nextAfter] = await chain.pool.debtQueue();
    const debtAfter = await chain.pool.totalDebt();
    io.out.write(`paid ${tokens(debtBefore - debtAfter)}; open debts left: ${nextAfter - firstOpenAfter}, owing ${tokens(debtAfter)}\n`);
  });
}

/** Stops the pool accepting batches. */
export async function pauseAction(args: BoardTaskArguments, hre: HardhatRuntimeEnvironment): Promise<TaskOutcome> {
  return runTaskBody(hre, async (io) => {
    const chain = await openBoardChain(hre, args);
    await sendBoardTransaction(chain, io, "pause", () => chain.pool.pause(), { EnforcedPause: "the pool is already paused" });
    io.out.write("pool paused: batches are rejected until `npx hardhat pool unpause`\n");
  });
}

/** Lets the pool accept batches again. */
export async function unpauseAction(args: BoardTaskArguments, hre: HardhatRuntimeEnvironment): Promise<TaskOutcome> {
  return runTaskBody(hre, async (io) => {
    const chain = await openBoardChain(hre, args);
    await sendBoardTransaction(chain, io, "unpause", () => chain.pool.unpause(), { ExpectedPause: "the pool is not paused" });
    io.out.write("pool unpaused: batches are accepted again\n");
  });
}
