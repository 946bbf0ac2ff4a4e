import { Wallet, ZeroHash, id, type Signer } from "ethers";
import type { HardhatEthers } from "@nomicfoundation/hardhat-ethers/types";
import type { DeviceRegistry, PayoutPool } from "../../types/ethers-contracts/index.ts";
import { signBatchReport, type BatchEntry, type BatchReport } from "../../protocol/batch-report.ts";
import { protocolDomain } from "../../protocol/eip712.ts";

/** 1 rupee in token base units (18 decimals). */
export const RUPEE = 10n ** 18n;

/** Delhi's default schedule as the pool's constructor takes it. */
export const DEFAULT_TIERS = [
  { startOffsetSeconds: 0n, ratePerHour: 0n },
  { startOffsetSeconds: 3_600n, ratePerHour: 50n * RUPEE },
  { startOffsetSeconds: 10_800n, ratePerHour: 100n * RUPEE },
];

export const MERGE_GAP_SECONDS = 300n;

export const FEEDER_A = id("feeder-A");
export const FEEDER_B = id("feeder-B");

/** Committee keys derived from fixed seeds so failures reproduce. */
export const COMMITTEE = [1, 2, 3].map((index) => new Wallet(id(`central-electric committee member ${index}`)));

/** Device keys derived from fixed seeds; a device's id is the address of its first key. */
export function deviceKey(index: number): Wallet {
  return new Wallet(id(`central-electric device ${index}`));
}

export type PoolOptions = {
  threshold?: number;
  fundingWei?: bigint;
  dailyCapPerDevice?: bigint;
  useBlacklistableToken?: boolean;
};

/** Deploys token, registry and a pool with a 3-member committee, and funds the pool. */
export async function deployPool(ethers: HardhatEthers, options: PoolOptions = {}) {
  const [board, funder, ...others] = await ethers.getSigners();
  if (board === undefined || funder === undefined) {
    throw new Error("the network needs at least two accounts");
  }
  const token = await ethers.deployContract("PayoutToken", [board.address]);
  const blacklistable = await ethers.deployContract("BlacklistableToken");
  const payoutTokenAddress = options.useBlacklistableToken === true ? await blacklistable.getAddress() : await token.getAddress();
  const registry = await ethers.deployContract("DeviceRegistry", [board.address]);
  const pool = await ethers.deployContract("PayoutPool", [
    payoutTokenAddress,
    await registry.getAddress(),
    board.address,
    COMMITTEE.map((member) => member.address),
    options.threshold ?? 2,
    DEFAULT_TIERS,
    MERGE_GAP_SECONDS,
    options.dailyCapPerDevice ?? 0n,
  ]);
  const poolAddress = await pool.getAddress();
  const fundingWei = options.fundingWei ?? 1_000_000n * RUPEE;
  if (fundingWei > 0n) {
    if (options.useBlacklistableToken === true) {
      await blacklistable.mint(funder.address, fundingWei);
      await blacklistable.connect(funder).approve(poolAddress, fundingWei);
    } else {
      await token.mint(funder.address, fundingWei);
      await token.connect(funder).approve(poolAddress, fundingWei);
    }
    await pool.connect(funder).fund(fundingWei);
  }
  const { chainId } = await ethers.provider.getNetwork();
  const domain = protocolDomain(chainId, poolAddress);
  return { board, funder, others, token, blacklistable, registry, pool, poolAddress, chainId, domain };
}

/** Registers `count` devices on FEEDER_A, each paying to a fresh wallet; returns ids and wallets. */
export async function registerDevices(
  registry: DeviceRegistry,
  count: number,
  firstIndex = 0,
): Promise<{ deviceIds: string[]; wallets: string[] }> {
  const deviceIds: string[] = [];
  const wallets: string[] = [];
  for (let i = firstIndex; i < firstIndex + count; i += 1) {
    const key = deviceKey(i);
    const wallet = new Wallet(id(`central-electric wallet ${i}`)).address;
    await registry.registerDevice(key.address, key.address, wallet, FEEDER_A);
    deviceIds.push(key.address);
    wallets.push(wallet);
  }
  return { deviceIds, wallets };
}

export type ReportInput = {
  configDigest: string;
  sequence: bigint;
  entries: BatchEntry[];
  attestationsRoot?: string;
};

export function buildReport(input: ReportInput): BatchReport {
  return {
    configDigest: input.configDigest,
    sequence: input.sequence,
    attestationsRoot: input.attestationsRoot ?? ZeroHash,
    entries: input.entries,
  };
}

/** Signs `report` with each of `signers` in the pool's domain. */
export async function signReport(
  domain: ReturnType<typeof protocolDomain>,
  report: BatchReport,
  signers: readonly Signer[],
): Promise<string[]> {
  return Promise.all(signers.map((signer) => signBatchReport(domain, report, signer)));
}

/** Signs the next batch with the first two committee members and settles it. */
export async function settleNext(
  pool: PayoutPool,
  domain: ReturnType<typeof protocolDomain>,
  entries: BatchEntry[],
  signers: readonly Signer[] = COMMITTEE.slice(0, 2),
) {
  const { configDigest } = await pool.committee();
  const sequence = (await pool.lastBatchSequence()) + 1n;
  const report = buildReport({ configDigest, sequence, entries });
  const signatures = await signReport(domain, report, signers);
  return pool.settle(report, signatures);
}

/** Builds an entry. */
export function entry(deviceId: string, fromSecond: bigint, toSecond: bigint): BatchEntry {
  return { deviceId, fromSecond, toSecond };
}
