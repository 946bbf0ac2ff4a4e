import hre from "hardhat";
import { Wallet, ZeroHash, encodeBytes32String, id, type ContractTransactionResponse } from "ethers";
import { signBatchReport, type BatchEntry, type BatchReport } from "../../protocol/batch-report.ts";
import { protocolDomain } from "../../protocol/eip712.ts";
import { setTaskIo, type TextWriter } from "../../tasks/task-io.ts";
import type { PayoutPool } from "../../types/ethers-contracts/index.ts";

/**
 * The tasks connect with hre.network.getOrCreate(), so the tests share that cached in-process
 * network with them instead of creating their own.
 */
export const connection = await hre.network.getOrCreate();

export const RUPEE = 10n ** 18n;
export const FUNDING_WEI = 1_000_000n * RUPEE;

/** Feeder of device A, stored as a bytes32 string so it decodes back to text. */
export const FEEDER_TEXT = "DL-NDPL-F12";
export const FEEDER_A = encodeBytes32String(FEEDER_TEXT);
/** Feeder of device B, a hash that has no text form. */
export const FEEDER_B = id("feeder-B");

/** The one committee member (threshold 1); its key is derived from a fixed seed. */
export const COMMITTEE_MEMBER = new Wallet(id("central-electric task tests committee"));
export const DEVICE_A = new Wallet(id("central-electric task tests device A"));
export const DEVICE_B = new Wallet(id("central-electric task tests device B"));
export const WALLET_A = new Wallet(id("central-electric task tests wallet A")).address;
export const WALLET_B = new Wallet(id("central-electric task tests wallet B")).address;

/** Off-seconds settled for device A: one second into the paid tier, owed 13,888,888,888,888,888 wei. */
export const OFF_SECONDS_A = 3_601n;
export const OWED_A = 13_888_888_888_888_888n;
/** Off-seconds settled for device B: two hours, owed 50 rupees. */
export const OFF_SECONDS_B = 7_200n;
export const OWED_B = 50n * RUPEE;

/** Collects what a task writes. */
export class CapturedOutput implements TextWriter {
  text = "";
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

/** Sends task output to fresh buffers and returns them. */
export function captureTaskIo(): { out: CapturedOutput; err: CapturedOutput } {
  const io = { out: new CapturedOutput(), err: new CapturedOutput() };
  setTaskIo(hre, io);
  return io;
}

async function blockOf(tx: Promise<ContractTransactionResponse>): Promise<number> {
  const receipt = await (await tx).wait();
  if (receipt === null) {
    throw new Error("transaction has no receipt");
  }
  return receipt.blockNumber;
}

/** Signs the next batch with the committee member and settles it. */
export async function settleBatch(pool: PayoutPool, entries: BatchEntry[]): Promise<number> {
  const { chainId } = await connection.ethers.provider.getNetwork();
  const domain = protocolDomain(chainId, await pool.getAddress());
  const { configDigest } = await pool.committee();
  const report: BatchReport = { configDigest, sequence: (await pool.lastBatchSequence()) + 1n, attestationsRoot: ZeroHash, entries };
  const signature = await signBatchReport(domain, report, COMMITTEE_MEMBER);
  return blockOf(pool.settle(report, [signature]));
}

/**
 * Deploys token, registry and pool with a committee of one and the default schedule, funds the
 * pool with 1,000,000 eINR and registers devices A and B. Then it settles batch 1, in which A was
 * off for 3,601 seconds and B for 7,200 seconds, both from 2 days before the batch.
 */
export async function deploySettledChain() {
  const { ethers, networkHelpers } = connection;
  const [board, other] = await ethers.getSigners();
  if (board === undefined || other === undefined) {
    throw new Error("the network needs at least two accounts");
  }
  const token = await ethers.deployContract("PayoutToken", [board.address]);
  const registry = await ethers.deployContract("DeviceRegistry", [board.address]);
  const pool = await ethers.deployContract("PayoutPool", [
    await token.getAddress(),
    await registry.getAddress(),
    board.address,
    [COMMITTEE_MEMBER.address],
    1,
    [
      { startOffsetSeconds: 0n, ratePerHour: 0n },
      { startOffsetSeconds: 3_600n, ratePerHour: 50n * RUPEE },
      { startOffsetSeconds: 10_800n, ratePerHour: 100n * RUPEE },
    ],
    300n,
    0n,
  ]);
  const poolAddress = await pool.getAddress();
  const deployBlock = (await pool.deploymentTransaction()?.wait())?.blockNumber ?? 0;

  await token.mint(board.address, FUNDING_WEI);
  await token.approve(poolAddress, FUNDING_WEI);
  const fundBlock = await blockOf(pool.fund(FUNDING_WEI));
  const registerBlockA = await blockOf(registry.registerDevice(DEVICE_A.address, DEVICE_A.address, WALLET_A, FEEDER_A));
  const registerBlockB = await blockOf(registry.registerDevice(DEVICE_B.address, DEVICE_B.address, WALLET_B, FEEDER_B));

  await networkHelpers.time.increase(3 * 86_400);
  const outageStart = BigInt(await networkHelpers.time.latest()) - 2n * 86_400n;
  const settleBlock = await settleBatch(pool, [
    { deviceId: DEVICE_A.address, fromSecond: outageStart, toSecond: outageStart + OFF_SECONDS_A - 1n },
    { deviceId: DEVICE_B.address, fromSecond: outageStart, toSecond: outageStart + OFF_SECONDS_B - 1n },
  ]);
  const settleTime = (await ethers.provider.getBlock(settleBlock))?.timestamp ?? 0;

  return {
    board,
    other,
    token,
    registry,
    pool,
    poolAddress,
    registryAddress: await registry.getAddress(),
    tokenAddress: await token.getAddress(),
    outageStart,
    blocks: { deployBlock, fundBlock, registerBlockA, registerBlockB, settleBlock },
    settleTime,
  };
}
