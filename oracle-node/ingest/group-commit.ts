import { ProtocolError } from "../../protocol/errors.ts";
import type { Logger } from "../logger.ts";
import { StoreError } from "../store/database.ts";
import type { MessageRecord, MessageStore } from "../store/message-store.ts";

export type GroupCommitOptions = {
  store: MessageStore;
  logger: Logger;
  /** Real milliseconds to collect messages before committing them in one transaction. */
  groupCommitRealMs: number;
  /** A group this large is committed at once. */
  maxGroupSize: number;
  /** Called after every commit attempt with its size and outcome. */
  onCommit?: (size: number, ok: boolean) => void;
};

type Waiting = { record: MessageRecord; resolve: () => void; reject: (error: ProtocolError) => void };

/**
 * Collects decided messages for a few milliseconds and commits them in one transaction,
 * then settles every caller at once. A message is acknowledged only after its transaction
 * committed. When the commit fails, every message of the group gets STORE_UNAVAILABLE and
 * the committed state is unchanged.
 */
export class GroupCommitter {
  readonly #options: GroupCommitOptions;
  #group: Waiting[] = [];
  /** Highest seq and second decided but not yet committed, per device. */
  readonly #pending = new Map<string, { lastSeq: number; lastSecond: number; records: Map<number, Waiting> }>();
  #timer: NodeJS.Timeout | undefined;

  constructor(options: GroupCommitOptions) {
    this.#options = options;
  }

  /** Queues `record` for the next commit; resolves once it is durable. */
  add(record: MessageRecord): Promise<void> {
    return new Promise((resolve, reject) => {
      const waiting: Waiting = { record, resolve, reject };
      this.#group.push(waiting);
      const pending = this.#pending.get(record.deviceId) ?? { lastSeq: 0, lastSecond: 0, records: new Map<number, Waiting>() };
      pending.lastSeq = Math.max(pending.lastSeq, record.seq);
      if (record.status !== "rejected") {
        pending.lastSecond = Math.max(pending.lastSecond, record.second);
      }
      pending.records.set(record.seq, waiting);
      this.#pending.set(record.deviceId, pending);
      if (this.#group.length >= this.#options.maxGroupSize) {
        this.flush();
      } else if (this.#timer === undefined) {
        this.#timer = setTimeout(() => this.flush(), this.#options.groupCommitRealMs);
      }
    });
  }

  /** Returns what is decided for `deviceId` but not yet committed. */
  pendingFor(deviceId: string): { lastSeq: number; lastSecond: number } | undefined {
    return this.#pending.get(deviceId);
  }

  /** Returns the uncommitted record with this seq, and a promise that settles with its commit. */
  pendingRecord(deviceId: string, seq: number): { record: MessageRecord; committed: Promise<void> } | undefined {
    const waiting = this.#pending.get(deviceId)?.records.get(seq);
    if (waiting === undefined) {
      return undefined;
    }
    const committed = new Promise<void>((resolve, reject) => {
      const { resolve: first, reject: firstReject } = waiting;
      waiting.resolve = () => {
        first();
        resolve();
      };
      waiting.reject = (error) => {
        firstReject(error);
        reject(error);
      };
    });
    return { record: waiting.record, committed };
  }

  /** Messages waiting for their commit. */
  size(): number {
    return this.#group.length;
  }

  /** Commits the current group now. The commit is synchronous, so no decision interleaves with it. */
  flush(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const group = this.#group;
    if (group.length === 0) {
      return;
    }
    this.#group = [];
    this.#pending.clear();
    try {
      this.#options.store.commitGroup(group.map((waiting) => waiting.record));
    } catch (error) {
      this.#options.onCommit?.(group.length, false);
      this.#options.store.forgetProgress(new Set(group.map((waiting) => waiting.record.deviceId)));
      this.#options.logger.error("could not commit received messages; devices will re-send them", { messages: group.length, error });
      const reason = error instanceof StoreError ? error.message : "unexpected store failure";
      for (const waiting of group) {
        waiting.reject(new ProtocolError("STORE_UNAVAILABLE", "the message was not stored; send it again later", { reason }));
      }
      return;
    }
    this.#options.onCommit?.(group.length, true);
    for (const waiting of group) {
      waiting.resolve();
    }
  }
}
