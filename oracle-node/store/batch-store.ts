import type { DatabaseSync } from "node:sqlite";
import type { BatchEntry } from "../../protocol/batch-report.ts";
import { inTransaction, readInteger, readOptionalInteger, readOptionalText, readText, StoreError, type Row } from "./database.ts";
import { messageFromRow, type MessageStore, type StoredMessage } from "./message-store.ts";

/**
 * Life cycle of a batch: built (content fixed, messages linked), simulated (eth_call
 * passed), signed (report signature stored), submitted (transaction sent, hash stored),
 * confirmed (settled on chain with enough confirmations), abandoned (never sent; its
 * messages went back to the queue).
 */
export type BatchState = "built" | "simulated" | "signed" | "submitted" | "confirmed" | "abandoned";

export type StoredBatch = {
  sequence: number;
  state: BatchState;
  configDigest: string;
  attestationsRoot: string;
  entries: BatchEntry[];
  signature: string | undefined;
  txHash: string | undefined;
  blockNumber: number | undefined;
  gasUsed: bigint | undefined;
  createdMs: number;
  updatedMs: number;
  confirmedMs: number | undefined;
};

const STATES: readonly BatchState[] = ["built", "simulated", "signed", "submitted", "confirmed", "abandoned"];

function readState(row: Row): BatchState {
  const value = readText(row, "state");
  const state = STATES.find((candidate) => candidate === value);
  if (state === undefined) {
    throw new StoreError(`batch state ${value} is unknown`);
  }
  return state;
}

function parseEntries(json: string): BatchEntry[] {
  const parsed: unknown = JSON.parse(json);
  if (!Array.isArray(parsed)) {
    throw new StoreError("batch entries are not a JSON array");
  }
  return parsed.map((item: unknown) => {
    if (typeof item !== "object" || item === null || !("deviceId" in item) || !("fromSecond" in item) || !("toSecond" in item)) {
      throw new StoreError("batch entry is not {deviceId, fromSecond, toSecond}");
    }
    const { deviceId, fromSecond, toSecond } = item;
    if (typeof deviceId !== "string" || typeof fromSecond !== "string" || typeof toSecond !== "string") {
      throw new StoreError("batch entry fields have the wrong types");
    }
    return { deviceId, fromSecond: BigInt(fromSecond), toSecond: BigInt(toSecond) };
  });
}

function serialiseEntries(entries: readonly BatchEntry[]): string {
  return JSON.stringify(entries.map((entry) => ({ deviceId: entry.deviceId, fromSecond: entry.fromSecond.toString(), toSecond: entry.toSecond.toString() })));
}

function batchFromRow(row: Row): StoredBatch {
  const gasUsed = readOptionalText(row, "gas_used");
  return {
    sequence: readInteger(row, "sequence"),
    state: readState(row),
    configDigest: readText(row, "config_digest"),
    attestationsRoot: readText(row, "attestations_root"),
    entries: parseEntries(readText(row, "entries_json")),
    signature: readOptionalText(row, "signature"),
    txHash: readOptionalText(row, "tx_hash"),
    blockNumber: readOptionalInteger(row, "block_number"),
    gasUsed: gasUsed === undefined ? undefined : BigInt(gasUsed),
    createdMs: readInteger(row, "created_ms"),
    updatedMs: readInteger(row, "updated_ms"),
    confirmedMs: readOptionalInteger(row, "confirmed_ms"),
  };
}

/** A batch about to be stored, with the attestations its entries pay. */
export type NewBatch = {
  sequence: number;
  configDigest: string;
  attestationsRoot: string;
  entries: BatchEntry[];
  messages: ReadonlyArray<{ deviceId: string; seq: number }>;
};

/** Stores batches and links each attestation to the batch that pays it. */
export class BatchStore {
  readonly #db: DatabaseSync;
  readonly #messages: MessageStore;

  constructor(db: DatabaseSync, messages: MessageStore) {
    this.#db = db;
    this.#messages = messages;
  }

