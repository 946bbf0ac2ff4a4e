import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { Contract, JsonRpcProvider, Network, Wallet } from "ethers";
import { loadAbi } from "../protocol/artifacts.ts";
import { SimClock } from "../protocol/clock.ts";
import { DEFAULT_SCHEDULE } from "../protocol/compensation.ts";
import { domainSeparator, protocolDomain } from "../protocol/eip712.ts";
import { Settlement } from "./batches/settlement.ts";
import type { OracleConfig } from "./config.ts";
import { DeviceMessageIngest } from "./ingest/device-message-ingest.ts";
import { GroupCommitter } from "./ingest/group-commit.ts";
import type { Logger } from "./logger.ts";
import { createMetrics, type OracleMetrics } from "./metrics.ts";
import { RegistryMirror } from "./registry-mirror.ts";
import { AuditError, batchAttestations } from "./server/audit.ts";
import { DeviceServer } from "./server/device-server.ts";
import { BatchStore } from "./store/batch-store.ts";
import { openDatabase } from "./store/database.ts";
import { MessageStore } from "./store/message-store.ts";
import { RegistryStore } from "./store/registry-store.ts";
import { TxSender } from "./tx-sender.ts";
import { VerifierPool } from "./verify/verifier-pool.ts";

/** A running oracle node. */
export type OracleNode = {
  /** Port the device WebSocket and HTTP server listens on. */
  port: number;
  metrics: OracleMetrics;
  /** Stops accepting, commits what was decided, and closes everything. */
  stop(): Promise<void>;
};

/** Chain ids of local development chains, where 0 confirmations is the default. */
const LOCAL_CHAIN_IDS = new Set([31_337n, 1_337n]);

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Reads the chain id, retrying while the RPC endpoint is unreachable. */
async function detectChainId(rpcUrl: string, logger: Logger, signal: AbortSignal | undefined): Promise<bigint> {
  for (let attempt = 1; ; attempt++) {
    const probe = new JsonRpcProvider(rpcUrl, undefined, { staticNetwork: true, batchMaxCount: 1 });
    try {
      const chainIdHex: unknown = await probe.send("eth_chainId", []);
      if (typeof chainIdHex !== "string") {
        throw new Error("eth_chainId returned a non-string");
      }
      return BigInt(chainIdHex);
    } catch (error) {
      if (signal?.aborted === true) {
        throw new Error("start cancelled while waiting for the RPC endpoint", { cause: error });
      }
      logger.warn("RPC endpoint unreachable; retrying", { rpcUrl, attempt, error });
      await sleep(Math.min(5_000, 250 * attempt));
    } finally {
      probe.destroy();
    }
  }
}

async function loadSigner(config: OracleConfig, provider: JsonRpcProvider): Promise<Wallet> {
  if (config.signer.kind === "privateKey") {
    return new Wallet(config.signer.privateKey, provider);
  }
  const wallet = await Wallet.fromEncryptedJson(readFileSync(config.signer.path, "utf8"), config.signer.password);
  return new Wallet(wallet.privateKey, provider);
}

async function readMergeGapSeconds(pool: Contract, logger: Logger): Promise<number> {
  try {
    const count: unknown = await pool.getFunction("scheduleCount").staticCall();
    if (typeof count === "bigint" && count > 0n) {
      const schedule: unknown = await pool.getFunction("schedule").staticCall(count - 1n);
      const gap: unknown = Array.isArray(schedule) ? schedule[2] : undefined;
      if (typeof gap === "bigint") {
        return Number(gap);
      }
    }
  } catch (error) {
    logger.warn("could not read the pool's merge gap; using the default", { error, mergeGapSeconds: DEFAULT_SCHEDULE.mergeGapSeconds });
  }
  return DEFAULT_SCHEDULE.mergeGapSeconds;
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json" });
  response.end(JSON.stringify(body));
}

/**
 * Starts an oracle node: opens the store, mirrors the registry, listens for devices and
 * settles on the pool. `signal` cancels a start still waiting for the RPC endpoint.
 */
