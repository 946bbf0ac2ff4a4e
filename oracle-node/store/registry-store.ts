import type { DatabaseSync, StatementSync } from "node:sqlite";
import { readInteger, readOptionalInteger, readText, type Row } from "./database.ts";

/** A device as mirrored from the registry's events. Addresses are checksummed. */
export type MirroredDevice = {
  deviceId: string;
  wallet: string;
  feederId: string;
  registeredAt: number;
  /** Unix second of revocation; undefined while the device is active. */
  revokedAt: number | undefined;
  keys: MirroredKey[];
};

/** One key of a device, valid over [validFrom, validUntil); validUntil undefined while open-ended. */
export type MirroredKey = {
  key: string;
  validFrom: number;
  validUntil: number | undefined;
};

/** A registry event, decoded, with its position on chain. */
export type RegistryChange =
  | { kind: "registered"; deviceId: string; wallet: string; feederId: string; key: string; validFrom: number }
  | { kind: "revoked"; deviceId: string; revokedAt: number }
  | { kind: "keyRotated"; deviceId: string; newKey: string; validFrom: number }
  | { kind: "moved"; deviceId: string; newFeederId: string }
  | { kind: "walletChanged"; deviceId: string; newWallet: string };

const MIRROR_BLOCK_KEY = "registry_mirrored_block";

/**
 * Reads and writes the registry mirror. Each applied log is recorded by block number and log
 * index, so applying the same log twice (after a restart or an overlapping catch-up) changes
 * nothing.
 */
export class RegistryStore {
  readonly #db: DatabaseSync;
  readonly #cache = new Map<string, MirroredDevice | null>();
  readonly #selectDevice: StatementSync;
  readonly #selectKeys: StatementSync;
  readonly #insertLog: StatementSync;
  readonly #selectMeta: StatementSync;
  readonly #upsertMeta: StatementSync;
  readonly #selectFeeder: StatementSync;

  constructor(db: DatabaseSync) {
    this.#db = db;
    this.#selectDevice = db.prepare("SELECT * FROM devices WHERE device_id = ?");
    this.#selectKeys = db.prepare("SELECT * FROM device_keys WHERE device_id = ? ORDER BY key_index");
    this.#insertLog = db.prepare("INSERT OR IGNORE INTO applied_logs (block_number, log_index) VALUES (?, ?)");
    this.#selectMeta = db.prepare("SELECT value FROM meta WHERE key = ?");
    this.#upsertMeta = db.prepare("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value");
    this.#selectFeeder = db.prepare("SELECT device_id FROM devices WHERE feeder_id = ? ORDER BY device_id");
  }

  /** Returns the mirrored device, or undefined when the mirror has not seen it registered. */
  device(deviceId: string): MirroredDevice | undefined {
    const cached = this.#cache.get(deviceId);
    if (cached !== undefined) {
      return cached ?? undefined;
    }
    const row = this.#selectDevice.get(deviceId);
    if (row === undefined) {
      this.#cache.set(deviceId, null);
      return undefined;
    }
    const device: MirroredDevice = {
      deviceId,
      wallet: readText(row, "wallet"),
      feederId: readText(row, "feeder_id"),
      registeredAt: readInteger(row, "registered_at"),
      revokedAt: readOptionalInteger(row, "revoked_at"),
      keys: this.#selectKeys.all(deviceId).map((keyRow: Row) => ({
        key: readText(keyRow, "key"),
        validFrom: readInteger(keyRow, "valid_from"),
        validUntil: readOptionalInteger(keyRow, "valid_until"),
      })),
    };
    this.#cache.set(deviceId, device);
    return device;
  }

  /** Returns the ids of the devices mirrored on `feederId`. */
  devicesOnFeeder(feederId: string): string[] {
    return this.#selectFeeder.all(feederId).map((row: Row) => readText(row, "device_id"));
  }

  /** Returns the last block whose logs are fully applied, or undefined before the first catch-up. */
  mirroredBlock(): number | undefined {
    const row = this.#selectMeta.get(MIRROR_BLOCK_KEY);
    return row === undefined ? undefined : Number(readText(row, "value"));
  }

  /**
   * Applies the changes of one block range and records `toBlock` as mirrored, in the caller's
   * transaction. Returns how many changes were new.
   */
  applyRange(changes: ReadonlyArray<{ blockNumber: number; logIndex: number; change: RegistryChange }>, toBlock: number): number {
    let applied = 0;
    for (const { blockNumber, logIndex, change } of changes) {
      const result = this.#insertLog.run(blockNumber, logIndex);
      if (Number(result.changes) === 0) {
        continue;
      }
      this.#apply(change);
      this.#cache.delete(change.deviceId);
      applied++;
    }
    this.#upsertMeta.run(MIRROR_BLOCK_KEY, String(toBlock));
    return applied;
  }

  /** Forgets cached devices, after a failed transaction rolled back their changes. */
  clearCache(): void {
    this.#cache.clear();
  }

  #apply(change: RegistryChange): void {
    const db = this.#db;
    switch (change.kind) {
      case "registered":
        db.prepare("INSERT OR IGNORE INTO devices (device_id, wallet, feeder_id, registered_at, revoked_at) VALUES (?, ?, ?, ?, NULL)").run(
          change.deviceId,
          change.wallet,
          change.feederId,
          change.validFrom,
        );
        db.prepare("INSERT OR IGNORE INTO device_keys (device_id, key_index, key, valid_from, valid_until) VALUES (?, 0, ?, ?, NULL)").run(
          change.deviceId,
          change.key,
          change.validFrom,
        );
        return;
      case "revoked":
        db.prepare("UPDATE devices SET revoked_at = ? WHERE device_id = ?").run(change.revokedAt, change.deviceId);
        return;
      case "keyRotated": {
        const last = db.prepare("SELECT MAX(key_index) AS last FROM device_keys WHERE device_id = ?").get(change.deviceId);
        const lastIndex = last === undefined || last.last === null ? -1 : readInteger(last, "last");
        if (lastIndex >= 0) {
          db.prepare("UPDATE device_keys SET valid_until = ? WHERE device_id = ? AND key_index = ?").run(change.validFrom, change.deviceId, lastIndex);
        }
        db.prepare("INSERT INTO device_keys (device_id, key_index, key, valid_from, valid_until) VALUES (?, ?, ?, ?, NULL)").run(
          change.deviceId,
          lastIndex + 1,
          change.newKey,
          change.validFrom,
        );
        return;
      }
      case "moved":
        db.prepare("UPDATE devices SET feeder_id = ? WHERE device_id = ?").run(change.newFeederId, change.deviceId);
        return;
      case "walletChanged":
        db.prepare("UPDATE devices SET wallet = ? WHERE device_id = ?").run(change.newWallet, change.deviceId);
        return;
    }
  }
}

/** Returns the key of `device` valid at `second`, or undefined when none is. */
export function keyValidAt(device: MirroredDevice, second: number): string | undefined {
  for (const key of device.keys) {
    if (key.validFrom <= second && (key.validUntil === undefined || second < key.validUntil)) {
      return key.key;
    }
  }
  return undefined;
}
