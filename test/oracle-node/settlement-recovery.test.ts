import { expect } from "chai";
import { Wallet } from "ethers";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { signBatchReport } from "../../protocol/batch-report.ts";
import { amountOwedForRuns } from "../../protocol/compensation.ts";
import type { OracleConfig } from "../../oracle-node/config.ts";
import { startOracleNode, type OracleNode } from "../../oracle-node/node.ts";
import { ORACLE_KEY, clockAt, createOracleChain, memoryLogger, tempDataDir, testDeviceKey, testOracleConfig, testWallet, waitFor, type OracleChain } from "../helpers/oracle-chain.ts";
import { TestDevice, attestRun } from "../helpers/oracle-device.ts";

type LogLine = Record<string, unknown>;

/** A batch as the node's audit endpoint serves it. */
type AuditedBatch = {
  state: string;
  attestationsRoot: string;
  txHash: string | null;
  blockNumber: number | null;
  entries: Array<{ deviceId: string; fromSecond: string; toSecond: string }>;
};

type Settling = {
  node: OracleNode;
  lines: LogLine[];
  dataDir: string;
  wallet: string;
  /** Amount the 20 attested seconds are owed, to the wei. */
  expected: bigint;
};

/** A large tip, so a board transaction is mined before the node's in the same block. */
const BOARD_TIP = { maxPriorityFeePerGas: 50_000_000_000n, maxFeePerGas: 100_000_000_000n };

/** Stops mining blocks on its own; the test mines with `mine`. */
async function stopMining(chain: OracleChain): Promise<void> {
  await chain.provider.request({ method: "evm_setIntervalMining", params: [0] });
  await chain.provider.request({ method: "evm_setAutomine", params: [false] });
}

/** Mines one block and returns its number. */
async function mine(chain: OracleChain): Promise<number> {
  await chain.provider.request({ method: "evm_mine", params: [] });
  return chain.ethers.provider.getBlockNumber();
}

/** Returns batch `sequence` from the node's audit endpoint, or undefined while it is not stored. */
async function auditedBatch(node: OracleNode, sequence: number): Promise<AuditedBatch | undefined> {
  const response = await fetch(`http://127.0.0.1:${node.port}/batches/${sequence}/attestations`);
  if (response.status === 404) {
    return undefined;
  }
  const body: unknown = await response.json();
  if (typeof body !== "object" || body === null || !("state" in body) || typeof body.state !== "string") {
    throw new Error(`unexpected audit response ${JSON.stringify(body)}`);
  }
  const { state, attestationsRoot, txHash, blockNumber, entries } = Object.fromEntries(Object.entries(body));
  return {
    state: String(state),
    attestationsRoot: String(attestationsRoot),
    txHash: typeof txHash === "string" ? txHash : null,
    blockNumber: typeof blockNumber === "number" ? blockNumber : null,
    entries: Array.isArray(entries) ? entries.map((entry: unknown) => {
      const fields = typeof entry === "object" && entry !== null ? Object.fromEntries(Object.entries(entry)) : {};
      return { deviceId: String(fields.deviceId), fromSecond: String(fields.fromSecond), toSecond: String(fields.toSecond) };
    }) : [],
  };
}

/** Waits until batch `sequence` is stored in `state`. */
function batchInState(node: OracleNode, sequence: number, state: string): Promise<AuditedBatch> {
  return waitFor(`batch ${sequence} to be ${state}`, async () => {
    const batch = await auditedBatch(node, sequence);
    return batch?.state === state ? batch : undefined;
  });
}

/** Counts the node's stored messages by status. */
function messageStatuses(dataDir: string): Record<string, number> {
  const db = new DatabaseSync(path.join(dataDir, "oracle.db"), { readOnly: true });
  try {
    const counts: Record<string, number> = {};
    for (const row of db.prepare("SELECT status, COUNT(*) AS count FROM messages GROUP BY status").all()) {
      counts[String(row.status)] = Number(row.count);
    }
    return counts;
  } finally {
    db.close();
  }
}

function countLines(lines: readonly LogLine[], match: (line: LogLine) => boolean): number {
  return lines.filter(match).length;
}

/** Waits until `lines` contains `count` lines that `match` accepts. */
function linesLogged(lines: readonly LogLine[], what: string, match: (line: LogLine) => boolean, count = 1): Promise<true> {
  return waitFor(what, () => (countLines(lines, match) >= count ? true : undefined));
}

