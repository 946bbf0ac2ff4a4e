import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Wallet, id, type Signer } from "ethers";
import { network } from "hardhat";
import type { ClockDefinition } from "../../protocol/clock.ts";
import type { Schedule } from "../../protocol/compensation.ts";
import { protocolDomain, type ProtocolDomain } from "../../protocol/eip712.ts";
import type { OracleConfig } from "../../oracle-node/config.ts";
import { createLogger, type Logger } from "../../oracle-node/logger.ts";
import { RpcBridge } from "./oracle-rpc-bridge.ts";

/** 1 token in base units (18 decimals). */
export const TOKEN = 10n ** 18n;

/**
 * The schedule the oracle tests deploy: every second pays from the first one, so short
 * outages give non-zero amounts, and a second tier checks that amounts follow the tiers.
 */
export const TEST_SCHEDULE: Schedule = {
  tiers: [
    { startOffsetSeconds: 0, ratePerHour: 36n * TOKEN },
    { startOffsetSeconds: 10, ratePerHour: 72n * TOKEN },
  ],
  mergeGapSeconds: 300,
};

export const FEEDER_NORTH = id("feeder-north");
export const FEEDER_SOUTH = id("feeder-south");

/** The committee key of the oracle under test. */
export const ORACLE_KEY = new Wallet(id("central-electric oracle test key"));

/** Device keys from fixed seeds; a device's id is its first key's address. */
export function testDeviceKey(label: string): Wallet {
  return new Wallet(id(`central-electric oracle test device ${label}`));
}

/** Payout wallet of a test device. */
export function testWallet(label: string): string {
  return new Wallet(id(`central-electric oracle test wallet ${label}`)).address;
}

export type OracleChain = Awaited<ReturnType<typeof createOracleChain>>;

/**
 * Starts an in-process Hardhat network that mines a block every `blockIntervalRealMs` (so
 * block time follows the wall clock) and deploys token, registry and a pool whose committee
 * is ORACLE_KEY alone, funded with 1,000,000 tokens. An RPC bridge serves it on 127.0.0.1.
 */
export async function createOracleChain(options: { blockIntervalRealMs?: number; schedule?: Schedule } = {}) {
  const connection = await network.create();
  const { ethers, provider } = connection;
  const schedule = options.schedule ?? TEST_SCHEDULE;
  await provider.request({ method: "evm_setIntervalMining", params: [options.blockIntervalRealMs ?? 200] });
  const [board, funder] = await ethers.getSigners();
  if (board === undefined || funder === undefined) {
    throw new Error("the network needs two accounts");
  }
  await (await board.sendTransaction({ to: ORACLE_KEY.address, value: 100n * TOKEN })).wait();
  const token = await ethers.deployContract("PayoutToken", [board.address]);
  const registry = await ethers.deployContract("DeviceRegistry", [board.address]);
  const pool = await ethers.deployContract("PayoutPool", [
    await token.getAddress(),
    await registry.getAddress(),
    board.address,
    [ORACLE_KEY.address],
    1,
    schedule.tiers.map((tier) => ({ startOffsetSeconds: BigInt(tier.startOffsetSeconds), ratePerHour: tier.ratePerHour })),
    BigInt(schedule.mergeGapSeconds),
    0n,
  ]);
  const poolAddress = await pool.getAddress();
  const funding = 1_000_000n * TOKEN;
  await (await token.mint(funder.address, funding)).wait();
  await (await token.connect(funder).getFunction("approve")(poolAddress, funding)).wait();
  await (await pool.connect(funder).getFunction("fund")(funding)).wait();
  const { chainId } = await ethers.provider.getNetwork();
  const domain: ProtocolDomain = protocolDomain(chainId, poolAddress);
  const bridge = new RpcBridge(provider);
  await bridge.start();

  /** Latest block timestamp, in unix seconds. */
  const latestTimestamp = async (): Promise<number> => {
    const block = await ethers.provider.getBlock("latest");
    if (block === null) {
      throw new Error("no latest block");
    }
    return block.timestamp;
  };

  /** Registers a device whose id is its key's address. */
  const registerDevice = async (key: Wallet, wallet: string, feederId: string = FEEDER_NORTH): Promise<void> => {
    await (await registry.getFunction("registerDevice")(key.address, key.address, wallet, feederId)).wait();
  };

  /** Moves chain time forward by `seconds` and mines a block; returns the new latest timestamp. */
  const advanceTime = async (seconds: number): Promise<number> => {
    await provider.request({ method: "evm_increaseTime", params: [seconds] });
    await provider.request({ method: "evm_mine", params: [] });
    return latestTimestamp();
  };

  /** Token balance of `address`. */
  const balanceOf = async (address: string): Promise<bigint> => {
    const value: unknown = await token.getFunction("balanceOf")(address);
    if (typeof value !== "bigint") {
      throw new Error("balanceOf returned a non-integer");
    }
    return value;
  };

  /** Last batch sequence on the pool. */
  const lastBatchSequence = async (): Promise<number> => Number(await pool.getFunction("lastBatchSequence")());

  return {
    connection,
    ethers,
    provider,
    board: board satisfies Signer,
    token,
    registry,
    pool,
    poolAddress,
    registryAddress: await registry.getAddress(),
    chainId,
    domain,
    schedule,
    bridge,
    latestTimestamp,
    advanceTime,
    registerDevice,
    balanceOf,
    lastBatchSequence,
    async close(): Promise<void> {
      await bridge.stop();
      await provider.request({ method: "evm_setIntervalMining", params: [0] });
      await connection.close();
    },
  };
}

