import { mkdirSync } from "node:fs";
import path from "node:path";
import { DatabaseSync, type SQLOutputValue } from "node:sqlite";

/** A row as node:sqlite returns it. */
export type Row = Record<string, SQLOutputValue>;

/** A failure of the durable store (full disk, I/O error, locked database); nothing of the failed transaction was kept. */
export class StoreError extends Error {
  override readonly name = "StoreError";
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS devices (
  device_id TEXT PRIMARY KEY,
  wallet TEXT NOT NULL,
  feeder_id TEXT NOT NULL,
  registered_at INTEGER NOT NULL,
  revoked_at INTEGER
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS device_keys (
  device_id TEXT NOT NULL,
  key_index INTEGER NOT NULL,
  key TEXT NOT NULL,
  valid_from INTEGER NOT NULL,
  valid_until INTEGER,
  PRIMARY KEY (device_id, key_index)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS applied_logs (
  block_number INTEGER NOT NULL,
  log_index INTEGER NOT NULL,
  PRIMARY KEY (block_number, log_index)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS device_progress (
  device_id TEXT PRIMARY KEY,
  last_seq INTEGER NOT NULL,
  last_second INTEGER NOT NULL,
  settled_until INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS messages (
  device_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  kind TEXT NOT NULL,
  second INTEGER NOT NULL,
  signature TEXT NOT NULL,
  status TEXT NOT NULL,
  reason TEXT,
  received_ms INTEGER NOT NULL,
  batch_sequence INTEGER,
  PRIMARY KEY (device_id, seq)
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS messages_by_status ON messages (status, device_id, seq);
CREATE INDEX IF NOT EXISTS messages_by_batch ON messages (batch_sequence) WHERE batch_sequence IS NOT NULL;
CREATE INDEX IF NOT EXISTS messages_by_received ON messages (received_ms);

CREATE TABLE IF NOT EXISTS batches (
  sequence INTEGER PRIMARY KEY,
  state TEXT NOT NULL,
  config_digest TEXT NOT NULL,
  attestations_root TEXT NOT NULL,
  entries_json TEXT NOT NULL,
  signature TEXT,
  tx_hash TEXT,
  block_number INTEGER,
  gas_used TEXT,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  confirmed_ms INTEGER
);
`;

export type OpenDatabaseOptions = {
  /** Folder holding `oracle.db`; created when missing. */
  dataDir: string;
  /** Largest size of the database file in bytes; writes beyond it fail as a full disk would. */
  maxBytes?: number;
};

/**
 * Opens the node's SQLite database in WAL mode with synchronous FULL, so a committed
 * transaction survives a crash or power loss, and creates the schema.
 */
export function openDatabase(options: OpenDatabaseOptions): DatabaseSync {
  mkdirSync(options.dataDir, { recursive: true });
  const db = new DatabaseSync(path.join(options.dataDir, "oracle.db"));
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA synchronous = FULL");
  db.exec("PRAGMA busy_timeout = 5000");
  db.exec("PRAGMA foreign_keys = ON");
  if (options.maxBytes !== undefined) {
    const pageSize = readInteger(db.prepare("PRAGMA page_size").get(), "page_size");
    db.exec(`PRAGMA max_page_count = ${Math.max(1, Math.floor(options.maxBytes / pageSize))}`);
  }
  db.exec(SCHEMA);
  return db;
}

/**
 * Runs `work` inside one IMMEDIATE transaction and commits it, or rolls it back and raises
 * StoreError when any statement or the commit fails.
 */
export function inTransaction<T>(db: DatabaseSync, work: () => T): T {
  try {
    db.exec("BEGIN IMMEDIATE");
  } catch (error) {
    throw new StoreError(`could not begin a transaction: ${describe(error)}`, { cause: error });
  }
  try {
    const result = work();
    db.exec("COMMIT");
    return result;
  } catch (error) {
    try {
      db.exec("ROLLBACK");
    } catch {
      // SQLite already rolled back, for example after SQLITE_FULL.
    }
    if (error instanceof StoreError) {
      throw error;
    }
    throw new StoreError(`transaction failed: ${describe(error)}`, { cause: error });
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Reads an integer column; SQLite returns numbers for values that fit a double exactly. */
export function readInteger(row: Row | undefined, column: string): number {
  const value = row?.[column];
  if (typeof value === "number") {
    return value;
  }
  if (typeof value === "bigint") {
    return Number(value);
  }
  throw new StoreError(`column ${column} is ${value === undefined ? "missing" : typeof value}, expected an integer`);
}

/** Reads an integer column that may be NULL. */
export function readOptionalInteger(row: Row, column: string): number | undefined {
  const value = row[column];
  return value === null || value === undefined ? undefined : readInteger(row, column);
}

/** Reads a text column. */
export function readText(row: Row | undefined, column: string): string {
  const value = row?.[column];
  if (typeof value !== "string") {
    throw new StoreError(`column ${column} is ${value === null ? "null" : typeof value}, expected text`);
  }
  return value;
}

/** Reads a text column that may be NULL. */
export function readOptionalText(row: Row, column: string): string | undefined {
  const value = row[column];
  return value === null || value === undefined ? undefined : readText(row, column);
}
