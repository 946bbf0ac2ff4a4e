import { emptyTask, task } from "hardhat/config";
import { ArgumentType } from "hardhat/types/arguments";
import type { TaskDefinition } from "hardhat/types/tasks";

/** Builds an option without a default, whose value is undefined when it is not given. */
function optional<NameT extends string>(
  name: NameT,
  description: string,
): { name: NameT; description: string; type: ArgumentType.STRING_WITHOUT_DEFAULT; defaultValue: undefined } {
  return { name, description, type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined };
}

const deploymentIdOption = optional("deploymentId", "Ignition deployment id under ignition/deployments/; default: the most recent one for the chain");
const poolOption = optional("pool", "PayoutPool address; the registry and token are read from it (overrides --deployment-id)");
const rpcUrlOption = optional("rpcUrl", "JSON-RPC URL to read from instead of --network, such as \"$RPC_URL\"");
const fromOption = optional("from", "Board account that sends the transaction; default: the network's first account");

const events = task("events", "List the pool's and the registry's events")
  .addOption(optional("type", "Event names, comma separated, such as OutageSettled,DebtPaid; default: all"))
  .addOption(optional("device", "Only events of this device id"))
  .addOption(optional("wallet", "Only events naming this payout wallet (wallet, previousWallet or newWallet)"))
  .addOption(optional("feeder", "Only events naming this feeder: text, or 0x and 64 hex digits"))
  .addOption(optional("fromBlock", "First block, inclusive; default: 0"))
  .addOption(optional("toBlock", "Last block, inclusive; default: the latest"))
  .addOption(optional("since", "Start at the first block at or after this time: unix seconds or ISO 8601"))
  .addOption(optional("until", "End at the last block at or before this time: unix seconds or ISO 8601"))
  .addOption({ name: "blockRange", description: "Blocks per eth_getLogs request", type: ArgumentType.INT, defaultValue: 2000 })
  .addFlag({ name: "json", description: "Print a JSON array instead of a table" })
  .addFlag({ name: "csv", description: "Print CSV instead of a table" })
  .addOption(rpcUrlOption)
  .addOption(deploymentIdOption)
  .addOption(poolOption)
  .setAction(() => import("./events-action.ts"))
  .build();

const watch = task("watch", "Show a wallet's balance growing as outages are settled")
  .addOption(optional("wallet", "Payout wallet to watch"))
  .addFlag({ name: "once", description: "Print one reading and exit" })
  .addFlag({ name: "json", description: "With --once: print the reading as JSON with exact amounts in base units" })
  .addOption(optional("at", "With --once: interpolate up to this time (unix seconds or ISO 8601) instead of now"))
  .addOption({ name: "intervalMs", description: "Real milliseconds between redraws", type: ArgumentType.INT, defaultValue: 1000 })
  .addOption({
    name: "maxInterpolationSeconds",
    description: "Seconds after a device's last settled second during which its outage is taken as continuing",
    type: ArgumentType.INT,
    defaultValue: 900,
  })
  .addOption({ name: "blockRange", description: "Blocks per eth_getLogs request when finding the wallet's devices", type: ArgumentType.INT, defaultValue: 2000 })
  .addOption(rpcUrlOption)
  .addOption(deploymentIdOption)
  .addOption(poolOption)
  .setAction(() => import("./watch-action.ts"))
  .build();

const poolGroup = emptyTask("pool", "Board operations on the payout pool").build();
const deviceGroup = emptyTask("device", "Board operations on the device registry").build();

const poolStatus = task(["pool", "status"], "Show the pool's balances, totals, runway, committee, schedules and debt queue")
  .addOption({ name: "debts", description: "Open debts to list", type: ArgumentType.INT, defaultValue: 10 })
  .addOption(rpcUrlOption)
  .addOption(deploymentIdOption)
  .addOption(poolOption)
  .setAction(() => import("./pool-status-action.ts"))
  .build();

const poolFund = task(["pool", "fund"], "Move tokens from the board account into the pool, approving them first")
  .addOption(optional("amount", "Whole tokens such as 1000 or 12.5, or base units such as 5000wei"))
  .addOption(fromOption)
  .addOption(deploymentIdOption)
  .addOption(poolOption)
  .setAction(() => import("./pool-admin-actions.ts").then((module) => ({ default: module.fundAction })))
  .build();

const poolWithdraw = task(["pool", "withdraw"], "Withdraw from the part of the pool's balance that is not owed")
  .addOption(optional("amount", "Whole tokens such as 1000 or 12.5, or base units such as 5000wei"))
  .addOption(optional("to", "Recipient; default: the sending board account"))
  .addOption(fromOption)
  .addOption(deploymentIdOption)
  .addOption(poolOption)
  .setAction(() => import("./pool-admin-actions.ts").then((module) => ({ default: module.withdrawAction })))
  .build();

