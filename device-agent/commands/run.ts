import { startAgent } from "../agent.ts";
import { createLogger } from "../logger.ts";
import { formatHelp, readPassword, resolveOptions } from "../options.ts";
import { RUN_OPTIONS, loadRunConfig } from "../run-config.ts";
import type { Command } from "./command.ts";

export const runCommand: Command = {
  name: "run",
  summary:
    "Runs the agent: reads the power source, signs one attestation per off-second and a restoration notice, queues every signed message on disk and sends it to the oracle node until acknowledged. Logs JSON lines to stdout; SIGINT or SIGTERM stops it.",
  async run(argv, io) {
    const values = resolveOptions("run", RUN_OPTIONS, argv, io.env);
    if (values.flag("help")) {
      io.out(formatHelp("device-agent run [options]", this.summary, RUN_OPTIONS));
      return 0;
    }
    const config = loadRunConfig(values);
    const password = readPassword(values);
    const logger = createLogger(config.logLevel, { service: "device-agent" });
    const agent = await startAgent(config, password, logger);

    return new Promise<number>((resolve) => {
      const shutdown = (signal: NodeJS.Signals): void => {
        logger.info("signal received", { signal });
        process.removeListener("SIGINT", shutdown);
        process.removeListener("SIGTERM", shutdown);
        agent.stop().then(
          () => resolve(0),
          (error: unknown) => {
            logger.error("shutdown failed", { error });
            resolve(1);
          },
        );
      };
      process.on("SIGINT", shutdown);
      process.on("SIGTERM", shutdown);
    });
  },
};
