import { network } from "hardhat";
import CentralElectric from "../../ignition/modules/CentralElectric.ts";
import { PROJECT_ROOT } from "../../protocol/artifacts.ts";
import { deploymentDir, readDeployment, type DeploymentAddresses } from "../../protocol/deployment.ts";

const TOKEN_UNIT = 10n ** 18n;

export type DemoDeployment = DeploymentAddresses & {
  deploymentId: string;
  /** Ignition's folder of this deployment, which the oracle node reads its addresses from. */
  deploymentDir: string;
  /** A block at or before the registry's deployment, where the oracle's registry mirror starts. */
  fromBlock: number;
};

/**
 * Deploys the Ignition module CentralElectric onto the chain at `url` under a fresh
 * deployment id: the board (the node's first account) deploys token, registry and pool with
 * `committeeSigner` as the only oracle, mints `fundingTokens` eINR and funds the pool.
 */
export async function deployCentralElectric(url: string, deploymentId: string, committeeSigner: string, fundingTokens: bigint, fromBlock: number): Promise<DemoDeployment> {
  const connection = await network.create({ network: "localhost", override: { url } });
  try {
    await connection.ignition.deploy(CentralElectric, {
      deploymentId,
      parameters: {
        CentralElectric: {
          committeeSigners: [committeeSigner],
          threshold: 1,
          initialFundingWei: fundingTokens * TOKEN_UNIT,
        },
      },
      config: { requiredConfirmations: 1 },
    });
  } finally {
    await connection.close();
  }
  const dir = deploymentDir(PROJECT_ROOT, deploymentId);
  return { ...readDeployment(dir), deploymentId, deploymentDir: dir, fromBlock };
}
