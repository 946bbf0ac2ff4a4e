import type { ContractTransactionReceipt, ContractTransactionResponse } from "ethers";
import type { BoardChainContext } from "./chain-context.ts";
import { revertToUserError } from "./revert-decoding.ts";
import { TaskUserError, type TaskIo } from "./task-io.ts";

/** Fixes for custom errors that any board transaction can raise. */
const COMMON_FIXES: Readonly<Record<string, string>> = {
  AccessControlUnauthorizedAccount: "send it from the board account with --from, or grant that account the role first",
  EnforcedPause: "the pool is paused; run `npx hardhat pool unpause` first",
  ExpectedPause: "the pool is not paused",
};

/**
 * Sends one board transaction and waits for it to be mined. A revert becomes a TaskUserError
 * that names the custom error with its arguments, followed by the fix when `fixes` lists one.
 */
export async function sendBoardTransaction(
  chain: BoardChainContext,
  io: TaskIo,
  action: string,
  send: () => Promise<ContractTransactionResponse>,
  fixes: Readonly<Record<string, string>> = {},
): Promise<ContractTransactionReceipt> {
  let receipt: ContractTransactionReceipt | null;
  try {
    const response = await send();
    receipt = await response.wait();
  } catch (error) {
    const converted = revertToUserError(error, chain.interfaces, action, { ...COMMON_FIXES, ...fixes });
    throw converted;
  }
  if (receipt === null) {
    throw new TaskUserError(`${action}: the node returned no receipt, so the outcome is unknown; check it with \`npx hardhat events\``);
  }
  io.out.write(`${action}: transaction ${receipt.hash} mined in block ${receipt.blockNumber}\n`);
  return receipt;
}
