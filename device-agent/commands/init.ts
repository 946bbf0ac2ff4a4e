import { SimClock } from "../../protocol/clock.ts";
import { createKeyFile } from "../keystore.ts";
import { KDF_COSTS, isKdfCost } from "../kdf.ts";
import { COMMON_OPTIONS, formatHelp, readPassword, resolveOptions, type OptionSpec } from "../options.ts";
import { AgentError } from "../agent-error.ts";
import { keystorePathOf } from "../run-config.ts";
import type { Command } from "./command.ts";

export const KDF_COST_OPTION: OptionSpec = {
  name: "kdf-cost",
  env: "DEVICE_AGENT_KDF_COST",
  defaultValue: "strong",
  help: `scrypt cost of the keystore encryption: strong (N=${KDF_COSTS.strong.N}, 128 MiB of memory to unlock) or light (N=${KDF_COSTS.light.N}, for throwaway demo keys only)`,
};

const OPTIONS: readonly OptionSpec[] = [...COMMON_OPTIONS, KDF_COST_OPTION];

/** Reads --kdf-cost. */
export function readKdfCost(raw: string | undefined, origin: string): "strong" | "light" {
  const value = raw ?? "strong";
  if (!isKdfCost(value)) {
    throw new AgentError("INVALID_CONFIG", `${origin}=${value} is invalid: expected strong or light`, { option: "kdf-cost", value });
  }
  return value;
}

export const initCommand: Command = {
  name: "init",
  summary: "Creates the device key and saves it as an encrypted keystore; never overwrites an existing one.",
  async run(argv, io) {
    const values = resolveOptions("init", OPTIONS, argv, io.env);
    if (values.flag("help")) {
      io.out(formatHelp("device-agent init [options]", this.summary, OPTIONS));
      return 0;
    }
    const cost = readKdfCost(values.get("kdf-cost"), values.origin("kdf-cost"));
    const password = readPassword(values);
    const file = keystorePathOf(values);
    const keyFile = await createKeyFile(file, password, cost, Math.floor(new SimClock().nowSeconds()));
    io.out(
      [
        `keystore: ${file} (kdf cost ${cost})`,
        `device id: ${keyFile.deviceId}`,
        `key address: ${keyFile.deviceId}`,
        "Register the device (board) with the Hardhat task of this repository:",
        `  npx hardhat device register --network localhost --device ${keyFile.deviceId} --wallet <payout wallet> --feeder <feeder id>`,
        "  (use your network for --network; --deployment-id or --pool picks a deployment other than the latest)",
        "With other tools, call DeviceRegistry.registerDevice(deviceId, key, payoutWallet, feederId):",
        `  registerDevice(${keyFile.deviceId}, ${keyFile.deviceId}, <payout wallet>, <feeder id>)`,
        "",
      ].join("\n"),
    );
    return 0;
  },
};
