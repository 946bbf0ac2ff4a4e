import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { SigningKey, Wallet, decryptKeystoreJson, encryptKeystoreJson, getAddress, isAddress } from "ethers";
import { AgentError } from "./agent-error.ts";
import { KDF_COSTS, useNativeScrypt, type KdfCost } from "./kdf.ts";

/**
 * One key of the device's history. `validFrom` is the first unix second the key signs. The
 * first key has 0 because the registry makes it valid from the registration block, which
 * the device does not know. `encryptedKey` is the ethers keystore JSON. It is removed, and
 * `retiredAt` set, once every second signed with the key was acknowledged.
 */
export type KeyRecord = {
  address: string;
  validFrom: number;
  createdAt: number;
  retiredAt?: number;
  encryptedKey?: unknown;
};

/**
 * The key file: the device id (address of the first key, never changes) and the key
 * history in order of `validFrom`.
 */
export type KeyFile = {
  version: 1;
  deviceId: string;
  keys: KeyRecord[];
};

/** A key of the history together with its private key, when it is still kept. */
export type UnlockedKey = {
  address: string;
  validFrom: number;
  signingKey: SigningKey | undefined;
};

const LOCK_WAIT_REAL_MS = 5_000;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function invalid(file: string, what: string): AgentError {
  return new AgentError("KEYSTORE_INVALID", `keystore ${file} is invalid: ${what}; restore it from a backup or create a new device with \`device-agent init\``, { file });
}

function parseKeyRecord(file: string, value: unknown, index: number): KeyRecord {
  if (!isRecord(value)) {
    throw invalid(file, `keys[${index}] is not an object`);
  }
  const { address, validFrom, createdAt, retiredAt, encryptedKey } = value;
  if (typeof address !== "string" || !isAddress(address)) {
    throw invalid(file, `keys[${index}].address is not an address`);
  }
  if (typeof validFrom !== "number" || !Number.isSafeInteger(validFrom) || validFrom < 0) {
    throw invalid(file, `keys[${index}].validFrom is not a unix second`);
  }
  if (typeof createdAt !== "number" || !Number.isSafeInteger(createdAt)) {
    throw invalid(file, `keys[${index}].createdAt is not a unix second`);
  }
  const record: KeyRecord = { address: getAddress(address), validFrom, createdAt };
  if (retiredAt !== undefined) {
    if (typeof retiredAt !== "number" || !Number.isSafeInteger(retiredAt)) {
      throw invalid(file, `keys[${index}].retiredAt is not a unix second`);
    }
    record.retiredAt = retiredAt;
  }
  if (encryptedKey !== undefined) {
    if (!isRecord(encryptedKey)) {
      throw invalid(file, `keys[${index}].encryptedKey is not a keystore object`);
    }
    record.encryptedKey = encryptedKey;
  } else if (retiredAt === undefined) {
    throw invalid(file, `keys[${index}] has neither an encrypted key nor a retirement second`);
  }
  return record;
}

/** Reads and checks the key file at `file`. */
export function readKeyFile(file: string): KeyFile {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new AgentError("KEYSTORE_NOT_FOUND", `keystore ${file} not found: create it with \`device-agent init\` or pass --keystore`, { file }, { cause: error });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new AgentError("KEYSTORE_INVALID", `keystore ${file} is not valid JSON; restore it from a backup`, { file }, { cause: error });
  }
  if (!isRecord(parsed) || parsed.version !== 1) {
    throw invalid(file, "version is not 1");
  }
  if (typeof parsed.deviceId !== "string" || !isAddress(parsed.deviceId)) {
    throw invalid(file, "deviceId is not an address");
  }
  if (!Array.isArray(parsed.keys) || parsed.keys.length === 0) {
    throw invalid(file, "keys is not a non-empty array");
  }

  const keys = parsed.keys.map((value: unknown, index: number) => parseKeyRecord(file, value, index));
  const deviceId = getAddress(parsed.deviceId);
  if (keys[0]?.address !== deviceId) {
    throw invalid(file, "deviceId is not the address of the first key");
  }

  for (let i = 1; i < keys.length; i++) {
    const previous = keys[i - 1];
    const current = keys[i];
    if (previous !== undefined && current !== undefined && current.validFrom <= previous.validFrom) {
      throw invalid(file, `keys[${i}].validFrom does not follow keys[${i - 1}].validFrom`);
    }
  }
  return { version: 1, deviceId, keys };
}

