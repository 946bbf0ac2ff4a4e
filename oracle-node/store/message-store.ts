import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { DeviceMessageKind } from "../../protocol/device-message.ts";
import type { ErrorCode } from "../../protocol/errors.ts";
import { inTransaction, readInteger, readOptionalInteger, readOptionalText, readText, StoreError, type Row } from "./database.ts";

/**
 * Status of a stored message:
 * - "accepted": an attestation waiting for settlement (in a batch once batchSequence is set);
 * - "noted": an accepted restoration notice, which closes a run and is never paid itself;
 * - "rejected": correctly signed but rejected with a final code; it used up its seq;
 * - "paid": settled by a confirmed batch;
 * - "dropped": not paid, for the reason stored with it (for example uncorroborated).
 */
export type MessageStatus = "accepted" | "noted" | "rejected" | "paid" | "dropped";

export type StoredMessage = {
  kind: DeviceMessageKind;
  deviceId: string;
  seq: number;
  second: number;
  signature: string;
  status: MessageStatus;
  reason: string | undefined;
  receivedMs: number;
  batchSequence: number | undefined;
};

/** Progress of one device: its last stored seq and second, and its last second settled on chain. */
export type DeviceProgress = {
  /** Highest seq stored (accepted or rejected); 0 before the first message. */
  lastSeq: number;
  /** Second of the last accepted message; 0 before the first. */
  lastSecond: number;
  /** Last second settled on chain for this device; 0 when none is. */
  settledUntil: number;
};

/** A message decided by the ingest path, waiting for its group commit. */
export type MessageRecord = {
  kind: DeviceMessageKind;
  deviceId: string;
  seq: number;
  second: number;
  signature: string;
  status: "accepted" | "noted" | "rejected";
  reason: ErrorCode | undefined;
  receivedMs: number;
};

const STATUSES: readonly MessageStatus[] = ["accepted", "noted", "rejected", "paid", "dropped"];

function readStatus(row: Row): MessageStatus {
  const value = readText(row, "status");
  const status = STATUSES.find((candidate) => candidate === value);
  if (status === undefined) {
    throw new StoreError(`message status ${value} is unknown`);
  }
  return status;
}

function readKind(row: Row): DeviceMessageKind {
  const value = readText(row, "kind");
  if (value !== "attestation" && value !== "restoration") {
    throw new StoreError(`message kind ${value} is unknown`);
  }
  return value;
}

/** Converts a `messages` row. */
export function messageFromRow(row: Row): StoredMessage {
  return {
    kind: readKind(row),
    deviceId: readText(row, "device_id"),
    seq: readInteger(row, "seq"),
    second: readInteger(row, "second"),
    signature: readText(row, "signature"),
    status: readStatus(row),
    reason: readOptionalText(row, "reason"),
    receivedMs: readInteger(row, "received_ms"),
    batchSequence: readOptionalInteger(row, "batch_sequence"),
  };
}

/**
 * Stores device messages and each device's progress. Progress is cached in memory; the
 * cache only changes after the transaction that contains the change has committed.
 */
export class MessageStore {
  readonly #db: DatabaseSync;
  readonly #progress = new Map<string, DeviceProgress>();
  readonly #selectProgress: StatementSync;
  readonly #upsertProgress: StatementSync;
  readonly #insertMessage: StatementSync;
  readonly #selectMessage: StatementSync;
  readonly #pageCount: StatementSync;
  readonly #ingestLimitPages: number | undefined;