/** Returns a clock at scale 1 whose simulated time equals `nowSecond` now. */
export function clockAt(nowSecond: number): ClockDefinition {
  return { realAnchorMs: Date.now(), simAnchorSeconds: nowSecond, scale: 1 };
}

/** Creates a fresh data folder for one node. */
export function tempDataDir(label: string): string {
  return mkdtempSync(path.join(tmpdir(), `oracle-${label}-`));
}

/** Returns a configuration for a node on `chain`, listening on a free port, with short windows for tests. */
export function testOracleConfig(chain: OracleChain, overrides: Partial<OracleConfig> & { clock: ClockDefinition; dataDir: string }): OracleConfig {
  return {
    rpcUrl: chain.bridge.url,
    poolAddress: chain.poolAddress,
    registryAddress: chain.registryAddress,
    signer: { kind: "privateKey", privateKey: ORACLE_KEY.privateKey },
    host: "127.0.0.1",
    port: 0,
    batchWindowRealMs: 300,
    maxBatchEntries: 200,
    blockGasShare: 0.5,
    confirmations: 0,
    maxBackfillAgeSimSeconds: 3_600,
    futureSkewSimSeconds: 5,
    corroborationK: 1,
    attestationRetentionRealSeconds: 86_400,
    registryFromBlock: 0,
    logRangeBlocks: 50,
    pollIntervalRealMs: 100,
    gasBumpAfterRealMs: 10_000,
    verifyWorkers: 2,
    groupCommitRealMs: 2,
    rateLimitPerSecond: 1_000,
    rateLimitBurst: 100_000,
    storeMaxBytes: undefined,
    logLevel: "warn",
    ...overrides,
  };
}

/** Creates a logger that keeps lines in memory, so tests can find what the node logged. */
export function memoryLogger(level: "debug" | "info" | "warn" | "error" = "info"): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({
    level,
    write: (line) => {
      const parsed: unknown = JSON.parse(line);
      if (typeof parsed === "object" && parsed !== null) {
        lines.push(Object.fromEntries(Object.entries(parsed)));
      }
      if (process.env.ORACLE_TEST_LOGS === "1") {
        process.stderr.write(line + "\n");
      }
    },
  });
  return { logger, lines };
}

/** Polls `check` every 50 ms until it returns a value other than undefined; fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) {
      return value;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
