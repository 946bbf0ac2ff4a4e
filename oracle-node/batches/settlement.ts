import { getAddress, type Contract, type JsonRpcProvider, type Wallet } from "ethers";
import type { DatabaseSync } from "node:sqlite";
import { attestationsRoot, signBatchReport, type BatchReport } from "../../protocol/batch-report.ts";
import type { SimClock } from "../../protocol/clock.ts";
import type { SignedDeviceMessage } from "../../protocol/device-message.ts";
import type { ProtocolDomain } from "../../protocol/eip712.ts";
import { planEntries } from "../aggregation/plan-entries.ts";
import { corroborate, type CorroborationSource } from "../corroboration.ts";
import type { Logger } from "../logger.ts";
import type { OracleMetrics } from "../metrics.ts";
import type { BatchStore, StoredBatch } from "../store/batch-store.ts";
import { inTransaction } from "../store/database.ts";
import type { MessageStore, StoredMessage } from "../store/message-store.ts";
import type { RegistryStore } from "../store/registry-store.ts";
import { TxRevertedError, type TxSender } from "../tx-sender.ts";
import { decodeRevert, formatRevert, type DecodedRevert } from "./revert-reason.ts";

export type SettlementOptions = {
  provider: JsonRpcProvider;
  /** The PayoutPool contract, connected to the provider. */
  pool: Contract;
  /** The committee key that signs batch reports. */
  signer: Wallet;
  sender: TxSender;
  domain: ProtocolDomain;
  db: DatabaseSync;
  messages: MessageStore;
  batches: BatchStore;
  registry: RegistryStore;
  clock: SimClock;
  logger: Logger;
  metrics: OracleMetrics;
  /** Real milliseconds between batches. */
  batchWindowRealMs: number;
  /** Largest number of entries per batch. */
  maxBatchEntries: number;
  /** Share of the block gas limit one batch may use. */
  blockGasShare: number;
  corroboration: { k: number; mergeGapSeconds: number; waitSimSeconds: number };
};

/** Largest number of times a batch is revised after failed simulations before the next window. */
const MAX_REVISIONS = 16;

function toSigned(message: StoredMessage): SignedDeviceMessage {
  return { kind: message.kind, deviceId: message.deviceId, second: BigInt(message.second), seq: BigInt(message.seq), signature: message.signature };
}

function reportOf(batch: StoredBatch): BatchReport {
  return { configDigest: batch.configDigest, sequence: BigInt(batch.sequence), attestationsRoot: batch.attestationsRoot, entries: batch.entries };
}

/**
 * Settles accepted attestations on the pool, one batch at a time: build (entries and Merkle
 * root, stored with their attestations), simulate with eth_estimateGas and revise until the
 * pool would accept it, sign, submit, and confirm. Every step is stored, so after a crash the
 * node resumes the unfinished batch. A sequence already on chain is confirmed from its
 * BatchSettled log and never sent again.
 */
export class Settlement {
  readonly #options: SettlementOptions;
  #timer: NodeJS.Timeout | undefined;
  #tick: Promise<void> | undefined;
  #stopped = false;
  #failing = false;

  constructor(options: SettlementOptions) {
    this.#options = options;
  }

  /** Runs a settlement round every batch window until `stop`. */
  start(): void {
    this.#options.logger.info("settlement started", { batchWindowRealMs: this.#options.batchWindowRealMs, maxBatchEntries: this.#options.maxBatchEntries });
    this.#schedule();
  }

  /** Stops after the current step; what is stored lets the next start resume. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
    }
    await this.#tick;
    this.#options.logger.info("settlement stopped");
  }

  /** Runs one settlement round now: finishes the unfinished batch, or builds and sends the next. */
  async runOnce(): Promise<void> {
    const unfinished = this.#options.batches.unfinished();
    if (unfinished !== undefined) {
      await this.#drive(unfinished);
      return;
    }
    await this.#buildNext();
  }

