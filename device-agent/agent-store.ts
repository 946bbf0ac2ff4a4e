import { mkdirSync } from "node:fs";
import path from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { AgentError } from "./agent-error.ts";
import type { DeviceMessageKind } from "../protocol/device-message.ts";

/** A signed message waiting in the queue until the oracle acknowledges it. */
export type QueuedMessage = {
  seq: number;
  kind: DeviceMessageKind;
  second: number;
  signature: string;
  keyAddress: string;
};

/** A message the oracle rejected with a final error code. */
export type RejectedMessage = QueuedMessage & { code: string; reason: string; rejectedAtMs: number };

/**
 * An outage as the agent records it: off from `startSecond`; every second before
 * `nextSecond` is signed. `restoredAt` is the first second with power back, once known;
 * `closed` means its restoration notice is signed too.
 */
export type OutageRecord = {
  id: number;
  startSecond: number;
  nextSecond: number;
  restoredAt: number | null;
  closed: boolean;
};

/** The EIP-712 domain the queued messages are signed for: chain id and PayoutPool address. */
export type StoredDomain = { chainId: bigint; poolAddress: string };

/** Last error the agent recorded, for `device-agent status`. */
export type RecordedError = { code: string; message: string; seq: number | null; atMs: number };

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS queue (
  seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, second INTEGER NOT NULL,
  signature TEXT NOT NULL, key_address TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS rejected (
  seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, second INTEGER NOT NULL, signature TEXT NOT NULL,
  key_address TEXT NOT NULL, code TEXT NOT NULL, reason TEXT NOT NULL, rejected_at_ms INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS outages (
  id INTEGER PRIMARY KEY AUTOINCREMENT, start_second INTEGER NOT NULL, next_second INTEGER NOT NULL,
  restored_at INTEGER, closed INTEGER NOT NULL DEFAULT 0
) STRICT;
`;

/** File name of the agent's database inside its data directory. */
export const STATE_FILE_NAME = "agent.db";

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

function toInteger(value: unknown, column: string): number {
  if (typeof value === "number" && Number.isSafeInteger(value)) {
    return value;
  }
  if (typeof value === "bigint") {
    return Number(value);
  }
  throw new Error(`database column ${column} contains ${String(value)}, expected an integer`);
}

function toText(value: unknown, column: string): string {
  if (typeof value !== "string") {
    throw new Error(`database column ${column} contains ${String(value)}, expected text`);
  }
  return value;
}

function toKind(value: unknown): DeviceMessageKind {
  if (value !== "attestation" && value !== "restoration") {
    throw new Error(`database column kind contains ${String(value)}, expected attestation or restoration`);
  }
  return value;
}

function rowToMessage(row: unknown): QueuedMessage {
  if (!isRecord(row)) {
    throw new Error("database returned a row that is not an object");
  }
  return {
    seq: toInteger(row.seq, "seq"),
    kind: toKind(row.kind),
    second: toInteger(row.second, "second"),
    signature: toText(row.signature, "signature"),
    keyAddress: toText(row.key_address, "key_address"),
  };
}

function rowToOutage(row: unknown): OutageRecord {
  if (!isRecord(row)) {
    throw new Error("database returned a row that is not an object");
  }
  return {
    id: toInteger(row.id, "id"),
    startSecond: toInteger(row.start_second, "start_second"),
    nextSecond: toInteger(row.next_second, "next_second"),
    restoredAt: row.restored_at === null ? null : toInteger(row.restored_at, "restored_at"),
    closed: row.closed === 1,
  };
}

/**
 * The agent's durable state in one SQLite file (WAL, synchronous FULL): the queue of signed
 * messages, the rejected ones, the outages being attested, the seq counter and the values
 * `device-agent status` shows. A message is inserted before it is sent and deleted only
 * when the oracle acknowledges it.
 */
export class AgentStore {
  readonly file: string;
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();

  private constructor(file: string, db: DatabaseSync) {
    this.file = file;
    this.#db = db;
  }

  /** Opens (and creates) the store in `dataDir`. */
  static open(dataDir: string): AgentStore {
    mkdirSync(dataDir, { recursive: true });
    const file = path.join(dataDir, STATE_FILE_NAME);
    const db = new DatabaseSync(file);
    db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;");
    db.exec(SCHEMA);
    return new AgentStore(file, db);
  }

  /** Opens an existing store for reading only, while the agent may be running. */
  static openReadOnly(dataDir: string): AgentStore {
    const file = path.join(dataDir, STATE_FILE_NAME);
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(file, { readOnly: true });
      db.exec("PRAGMA busy_timeout = 5000;");
      db.prepare("SELECT 1 FROM meta LIMIT 1").get();
    } catch (error) {
      throw new AgentError("STATE_NOT_FOUND", `no agent state in ${file}: check --data-dir, or start the agent with \`device-agent run\``, { file }, { cause: error });
    }
    return new AgentStore(file, db);
  }

  close(): void {
    this.#db.close();
  }

  #statement(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  /** Runs `action` in one transaction: every write in it is durable at once, or none is. */
  transaction<T>(action: () => T): T {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const result = action();
      this.#db.exec("COMMIT");
      return result;
    } catch (error) {
      this.#db.exec("ROLLBACK");
      throw error;
    }
  }

  getMeta(key: string): string | undefined {
    const row: unknown = this.#statement("SELECT value FROM meta WHERE key = ?").get(key);
    return isRecord(row) ? toText(row.value, "value") : undefined;
  }

  setMeta(key: string, value: string): void {
    this.#statement("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(key, value);
  }

  #getNumber(key: string, fallback: number): number {
    const value = this.getMeta(key);
    return value === undefined ? fallback : Number(value);
  }

  /** Returns the seq of the next signed message; it starts at 1 and never decreases. */
  nextSeq(): number {
    return this.#getNumber("next_seq", 1);
  }

  /** Returns the latest second signed in any message, or -1 before the first. */
  lastSignedSecond(): number {
    return this.#getNumber("last_signed_second", -1);
  }

  /** Inserts a signed message and advances the seq counter and last signed second; call inside a transaction. */
  insertSigned(message: QueuedMessage): void {
    this.#statement("INSERT INTO queue (seq, kind, second, signature, key_address) VALUES (?, ?, ?, ?, ?)").run(
      message.seq,
      message.kind,
      message.second,
      message.signature,
      message.keyAddress,
    );
    this.setMeta("next_seq", String(message.seq + 1));
    this.setMeta("last_signed_second", String(Math.max(message.second, this.lastSignedSecond())));
  }

  /** Returns the domain this state is bound to, or undefined for a state that has not recorded one yet. */
  storedDomain(): StoredDomain | undefined {
    const chainId = this.getMeta("domain_chain_id");
    const poolAddress = this.getMeta("domain_pool_address");
    if (chainId === undefined || poolAddress === undefined) {
      return undefined;
    }
    return { chainId: BigInt(chainId), poolAddress };
  }

  /** Binds this state to `domain` and clears the record of oracle sessions under the previous one; call inside a transaction. */
  setDomain(domain: StoredDomain): void {
    this.setMeta("domain_chain_id", domain.chainId.toString());
    this.setMeta("domain_pool_address", domain.poolAddress);
    this.#statement("DELETE FROM meta WHERE key = ?").run("oracle_welcomed");
  }

  /** Records that an oracle verified a hello under the stored domain, so queued messages may have reached it. */
  recordWelcome(): void {
    if (this.getMeta("oracle_welcomed") === undefined) {
      this.setMeta("oracle_welcomed", "1");
    }
  }

  /** Reports whether an oracle ever welcomed this device under the stored domain. */
  wasWelcomed(): boolean {
    return this.getMeta("oracle_welcomed") !== undefined;
  }

  /** Replaces the signature of queued message `seq`, keeping its seq, kind and second; call inside a transaction. */
  replaceSignature(seq: number, signature: string, keyAddress: string): void {
    this.#statement("UPDATE queue SET signature = ?, key_address = ? WHERE seq = ?").run(signature, keyAddress, seq);
  }

  /** Number of signed messages not yet acknowledged. */
  queuedCount(): number {
    const row: unknown = this.#statement("SELECT COUNT(*) AS n FROM queue").get();
    return isRecord(row) ? toInteger(row.n, "n") : 0;
  }

  /** Returns up to `limit` queued messages with a seq above `afterSeq`, in seq order. */
  queuedAfter(afterSeq: number, limit: number): QueuedMessage[] {
    return this.#statement("SELECT * FROM queue WHERE seq > ? ORDER BY seq LIMIT ?").all(afterSeq, limit).map(rowToMessage);
  }

  /** Reports whether any queued message was signed with `keyAddress`. */
  hasQueuedFromKey(keyAddress: string): boolean {
    return this.#statement("SELECT 1 FROM queue WHERE key_address = ? LIMIT 1").get(keyAddress) !== undefined;
  }

  /** Deletes the acknowledged messages and counts them; returns how many were still queued. */
  acknowledge(seqs: readonly number[]): number {
    if (seqs.length === 0) {
      return 0;
    }
    return this.transaction(() => {
      let removed = 0;
      for (const seq of seqs) {
        removed += Number(this.#statement("DELETE FROM queue WHERE seq = ?").run(seq).changes);
      }
      this.setMeta("acknowledged_count", String(this.#getNumber("acknowledged_count", 0) + removed));
      return removed;
    });
  }

  /** Deletes every queued message up to `lastSeq`, which the oracle reports as already received. */
  acknowledgeUpTo(lastSeq: number): number {
    return this.transaction(() => {
      const removed = Number(this.#statement("DELETE FROM queue WHERE seq <= ?").run(lastSeq).changes);
      this.setMeta("acknowledged_count", String(this.#getNumber("acknowledged_count", 0) + removed));
      return removed;
    });
  }

  /** Moves a queued message to the rejected table with the oracle's final error code. */
  reject(seq: number, code: string, reason: string, atMs: number): boolean {
    return this.transaction(() => {
      const row: unknown = this.#statement("SELECT * FROM queue WHERE seq = ?").get(seq);
      if (row === undefined) {
        return false;
      }
      const message = rowToMessage(row);
      this.#statement(
        "INSERT OR REPLACE INTO rejected (seq, kind, second, signature, key_address, code, reason, rejected_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      ).run(message.seq, message.kind, message.second, message.signature, message.keyAddress, code, reason, atMs);
      this.#statement("DELETE FROM queue WHERE seq = ?").run(seq);
      this.recordError({ code, message: reason, seq, atMs });
      return true;
    });
  }

  rejectedCount(): number {
    const row: unknown = this.#statement("SELECT COUNT(*) AS n FROM rejected").get();
    return isRecord(row) ? toInteger(row.n, "n") : 0;
  }

  /** Returns the most recent rejected messages, latest first. */
  recentRejected(limit: number): RejectedMessage[] {
    return this.#statement("SELECT * FROM rejected ORDER BY seq DESC LIMIT ?")
      .all(limit)
      .map((row) => {
        const message = rowToMessage(row);
        if (!isRecord(row)) {
          throw new Error("database returned a row that is not an object");
        }
        return { ...message, code: toText(row.code, "code"), reason: toText(row.reason, "reason"), rejectedAtMs: toInteger(row.rejected_at_ms, "rejected_at_ms") };
      });
  }

  acknowledgedCount(): number {
    return this.#getNumber("acknowledged_count", 0);
  }

  recordError(error: RecordedError): void {
    this.setMeta("last_error", JSON.stringify(error));
  }

  lastError(): RecordedError | undefined {
    const text = this.getMeta("last_error");
    if (text === undefined) {
      return undefined;
    }
    const parsed: unknown = JSON.parse(text);
    if (!isRecord(parsed) || typeof parsed.code !== "string" || typeof parsed.message !== "string" || typeof parsed.atMs !== "number") {
      return undefined;
    }
    return { code: parsed.code, message: parsed.message, seq: typeof parsed.seq === "number" ? parsed.seq : null, atMs: parsed.atMs };
  }

  /** Returns the latest outage, finished or not. */
  lastOutage(): OutageRecord | undefined {
    const row: unknown = this.#statement("SELECT * FROM outages ORDER BY id DESC LIMIT 1").get();
    return row === undefined ? undefined : rowToOutage(row);
  }

  /** Returns the oldest outage whose seconds or restoration notice are not all signed yet. */
  firstUnfinishedOutage(): OutageRecord | undefined {
    const row: unknown = this.#statement("SELECT * FROM outages WHERE closed = 0 ORDER BY id LIMIT 1").get();
    return row === undefined ? undefined : rowToOutage(row);
  }

  /** Records the start of an outage at `startSecond`. */
  openOutage(startSecond: number): OutageRecord {
    const result = this.#statement("INSERT INTO outages (start_second, next_second) VALUES (?, ?)").run(startSecond, startSecond);
    return { id: Number(result.lastInsertRowid), startSecond, nextSecond: startSecond, restoredAt: null, closed: false };
  }

  /** Records that power came back at `restoredAt` for outage `id`. */
  restoreOutage(id: number, restoredAt: number): void {
    this.#statement("UPDATE outages SET restored_at = ? WHERE id = ?").run(restoredAt, id);
  }

  /** Records signing progress of outage `id`; call inside the transaction that inserts the messages. */
  advanceOutage(id: number, nextSecond: number, closed: boolean): void {
    this.#statement("UPDATE outages SET next_second = ?, closed = ? WHERE id = ?").run(nextSecond, closed ? 1 : 0, id);
  }

  /** Deletes an outage that ended before any of its seconds was signed. */
  deleteOutage(id: number): void {
    this.#statement("DELETE FROM outages WHERE id = ?").run(id);
  }
}
