import type { SimClock } from "../protocol/clock.ts";
import type { DeviceMessageHasher, DeviceMessageKind } from "../protocol/device-message.ts";
import type { AgentStore } from "./agent-store.ts";
import type { KeyRing } from "./key-ring.ts";
import type { Logger } from "./logger.ts";
import type { PowerChange, PowerState } from "./sources/power-source.ts";

/**
 * Earliest unix second the agent accepts from its clock: 2026-12-01T00:00:00Z, before this
 * build existed. A board without a real-time clock that boots after a power cut starts in
 * 1970 or at a saved time, and the agent signs nothing until the clock is set.
 */
export const BUILD_SECOND = 1_796_083_200;

/** Maximum messages signed in one tick, so that signing a long back-log yields to the event loop between ticks. */
const MAX_SIGNED_PER_TICK = 2_000;

/**
 * Default real milliseconds a second must be over before it is signed, so that the source
 * can report a change in it first. A replay's timer fires late under load and reports the
 * exact past second, and signing too early would attest seconds after the restoration.
 */
export const DEFAULT_SETTLE_REAL_MS = 1_000;

/** Real milliseconds between repeated warnings of the same kind. */
const WARNING_INTERVAL_REAL_MS = 60_000;

export type AttesterOptions = {
  store: AgentStore;
  keys: KeyRing;
  hasher: DeviceMessageHasher;
  clock: SimClock;
  deviceId: string;
  /** Most signed messages the queue may hold before signing pauses. */
  maxQueuedMessages: number;
  /** Earliest unix second the clock may show for the agent to sign. */
  minClockSecond: number;
  /** Real milliseconds a second must be over before it is signed; default DEFAULT_SETTLE_REAL_MS. */
  settleRealMs?: number;
  logger: Logger;
  /** Called after signed messages were stored, so the transport sends them. */
  onSigned: () => void;
};

/** Result of the clock check: "ok", or the reason the agent does not sign. */
export type ClockCheck = "ok" | "before-build" | "behind-last-signed";

/**
 * Turns power changes into signed messages. An outage is recorded durably when it starts.
 * Every second of it is signed once it has passed, as an attestation with the next seq, and
 * at restoration the restoration notice takes the next seq. Signing runs in bulk on a
 * timer, so a fast simulated clock gets many signatures per tick, each tick in one
 * transaction.
 *
 * At the queue bound, signing pauses and the unsigned seconds stay recorded as the outage's
 * cursor. They are signed once acknowledgements free room, and nothing signed is dropped.
 */
export class OutageAttester {
  readonly #options: AttesterOptions;
  readonly #logger: Logger;
  #timer: NodeJS.Timeout | null = null;
  #stopped = true;
  #resuming = true;
  #queueFull = false;
  #lastWarningMs = new Map<string, number>();
  #powerState: PowerState | "unknown" = "unknown";
  #offWhileClockWrong = false;
  /** Id of the last outage this process opened. An outage that an earlier run recorded never matches it. */
  #openedOutageId: number | undefined;

  constructor(options: AttesterOptions) {
    this.#options = options;
    this.#logger = options.logger;
  }

  /** True while signing is paused because the queue contains `maxQueuedMessages` messages. */
  get queueFull(): boolean {
    return this.#queueFull;
  }

  start(): void {
    this.#stopped = false;
    this.#schedule(0);
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
  }

  /** Checks the clock before signing: not before the build date, not behind the last signed second. */
  checkClock(nowSecond: number): ClockCheck {
    if (nowSecond < this.#options.minClockSecond) {
      return "before-build";
    }
    if (nowSecond < this.#options.store.lastSignedSecond()) {
      return "behind-last-signed";
    }
    return "ok";
  }