  /**
   * `ingestLimitBytes` stops accepting messages once the database is that large, which leaves
   * the rest of its maximum size for settling what was already accepted.
   */
  constructor(db: DatabaseSync, ingestLimitBytes?: number) {
    this.#db = db;
    this.#pageCount = db.prepare("PRAGMA page_count");
    this.#ingestLimitPages = ingestLimitBytes === undefined ? undefined : Math.floor(ingestLimitBytes / readInteger(db.prepare("PRAGMA page_size").get(), "page_size"));
    this.#selectProgress = db.prepare("SELECT * FROM device_progress WHERE device_id = ?");
    this.#upsertProgress = db.prepare(
      "INSERT INTO device_progress (device_id, last_seq, last_second, settled_until) VALUES (?, ?, ?, ?) " +
        "ON CONFLICT (device_id) DO UPDATE SET last_seq = excluded.last_seq, last_second = excluded.last_second, settled_until = excluded.settled_until",
    );
    this.#insertMessage = db.prepare(
      "INSERT INTO messages (device_id, seq, kind, second, signature, status, reason, received_ms, batch_sequence) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)",
    );
    this.#selectMessage = db.prepare("SELECT * FROM messages WHERE device_id = ? AND seq = ?");
  }

  /** Returns the committed progress of `deviceId`. */
  progress(deviceId: string): DeviceProgress {
    const cached = this.#progress.get(deviceId);
    if (cached !== undefined) {
      return cached;
    }
    const row = this.#selectProgress.get(deviceId);
    const progress: DeviceProgress =
      row === undefined
        ? { lastSeq: 0, lastSecond: 0, settledUntil: 0 }
        : { lastSeq: readInteger(row, "last_seq"), lastSecond: readInteger(row, "last_second"), settledUntil: readInteger(row, "settled_until") };
    this.#progress.set(deviceId, progress);
    return progress;
  }

  /** Returns the stored message with this seq, or undefined (never received, or pruned). */
  message(deviceId: string, seq: number): StoredMessage | undefined {
    const row = this.#selectMessage.get(deviceId, seq);
    return row === undefined ? undefined : messageFromRow(row);
  }

  /**
   * Commits a group of decided messages in one transaction and advances each device's
   * progress. Raises StoreError and changes nothing when the transaction fails.
   */
  commitGroup(records: readonly MessageRecord[]): void {
    if (this.#ingestLimitPages !== undefined && readInteger(this.#pageCount.get(), "page_count") >= this.#ingestLimitPages) {
      throw new StoreError("the database reached its size limit for new messages");
    }
    const next = new Map<string, DeviceProgress>();
    inTransaction(this.#db, () => {
      for (const record of records) {
        const progress = next.get(record.deviceId) ?? { ...this.progress(record.deviceId) };
        this.#insertMessage.run(
          record.deviceId,
          record.seq,
          record.kind,
          record.second,
          record.signature,
          record.status,
          record.reason ?? null,
          record.receivedMs,
        );
        progress.lastSeq = Math.max(progress.lastSeq, record.seq);
        if (record.status !== "rejected") {
          progress.lastSecond = Math.max(progress.lastSecond, record.second);
        }
        next.set(record.deviceId, progress);
      }
      for (const [deviceId, progress] of next) {
        this.#upsertProgress.run(deviceId, progress.lastSeq, progress.lastSecond, progress.settledUntil);
      }
    });
    for (const [deviceId, progress] of next) {
      this.#progress.set(deviceId, progress);
    }
  }

  /**
   * Raises the settled-until second of devices, inside the caller's transaction. Call
   * `forgetProgress` for the same devices if that transaction fails.
   */
  recordSettledUntil(settledUntil: ReadonlyMap<string, number>): void {
    for (const [deviceId, second] of settledUntil) {
      const progress = { ...this.progress(deviceId) };
      progress.settledUntil = Math.max(progress.settledUntil, second);
      this.#upsertProgress.run(deviceId, progress.lastSeq, progress.lastSecond, progress.settledUntil);
      this.#progress.set(deviceId, progress);
    }
  }

  /** Drops cached progress so the next read comes from the database. */
  forgetProgress(deviceIds?: Iterable<string>): void {
    if (deviceIds === undefined) {
      this.#progress.clear();
      return;
    }
    for (const deviceId of deviceIds) {
      this.#progress.delete(deviceId);
    }
  }

  /** Returns accepted attestations not yet in a batch, ordered by device and seq. */
  unbatchedAttestations(): StoredMessage[] {
    return this.#db
      .prepare("SELECT * FROM messages WHERE status = 'accepted' AND batch_sequence IS NULL ORDER BY device_id, seq")
      .all()
      .map(messageFromRow);
  }

  /** Returns the attestations of `deviceId` that were accepted or paid with seconds in [fromSecond, toSecond]. */
  attestationsBetween(deviceId: string, fromSecond: number, toSecond: number): StoredMessage[] {
    return this.#db
      .prepare(
        "SELECT * FROM messages WHERE device_id = ? AND kind = 'attestation' AND status IN ('accepted', 'paid') AND second BETWEEN ? AND ? ORDER BY seq",
      )
      .all(deviceId, fromSecond, toSecond)
      .map(messageFromRow);
  }

  /** Marks messages as dropped with `reason`, in the caller's transaction. */
  dropMessages(keys: ReadonlyArray<{ deviceId: string; seq: number }>, reason: string): void {
    const statement = this.#db.prepare("UPDATE messages SET status = 'dropped', reason = ?, batch_sequence = NULL WHERE device_id = ? AND seq = ? AND status = 'accepted'");
    for (const key of keys) {
      statement.run(reason, key.deviceId, key.seq);
    }
  }

  /** Counts accepted attestations waiting for settlement. */
  countWaiting(): number {
    return readInteger(this.#db.prepare("SELECT COUNT(*) AS n FROM messages WHERE status = 'accepted'").get(), "n");
  }

  /**
   * Deletes settled, dropped and rejected messages received before `beforeMs`. Accepted ones
   * are kept until they are settled or dropped. Returns the number deleted.
   */
  prune(beforeMs: number): number {
    const result = inTransaction(this.#db, () =>
      this.#db.prepare("DELETE FROM messages WHERE received_ms < ? AND status IN ('paid', 'dropped', 'rejected', 'noted')").run(beforeMs),
    );
    return Number(result.changes);
  }
}
