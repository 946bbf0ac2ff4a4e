import { task } from "hardhat/config";
import { ArgumentType } from "hardhat/types/arguments";
import type { TaskDefinition } from "hardhat/types/tasks";

/** An option without a default: its value is undefined when it is not given. */
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

/** Every task of the command-line tools, for the `tasks` array of hardhat.config.ts. */
export const CENTRAL_ELECTRIC_TASKS: TaskDefinition[] = [watch, events];
