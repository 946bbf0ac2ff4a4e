import type { StoredMessage } from "./store/message-store.ts";

/** Reads what corroboration needs from the registry mirror and the message store. */
export type CorroborationSource = {
  /** Feeder of a device, or undefined when the mirror does not know it. */
  feederOf(deviceId: string): string | undefined;
  /** Devices on a feeder. */
  devicesOnFeeder(feederId: string): string[];
  /** Seconds attested (accepted or paid) by a device within [fromSecond, toSecond]. */
  attestedSeconds(deviceId: string, fromSecond: number, toSecond: number): number[];
};

export type CorroborationOptions = {
  /** Devices on one feeder, the attesting device included, that must report overlapping outages. */
  k: number;
  /** Gap between runs, in seconds, from which a new outage starts (the pool's merge gap). */
  mergeGapSeconds: number;
  /** Simulated seconds to wait after an outage's last second for neighbours who report late. */
  waitSimSeconds: number;
  /** Current second on the protocol clock. */
  nowSecond: number;
};

/** Outcome of corroboration over the waiting attestations. */
export type CorroborationResult = {
  /** Attestations of corroborated outages, in the order given. */
  eligible: StoredMessage[];
  /** Attestations of outages that stayed uncorroborated after the wait. */
  uncorroborated: StoredMessage[];
  /** Attestations still waiting for neighbours. */
  waiting: number;
};

type Outage = { fromSecond: number; toSecond: number; messages: StoredMessage[] };

/** Groups seconds (ascending) into outages with the pool's merge rule. */
function mergeOutages<T>(items: readonly T[], secondOf: (item: T) => number, mergeGapSeconds: number): Array<{ fromSecond: number; toSecond: number; items: T[] }> {
  const outages: Array<{ fromSecond: number; toSecond: number; items: T[] }> = [];
  for (const item of items) {
    const second = secondOf(item);
    const last = outages.at(-1);
    if (last !== undefined && second - last.toSecond - 1 < mergeGapSeconds) {
      last.toSecond = second;
      last.items.push(item);
    } else {
      outages.push({ fromSecond: second, toSecond: second, items: [item] });
    }
  }
  return outages;
}

/**
 * Keeps only outages that at least `k` devices on the same feeder report. Each device's
 * waiting attestations are merged into outages (runs closer than the merge gap). An outage
 * counts a neighbour when one of the neighbour's merged outages overlaps it. An outage that
 * is not corroborated waits until `waitSimSeconds` after its last second, then is dropped.
 * A device's later outages wait behind an earlier waiting one, so seconds settle in order.
 */
export function corroborate(candidates: readonly StoredMessage[], source: CorroborationSource, options: CorroborationOptions): CorroborationResult {
  const result: CorroborationResult = { eligible: [], uncorroborated: [], waiting: 0 };
  if (options.k <= 1) {
    result.eligible = [...candidates];
    return result;
  }
  const byDevice = new Map<string, StoredMessage[]>();
  for (const message of candidates) {
    const list = byDevice.get(message.deviceId) ?? [];
    list.push(message);
    byDevice.set(message.deviceId, list);
  }
  for (const [deviceId, messages] of byDevice) {
    const feederId = source.feederOf(deviceId);
    const neighbours = feederId === undefined ? [] : source.devicesOnFeeder(feederId).filter((other) => other !== deviceId);
    const outages: Outage[] = mergeOutages(messages, (message) => message.second, options.mergeGapSeconds).map((outage) => ({
      fromSecond: outage.fromSecond,
      toSecond: outage.toSecond,
      messages: outage.items,
    }));
    let blocked = false;
    for (const outage of outages) {
      if (blocked) {
        result.waiting += outage.messages.length;
        continue;
      }
      const reporting = 1 + neighbours.filter((neighbour) => overlaps(source, neighbour, outage, options.mergeGapSeconds)).length;
      if (reporting >= options.k) {
        result.eligible.push(...outage.messages);
      } else if (options.nowSecond - outage.toSecond > options.waitSimSeconds) {
        result.uncorroborated.push(...outage.messages);
      } else {
        blocked = true;
        result.waiting += outage.messages.length;
      }
    }
  }
  return result;
}

function overlaps(source: CorroborationSource, neighbour: string, outage: Outage, mergeGapSeconds: number): boolean {
  // A neighbour outage overlapping [from, to] has a second within the merge gap on either side of the range.
  const seconds = source.attestedSeconds(neighbour, outage.fromSecond - mergeGapSeconds, outage.toSecond + mergeGapSeconds);
  return mergeOutages(seconds, (second) => second, mergeGapSeconds).some((other) => other.fromSecond <= outage.toSecond && other.toSecond >= outage.fromSecond);
}
