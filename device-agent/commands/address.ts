import { readKeyFile } from "../keystore.ts";
import { COMMON_OPTIONS, formatHelp, resolveOptions, type OptionSpec } from "../options.ts";
import { keystorePathOf } from "../run-config.ts";
import type { Command } from "./command.ts";

const OPTIONS: readonly OptionSpec[] = [...COMMON_OPTIONS, { name: "json", boolean: true, help: "print JSON instead of text" }];

export const addressCommand: Command = {
  name: "address",
  summary: "Prints the device id and the key history (address, first valid second) for the board to register. Needs no password.",
  async run(argv, io) {
    const values = resolveOptions("address", OPTIONS, argv, io.env);
    if (values.flag("help")) {
      io.out(formatHelp("device-agent address [options]", this.summary, OPTIONS));
      return 0;
    }
    const keyFile = readKeyFile(keystorePathOf(values));
    const current = keyFile.keys[keyFile.keys.length - 1];
    const keys = keyFile.keys.map((key) => ({ address: key.address, validFrom: key.validFrom, retired: key.encryptedKey === undefined }));
    if (values.flag("json")) {
      io.out(JSON.stringify({ deviceId: keyFile.deviceId, currentKey: current?.address, keys }, null, 2) + "\n");
      return 0;
    }
    const lines = [`device id: ${keyFile.deviceId}`, `newest key: ${current?.address ?? "none"}`, "keys (address, valid from unix second):"];
    for (const key of keys) {
      lines.push(`  ${key.address} ${key.validFrom === 0 ? "from registration" : key.validFrom}${key.retired ? " (retired)" : ""}`);
    }
    io.out(lines.join("\n") + "\n");
    return 0;
  },
};
