import { Contract, getAddress, type Log, type Provider } from "ethers";
import type { DatabaseSync } from "node:sqlite";
import { loadAbi } from "../protocol/artifacts.ts";
import type { RegistryLookup } from "./ingest/device-message-ingest.ts";
import type { Logger } from "./logger.ts";
import type { OracleMetrics } from "./metrics.ts";
import { inTransaction } from "./store/database.ts";
import type { RegistryChange, RegistryStore } from "./store/registry-store.ts";

export type RegistryMirrorOptions = {
  provider: Provider;
  registryAddress: string;
  db: DatabaseSync;
  store: RegistryStore;
  logger: Logger;
  metrics: OracleMetrics;
  /** Blocks a log must be buried under before it is mirrored; 0 mirrors the latest block. */
  confirmations: number;
  /** First block to read when the mirror is empty (the registry's deployment block, or 0). */
  fromBlock: number;
  /** Largest block range of one eth_getLogs call. */
  logRangeBlocks: number;
  /** Real milliseconds between polls for new blocks. */
  pollIntervalRealMs: number;
  /** Real milliseconds an on-chain lookup of an unknown device or key is reused. */
  lookupCacheRealMs?: number;
};

type DecodedLog = { blockNumber: number; logIndex: number; change: RegistryChange };

/**
 * Mirrors the DeviceRegistry's events into the store once they have the configured
 * confirmations, catching up with eth_getLogs in bounded block ranges after a start or an
 * RPC outage. Every log is applied at most once (keyed by block number and log index).
 *
 * NOTE: a reorganisation deeper than `confirmations` is not rolled back from the mirror.
 */
export class RegistryMirror implements RegistryLookup {
  readonly #options: RegistryMirrorOptions;
  readonly #registry: Contract;
  readonly #lookups = new Map<string, { atMs: number; value: Promise<unknown> }>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;
  #failing = false;

  constructor(options: RegistryMirrorOptions) {
    this.#options = options;
    this.#registry = new Contract(options.registryAddress, loadAbi("DeviceRegistry"), options.provider);
  }

  /** Catches up once, then keeps polling until `stop`. A failed catch-up is logged and retried at the next poll. */
  async start(): Promise<void> {
    await this.syncOnce();
    this.#schedule();
  }

  /** Stops polling and waits for a catch-up in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
    }
    await this.#running;
  }

  /** Mirrors every confirmed block not mirrored yet. Returns false when the RPC endpoint failed. */
  async syncOnce(): Promise<boolean> {
    if (this.#running !== undefined) {
      await this.#running;
    }
    let ok = true;
    this.#running = this.#catchUp().catch((error: unknown) => {
      ok = false;
      this.#options.metrics.rpcErrors.inc({ operation: "registryLogs" });
      if (!this.#failing) {
        this.#options.logger.warn("registry catch-up failed; retrying at the next poll", { error });
      }
      this.#failing = true;
    });
    await this.#running;
    this.#running = undefined;
    if (ok && this.#failing) {
      this.#failing = false;
      this.#options.logger.info("registry catch-up works again");
    }
    return ok;
  }

  async isRegisteredOnChain(deviceId: string): Promise<boolean> {
    const device = await this.#cachedLookup(`device:${deviceId}`, () => this.#registry.getFunction("getDevice").staticCall(deviceId));
    const status: unknown = Array.isArray(device) ? device[0] : undefined;
    return typeof status === "bigint" && status !== 0n;
  }

  async keyValidAtOnChain(deviceId: string, second: bigint): Promise<string> {
    const key = await this.#cachedLookup(`key:${deviceId}:${second}`, () => this.#registry.getFunction("keyValidAt").staticCall(deviceId, second));
    if (typeof key !== "string") {
      throw new Error("keyValidAt returned a non-address");
    }
    return key;
  }

  #cachedLookup(key: string, read: () => Promise<unknown>): Promise<unknown> {
    const now = Date.now();
    const cached = this.#lookups.get(key);
    if (cached !== undefined && now - cached.atMs < (this.#options.lookupCacheRealMs ?? 2_000)) {
      return cached.value;
    }
    if (this.#lookups.size > 10_000) {
      this.#lookups.clear();
    }
    const value = read();
    value.catch(() => this.#lookups.delete(key));
    this.#lookups.set(key, { atMs: now, value });
    return value;
  }

  #schedule(): void {
    if (this.#stopped) {
      return;
    }
    this.#timer = setTimeout(() => {
      void this.syncOnce().finally(() => this.#schedule());
    }, this.#options.pollIntervalRealMs);
  }

  async #catchUp(): Promise<void> {
    const { provider, store, confirmations, logRangeBlocks } = this.#options;
    const latest = await provider.getBlockNumber();
    const target = latest - confirmations;
    let from = (store.mirroredBlock() ?? this.#options.fromBlock - 1) + 1;
    while (from <= target && !this.#stopped) {
      const to = Math.min(target, from + logRangeBlocks - 1);
      const logs = await provider.getLogs({ address: this.#options.registryAddress, fromBlock: from, toBlock: to });
      const decoded = logs.map((log) => this.#decode(log)).filter((entry): entry is DecodedLog => entry !== undefined);
      let applied = 0;
      try {
        applied = inTransaction(this.#options.db, () => store.applyRange(decoded, to));
      } catch (error) {
        store.clearCache();
        throw error;
      }
      if (applied > 0) {
        this.#options.logger.info("registry changes mirrored", { fromBlock: from, toBlock: to, changes: applied });
      }
      from = to + 1;
    }
  }

  #decode(log: Log): DecodedLog | undefined {
    const parsed = this.#registry.interface.parseLog({ topics: [...log.topics], data: log.data });
    if (parsed === null) {
      return undefined;
    }
    const names = ["DeviceRegistered", "DeviceRevoked", "DeviceKeyRotated", "DeviceMoved", "PayoutWalletChanged"];
    if (!names.includes(parsed.name)) {
      return undefined;
    }
    const args = parsed.args;
    const deviceId = getAddress(String(args.getValue("device")));
    let change: RegistryChange | undefined;
    switch (parsed.name) {
      case "DeviceRegistered":
        change = {
          kind: "registered",
          deviceId,
          wallet: getAddress(String(args.getValue("wallet"))),
          feederId: String(args.getValue("feederId")),
          key: getAddress(String(args.getValue("key"))),
          validFrom: Number(args.getValue("validFrom")),
        };
        break;
      case "DeviceRevoked":
        change = { kind: "revoked", deviceId, revokedAt: Number(args.getValue("revokedAt")) };
        break;
      case "DeviceKeyRotated":
        change = { kind: "keyRotated", deviceId, newKey: getAddress(String(args.getValue("newKey"))), validFrom: Number(args.getValue("validFrom")) };
        break;
      case "DeviceMoved":
        change = { kind: "moved", deviceId, newFeederId: String(args.getValue("newFeederId")) };
        break;
      case "PayoutWalletChanged":
        change = { kind: "walletChanged", deviceId, newWallet: getAddress(String(args.getValue("newWallet"))) };
        break;
      default:
        return undefined;
    }
    return { blockNumber: log.blockNumber, logIndex: log.index, change };
  }
}