  #schedule(): void {
    if (this.#stopped) {
      return;
    }
    this.#timer = setTimeout(() => {
      this.#tick = this.runOnce()
        .then(() => {
          if (this.#failing) {
            this.#failing = false;
            this.#options.logger.info("settlement works again");
          }
        })
        .catch((error: unknown) => {
          this.#options.metrics.rpcErrors.inc({ operation: "settlement" });
          if (!this.#failing) {
            this.#options.logger.warn("settlement round failed; retrying next window", { error });
          }
          this.#failing = true;
        })
        .finally(() => {
          this.#tick = undefined;
          this.#schedule();
        });
    }, this.#options.batchWindowRealMs);
  }

  #corroborationSource(): CorroborationSource {
    const { registry, messages } = this.#options;
    return {
      feederOf: (deviceId) => registry.device(deviceId)?.feederId,
      devicesOnFeeder: (feederId) => registry.devicesOnFeeder(feederId),
      attestedSeconds: (deviceId, fromSecond, toSecond) => messages.attestationsBetween(deviceId, fromSecond, toSecond).map((message) => message.second),
    };
  }

  #drop(messages: readonly StoredMessage[], reason: string): void {
    if (messages.length === 0) {
      return;
    }
    inTransaction(this.#options.db, () => this.#options.messages.dropMessages(messages, reason));
    this.#options.metrics.secondsDropped.inc({ reason }, messages.length);
    const perDevice = new Map<string, StoredMessage[]>();
    for (const message of messages) {
      perDevice.set(message.deviceId, [...(perDevice.get(message.deviceId) ?? []), message]);
    }
    for (const [deviceId, list] of perDevice) {
      this.#options.logger.warn("attested seconds dropped", {
        device: deviceId,
        reason,
        seconds: list.length,
        fromSecond: Math.min(...list.map((message) => message.second)),
        toSecond: Math.max(...list.map((message) => message.second)),
      });
    }
  }

  async #buildNext(): Promise<void> {
    const { pool, provider, messages, batches, metrics, logger } = this.#options;
    const candidates = messages.unbatchedAttestations();
    metrics.queueDepth.set({ queue: "settlement" }, candidates.length);
    if (candidates.length === 0) {
      return;
    }
    const corroboration = corroborate(candidates, this.#corroborationSource(), {
      ...this.#options.corroboration,
      nowSecond: this.#options.clock.nowSeconds(),
    });
    this.#drop(corroboration.uncorroborated, "uncorroborated");
    if (corroboration.eligible.length === 0) {
      return;
    }
    const [lastSequence, committee, block] = await Promise.all([pool.getFunction("lastBatchSequence").staticCall(), pool.getFunction("committee").staticCall(), provider.getBlock("latest")]);
    if (block === null) {
      throw new Error("the RPC endpoint returned no latest block");
    }
    const plan = planEntries(corroboration.eligible, {
      capSecond: block.timestamp,
      maxEntries: this.#options.maxBatchEntries,
      settledUntil: (deviceId) => messages.progress(deviceId).settledUntil,
    });
    this.#drop(plan.alreadySettled, "already settled");
    if (plan.entries.length === 0) {
      return;
    }
    const sequence = Number(lastSequence) + 1;
    const configDigest = String(committee[2]);
    batches.insertBuilt(
      { sequence, configDigest, attestationsRoot: attestationsRoot(plan.messages.map(toSigned)), entries: plan.entries, messages: plan.messages },
      Date.now(),
    );
    logger.info("batch built", { batchSequence: sequence, entries: plan.entries.length, attestations: plan.messages.length });
    const built = batches.batch(sequence);
    if (built !== undefined) {
      await this.#drive(built);
    }
  }

  async #drive(initial: StoredBatch): Promise<void> {
    const { pool, batches, logger } = this.#options;
    let batch = initial;
    const chainSequence = Number(await pool.getFunction("lastBatchSequence").staticCall());
    if (chainSequence >= batch.sequence) {
      await this.#recoverSettled(batch);
      return;
    }
    if (chainSequence !== batch.sequence - 1) {
      logger.error("stored batch does not follow the pool's last sequence; building a new one", { batchSequence: batch.sequence, chainSequence });
      batches.abandon(batch.sequence, Date.now());
      return;
    }
    if (batch.state === "built" || batch.state === "simulated") {
      const simulated = await this.#simulate(batch);
      if (simulated === undefined) {
        return;
      }
      const signature = await signBatchReport(this.#options.domain, reportOf(simulated.batch), this.#options.signer);
      batches.setState(batch.sequence, "signed", Date.now(), { signature });
      const signed = batches.batch(batch.sequence);
      if (signed === undefined) {
        return;
      }
      batch = signed;
      logger.info("batch signed", { batchSequence: batch.sequence, entries: batch.entries.length });
    }
    await this.#submit(batch);
  }

  /**
   * Simulates the batch and revises it until the pool would accept it: entries the pool
   * rejects are dropped or deferred with a logged reason. Returns undefined when the batch
   * cannot be sent now (paused pool, committee change, nothing left).
   */
  async #simulate(initial: StoredBatch): Promise<{ batch: StoredBatch } | undefined> {
    const { pool, batches, logger, metrics } = this.#options;
    let batch = initial;
    for (let revision = 0; revision < MAX_REVISIONS; revision++) {
      const report = reportOf(batch);
      const signature = await signBatchReport(this.#options.domain, report, this.#options.signer);
      let revert: DecodedRevert | undefined;
      let gas: bigint | undefined;
      try {
        gas = await pool.getFunction("settle").estimateGas(report, [signature], { from: this.#options.signer.address });
      } catch (error) {
        revert = decodeRevert(error, pool.interface);
        if (revert === undefined) {
          throw error;
        }
      }
      if (gas !== undefined) {
        const block = await this.#options.provider.getBlock("latest");
        const limit = block === null ? undefined : (block.gasLimit * BigInt(Math.round(this.#options.blockGasShare * 1000))) / 1000n;
        if (limit !== undefined && gas > limit && batch.entries.length > 1) {
          const keep = new Set(batch.entries.slice(0, Math.ceil(batch.entries.length / 2)).map((entry) => `${entry.deviceId}:${entry.fromSecond}`));
          logger.info("batch exceeds its gas share; deferring half of its entries", { batchSequence: batch.sequence, gas, gasLimitShare: limit });
          const revised = this.#revise(batch, (message, entryKey) => (keep.has(entryKey) ? "keep" : "defer"), "gas");
          if (revised === undefined) {
            return undefined;
          }
          batch = revised;
          continue;
        }
        batches.setState(batch.sequence, "simulated", Date.now());
        return { batch };
      }
      if (revert === undefined) {
        return undefined;
      }
      const reason = formatRevert(revert);
      metrics.batchFailures.inc({ reason: revert.name });
      const revised = this.#reviseFor(batch, revert, reason);
      if (revised === "wait") {
        return undefined;
      }
      if (revised === undefined) {
        return undefined;
      }
      batch = revised;
    }
    logger.warn("batch still fails simulation after revisions; retrying next window", { batchSequence: batch.sequence });
    return undefined;
  }

  /** Applies the pool's rejection to the batch content; "wait" keeps it unchanged for a later window. */
  #reviseFor(batch: StoredBatch, revert: DecodedRevert, reason: string): StoredBatch | "wait" | undefined {
    const { batches, logger, messages } = this.#options;
    const device = typeof revert.args[0] === "string" ? getAddress(revert.args[0]) : undefined;
    switch (revert.name) {
      case "DeviceNotRegistered":
        logger.warn("simulation rejected an entry; dropping the device's entries", { batchSequence: batch.sequence, device, reason });
        return this.#revise(batch, (message) => (message.deviceId === device ? "drop" : "keep"), "device not registered on chain");
      case "InvalidEntryRange": {
        const from = Number(revert.args[1]);
        logger.error("simulation rejected an entry range; dropping it", { batchSequence: batch.sequence, device, reason });
        return this.#revise(batch, (message, entryKey) => (entryKey === `${device}:${from}` ? "drop" : "keep"), "invalid entry range");
      }
      case "IntervalAlreadySettled": {
        const settledUntil = Number(revert.args[2]);
        logger.warn("simulation found seconds already settled on chain; dropping them", { batchSequence: batch.sequence, device, reason });
        if (device !== undefined) {
          inTransaction(this.#options.db, () => messages.recordSettledUntil(new Map([[device, settledUntil]])));
        }
        return this.#revise(batch, (message) => (message.deviceId === device && message.second <= settledUntil ? "drop" : "keep"), "already settled");
      }
      case "EntryInFuture": {
        const blockTimestamp = Number(revert.args[2]);
        logger.info("simulation found seconds after the block time; deferring them", { batchSequence: batch.sequence, device, reason });
        return this.#revise(batch, (message) => (message.deviceId === device && message.second > blockTimestamp ? "defer" : "keep"), "future");
      }
      case "ConfigDigestMismatch":
      case "UnexpectedBatchSequence":
        logger.warn("pool configuration or sequence changed; rebuilding the batch", { batchSequence: batch.sequence, reason });
        batches.abandon(batch.sequence, Date.now());
        return undefined;
      case "EnforcedPause":
        logger.warn("pool is paused; keeping the batch for a later window", { batchSequence: batch.sequence, reason });
        return "wait";
      default:
        logger.error("pool rejects the batch; retrying next window", { batchSequence: batch.sequence, reason });
        return "wait";
    }
  }

  /**
   * Rebuilds the batch from its messages after some are dropped (not paid, with `reason`) or
   * deferred (back to the queue). Abandons it when no entry is left.
   */
  #revise(batch: StoredBatch, decide: (message: StoredMessage, entryKey: string) => "keep" | "drop" | "defer", reason: string): StoredBatch | undefined {
    const { batches, messages } = this.#options;
    const linked = batches.messagesOf(batch.sequence);
    const entryKeyOf = (message: StoredMessage): string => {
      const entry = batch.entries.find((candidate) => candidate.deviceId === message.deviceId && candidate.fromSecond <= BigInt(message.second) && BigInt(message.second) <= candidate.toSecond);
      return entry === undefined ? "" : `${entry.deviceId}:${entry.fromSecond}`;
    };
    const keep: StoredMessage[] = [];
    const dropped: Array<{ deviceId: string; seq: number; reason: string }> = [];
    const deferred: StoredMessage[] = [];
    for (const message of linked) {
      const verdict = decide(message, entryKeyOf(message));
      if (verdict === "keep") {
        keep.push(message);
      } else if (verdict === "drop") {
        dropped.push({ deviceId: message.deviceId, seq: message.seq, reason });
      } else {
        deferred.push(message);
      }
    }
    // A device's deferred seconds are followed by its later ones, so they are deferred too.
    const firstDeferred = new Map<string, number>();
    for (const message of deferred) {
      firstDeferred.set(message.deviceId, Math.min(firstDeferred.get(message.deviceId) ?? Number.POSITIVE_INFINITY, message.second));
    }
    const kept = keep.filter((message) => {
      const limit = firstDeferred.get(message.deviceId);
      if (limit !== undefined && message.second > limit) {
        deferred.push(message);
        return false;
      }
      return true;
    });
    const plan = planEntries(kept, { capSecond: Number.MAX_SAFE_INTEGER, maxEntries: Number.MAX_SAFE_INTEGER, settledUntil: (deviceId) => messages.progress(deviceId).settledUntil });
    if (dropped.length > 0) {
      this.#options.metrics.secondsDropped.inc({ reason }, dropped.length);
    }
    if (plan.entries.length === 0) {
      batches.revise(batch.sequence, { attestationsRoot: batch.attestationsRoot, entries: batch.entries }, dropped, [], Date.now());
      batches.abandon(batch.sequence, Date.now());
      return undefined;
    }
    batches.revise(batch.sequence, { attestationsRoot: attestationsRoot(plan.messages.map(toSigned)), entries: plan.entries }, dropped, deferred, Date.now());
    return batches.batch(batch.sequence);
  }

  async #submit(batch: StoredBatch): Promise<void> {
    const { pool, batches, sender, logger, metrics } = this.#options;
    if (batch.signature === undefined) {
      throw new Error(`batch ${batch.sequence} has no signature`);
    }
    const data = pool.interface.encodeFunctionData("settle", [reportOf(batch), [batch.signature]]);
    const to = await pool.getAddress();
    let receipt;
    try {
      receipt = await sender.send({ to, data }, { batchSequence: batch.sequence }, (txHash) => batches.setState(batch.sequence, "submitted", Date.now(), { txHash }));
    } catch (error) {
      if (error instanceof TxRevertedError) {
        metrics.batchFailures.inc({ reason: "reverted" });
        const reason = await this.#revertReason({ to, data }, error.receipt.blockNumber);
        logger.warn("batch transaction reverted; simulating it again next window", { batchSequence: batch.sequence, txHash: error.txHash, reason });
        // The reverted transaction used its nonce, so no copy of this report can still land: it may be revised.
        // When another transaction settled the sequence first, the next round confirms the batch from its log.
        batches.setState(batch.sequence, "built", Date.now());
        return;
      }
      throw error;
    }
    this.#confirmed(batch, { txHash: receipt.hash, blockNumber: receipt.blockNumber, gasUsed: receipt.gasUsed });
  }

  /**
   * Returns why a mined settlement reverted, by calling it again on the state after its block.
   * Returns "unknown" when that call passes or fails without a custom error of the pool.
   */
  async #revertReason(request: { to: string; data: string }, blockNumber: number): Promise<string> {
    const { provider, pool, signer, logger } = this.#options;
    try {
      await provider.call({ ...request, from: signer.address, blockTag: blockNumber });
    } catch (error) {
      const revert = decodeRevert(error, pool.interface);
      if (revert !== undefined) {
        return formatRevert(revert);
      }
      logger.info("reading the reason of a reverted batch failed", { blockNumber, error });
    }
    return "unknown";
  }

  #confirmed(batch: StoredBatch, receipt: { txHash: string; blockNumber: number; gasUsed: bigint }): void {
    const { batches, metrics, logger } = this.#options;
    const linked = batches.messagesOf(batch.sequence);
    batches.confirm(batch.sequence, receipt, Date.now());
    const now = Date.now();
    for (const message of linked) {
      metrics.settlementLatency.observe((now - message.receivedMs) / 1000);
    }
    metrics.batchesSettled.inc();
    metrics.batchEntries.observe(batch.entries.length);
    metrics.batchAttestations.observe(linked.length);
    metrics.gasUsed.inc(Number(receipt.gasUsed));
    logger.info("batch settled", {
      batchSequence: batch.sequence,
      txHash: receipt.txHash,
      blockNumber: receipt.blockNumber,
      entries: batch.entries.length,
      attestations: linked.length,
      gasUsed: receipt.gasUsed,
    });
  }

  /**
   * Handles a stored batch whose sequence the pool already accepted, whether this node sent it
   * before a restart or another transaction settled the same report first. A batch whose
   * attestations root and entry count match the BatchSettled log is confirmed without sending.
   * A batch with other content is abandoned, so its seconds go back to the queue.
   */
  async #recoverSettled(batch: StoredBatch): Promise<void> {
    const { pool, provider, batches, logger } = this.#options;
    const filter = pool.filters.BatchSettled?.(batch.sequence);
    if (filter === undefined) {
      throw new Error("the pool ABI has no BatchSettled event");
    }
    const logs = await pool.queryFilter(filter, 0, "latest");
    const log = logs[0];
    if (log === undefined) {
      throw new Error(`the pool reports sequence ${batch.sequence} settled but no BatchSettled log was found`);
    }
    const parsed = pool.interface.parseLog({ topics: [...log.topics], data: log.data });
    const root = parsed === null ? undefined : String(parsed.args.getValue("attestationsRoot"));
    const entryCount = parsed === null ? undefined : Number(parsed.args.getValue("entryCount"));
    if (root !== batch.attestationsRoot || entryCount !== batch.entries.length) {
      // Another member may win the race for a sequence this node never signed; losing one it signed is unexpected.
      const level = batch.state === "built" || batch.state === "simulated" ? "warn" : "error";
      logger[level]("pool settled this sequence with other content; its seconds go back to the queue", { batchSequence: batch.sequence, state: batch.state, txHash: log.transactionHash });
      batches.abandon(batch.sequence, Date.now());
      return;
    }
    const receipt = await provider.getTransactionReceipt(log.transactionHash);
    logger.info("batch found settled on chain; confirming it without sending", { batchSequence: batch.sequence, state: batch.state, txHash: log.transactionHash });
    this.#confirmed(batch, { txHash: log.transactionHash, blockNumber: log.blockNumber, gasUsed: receipt?.gasUsed ?? 0n });
  }
}
