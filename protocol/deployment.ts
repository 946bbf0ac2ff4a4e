import { readFileSync } from "node:fs";
import path from "node:path";
import { getAddress, isAddress } from "ethers";

/** Addresses of one deployment of the system. */
export type DeploymentAddresses = {
  token: string;
  registry: string;
  pool: string;
};

/** Contract names in the Ignition module, as they appear after the `#` in Ignition's output keys. */
const CONTRACT_NAMES = { token: "PayoutToken", registry: "DeviceRegistry", pool: "PayoutPool" } as const;

/** Returns the folder Ignition writes a deployment to. */
export function deploymentDir(projectRoot: string, deploymentId: string): string {
  return path.join(projectRoot, "ignition", "deployments", deploymentId);
}

/**
 * Reads the contract addresses from Ignition's `deployed_addresses.json` in `dir`
 * (keys such as "CentralElectric#PayoutPool"). Throws with the file and the missing
 * contract when the deployment is incomplete.
 */
export function readDeployment(dir: string): DeploymentAddresses {
  const file = path.join(dir, "deployed_addresses.json");
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new Error(`cannot read deployment addresses from ${file}: deploy first with Ignition or pass the addresses`, { cause: error });
  }
  if (typeof parsed !== "object" || parsed === null) {
    throw new Error(`${file} is not a JSON object of contract addresses`);
  }
  const entries = Object.entries(parsed);
  const find = (contract: string): string => {
    const match = entries.find(([key]) => key.endsWith(`#${contract}`));
    const value: unknown = match?.[1];
    if (typeof value !== "string" || !isAddress(value)) {
      throw new Error(`${file} has no address for ${contract}`);
    }
    return getAddress(value);
  };
  return { token: find(CONTRACT_NAMES.token), registry: find(CONTRACT_NAMES.registry), pool: find(CONTRACT_NAMES.pool) };
}