const poolSchedule = task(["pool", "schedule"], "Add a compensation schedule for outages that start from now on")
  .addOption(optional("tiers", "Tiers as offsetSeconds:rupeesPerHour, comma separated, such as 0:0,3600:50,10800:100"))
  .addOption(optional("mergeGapSeconds", "Gaps shorter than this many seconds continue an outage; default: 300"))
  .addOption(optional("dailyCap", "Most a device is owed per UTC day, in whole tokens or base units with wei; default: 0 (no cap)"))
  .addOption(fromOption)
  .addOption(deploymentIdOption)
  .addOption(poolOption)
  .setAction(() => import("./pool-admin-actions.ts").then((module) => ({ default: module.scheduleAction })))
  .build();

const poolPayDebts = task(["pool", "pay-debts"], "Pay open debts in the order they were recorded")
  .addOption(optional("maxCount", "Most debts to process in this transaction, 1 to 200; default: 10"))
  .addOption(fromOption)
  .addOption(deploymentIdOption)
  .addOption(poolOption)
  .setAction(() => import("./pool-admin-actions.ts").then((module) => ({ default: module.payDebtsAction })))
  .build();

const poolPause = task(["pool", "pause"], "Stop the pool accepting batches")
  .addOption(fromOption)
  .addOption(deploymentIdOption)
  .addOption(poolOption)
  .setAction(() => import("./pool-admin-actions.ts").then((module) => ({ default: module.pauseAction })))
  .build();

const poolUnpause = task(["pool", "unpause"], "Let the pool accept batches again")
  .addOption(fromOption)
  .addOption(deploymentIdOption)
  .addOption(poolOption)
  .setAction(() => import("./pool-admin-actions.ts").then((module) => ({ default: module.unpauseAction })))
  .build();

const deviceRegister = task(["device", "register"], "Register a device with its first key, payout wallet and feeder")
  .addOption(optional("device", "Device id: the address of the device's first key"))
  .addOption(optional("key", "First signing key; default: the device id"))
  .addOption(optional("wallet", "Payout wallet"))
  .addOption(optional("feeder", "Feeder: text of up to 31 bytes, or 0x and 64 hex digits"))
  .addOption(fromOption)
  .addOption(deploymentIdOption)
  .addOption(poolOption)
  .setAction(() => import("./device-admin-actions.ts").then((module) => ({ default: module.registerAction })))
  .build();

const deviceRevoke = task(["device", "revoke"], "Revoke a device; the pool skips its entries from then on")
  .addOption(optional("device", "Device id"))
  .addOption(fromOption)
  .addOption(deploymentIdOption)
  .addOption(poolOption)
  .setAction(() => import("./device-admin-actions.ts").then((module) => ({ default: module.revokeAction })))
  .build();

const deviceRotateKey = task(["device", "rotate-key"], "Give a device a new signing key")
  .addOption(optional("device", "Device id"))
  .addOption(optional("newKey", "Address of the new key"))
  .addOption(optional("validFrom", "First second the new key signs: unix seconds or ISO 8601, not before the next block"))
  .addOption(fromOption)
  .addOption(deploymentIdOption)
  .addOption(poolOption)
  .setAction(() => import("./device-admin-actions.ts").then((module) => ({ default: module.rotateKeyAction })))
  .build();

const deviceMove = task(["device", "move"], "Move a device to another feeder")
  .addOption(optional("device", "Device id"))
  .addOption(optional("feeder", "New feeder: text of up to 31 bytes, or 0x and 64 hex digits"))
  .addOption(fromOption)
  .addOption(deploymentIdOption)
  .addOption(poolOption)
  .setAction(() => import("./device-admin-actions.ts").then((module) => ({ default: module.moveAction })))
  .build();

const deviceSetWallet = task(["device", "set-wallet"], "Send a device's future payouts and open debts to another wallet")
  .addOption(optional("device", "Device id"))
  .addOption(optional("wallet", "New payout wallet"))
  .addOption(fromOption)
  .addOption(deploymentIdOption)
  .addOption(poolOption)
  .setAction(() => import("./device-admin-actions.ts").then((module) => ({ default: module.setWalletAction })))
  .build();

/** Every task of the command-line tools, for the `tasks` array of hardhat.config.ts. */
export const CENTRAL_ELECTRIC_TASKS: TaskDefinition[] = [
  watch,
  events,
  poolGroup,
  poolStatus,
  poolFund,
  poolWithdraw,
  poolSchedule,
  poolPayDebts,
  poolPause,
  poolUnpause,
  deviceGroup,
  deviceRegister,
  deviceRevoke,
  deviceRotateKey,
  deviceMove,
  deviceSetWallet,
];
