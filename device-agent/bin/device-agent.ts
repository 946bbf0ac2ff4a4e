#!/usr/bin/env node
import { AgentError } from "../agent-error.ts";
import { addressCommand } from "../commands/address.ts";
import type { Command } from "../commands/command.ts";
import { initCommand } from "../commands/init.ts";
import { rotateCommand } from "../commands/rotate.ts";
import { runCommand } from "../commands/run.ts";
import { statusCommand } from "../commands/status.ts";
import { PowerSourceError } from "../sources/power-source.ts";

const COMMANDS: readonly Command[] = [initCommand, addressCommand, rotateCommand, statusCommand, runCommand];

function usage(): string {
  const lines = ["Usage: device-agent <command> [options]", "", "Commands:"];
  for (const command of COMMANDS) {
    lines.push(`  ${command.name.padEnd(8)} ${command.summary}`);
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
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (command === undefined) {
    process.stderr.write(`device-agent: unknown command ${name}\n\n${usage()}`);
    return 2;
  }
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
