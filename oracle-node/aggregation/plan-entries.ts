import type { BatchEntry } from "../../protocol/batch-report.ts";
import type { StoredMessage } from "../store/message-store.ts";

/** Entries of a batch with the attestations behind each. */
export type PlannedEntries = {
  /** Ordered by device id, then first second. */
  entries: BatchEntry[];
  /** Attestations covered by the entries. */
  messages: StoredMessage[];
  /** Attestations at or before the device's settled second, which the pool would reject. */
  alreadySettled: StoredMessage[];
};

export type PlanOptions = {
  /** Latest second the pool accepts (the latest block's timestamp); later seconds wait. */
  capSecond: number;
  /** Largest number of entries in the batch. */
  maxEntries: number;
  /** Last second settled on chain for a device. */
  settledUntil: (deviceId: string) => number;
};

type Run = { entry: BatchEntry; messages: StoredMessage[] };

/**
 * Turns waiting attestations into entries: per device, contiguous seconds become one entry.
 * `candidates` must contain, per device, a gap-free prefix of seqs in seq order. The plan takes
 * a prefix of each device's runs and stops at the first second after `capSecond`. When more
 * entries are waiting than fit, the runs with the oldest first second go first. The result
 * depends only on the candidates and the options, so the same attestations give the same batch.
 */
export function planEntries(candidates: readonly StoredMessage[], options: PlanOptions): PlannedEntries {
  const runs: Run[] = [];
  const alreadySettled: StoredMessage[] = [];
  let device: string | undefined;
  let blocked = false;
  let current: Run | undefined;
  for (const message of candidates) {
    if (message.deviceId !== device) {
      device = message.deviceId;
      blocked = false;
      current = undefined;
    }
    if (blocked || message.kind !== "attestation") {
      continue;
    }
    if (message.second <= options.settledUntil(message.deviceId)) {
      alreadySettled.push(message);
      continue;
    }
    if (message.second > options.capSecond) {
      blocked = true;
      continue;
    }
    if (current !== undefined && BigInt(message.second) === current.entry.toSecond + 1n) {
      current.entry.toSecond = BigInt(message.second);
      current.messages.push(message);
      continue;
    }
    current = { entry: { deviceId: message.deviceId, fromSecond: BigInt(message.second), toSecond: BigInt(message.second) }, messages: [message] };
    runs.push(current);
  }

  const byAge = [...runs].sort((a, b) => compareBigint(a.entry.fromSecond, b.entry.fromSecond) || compareText(a.entry.deviceId, b.entry.deviceId));
  const chosen = byAge.slice(0, options.maxEntries);
  chosen.sort((a, b) => compareText(a.entry.deviceId, b.entry.deviceId) || compareBigint(a.entry.fromSecond, b.entry.fromSecond));
  return {
    entries: chosen.map((run) => run.entry),
    messages: chosen.flatMap((run) => run.messages),
    alreadySettled,
  };
}

function compareBigint(a: bigint, b: bigint): number {
  if (a === b) {
    return 0;
  }
  return a < b ? -1 : 1;
}

function compareText(a: string, b: string): number {
  if (a === b) {
    return 0;
  }
  return a < b ? -1 : 1;
}