export async function startOracleNode(config: OracleConfig, logger: Logger, signal?: AbortSignal): Promise<OracleNode> {
  logger.info("oracle node starting", { rpcUrl: config.rpcUrl, pool: config.poolAddress, registry: config.registryAddress, dataDir: config.dataDir });
  const metrics = createMetrics();
  const db = openDatabase({ dataDir: config.dataDir, maxBytes: config.storeMaxBytes });
  const registryStore = new RegistryStore(db);
  // Above 80% of the size limit new messages are refused, so settling the accepted ones still fits.
  const messages = new MessageStore(db, config.storeMaxBytes === undefined ? undefined : config.storeMaxBytes * 0.8);
  const batches = new BatchStore(db, messages);

  const chainId = await detectChainId(config.rpcUrl, logger, signal);
  const network = Network.from(chainId);
  const provider = new JsonRpcProvider(config.rpcUrl, network, { staticNetwork: network, pollingInterval: config.pollIntervalRealMs });
  const signer = await loadSigner(config, provider);
  const pool = new Contract(config.poolAddress, loadAbi("PayoutPool"), provider);
  const domain = protocolDomain(chainId, config.poolAddress);
  const confirmations = config.confirmations ?? (LOCAL_CHAIN_IDS.has(chainId) ? 0 : 3);
  const clock = new SimClock(config.clock);

  try {
    const committee: unknown = await pool.getFunction("committee").staticCall();
    const signers: unknown = Array.isArray(committee) ? committee[0] : undefined;
    if (Array.isArray(signers) && !signers.map(String).includes(signer.address)) {
      logger.warn("this node's key is not in the pool's committee; its batches will be rejected", { signer: signer.address });
    }
  } catch (error) {
    logger.warn("could not read the pool's committee", { error });
  }
  const mergeGapSeconds = await readMergeGapSeconds(pool, logger);

  const mirror = new RegistryMirror({
    provider,
    registryAddress: config.registryAddress,
    db,
    store: registryStore,
    logger: logger.child({ component: "registry-mirror" }),
    metrics,
    confirmations,
    fromBlock: config.registryFromBlock,
    logRangeBlocks: config.logRangeBlocks,
    pollIntervalRealMs: config.pollIntervalRealMs,
  });
  await mirror.start();

  const verifier = new VerifierPool({ domainSeparator: domainSeparator(domain), workers: config.verifyWorkers, logger: logger.child({ component: "verifier" }) });
  const committer = new GroupCommitter({
    store: messages,
    logger,
    groupCommitRealMs: config.groupCommitRealMs,
    maxGroupSize: 4_096,
    onCommit: (size, ok) => metrics.storeCommits.inc({ outcome: ok ? "committed" : "failed" }),
  });
  const ingest = new DeviceMessageIngest({
    registry: registryStore,
    messages,
    committer,
    verifier,
    lookup: mirror,
    clock,
    maxBackfillAgeSimSeconds: config.maxBackfillAgeSimSeconds,
    futureSkewSimSeconds: config.futureSkewSimSeconds,
    logger: logger.child({ component: "ingest" }),
    metrics,
  });

  const http = async (request: IncomingMessage, response: ServerResponse): Promise<boolean> => {
    const url = new URL(request.url ?? "/", "http://localhost");
    if (request.method !== "GET") {
      return false;
    }
    if (url.pathname === "/health") {
      sendJson(response, 200, {
        status: "ok",
        chainId: chainId.toString(),
        pool: config.poolAddress,
        signer: signer.address,
        connections: server.connectionCount(),
        mirroredBlock: registryStore.mirroredBlock() ?? null,
        waitingAttestations: messages.countWaiting(),
      });
      return true;
    }
    if (url.pathname === "/metrics") {
      response.writeHead(200, { "content-type": metrics.registry.contentType });
      response.end(await metrics.registry.metrics());
      return true;
    }
    const match = /^\/batches\/([0-9]{1,15})\/attestations$/.exec(url.pathname);
    if (match?.[1] !== undefined) {
      try {
        sendJson(response, 200, batchAttestations(batches, Number(match[1])));
      } catch (error) {
        if (error instanceof AuditError) {
          sendJson(response, error.status, { error: error.message });
        } else {
          throw error;
        }
      }
      return true;
    }
    return false;
  };

  const server = new DeviceServer({
    host: config.host,
    port: config.port,
    domain,
    ingest,
    verifier,
    registry: registryStore,
    messages,
    logger: logger.child({ component: "device-server" }),
    metrics,
    rateLimitBurst: config.rateLimitBurst,
    rateLimitPerSecond: config.rateLimitPerSecond,
    http,
  });
  const port = await server.listen();

  const sender = new TxSender({
    provider,
    wallet: signer,
    logger: logger.child({ component: "tx-sender" }),
    confirmations,
    gasBumpAfterRealMs: config.gasBumpAfterRealMs,
    pollIntervalRealMs: config.pollIntervalRealMs,
    maxGasBumps: 10,
  });
  const settlement = new Settlement({
    provider,
    pool,
    signer,
    sender,
    domain,
    db,
    messages,
    batches,
    registry: registryStore,
    clock,
    logger: logger.child({ component: "settlement" }),
    metrics,
    batchWindowRealMs: config.batchWindowRealMs,
    maxBatchEntries: config.maxBatchEntries,
    blockGasShare: config.blockGasShare,
    corroboration: { k: config.corroborationK, mergeGapSeconds, waitSimSeconds: config.maxBackfillAgeSimSeconds },
  });
  settlement.start();

  const housekeeping = setInterval(() => {
    metrics.queueDepth.set({ queue: "verify" }, verifier.queueDepth());
    metrics.queueDepth.set({ queue: "commit" }, committer.size());
  }, 1_000);
  const pruneEveryRealMs = Math.min(3_600_000, config.attestationRetentionRealSeconds * 100);
  const pruning = setInterval(() => {
    try {
      const pruned = messages.prune(Date.now() - config.attestationRetentionRealSeconds * 1000);
      if (pruned > 0) {
        logger.info("old messages pruned", { messages: pruned });
      }
    } catch (error) {
      logger.error("pruning old messages failed", { error });
    }
  }, pruneEveryRealMs);

  logger.info("oracle node started", { port, chainId, signer: signer.address, confirmations, corroborationK: config.corroborationK, mergeGapSeconds });

  return {
    port,
    metrics,
    async stop() {
      logger.info("oracle node stopping");
      clearInterval(housekeeping);
      clearInterval(pruning);
      await server.close(() => committer.flush());
      await settlement.stop();
      await mirror.stop();
      await verifier.close();
      provider.destroy();
      db.close();
      logger.info("oracle node stopped");
    },
  };
}
