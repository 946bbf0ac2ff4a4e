#!/usr/bin/env node
import { AgentError } from "../agent-error.ts";
import type { Command } from "../commands/command.ts";
import { PowerSourceError } from "../sources/power-source.ts";

// Each command is loaded only when it runs, so `run` does not carry the code of the
// others and the agent stays small in memory.
const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  init: { summary: "Creates the device key and saves it as an encrypted keystore; never overwrites an existing one.", load: async () => (await import("../commands/init.ts")).initCommand },
  address: { summary: "Prints the device id and the key history for the board to register.", load: async () => (await import("../commands/address.ts")).addressCommand },
  rotate: { summary: "Adds a new device key valid from a given second.", load: async () => (await import("../commands/rotate.ts")).rotateCommand },
  status: { summary: "Shows power state, queued, acknowledged and rejected messages and the last error.", load: async () => (await import("../commands/status.ts")).statusCommand },
  run: { summary: "Runs the agent.", load: async () => (await import("../commands/run.ts")).runCommand },
};

function usage(): string {
  const lines = ["Usage: device-agent <command> [options]", "", "Commands:"];
  for (const [name, command] of Object.entries(COMMANDS)) {
    lines.push(`  ${name.padEnd(8)} ${command.summary}`);
  }
  lines.push("", "Run `device-agent <command> --help` for the options of a command.", "");
  return lines.join("\n");
}

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  const entry = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (entry === undefined) {
    process.stderr.write(`device-agent: unknown command ${name}\n\n${usage()}`);
    return 2;
  }
  const command = await entry.load();
  try {
    return await command.run(rest, { out: (text) => process.stdout.write(text), err: (text) => process.stderr.write(text), env: process.env });
  } catch (error) {
    if (error instanceof AgentError || error instanceof PowerSourceError) {
      process.stderr.write(`device-agent ${name}: ${error.code}: ${error.message}\n`);
      return error instanceof AgentError && error.code === "INVALID_CONFIG" ? 2 : 1;
    }
    throw error;
  }
}

process.exitCode = await main(process.argv.slice(2));
