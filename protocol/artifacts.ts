import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { InterfaceAbi } from "ethers";

/** Root of the repository, found from this file's place in it. */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export type ContractName = "PayoutToken" | "DeviceRegistry" | "PayoutPool";

/**
 * Loads a contract's ABI from Hardhat's build artifacts, so off-chain code uses the ABI the
 * contracts were compiled to. Throws with the fix when the contracts were not compiled.
 */
export function loadAbi(contract: ContractName, projectRoot: string = PROJECT_ROOT): InterfaceAbi {
  const file = path.join(projectRoot, "artifacts", "contracts", `${contract}.sol`, `${contract}.json`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new Error(`cannot read the ${contract} artifact at ${file}: run \`npx hardhat compile\` first`, { cause: error });
  }
  if (typeof parsed !== "object" || parsed === null || !("abi" in parsed) || !Array.isArray(parsed.abi)) {
    throw new Error(`${file} has no ABI array`);
  }
  return parsed.abi;
}