  #warnRateLimited(kind: string, message: string, fields: Record<string, unknown>): void {
    const nowMs = Date.now();
    const last = this.#lastWarningMs.get(kind);
    if (last !== undefined && nowMs - last < WARNING_INTERVAL_REAL_MS) {
      return;
    }
    this.#lastWarningMs.set(kind, nowMs);
    this.#logger.warn(message, fields);
  }

  /**
   * Records a power change from the source; the next tick signs what it makes due.
   *
   * After a restart a replayed source reports its timeline again from the run start, and a
   * live source reports the state it finds. So a report of power on from before the start of
   * an open outage that an earlier run recorded is ignored, and a report of power off during
   * the open outage continues it. A report of power off after the last signed second means
   * the agent was down in between: that outage ends without a restoration notice and a new
   * one starts.
   *
   * An outage opened by this process ends at the next power-on report even when that report
   * is from before its start. Its start can be moved past the last signed second, and a
   * source reports its changes in order, so the power-on ends the very power-off that opened it.
   */
  handleChange(change: PowerChange): void {
    const { store } = this.#options;
    this.#powerState = change.state;
    store.setMeta("power_state", JSON.stringify({ state: change.state, atSecond: change.atSecond, source: change.source }));
    this.#logger.info("power changed", { state: change.state, atSecond: change.atSecond, source: change.source });

    const nowSecond = this.#options.clock.nowSeconds();
    const clock = this.checkClock(Math.max(nowSecond, change.atSecond));
    const last = store.lastOutage();
    const open = last !== undefined && last.restoredAt === null && !last.closed ? last : undefined;

    if (change.state === "off") {
      this.#resuming = false;
      if (open !== undefined) {
        if (change.atSecond > open.nextSecond) {
          // The agent was not running between these seconds, so it cannot vouch for them.
          this.#logger.warn("outage interrupted by an agent restart; seconds while the agent was down are not attested", {
            fromSecond: open.nextSecond,
            toSecond: change.atSecond - 1,
          });
          store.transaction(() => {
            store.advanceOutage(open.id, open.nextSecond, true);
            this.#openOutage(change.atSecond);
          });
        }
        this.#schedule(0);
        return;
      }
      if (clock !== "ok") {
        this.#offWhileClockWrong = true;
        this.#warnRateLimited("clock", "power is off but the clock is not trusted; not attesting", { nowSecond, atSecond: change.atSecond, reason: clock });
        this.#schedule(1000);
        return;
      }
      this.#openOutage(change.atSecond);
      this.#schedule(0);
      return;
    }

    this.#offWhileClockWrong = false;
    if (open === undefined) {
      this.#resuming = false;
      return;
    }
    if (change.atSecond < open.startSecond && open.id !== this.#openedOutageId) {
      this.#logger.debug("power-on report from before the open outage; ignored", { atSecond: change.atSecond, outageStart: open.startSecond });
      return;
    }
    const resuming = this.#resuming;
    this.#resuming = false;
    let restoredAt = Math.max(change.atSecond, open.nextSecond);
    if (clock !== "ok") {
      restoredAt = open.nextSecond;
    }
    if (resuming && restoredAt > open.nextSecond) {
      // A live source reports the state it finds at start, not when power came back.
      this.#logger.warn("power came back while the agent was down; seconds while the agent was down are not attested", {
        fromSecond: open.nextSecond,
        toSecond: restoredAt - 1,
      });
      store.advanceOutage(open.id, restoredAt, false);
    }
    if (restoredAt === open.startSecond) {
      store.deleteOutage(open.id);
      this.#logger.info("outage removed: power came back before any of its seconds was signed", { outageId: open.id, startSecond: open.startSecond, reportedOnSecond: change.atSecond });
      return;
    }
    store.restoreOutage(open.id, restoredAt);
    this.#schedule(0);
  }

  #openOutage(atSecond: number): void {
    const { store } = this.#options;
    const last = store.lastOutage();
    const floor = Math.max(store.lastSignedSecond() + 1, last?.restoredAt ?? 0, last?.nextSecond ?? 0);
    const startSecond = Math.max(atSecond, floor);
    if (startSecond !== atSecond) {
      this.#logger.warn("outage start moved after the last attested second", { reportedSecond: atSecond, startSecond });
    }
    const outage = store.openOutage(startSecond);
    this.#openedOutageId = outage.id;
    this.#logger.info("outage started", { outageId: outage.id, startSecond });
  }

  #schedule(delayRealMs: number): void {
    if (this.#stopped) {
      return;
    }
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
    }
    this.#timer = setTimeout(() => this.#tick(), delayRealMs);
  }

  #tick(): void {
    this.#timer = null;
    let delay = 1000;
    try {
      const signed = this.signDue();
      delay = this.#nextDelayRealMs(signed);
    } catch (error) {
      this.#logger.error("signing failed", { error });
      this.#options.store.recordError({ code: "SIGNING_FAILED", message: error instanceof Error ? error.message : String(error), seq: null, atMs: Date.now() });
    }
    this.#schedule(delay);
  }

  #nextDelayRealMs(signedLastTick: number): number {
    if (signedLastTick >= MAX_SIGNED_PER_TICK) {
      return 0;
    }
    const outage = this.#options.store.firstUnfinishedOutage();
    if (outage === undefined || this.#queueFull) {
      return 1000;
    }
    // The next second becomes due once the clock is past its end by the settle time.
    const wait = this.#options.clock.realMsUntil(outage.nextSecond + 1) + this.#settleRealMs();
    return Math.min(1000, Math.max(5, Math.ceil(wait)));
  }

  #settleRealMs(): number {
    return this.#options.settleRealMs ?? DEFAULT_SETTLE_REAL_MS;
  }

  /**
   * Signs every message that is due now: the passed seconds of each unfinished outage in
   * order, then its restoration notice. Returns how many messages were signed.
   */
  signDue(): number {
    const { store, clock } = this.#options;
    const nowSecond = clock.nowSeconds();
    const check = this.checkClock(nowSecond);
    if (check !== "ok") {
      if (store.firstUnfinishedOutage() !== undefined || this.#offWhileClockWrong) {
        this.#warnRateLimited("clock", "clock is not trusted; not signing", {
          nowSecond,
          reason: check,
          minClockSecond: this.#options.minClockSecond,
          lastSignedSecond: store.lastSignedSecond(),
        });
      }
      return 0;
    }
    if (this.#offWhileClockWrong && this.#powerState === "off") {
      // The clock became trustworthy during an outage: attest from now on.
      this.#offWhileClockWrong = false;
      this.#openOutage(nowSecond);
    }

    // NOTE: a source that reports a restoration later than the settle time still gets the
    // seconds up to its report attested, because a signed second cannot be taken back.
    const settledSecond = Math.floor((clock.nowMs() - this.#settleRealMs() * clock.definition.scale) / 1000) - 1;
    let signed = 0;
    let room = this.#options.maxQueuedMessages - store.queuedCount();
    let blockedByBound = false;
    store.transaction(() => {
      for (;;) {
        const outage = store.firstUnfinishedOutage();
        if (outage === undefined) {
          break;
        }
        const lastDue = outage.restoredAt === null ? settledSecond : Math.min(outage.restoredAt - 1, nowSecond - 1);
        let next = outage.nextSecond;
        while (next <= lastDue && room > 0 && signed < MAX_SIGNED_PER_TICK) {
          this.#signAndStore("attestation", next);
          next += 1;
          room -= 1;
          signed += 1;
        }
        let closed = false;
        const restorationDue = outage.restoredAt !== null && next >= outage.restoredAt && outage.restoredAt <= nowSecond;
        if (restorationDue && outage.restoredAt !== null && room > 0 && signed < MAX_SIGNED_PER_TICK) {
          this.#signAndStore("restoration", outage.restoredAt);
          room -= 1;
          signed += 1;
          closed = true;
        }
        if (next !== outage.nextSecond || closed) {
          store.advanceOutage(outage.id, next, closed);
        }
        blockedByBound = room <= 0 && (next <= lastDue || restorationDue) && !closed;
        if (!closed) {
          break;
        }
      }
    });
    this.#updateQueueFull(blockedByBound);
    if (signed > 0) {
      this.#options.onSigned();
    }
    return signed;
  }

  #signAndStore(kind: DeviceMessageKind, second: number): void {
    const { store, keys, hasher, deviceId } = this.#options;
    const seq = store.nextSeq();
    const key = keys.keyAt(second);
    const message = hasher.sign({ kind, deviceId, second: BigInt(second), seq: BigInt(seq) }, key.signingKey);
    store.insertSigned({ seq, kind, second, signature: message.signature, keyAddress: key.address });
  }

  #updateQueueFull(full: boolean): void {
    const { store } = this.#options;
    if (full && !this.#queueFull) {
      this.#queueFull = true;
      store.setMeta("queue_full", "1");
      this.#logger.error("queue full: signing paused until the oracle acknowledges queued messages; no signed message is dropped", {
        queued: store.queuedCount(),
        maxQueuedMessages: this.#options.maxQueuedMessages,
      });
    } else if (full) {
      this.#warnRateLimited("queue-full", "queue still full: signing paused", { queued: store.queuedCount(), maxQueuedMessages: this.#options.maxQueuedMessages });
    } else if (this.#queueFull) {
      this.#queueFull = false;
      store.setMeta("queue_full", "0");
      this.#logger.info("queue has room again: signing resumed", { queued: store.queuedCount() });
    }
  }

  /** Wakes the signer early, for example after acknowledgements freed room in a full queue. */
  wake(): void {
    if (this.#queueFull) {
      this.#schedule(0);
    }
  }
}