  /** Stores a built batch and links its messages, in one transaction. */
  insertBuilt(batch: NewBatch, nowMs: number): void {
    inTransaction(this.#db, () => {
      this.#db
        .prepare(
          "INSERT INTO batches (sequence, state, config_digest, attestations_root, entries_json, created_ms, updated_ms) VALUES (?, 'built', ?, ?, ?, ?, ?)",
        )
        .run(batch.sequence, batch.configDigest, batch.attestationsRoot, serialiseEntries(batch.entries), nowMs, nowMs);
      const link = this.#db.prepare("UPDATE messages SET batch_sequence = ? WHERE device_id = ? AND seq = ? AND status = 'accepted' AND batch_sequence IS NULL");
      for (const message of batch.messages) {
        const result = link.run(batch.sequence, message.deviceId, message.seq);
        if (Number(result.changes) !== 1) {
          throw new StoreError(`message ${message.deviceId}/${message.seq} is not waiting for a batch`);
        }
      }
    });
  }

  /**
   * Replaces the content of a batch that was never signed, after simulation dropped entries:
   * `dropped` messages are marked dropped with `reason`, `deferred` ones go back to the queue.
   */
  revise(
    sequence: number,
    content: { attestationsRoot: string; entries: BatchEntry[] },
    dropped: ReadonlyArray<{ deviceId: string; seq: number; reason: string }>,
    deferred: ReadonlyArray<{ deviceId: string; seq: number }>,
    nowMs: number,
  ): void {
    inTransaction(this.#db, () => {
      this.#db
        .prepare("UPDATE batches SET attestations_root = ?, entries_json = ?, updated_ms = ? WHERE sequence = ? AND state IN ('built', 'simulated')")
        .run(content.attestationsRoot, serialiseEntries(content.entries), nowMs, sequence);
      for (const message of dropped) {
        this.#messages.dropMessages([message], message.reason);
      }
      const unlink = this.#db.prepare("UPDATE messages SET batch_sequence = NULL WHERE device_id = ? AND seq = ? AND batch_sequence = ?");
      for (const message of deferred) {
        unlink.run(message.deviceId, message.seq, sequence);
      }
    });
  }

  /** Moves a batch to `state`, storing the signature or transaction hash when given. */
  setState(sequence: number, state: BatchState, nowMs: number, extra: { signature?: string; txHash?: string } = {}): void {
    inTransaction(this.#db, () => {
      this.#db
        .prepare("UPDATE batches SET state = ?, updated_ms = ?, signature = COALESCE(?, signature), tx_hash = COALESCE(?, tx_hash) WHERE sequence = ?")
        .run(state, nowMs, extra.signature ?? null, extra.txHash ?? null, sequence);
    });
  }

  /**
   * Records a batch as settled on chain: its attestations become paid and each device's
   * settled-until second advances to its last entry, in one transaction.
   */
  confirm(sequence: number, receipt: { txHash: string; blockNumber: number; gasUsed: bigint }, nowMs: number): void {
    const batch = this.batch(sequence);
    if (batch === undefined) {
      throw new StoreError(`batch ${sequence} is not stored`);
    }
    const settledUntil = new Map<string, number>();
    for (const entry of batch.entries) {
      settledUntil.set(entry.deviceId, Math.max(settledUntil.get(entry.deviceId) ?? 0, Number(entry.toSecond)));
    }
    try {
      inTransaction(this.#db, () => {
        this.#db
          .prepare("UPDATE batches SET state = 'confirmed', tx_hash = ?, block_number = ?, gas_used = ?, confirmed_ms = ?, updated_ms = ? WHERE sequence = ?")
          .run(receipt.txHash, receipt.blockNumber, receipt.gasUsed.toString(), nowMs, nowMs, sequence);
        this.#db.prepare("UPDATE messages SET status = 'paid' WHERE batch_sequence = ? AND status = 'accepted'").run(sequence);
        this.#messages.recordSettledUntil(settledUntil);
      });
    } catch (error) {
      this.#messages.forgetProgress(settledUntil.keys());
      throw error;
    }
  }

  /** Abandons a batch that was never sent on chain: its messages go back to the queue. */
  abandon(sequence: number, nowMs: number): void {
    inTransaction(this.#db, () => {
      this.#db.prepare("UPDATE batches SET state = 'abandoned', updated_ms = ? WHERE sequence = ?").run(nowMs, sequence);
      this.#db.prepare("UPDATE messages SET batch_sequence = NULL WHERE batch_sequence = ? AND status = 'accepted'").run(sequence);
      // A later batch may reuse the sequence number, so the abandoned row keeps its content under a negative key.
      this.#db.prepare("UPDATE batches SET sequence = -(SELECT COUNT(*) + 1 FROM batches WHERE sequence < 0) WHERE sequence = ?").run(sequence);
    });
  }

  /** Returns the batch with this sequence, or undefined. */
  batch(sequence: number): StoredBatch | undefined {
    const row = this.#db.prepare("SELECT * FROM batches WHERE sequence = ?").get(sequence);
    return row === undefined ? undefined : batchFromRow(row);
  }

  /** Returns the oldest batch that is stored but not yet confirmed, if any. */
  unfinished(): StoredBatch | undefined {
    const row = this.#db.prepare("SELECT * FROM batches WHERE sequence > 0 AND state NOT IN ('confirmed', 'abandoned') ORDER BY sequence LIMIT 1").get();
    return row === undefined ? undefined : batchFromRow(row);
  }

  /** Returns the attestations linked to a batch, ordered by device and seq. */
  messagesOf(sequence: number): StoredMessage[] {
    return this.#db.prepare("SELECT * FROM messages WHERE batch_sequence = ? ORDER BY device_id, seq").all(sequence).map(messageFromRow);
  }
}
