import { statSync } from "node:fs";
import type { SigningKey } from "ethers";
import { keyIndexAt, readKeyFile, unlockKeys, type UnlockedKey } from "./keystore.ts";

/** The key to sign one second with. */
export type SigningKeyChoice = { address: string; signingKey: SigningKey };

/**
 * The device's unlocked key history. It picks the key valid at a second and reloads the
 * key file when a rotation changes it, paying the key-derivation cost only for new keys.
 */
export class KeyRing {
  readonly file: string;
  readonly deviceId: string;
  readonly #password: string;
  readonly #cache = new Map<string, SigningKey>();
  #keys: UnlockedKey[];
  #modifiedMs: number;

  private constructor(file: string, deviceId: string, password: string, keys: UnlockedKey[], modifiedMs: number) {
    this.file = file;
    this.deviceId = deviceId;
    this.#password = password;
    this.#keys = keys;
    this.#modifiedMs = modifiedMs;
  }

  /** Reads and decrypts the key file at `file`. */
  static async load(file: string, password: string): Promise<KeyRing> {
    const modifiedMs = statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0;
    const keyFile = readKeyFile(file);
    const ring = new KeyRing(file, keyFile.deviceId, password, [], modifiedMs);
    ring.#keys = await unlockKeys(file, keyFile, password, ring.#cache);
    return ring;
  }

  /** Returns the key history: address and first valid second of each key, oldest first. */
  keys(): readonly UnlockedKey[] {
    return this.#keys;
  }

  /**
   * Returns the key valid at `second`. Throws when its private key was already retired,
   * which the agent prevents by retiring a key only after the signing cursor passed it.
   */
  keyAt(second: number): SigningKeyChoice {
    const key = this.#keys[keyIndexAt(this.#keys, second)];
    if (key === undefined || key.signingKey === undefined) {
      throw new Error(`no private key for second ${second}: key ${key?.address ?? "none"} was retired`);
    }
    return { address: key.address, signingKey: key.signingKey };
  }

  /** Re-reads the key file if it changed since the last read; returns true when it did. */
  async reloadIfChanged(): Promise<boolean> {
    const modifiedMs = statSync(this.file, { throwIfNoEntry: false })?.mtimeMs ?? 0;
    if (modifiedMs === this.#modifiedMs) {
      return false;
    }
    const keyFile = readKeyFile(this.file);
    if (keyFile.deviceId !== this.deviceId) {
      throw new Error(`key file ${this.file} now belongs to device ${keyFile.deviceId}, not ${this.deviceId}; restart the agent`);
    }
    this.#keys = await unlockKeys(this.file, keyFile, this.#password, this.#cache);
    this.#modifiedMs = modifiedMs;
    return true;
  }
}
