import { expect } from "chai";
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { findDeployment } from "../../tasks/ignition-deployment.ts";
import { TaskUserError } from "../../tasks/task-io.ts";

const POOL = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0";
const REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const TOKEN = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512";

/** Writes a deployment as Ignition does: a journal that starts with an empty line, and the addresses. */
function writeDeployment(root: string, deploymentId: string, chainId: number, modifiedAtSeconds: number): void {
  const dir = path.join(root, "ignition", "deployments", deploymentId);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "journal.jsonl"), `\n${JSON.stringify({ chainId, type: "DEPLOYMENT_INITIALIZE" })}\n`);
  const addresses = path.join(dir, "deployed_addresses.json");
  writeFileSync(addresses, JSON.stringify({ "CentralElectric#PayoutPool": POOL, "CentralElectric#DeviceRegistry": REGISTRY, "CentralElectric#PayoutToken": TOKEN }));
  utimesSync(addresses, modifiedAtSeconds, modifiedAtSeconds);
}

describe("findDeployment", function () {
  let root: string;

  beforeEach(function () {
    root = mkdtempSync(path.join(tmpdir(), "ce-deployments-"));
  });

  afterEach(function () {
    rmSync(root, { recursive: true, force: true });
  });

  it("picks the most recent deployment of the chain", function () {
    writeDeployment(root, "chain-31337", 31337, 1_000);
    writeDeployment(root, "demo-later", 31337, 2_000);
    writeDeployment(root, "sepolia-latest", 11155111, 3_000);

    const found = findDeployment(root, 31337n, undefined);

    expect(found.deploymentId).to.equal("demo-later");
    expect(found.addresses).to.deep.equal({ pool: POOL, registry: REGISTRY, token: TOKEN });
  });

  it("rejects a named deployment of another chain", function () {
    writeDeployment(root, "sepolia-latest", 11155111, 3_000);

    expect(() => findDeployment(root, 31337n, "sepolia-latest")).to.throw(
      TaskUserError,
      "deployment sepolia-latest is on chain 11155111, but the network is chain 31337: pick the matching --network or --deployment-id",
    );
  });

  it("names the fix when no deployment exists", function () {
    expect(() => findDeployment(root, 31337n, undefined)).to.throw(
      TaskUserError,
      `no Ignition deployment for chain 31337 in ${path.join(root, "ignition", "deployments")}: deploy with`,
    );
    expect(() => findDeployment(root, 31337n, "missing")).to.throw(TaskUserError, "--deployment-id missing not found:");
  });
});
