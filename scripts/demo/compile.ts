import { PROJECT_ROOT } from "../../protocol/artifacts.ts";
import { HARDHAT_CLI } from "./chain.ts";
import { ManagedChild } from "./child-process.ts";

/**
 * Compiles the contracts with `hardhat compile --quiet`, logging to `logFile`, because a fresh
 * clone has no artifacts after `npm install`. Hardhat skips the work when nothing changed.
 */
export async function compileContracts(logFile: string, env: Record<string, string>): Promise<void> {
  const child = new ManagedChild({ name: "hardhat compile", command: process.execPath, args: [HARDHAT_CLI, "compile", "--quiet"], env, cwd: PROJECT_ROOT, logFile });
  const exit = await child.exited;
  if (exit.code !== 0) {
    throw new Error(`hardhat compile exited with ${exit.code ?? exit.signal}; see ${logFile}:\n${child.tail(15).join("\n")}`);
  }
}
