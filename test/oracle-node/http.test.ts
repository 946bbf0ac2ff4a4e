import { expect } from "chai";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { amountOwedForRuns } from "../../protocol/compensation.ts";
import { ATTESTATION_LEAF_ENCODING } from "../../protocol/batch-report.ts";
import { DeviceMessageHasher } from "../../protocol/device-message.ts";
import { startOracleNode, type OracleNode } from "../../oracle-node/node.ts";
import { ORACLE_KEY, clockAt, createOracleChain, memoryLogger, tempDataDir, testDeviceKey, testOracleConfig, testWallet, waitFor, type OracleChain } from "../helpers/oracle-chain.ts";
import { TestDevice, attestRun } from "../helpers/oracle-device.ts";

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

describe("oracle node HTTP endpoints", () => {
  let chain: OracleChain;
  let node: OracleNode | undefined;

  beforeEach(async () => {
    chain = await createOracleChain();
  });

  afterEach(async () => {
    await node?.stop();
    node = undefined;
    await chain.close();
  });

  it("serves health, metrics and re-verifiable batch attestations", async () => {
    const key = testDeviceKey("http");
    const wallet = testWallet("http");
    await chain.registerDevice(key, wallet);
    const now = await chain.advanceTime(300);
    const { logger } = memoryLogger("warn");
    node = await startOracleNode(testOracleConfig(chain, { clock: clockAt(now), dataDir: tempDataDir("http"), batchWindowRealMs: 500 }), logger);
    const base = `http://127.0.0.1:${node.port}`;
    const { device } = await TestDevice.connect(`ws://127.0.0.1:${node.port}`, chain.domain, key.address, key);
    const messages = attestRun(device, key, now - 30, now - 21, 1);
    expect((await device.sendAll(messages)).every((answer) => answer.type === "ack")).to.equal(true);
    const expected = amountOwedForRuns(chain.schedule, [{ fromSecond: now - 30, toSecond: now - 21 }]).total;
    await waitFor("the payout", async () => ((await chain.balanceOf(wallet)) === expected ? true : undefined));

    const health = await waitFor("the node to record the settlement", async () => {
      const reply: unknown = await (await fetch(`${base}/health`)).json();
      return isRecord(reply) && reply.waitingAttestations === 0 ? reply : undefined;
    });
    expect(health.status).to.equal("ok");
    expect(health.signer).to.equal(ORACLE_KEY.address);

    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).to.include('oracle_messages_accepted_total{kind="attestation"} 10');
    expect(metrics).to.include("oracle_settlement_latency_seconds_count 10");

    const response = await fetch(`${base}/batches/1/attestations`);
    expect(response.status).to.equal(200);
    const body: unknown = await response.json();
    if (!isRecord(body) || !Array.isArray(body.attestations) || typeof body.attestationsRoot !== "string") {
      throw new Error("unexpected audit body");
    }
    const settled = await chain.pool.queryFilter(chain.pool.filters.BatchSettled?.(1n) ?? "BatchSettled");
    const onChainRoot = settled[0] !== undefined ? chain.pool.interface.parseLog(settled[0])?.args.getValue("attestationsRoot") : undefined;
    expect(body.attestationsRoot).to.equal(onChainRoot);
    expect(body.attestations).to.have.length(10);
    const hasher = new DeviceMessageHasher(chain.domain);
    for (const item of body.attestations) {
      if (!isRecord(item) || typeof item.deviceId !== "string" || typeof item.second !== "number" || typeof item.seq !== "number" || typeof item.signature !== "string" || !Array.isArray(item.proof)) {
        throw new Error("unexpected attestation shape");
      }
      const leaf = [item.deviceId, BigInt(item.second), BigInt(item.seq), item.signature];
      expect(StandardMerkleTree.verify(body.attestationsRoot, [...ATTESTATION_LEAF_ENCODING], leaf, item.proof.map(String))).to.equal(true);
      const signer = hasher.recoverSigner({ kind: "attestation", deviceId: item.deviceId, second: BigInt(item.second), seq: BigInt(item.seq), signature: item.signature });
      expect(signer).to.equal(key.address);
    }
    expect((await fetch(`${base}/batches/99/attestations`)).status).to.equal(404);
    await device.close();
  });

  it("answers STORE_UNAVAILABLE when the store is full and pays every acknowledged second", async () => {
    const key = testDeviceKey("store-full");
    const wallet = testWallet("store-full");
    await chain.registerDevice(key, wallet);
    const now = await chain.advanceTime(1_200);
    const { logger } = memoryLogger("error");
    node = await startOracleNode(testOracleConfig(chain, { clock: clockAt(now), dataDir: tempDataDir("store-full"), storeMaxBytes: 160 * 1024 }), logger);
    const { device } = await TestDevice.connect(`ws://127.0.0.1:${node.port}`, chain.domain, key.address, key);
    const messages = attestRun(device, key, now - 1_000, now - 1, 1);
    let acknowledged = 0;
    let refusal: string | undefined;
    for (const message of messages) {
      const answer = await device.send(message);
      if (answer.type !== "ack") {
        refusal = answer.type === "error" ? answer.code : answer.type;
        break;
      }
      acknowledged++;
    }
    expect(refusal).to.equal("STORE_UNAVAILABLE");
    expect(acknowledged).to.be.greaterThan(0);
    const expected = amountOwedForRuns(chain.schedule, [{ fromSecond: now - 1_000, toSecond: now - 1_000 + acknowledged - 1 }]).total;
    await waitFor("every acknowledged second to be paid", async () => ((await chain.balanceOf(wallet)) === expected ? true : undefined));
    const failures = await node.metrics.storeCommits.get();
    expect(failures.values.find((value) => value.labels.outcome === "failed")?.value ?? 0).to.be.greaterThan(0);
    await device.close();
  });
});
