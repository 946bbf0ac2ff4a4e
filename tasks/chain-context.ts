import { JsonRpcProvider, type Interface, type Provider, type Signer } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import type { DeploymentAddresses } from "../protocol/deployment.ts";
import type { DeviceRegistry, PayoutPool, PayoutToken } from "../types/ethers-contracts/index.ts";
import { DeviceRegistry__factory } from "../types/ethers-contracts/factories/DeviceRegistry__factory.ts";
import { PayoutPool__factory } from "../types/ethers-contracts/factories/PayoutPool__factory.ts";
import { PayoutToken__factory } from "../types/ethers-contracts/factories/PayoutToken__factory.ts";
import { findDeployment } from "./ignition-deployment.ts";
import { TaskUserError } from "./task-io.ts";
import { isGiven, parseOptionalAddress } from "./task-input.ts";

/** Contract selection: an explicit pool address, an Ignition deployment id, or neither (the latest deployment). */
export type TargetOptions = {
  deploymentId: string | undefined;
  pool: string | undefined;
};

/** The connected contracts of one deployment. */
export type ChainContext = {
  provider: Provider;
  chainId: bigint;
  addresses: DeploymentAddresses;
  pool: PayoutPool;
  registry: DeviceRegistry;
  token: PayoutToken;
  /** Interfaces of the three contracts, to decode the custom errors of a revert. */
  interfaces: Interface[];
  /** Source of the addresses for messages: "--pool" or "deployment <id>". */
  source: string;
  /** Releases a connection the task opened itself (an --rpc-url provider). */
  close(): void;
};

export type BoardChainContext = ChainContext & {
  signer: Signer;
  signerAddress: string;
};

/** Returns the interfaces of the pool, registry and token, whose custom errors tasks decode. */
export function contractInterfaces(): Interface[] {
  return [PayoutPool__factory.createInterface(), DeviceRegistry__factory.createInterface(), PayoutToken__factory.createInterface()];
}

async function resolveAddresses(
  hre: HardhatRuntimeEnvironment,
  provider: Provider,
  chainId: bigint,
  target: TargetOptions,
): Promise<{ addresses: DeploymentAddresses; source: string }> {
  const explicitPool = parseOptionalAddress("pool", target.pool);
  if (explicitPool !== undefined) {
    await requireContract(provider, explicitPool, chainId, "--pool");
    const pool = PayoutPool__factory.connect(explicitPool, provider);
    const [registry, token] = await Promise.all([pool.registry(), pool.token()]);
    return { addresses: { pool: explicitPool, registry, token }, source: "--pool" };
  }
  const deploymentId = isGiven(target.deploymentId) ? target.deploymentId.trim() : undefined;
  const found = findDeployment(hre.config.paths.root, chainId, deploymentId);
  await requireContract(provider, found.addresses.pool, chainId, `deployment ${found.deploymentId}`);
  return { addresses: found.addresses, source: `deployment ${found.deploymentId}` };
}

async function requireContract(provider: Provider, address: string, chainId: bigint, source: string): Promise<void> {
  const code = await provider.getCode(address);
  if (code === "0x") {
    throw new TaskUserError(
      `no contract at ${address} (from ${source}) on chain ${chainId}. Without --network or --rpc-url the task reads a fresh in-process chain: pass --network localhost (or --rpc-url URL) to read a running node. If you did, the chain was restarted after that deployment: deploy again or pass the current --pool`,
    );
  }
}

function connectContracts(addresses: DeploymentAddresses, runner: Provider | Signer) {
  return {
    pool: PayoutPool__factory.connect(addresses.pool, runner),
    registry: DeviceRegistry__factory.connect(addresses.registry, runner),
    token: PayoutToken__factory.connect(addresses.token, runner),
  };
}

/**
 * Opens a provider for a read-only task: `rpcUrl` when given, otherwise the Hardhat network
 * selected with --network (the in-process network when none is).
 */
async function openProvider(hre: HardhatRuntimeEnvironment, rpcUrl: string | undefined): Promise<{ provider: Provider; close(): void }> {
  const url = rpcUrl?.trim() ?? "";
  if (url === "") {
    const connection = await hre.network.getOrCreate();
    return { provider: connection.ethers.provider, close: () => undefined };
  }
  if (!/^https?:\/\//i.test(url)) {
    throw new TaskUserError(`--rpc-url ${JSON.stringify(url)} is not an http(s) URL: pass a JSON-RPC endpoint such as http://127.0.0.1:8545`);
  }
  const provider = new JsonRpcProvider(url, undefined, { staticNetwork: true });
  return { provider, close: () => provider.destroy() };
}

async function readChainId(provider: Provider, describe: string): Promise<bigint> {
  try {
    return (await provider.getNetwork()).chainId;
  } catch (error) {
    throw new TaskUserError(`cannot reach ${describe}: ${error instanceof Error ? error.message : String(error)}; start the node or fix the URL`, { cause: error });
  }
}

/** Connects a read-only task to the contracts. */
export async function openChain(hre: HardhatRuntimeEnvironment, target: TargetOptions & { rpcUrl: string | undefined }): Promise<ChainContext> {
  const { provider, close } = await openProvider(hre, target.rpcUrl);
  try {
    const describe = isGiven(target.rpcUrl) ? target.rpcUrl.trim() : `network ${hre.globalOptions.network ?? "default"}`;
    const chainId = await readChainId(provider, describe);
    const { addresses, source } = await resolveAddresses(hre, provider, chainId, target);
    return { provider, chainId, addresses, source, interfaces: contractInterfaces(), close, ...connectContracts(addresses, provider) };
  } catch (error) {
    close();
    throw error;
  }
}

/**
 * Connects a board task to the contracts with a signer of the Hardhat network: the account
 * `from`, or the network's first account when `from` is empty.
 */
export async function openBoardChain(hre: HardhatRuntimeEnvironment, target: TargetOptions & { from: string | undefined }): Promise<BoardChainContext> {
  const connection = await hre.network.getOrCreate();
  const provider = connection.ethers.provider;
  const chainId = await readChainId(provider, `network ${connection.networkName}`);
  const from = parseOptionalAddress("from", target.from);
  const signers = await connection.ethers.getSigners();
  const signer = from === undefined ? signers[0] : signers.find((candidate) => candidate.address === from);
  if (signer === undefined) {
    throw new TaskUserError(
      from === undefined
        ? `network ${connection.networkName} has no accounts: configure accounts for it in hardhat.config.ts`
        : `--from ${from} is not an account of network ${connection.networkName}: pass one of ${signers.map((candidate) => candidate.address).join(", ")}`,
    );
  }
  const { addresses, source } = await resolveAddresses(hre, provider, chainId, target);
  return {
    provider,
    chainId,
    addresses,
    source,
    interfaces: contractInterfaces(),
    close: () => undefined,
    signer,
    signerAddress: signer.address,
    ...connectContracts(addresses, signer),
  };
}
