import { SimClock } from "../protocol/clock.ts";
import { DeviceMessageHasher } from "../protocol/device-message.ts";
import { AgentStore } from "./agent-store.ts";
import { OutageAttester } from "./attester.ts";
import { KeyRing } from "./key-ring.ts";
import { retireKey } from "./keystore.ts";
import { bindStateToDomain } from "./domain-binding.ts";
import type { Logger } from "./logger.ts";
import { OracleLink } from "./oracle-link.ts";
import type { RunConfig } from "./run-config.ts";
import { createPowerSource } from "./source-factory.ts";
import type { PowerSource } from "./sources/power-source.ts";

/** Real milliseconds between checks of the key file for a rotation and of old keys to retire. */
const KEY_CHECK_INTERVAL_REAL_MS = 2_000;

/** A running agent. */
export type RunningAgent = {
  deviceId: string;
  /** Stops the source and the signer, waits up to the shutdown grace for acknowledgements, and closes the state file. */
  stop(): Promise<void>;
};

/**
 * Retires old keys whose seconds are all signed and acknowledged: the private key is
 * removed from the key file and its history entry stays.
 */
async function retireSpentKeys(keys: KeyRing, store: AgentStore, nowSecond: number, logger: Logger): Promise<void> {
  const history = keys.keys();
  for (let i = 0; i + 1 < history.length; i++) {
    const key = history[i];
    const successor = history[i + 1];
    if (key === undefined || successor === undefined || key.signingKey === undefined) {
      continue;
    }
    const pending = store.firstUnfinishedOutage();
    const signerPassed = nowSecond >= successor.validFrom && (pending === undefined || pending.nextSecond >= successor.validFrom);
    if (!signerPassed || store.hasQueuedFromKey(key.address)) {
      continue;
    }
    await retireKey(keys.file, key.address, nowSecond);
    logger.info("retired an old key: every second it signed was acknowledged", { keyAddress: key.address, successorValidFrom: successor.validFrom });
  }
}

/** Starts the agent described by `config` with keys unlocked by `password`. */
export async function startAgent(config: RunConfig, password: string, baseLogger: Logger): Promise<RunningAgent> {
  const keys = await KeyRing.load(config.keystorePath, password);
  const deviceId = keys.deviceId;
  const logger = baseLogger.child({ deviceId });
  const clock = new SimClock(config.clock);
  const store = AgentStore.open(config.dataDir);
  const hasher = new DeviceMessageHasher(config.domain);
  try {
    bindStateToDomain({ store, keys, hasher, deviceId, dataDir: config.dataDir, keystorePath: config.keystorePath, logger });
  } catch (error) {
    store.close();
    throw error;
  }
  store.setMeta("device_id", deviceId);
  store.setMeta("max_queued_messages", String(config.maxQueuedMessages));

  let link: OracleLink | undefined;
  const attester = new OutageAttester({
    store,
    keys,
    hasher,
    clock,
    deviceId,
    maxQueuedMessages: config.maxQueuedMessages,
    minClockSecond: config.minClockSecond,
    logger,
    onSigned: () => link?.pump(),
  });
  link = new OracleLink({
    url: config.oracleUrl,
    deviceId,
    domain: config.domain,
    store,
    helloKey: () => keys.keyAt(clock.nowSeconds()).signingKey,
    logger,
    reconnect: { minRealMs: config.reconnectMinRealMs, maxRealMs: config.reconnectMaxRealMs },
    sendWindow: config.sendWindow,
    pingIntervalRealMs: config.pingIntervalRealMs,
    onQueueShrunk: () => attester.wake(),
  });

  let source: PowerSource;
  try {
    source = await createPowerSource(config.source, config.debounceSimSeconds, clock, store);
  } catch (error) {
    store.close();
    throw error;
  }

  logger.info("agent starting", {
    oracleUrl: config.oracleUrl,
    chainId: config.domain.chainId,
    pool: config.domain.verifyingContract,
    source: source.name,
    clockScale: config.clock.scale,
    nextSeq: store.nextSeq(),
    queued: store.queuedCount(),
    keys: keys.keys().map((key) => ({ address: key.address, validFrom: key.validFrom, retired: key.signingKey === undefined })),
  });
  attester.start();
  link.start();
  try {
    await source.start(
      (change) => attester.handleChange(change),
      (error) => {
        logger.error("power source failed", { source: source.name, error });
        store.recordError({ code: "code" in error && typeof error.code === "string" ? error.code : "SOURCE_ERROR", message: error.message, seq: null, atMs: Date.now() });
      },
    );
  } catch (error) {
    logger.error("power source failed to start", { source: source.name, error });
    attester.stop();
    await link.stop(0);
    store.close();
    throw error;
  }

  let checkingKeys = false;
  const keyTimer = setInterval(() => {
    if (checkingKeys) {
      return;
    }
    checkingKeys = true;
    void (async () => {
      try {
        if (await keys.reloadIfChanged()) {
          logger.info("key file changed; key history reloaded", { keys: keys.keys().map((key) => ({ address: key.address, validFrom: key.validFrom })) });
        }
        await retireSpentKeys(keys, store, clock.nowSeconds(), logger);
      } catch (error) {
        logger.error("key check failed", { error });
      } finally {
        checkingKeys = false;
      }
    })();
  }, KEY_CHECK_INTERVAL_REAL_MS);

  let stopping: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    clearInterval(keyTimer);
    logger.info("agent stopping", { queued: store.queuedCount(), shutdownGraceRealMs: config.shutdownGraceRealMs });
    await source.stop();
    attester.stop();
    await link.stop(config.shutdownGraceRealMs);
    const queued = store.queuedCount();
    store.close();
    logger.info("agent stopped", { queuedOnDisk: queued });
  };
  return {
    deviceId,
    stop: () => {
      stopping ??= stop();
      return stopping;
    },
  };
}