function writeFileDurably(file: string, text: string, exclusive: boolean): void {
  const temporary = exclusive ? file : `${file}.${process.pid}.tmp`;
  const fd = openSync(temporary, exclusive ? "wx" : "w", 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  if (!exclusive) {
    renameSync(temporary, file);
  }
  const dirFd = openSync(path.dirname(file), "r");
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

async function withKeyFileLock<T>(file: string, action: () => Promise<T>): Promise<T> {
  const lock = `${file}.lock`;
  const deadline = Date.now() + LOCK_WAIT_REAL_MS;
  for (;;) {
    try {
      closeSync(openSync(lock, "wx", 0o600));
      break;
    } catch (error) {
      if (!(error instanceof Error && "code" in error && error.code === "EEXIST") || Date.now() > deadline) {
        throw new AgentError("KEYSTORE_LOCKED", `keystore ${file} is locked by ${lock}; if no device-agent command is running, delete the lock file`, { file: lock }, { cause: error });
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  try {
    return await action();
  } finally {
    rmSync(lock, { force: true });
  }
}

async function encryptKey(wallet: Wallet, password: string, cost: KdfCost): Promise<unknown> {
  useNativeScrypt();
  const json = await encryptKeystoreJson({ address: wallet.address, privateKey: wallet.privateKey }, password, { scrypt: { ...KDF_COSTS[cost] } });
  const parsed: unknown = JSON.parse(json);
  return parsed;
}

/**
 * Creates a device key and writes a new key file. Rejects with KEYSTORE_EXISTS rather than
 * overwrite an existing file, because that would lose the device's identity.
 */
export async function createKeyFile(file: string, password: string, cost: KdfCost, nowSecond: number): Promise<KeyFile> {
  await mkdir(path.dirname(file), { recursive: true });
  const wallet = Wallet.createRandom();
  const keyFile: KeyFile = {
    version: 1,
    deviceId: wallet.address,
    keys: [{ address: wallet.address, validFrom: 0, createdAt: nowSecond, encryptedKey: await encryptKey(new Wallet(wallet.privateKey), password, cost) }],
  };
  try {
    writeFileDurably(file, JSON.stringify(keyFile, null, 2) + "\n", true);
  } catch (error) {
    if (error instanceof Error && "code" in error && error.code === "EEXIST") {
      throw new AgentError("KEYSTORE_EXISTS", `keystore ${file} already exists; refusing to overwrite the device's key. Use another --keystore path or remove it yourself`, { file }, { cause: error });
    }
    throw error;
  }
  return keyFile;
}

/** Decrypts one key record; rejects with WRONG_PASSWORD when the password does not open it. */
export async function decryptKey(file: string, record: KeyRecord, password: string): Promise<SigningKey> {
  useNativeScrypt();
  if (record.encryptedKey === undefined) {
    throw new AgentError("KEYSTORE_INVALID", `key ${record.address} in ${file} was retired and has no private key`, { file, address: record.address });
  }
  let account;
  try {
    account = await decryptKeystoreJson(JSON.stringify(record.encryptedKey), password);
  } catch (error) {
    if (error instanceof Error && /incorrect password/i.test(error.message)) {
      throw new AgentError("WRONG_PASSWORD", `the password does not open key ${record.address} in ${file}; check the keystore password variable`, { file, address: record.address }, { cause: error });
    }
    throw new AgentError("KEYSTORE_INVALID", `key ${record.address} in ${file} cannot be decrypted: ${error instanceof Error ? error.message : String(error)}`, { file }, { cause: error });
  }
  if (getAddress(account.address) !== record.address) {
    throw invalid(file, `the key stored for ${record.address} belongs to ${account.address}`);
  }
  return new SigningKey(account.privateKey);
}

/**
 * Decrypts every key that still has its private key. `cache` keeps keys decrypted by an
 * earlier call, so reloading after a rotation pays the key-derivation cost only once.
 */
export async function unlockKeys(file: string, keyFile: KeyFile, password: string, cache: Map<string, SigningKey> = new Map()): Promise<UnlockedKey[]> {
  const unlocked: UnlockedKey[] = [];
  for (const record of keyFile.keys) {
    let signingKey: SigningKey | undefined;
    if (record.encryptedKey !== undefined) {
      signingKey = cache.get(record.address) ?? (await decryptKey(file, record, password));
      cache.set(record.address, signingKey);
    }
    unlocked.push({ address: record.address, validFrom: record.validFrom, signingKey });
  }
  return unlocked;
}

/** Returns the index of the key valid at `second`: the last one whose validFrom is at most `second`. */
export function keyIndexAt(keys: readonly { validFrom: number }[], second: number): number {
  let index = 0;
  keys.forEach((key, i) => {
    if (i > 0 && key.validFrom <= second) {
      index = i;
    }
  });
  return index;
}

/**
 * Adds a new key valid from `validFrom` to the key file. The password must open the
 * current key, so a rotation cannot lock the device out of its own keystore.
 */
export async function addRotatedKey(file: string, password: string, validFrom: number, cost: KdfCost, nowSecond: number): Promise<{ keyFile: KeyFile; address: string }> {
  return withKeyFileLock(file, async () => {
    const keyFile = readKeyFile(file);
    const last = keyFile.keys[keyFile.keys.length - 1];
    if (last === undefined) {
      throw invalid(file, "keys is empty");
    }
    if (validFrom <= last.validFrom) {
      throw new AgentError("INVALID_ROTATION", `--valid-from ${validFrom} must be after the current key's validFrom ${last.validFrom}`, { validFrom, currentValidFrom: last.validFrom });
    }
    if (validFrom < nowSecond) {
      throw new AgentError("INVALID_ROTATION", `--valid-from ${validFrom} is in the past (now ${nowSecond}); the registry only accepts a validFrom at or after the block time`, { validFrom, nowSecond });
    }
    await decryptKey(file, last, password);
    const wallet = Wallet.createRandom();
    const record: KeyRecord = { address: wallet.address, validFrom, createdAt: nowSecond, encryptedKey: await encryptKey(new Wallet(wallet.privateKey), password, cost) };
    const updated: KeyFile = { ...keyFile, keys: [...keyFile.keys, record] };
    writeFileDurably(file, JSON.stringify(updated, null, 2) + "\n", false);
    return { keyFile: updated, address: wallet.address };
  });
}

/** Removes the private key of `address` from the key file, keeping its history entry. */
export async function retireKey(file: string, address: string, nowSecond: number): Promise<KeyFile> {
  return withKeyFileLock(file, async () => {
    const keyFile = readKeyFile(file);
    const keys = keyFile.keys.map((record) => {
      if (record.address !== getAddress(address) || record.encryptedKey === undefined) {
        return record;
      }
      const { encryptedKey: _removed, ...rest } = record;
      return { ...rest, retiredAt: nowSecond };
    });
    const updated: KeyFile = { ...keyFile, keys };
    writeFileDurably(file, JSON.stringify(updated, null, 2) + "\n", false);
    return updated;
  });
}
