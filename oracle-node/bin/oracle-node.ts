#!/usr/bin/env node
import { ConfigError, helpText, loadConfig } from "../config.ts";
import { createLogger } from "../logger.ts";
import { startOracleNode } from "../node.ts";

let config;
try {
  config = loadConfig(process.argv.slice(2));
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`oracle-node: ${error.message}\n`);
    process.exit(2);
  }
  throw error;
}
if (config === "help") {
  process.stdout.write(helpText() + "\n");
  process.exit(0);
}

const logger = createLogger({ level: config.logLevel, fields: { service: "oracle-node" } });
const abort = new AbortController();
let stopping: Promise<void> | undefined;
let node: Awaited<ReturnType<typeof startOracleNode>> | undefined;

const shutdown = (signal: string): void => {
  if (stopping !== undefined) {
    return;
  }
  logger.info("shutdown requested", { signal });
  abort.abort();
  stopping = (node?.stop() ?? Promise.resolve()).then(
    () => process.exit(0),
    (error: unknown) => {
      logger.error("shutdown failed", { error });
      process.exit(1);
    },
  );
};
process.on("SIGINT", () => shutdown("SIGINT"));
process.on("SIGTERM", () => shutdown("SIGTERM"));

try {
  node = await startOracleNode(config, logger, abort.signal);
} catch (error) {
  logger.error("oracle node failed to start", { error });
  process.exit(1);
}
