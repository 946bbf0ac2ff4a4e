import { createServer } from "node:net";
import path from "node:path";
import { JsonRpcProvider, Network } from "ethers";
import { PROJECT_ROOT } from "../../protocol/artifacts.ts";
import { ManagedChild } from "./child-process.ts";

/** The Hardhat CLI of the project's own install. */
export const HARDHAT_CLI = path.join(PROJECT_ROOT, "node_modules", "hardhat", "dist", "src", "cli.js");

/** Real milliseconds the demo waits for a started Hardhat node to respond. */
const NODE_START_TIMEOUT_REAL_MS = 60_000;

/** A chain the demo deploys onto: one it started (with its process) or one given by --rpc. */
export type DemoChain = {
  url: string;
  provider: JsonRpcProvider;
  chainId: bigint;
  /** Client version as the node reports it (web3_clientVersion). */
  clientVersion: string;
  /** True for a Hardhat development chain, whose clock the demo can set. */
  isHardhat: boolean;
  /** The Hardhat node process, when the demo started it. */
  process: ManagedChild | undefined;
};

/** Returns a TCP port on 127.0.0.1 that was free a moment ago. */
export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address === null || typeof address === "string") {
          reject(new Error("the probe server has no TCP port"));
        } else {
          resolve(address.port);
        }
      });
    });
  });
}

/** Sends one JSON-RPC request with fetch, so probing a node that is not up yet logs nothing. */
async function rpcRequest(url: string, method: string): Promise<unknown> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params: [] }),
    signal: AbortSignal.timeout(10_000),
  });
  const body: unknown = await response.json();
  if (typeof body !== "object" || body === null) {
    throw new Error(`${url} returned no JSON object for ${method}`);
  }
  if ("error" in body) {
    throw new Error(`${url} returned an error for ${method}: ${JSON.stringify(body.error)}`);
  }
  return "result" in body ? body.result : undefined;
}

async function describeChain(url: string): Promise<Omit<DemoChain, "process">> {
  const chainIdHex = await rpcRequest(url, "eth_chainId");
  const clientVersion = await rpcRequest(url, "web3_clientVersion");
  if (typeof chainIdHex !== "string" || typeof clientVersion !== "string") {
    throw new Error(`${url} returned a non-string for eth_chainId or web3_clientVersion`);
  }
  const chainId = BigInt(chainIdHex);
  const network = Network.from(chainId);
  const provider = new JsonRpcProvider(url, network, { staticNetwork: network, batchMaxCount: 1 });
  let isHardhat = false;
  try {
    const metadata = await rpcRequest(url, "hardhat_metadata");
    isHardhat = typeof metadata === "object" && metadata !== null && "chainId" in metadata;
  } catch {
    // Chains other than Hardhat have no hardhat_metadata method.
  }
  return { url, provider, chainId, clientVersion, isHardhat };
}

/** Connects to a chain the user runs; throws with the URL and the fix when it does not respond. */
export async function connectChain(url: string): Promise<DemoChain> {
  try {
    return { ...(await describeChain(url)), process: undefined };
  } catch (error) {
    throw new Error(`cannot reach the chain at --rpc ${url}: ${error instanceof Error ? error.message : String(error)}; start one with \`npx hardhat node --hostname 127.0.0.1\``, {
      cause: error,
    });
  }
}

/**
 * Starts `hardhat node` on a free port of 127.0.0.1 as a child process logging to
 * `logFile`, and waits until it responds to JSON-RPC.
 */
export async function startHardhatNode(logFile: string, cwd: string, env: Record<string, string>): Promise<DemoChain> {
  const port = await findFreePort();
  const url = `http://127.0.0.1:${port}`;
  const child = new ManagedChild({
    name: "hardhat node",
    command: process.execPath,
    args: [HARDHAT_CLI, "node", "--hostname", "127.0.0.1", "--port", String(port)],
    env,
    cwd,
    logFile,
  });
  const deadline = Date.now() + NODE_START_TIMEOUT_REAL_MS;
  for (;;) {
    if (child.exit !== undefined) {
      throw new Error(`hardhat node exited with ${child.exit.code ?? child.exit.signal} before responding; see ${logFile}`);
    }
    try {
      return { ...(await describeChain(url)), process: child };
    } catch {
      // Not up yet: try again until the deadline.
    }
    if (Date.now() > deadline) {
      await child.stop(2_000);
      throw new Error(`hardhat node did not respond on ${url} within ${NODE_START_TIMEOUT_REAL_MS / 1000} s; see ${logFile}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