/** Settles the batch's report from the board's account, as another committee member with the same content would. */
async function settleFromBoard(chain: OracleChain, batch: AuditedBatch, sequence: number): Promise<string> {
  const committee: unknown = await chain.pool.getFunction("committee")();
  const configDigest = Array.isArray(committee) ? String(committee[2]) : "";
  const report = {
    configDigest,
    sequence: BigInt(sequence),
    attestationsRoot: batch.attestationsRoot,
    entries: batch.entries.map((entry) => ({ deviceId: entry.deviceId, fromSecond: BigInt(entry.fromSecond), toSecond: BigInt(entry.toSecond) })),
  };
  const signature = await signBatchReport(chain.domain, report, new Wallet(ORACLE_KEY.privateKey));
  const sent = await chain.pool.connect(chain.board).getFunction("settle")(report, [signature], { ...BOARD_TIP, gasLimit: 1_000_000n });
  return String(sent.hash);
}

describe("oracle node settlement recovery", () => {
  let chain: OracleChain;
  let node: OracleNode | undefined;
  let device: TestDevice | undefined;

  beforeEach(async () => {
    chain = await createOracleChain();
  });

  afterEach(async () => {
    await device?.close();
    device = undefined;
    // Blocks again on their own, so a transaction still pending cannot keep the node from stopping.
    await chain.provider.request({ method: "evm_setAutomine", params: [true] });
    await chain.provider.request({ method: "evm_setIntervalMining", params: [100] });
    await node?.stop();
    node = undefined;
    await chain.close();
  });

  /**
   * Registers a device, starts a node with `overrides` and sends 20 attested seconds ending 21
   * seconds before the latest block. With `manualMining` blocks are mined only by the test from
   * the registration on. `beforeStart` runs after the registration is mined.
   */
  async function settle20Seconds(label: string, manualMining: boolean, overrides: Partial<OracleConfig>, beforeStart: () => Promise<void> = async () => {}): Promise<Settling> {
    const key = testDeviceKey(label);
    const wallet = testWallet(label);
    await chain.registerDevice(key, wallet);
    // Three blocks on top of the registration, so it counts with two confirmations.
    await chain.advanceTime(100);
    await mine(chain);
    const now = await chain.advanceTime(20);
    if (manualMining) {
      await stopMining(chain);
    }
    await beforeStart();
    const { logger, lines } = memoryLogger("debug");
    const dataDir = tempDataDir(label);
    node = await startOracleNode(testOracleConfig(chain, { clock: clockAt(now), dataDir, ...overrides }), logger);
    const connected = await TestDevice.connect(`ws://127.0.0.1:${node.port}`, chain.domain, key.address, key);
    device = connected.device;
    const answers = await device.sendAll(attestRun(device, key, now - 40, now - 21, 1));
    expect(answers.map((answer) => answer.type)).to.deep.equal(Array(20).fill("ack"));
    const expected = amountOwedForRuns(chain.schedule, [{ fromSecond: now - 40, toSecond: now - 21 }]).total;
    return { node, lines, dataDir, wallet, expected };
  }

  it("confirms a batch only after two blocks on top", async () => {
    const run = await settle20Seconds("confirmations", true, { confirmations: 2 });
    const submitted = await batchInState(run.node, 1, "submitted");

    const minedIn = await mine(chain);
    const waiting = (depth: number) => (line: LogLine) => line.msg === "waiting for confirmations" && line.batchSequence === 1 && line.depth === depth;
    const settled = (line: LogLine) => line.msg === "batch settled" && line.batchSequence === 1;
    await linesLogged(run.lines, "the receipt at depth 0", (line) => waiting(0)(line) || settled(line));
    expect((await auditedBatch(run.node, 1))?.state).to.equal("submitted");
    await mine(chain);
    await linesLogged(run.lines, "one block on top", (line) => waiting(1)(line) || settled(line));
    expect((await auditedBatch(run.node, 1))?.state).to.equal("submitted");
    expect(countLines(run.lines, settled)).to.equal(0);

    await mine(chain);
    const confirmed = await batchInState(run.node, 1, "confirmed");
    expect([confirmed.txHash, confirmed.blockNumber]).to.deep.equal([submitted.txHash, minedIn]);
    expect(await chain.balanceOf(run.wallet)).to.equal(run.expected);
    expect(messageStatuses(run.dataDir)).to.deep.equal({ paid: 20 });
  });

  it("stores the hash of the replacement that was mined", async () => {
    const run = await settle20Seconds("bump", true, { gasBumpAfterRealMs: 300 });
    const first = await batchInState(run.node, 1, "submitted");
    await linesLogged(run.lines, "a replacement", (line) => line.msg === "transaction re-sent with higher fees" && line.batchSequence === 1);

    const minedIn = await mine(chain);
    const confirmed = await batchInState(run.node, 1, "confirmed");
    const block = await chain.ethers.provider.getBlock(minedIn);
    expect(block?.transactions).to.have.length(1);
    expect(confirmed.txHash).to.equal(block?.transactions[0]);
    expect(confirmed.txHash).to.not.equal(first.txHash);
    expect(confirmed.blockNumber).to.equal(minedIn);
    expect(await chain.ethers.provider.getTransactionCount(ORACLE_KEY.address, "latest")).to.equal(1);
    expect(await chain.balanceOf(run.wallet)).to.equal(run.expected);
  });

  it("sends a batch again after a reorganisation dropped it", async () => {
    let snapshot: unknown;
    const run = await settle20Seconds("reorg", true, { confirmations: 2 }, async () => {
      snapshot = await chain.provider.request({ method: "evm_snapshot", params: [] });
    });
    const submitted = await batchInState(run.node, 1, "submitted");
    const droppedBlock = await mine(chain);
    const waiting = (line: LogLine) => line.msg === "waiting for confirmations" && line.batchSequence === 1 && line.depth === 0;
    await linesLogged(run.lines, "the receipt at depth 0", waiting);
    expect(await chain.lastBatchSequence()).to.equal(1);

    // Reverting to the snapshot drops the block with the settlement, as a reorganisation would.
    expect(await chain.provider.request({ method: "evm_revert", params: [snapshot] })).to.equal(true);
    expect(await chain.lastBatchSequence()).to.equal(0);
    await linesLogged(run.lines, "the reorganisation to be noticed", (line) => line.msg === "transaction left the chain in a reorganisation; sending it again" && line.batchSequence === 1);
    expect(await chain.balanceOf(run.wallet)).to.equal(0n);

    const minedIn = await mine(chain);
    await linesLogged(run.lines, "the receipt in the new chain", waiting, 2);
    await mine(chain);
    await mine(chain);
    const confirmed = await batchInState(run.node, 1, "confirmed");
    expect([confirmed.txHash, confirmed.blockNumber]).to.deep.equal([submitted.txHash, minedIn]);
    expect(minedIn).to.equal(droppedBlock);
    expect(await chain.lastBatchSequence()).to.equal(1);
    expect(await chain.balanceOf(run.wallet)).to.equal(run.expected);
    expect(messageStatuses(run.dataDir)).to.deep.equal({ paid: 20 });
  });

  it("keeps a batch while the pool is paused", async () => {
    const run = await settle20Seconds("paused", false, {}, async () => {
      await (await chain.pool.connect(chain.board).getFunction("pause")()).wait();
    });
    const paused = (line: LogLine) => line.msg === "pool is paused; keeping the batch for a later window" && line.batchSequence === 1;
    await linesLogged(run.lines, "two paused simulations", paused, 2);
    expect(run.lines.filter(paused).map((line) => [line.level, line.reason])).to.deep.include(["warn", "EnforcedPause()"]);
    expect((await auditedBatch(run.node, 1))?.state).to.equal("built");
    expect(countLines(run.lines, (line) => line.msg === "transaction sent")).to.equal(0);

    await (await chain.pool.connect(chain.board).getFunction("unpause")()).wait();
    const confirmed = await batchInState(run.node, 1, "confirmed");
    expect(confirmed.txHash).to.be.a("string");
    expect(await chain.lastBatchSequence()).to.equal(1);
    expect(await chain.ethers.provider.getTransactionCount(ORACLE_KEY.address, "latest")).to.equal(1);
    expect(await chain.balanceOf(run.wallet)).to.equal(run.expected);
  });

  it("logs the reason of a reverted batch and sends it again", async () => {
    const run = await settle20Seconds("reverted", true, {});
    const first = await batchInState(run.node, 1, "submitted");
    await chain.pool.connect(chain.board).getFunction("pause")(BOARD_TIP);
    const revertedIn = await mine(chain);
    const firstReceipt = await chain.ethers.provider.getTransactionReceipt(first.txHash ?? "");
    expect([firstReceipt?.status, firstReceipt?.blockNumber]).to.deep.equal([0, revertedIn]);

    const reverted = await waitFor("the revert to be logged", () => run.lines.find((line) => line.msg === "batch transaction reverted; simulating it again next window"));
    expect([reverted.batchSequence, reverted.txHash, reverted.reason]).to.deep.equal([1, first.txHash, "EnforcedPause()"]);
    await linesLogged(run.lines, "a paused simulation", (line) => line.msg === "pool is paused; keeping the batch for a later window" && line.reason === "EnforcedPause()");

    await chain.pool.connect(chain.board).getFunction("unpause")(BOARD_TIP);
    await mine(chain);
    await linesLogged(run.lines, "the second send", (line) => line.msg === "transaction sent" && line.batchSequence === 1, 2);
    const minedIn = await mine(chain);
    const confirmed = await batchInState(run.node, 1, "confirmed");
    expect(confirmed.blockNumber).to.equal(minedIn);
    expect(confirmed.txHash).to.not.equal(first.txHash);
    expect(await chain.lastBatchSequence()).to.equal(1);
    expect(await chain.ethers.provider.getTransactionCount(ORACLE_KEY.address, "latest")).to.equal(2);
    expect(await chain.balanceOf(run.wallet)).to.equal(run.expected);
    expect(messageStatuses(run.dataDir)).to.deep.equal({ paid: 20 });
  });

  it("never sends a sequence settled before it was sent", async () => {
    const run = await settle20Seconds("settled-first", true, {}, async () => {
      await chain.pool.connect(chain.board).getFunction("pause")();
      await mine(chain);
    });
    const paused = (line: LogLine) => line.msg === "pool is paused; keeping the batch for a later window" && line.batchSequence === 1;
    await linesLogged(run.lines, "a paused simulation", paused);
    const built = await batchInState(run.node, 1, "built");

    await chain.pool.connect(chain.board).getFunction("unpause")(BOARD_TIP);
    const settleHash = await settleFromBoard(chain, built, 1);
    const settledIn = await mine(chain);
    expect(await chain.lastBatchSequence()).to.equal(1);
    expect(await chain.balanceOf(run.wallet)).to.equal(run.expected);

    const confirmed = await batchInState(run.node, 1, "confirmed");
    expect([confirmed.txHash, confirmed.blockNumber]).to.deep.equal([settleHash, settledIn]);
    expect(messageStatuses(run.dataDir)).to.deep.equal({ paid: 20 });
    expect(countLines(run.lines, (line) => line.msg === "transaction sent")).to.equal(0);
    expect(await chain.ethers.provider.getTransactionCount(ORACLE_KEY.address, "pending")).to.equal(0);
    await mine(chain);
    expect(await chain.lastBatchSequence()).to.equal(1);
    expect(await chain.balanceOf(run.wallet)).to.equal(run.expected);
  });

  it("confirms a sequence another transaction settled first", async () => {
    const run = await settle20Seconds("overtaken", true, {});
    const submitted = await batchInState(run.node, 1, "submitted");
    const settleHash = await settleFromBoard(chain, submitted, 1);
    const settledIn = await mine(chain);
    const nodeReceipt = await chain.ethers.provider.getTransactionReceipt(submitted.txHash ?? "");
    expect([nodeReceipt?.status, nodeReceipt?.blockNumber]).to.deep.equal([0, settledIn]);

    const confirmed = await batchInState(run.node, 1, "confirmed");
    expect([confirmed.txHash, confirmed.blockNumber]).to.deep.equal([settleHash, settledIn]);
    const reverted = run.lines.find((line) => line.msg === "batch transaction reverted; simulating it again next window");
    expect(reverted?.reason).to.equal("UnexpectedBatchSequence(2, 1)");
    expect(messageStatuses(run.dataDir)).to.deep.equal({ paid: 20 });
    expect(countLines(run.lines, (line) => line.msg === "transaction sent")).to.equal(1);
    expect(await chain.ethers.provider.getTransactionCount(ORACLE_KEY.address, "pending")).to.equal(1);
    await mine(chain);
    expect(await chain.lastBatchSequence()).to.equal(1);
    expect(await chain.balanceOf(run.wallet)).to.equal(run.expected);
  });
});
