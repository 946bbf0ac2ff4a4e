import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { deploymentDir, readDeployment, type DeploymentAddresses } from "../protocol/deployment.ts";
import { TaskUserError } from "./task-io.ts";

/** A deployment found under ignition/deployments/. */
export type FoundDeployment = {
  deploymentId: string;
  dir: string;
  addresses: DeploymentAddresses;
};

/** Reads the chain id Ignition recorded in the first record of a deployment's journal (the file may start with an empty line). */
function journalChainId(dir: string): bigint | undefined {
  const journal = path.join(dir, "journal.jsonl");
  if (!existsSync(journal)) {
    return undefined;
  }
  const firstLine = readFileSync(journal, "utf8").split("\n").find((line) => line.trim() !== "") ?? "";
  let parsed: unknown;
  try {
    parsed = JSON.parse(firstLine);
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null || !("chainId" in parsed)) {
    return undefined;
  }
  const chainId: unknown = parsed.chainId;
  return typeof chainId === "number" && Number.isSafeInteger(chainId) ? BigInt(chainId) : undefined;
}

/**
 * Finds a deployment of the Ignition module: the one named `deploymentId`, or when that is
 * undefined the most recently written deployment whose journal records `chainId`.
 */
export function findDeployment(projectRoot: string, chainId: bigint, deploymentId: string | undefined): FoundDeployment {
  const root = path.join(projectRoot, "ignition", "deployments");
  if (deploymentId !== undefined) {
    const dir = deploymentDir(projectRoot, deploymentId);
    if (!existsSync(dir)) {
      throw new TaskUserError(`--deployment-id ${deploymentId} not found: ${dir} does not exist; list ${root} for the ids`);
    }
    const recordedChainId = journalChainId(dir);
    if (recordedChainId !== undefined && recordedChainId !== chainId) {
      throw new TaskUserError(`deployment ${deploymentId} is on chain ${recordedChainId}, but the network is chain ${chainId}: pick the matching --network or --deployment-id`);
    }
    return { deploymentId, dir, addresses: readDeploymentOrFail(dir) };
  }

  const candidates = existsSync(root)
    ? readdirSync(root, { withFileTypes: true })
        .filter((entry) => entry.isDirectory())
        .map((entry) => path.join(root, entry.name))
        .filter((dir) => existsSync(path.join(dir, "deployed_addresses.json")) && journalChainId(dir) === chainId)
    : [];
  if (candidates.length === 0) {
    throw new TaskUserError(
      `no Ignition deployment for chain ${chainId} in ${root}: deploy with \`npx hardhat ignition deploy ignition/modules/CentralElectric.ts --network <name>\`, or pass --deployment-id or --pool`,
    );
  }
  const modifiedAt = (dir: string): number => statSync(path.join(dir, "deployed_addresses.json")).mtimeMs;
  const latest = candidates.reduce((best, dir) => (modifiedAt(dir) > modifiedAt(best) ? dir : best));
  return { deploymentId: path.basename(latest), dir: latest, addresses: readDeploymentOrFail(latest) };
}

function readDeploymentOrFail(dir: string): DeploymentAddresses {
  try {
    return readDeployment(dir);
  } catch (error) {
    throw new TaskUserError(error instanceof Error ? error.message : String(error), { cause: error });
  }
}
