import { SimClock } from "../../protocol/clock.ts";
import { addRotatedKey } from "../keystore.ts";
import { COMMON_OPTIONS, formatHelp, readInteger, readPassword, resolveOptions, type OptionSpec } from "../options.ts";
import { RUN_OPTIONS, keystorePathOf, readClock } from "../run-config.ts";
import { KDF_COST_OPTION, readKdfCost } from "./init.ts";
import type { Command } from "./command.ts";

/** Default time between a rotation and the second the new key takes over: one day, so the board can register it first. */
export const DEFAULT_ROTATION_LEAD_SECONDS = 86_400;

const CLOCK_OPTIONS = RUN_OPTIONS.filter((spec) => spec.name.startsWith("clock-"));

const OPTIONS: readonly OptionSpec[] = [
  ...COMMON_OPTIONS,
  { name: "valid-from", help: "unix second from which the new key signs; default now + --lead-seconds" },
  { name: "lead-seconds", defaultValue: String(DEFAULT_ROTATION_LEAD_SECONDS), help: "seconds from now to the new key's first second when --valid-from is not given" },
  KDF_COST_OPTION,
  ...CLOCK_OPTIONS,
];

export const rotateCommand: Command = {
  name: "rotate",
  summary:
    "Adds a new device key valid from a given second. The old key stays in the keystore until the oracle acknowledged every second it signed; a running agent picks the new key up by itself.",
  async run(argv, io) {
    const values = resolveOptions("rotate", OPTIONS, argv, io.env);
    if (values.flag("help")) {
      io.out(formatHelp("device-agent rotate [options]", this.summary, OPTIONS));
      return 0;
    }
    const cost = readKdfCost(values.get("kdf-cost"), values.origin("kdf-cost"));
    const password = readPassword(values);
    const nowSecond = new SimClock(readClock(values)).nowSeconds();
    const validFrom = readInteger(values, "valid-from", 1) ?? nowSecond + (readInteger(values, "lead-seconds", 1) ?? DEFAULT_ROTATION_LEAD_SECONDS);
    const file = keystorePathOf(values);
    const { keyFile, address } = await addRotatedKey(file, password, validFrom, cost, nowSecond);
    io.out(
      [
        `new key: ${address}`,
        `valid from: ${validFrom} (${new Date(validFrom * 1000).toISOString()})`,
        `device id: ${keyFile.deviceId}`,
        `Register it on chain before ${validFrom} (board): DeviceRegistry.rotateKey(deviceId, newKey, validFrom)`,
        `  rotateKey(${keyFile.deviceId}, ${address}, ${validFrom})`,
        "",
      ].join("\n"),
    );
    return 0;
  },
};
