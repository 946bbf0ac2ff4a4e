import { encodeBytes32String, getAddress, isAddress, isHexString, parseUnits, toUtf8Bytes } from "ethers";
import { TaskUserError } from "./task-io.ts";

/** A compensation tier as the pool's setSchedule takes it. */
export type TierInput = {
  startOffsetSeconds: bigint;
  ratePerHour: bigint;
};

/** Most tiers a schedule may have (the pool's limit). */
export const MAX_TIERS = 16;

const TOKEN_DECIMALS = 18;
const MAX_UINT64 = (1n << 64n) - 1n;

/** Returns `raw` trimmed, or throws naming the option when it is empty. */
export function requireOption(option: string, raw: string | undefined): string {
  const value = raw?.trim() ?? "";
  if (value === "") {
    throw new TaskUserError(`--${option} is missing: pass a value with --${option} <value>`);
  }
  return value;
}

/** Parses a required address option and returns it checksummed. */
export function parseAddress(option: string, raw: string | undefined): string {
  const value = requireOption(option, raw);
  if (!isAddress(value)) {
    throw new TaskUserError(`--${option} ${JSON.stringify(value)} is not an address: pass 0x followed by 40 hex digits`);
  }
  return getAddress(value);
}

/** Reports whether an option without a default was given a non-empty value. */
export function isGiven(raw: string | undefined): raw is string {
  return raw !== undefined && raw.trim() !== "";
}

/** Parses an optional address option: undefined or empty means the option was not given. */
export function parseOptionalAddress(option: string, raw: string | undefined): string | undefined {
  return isGiven(raw) ? parseAddress(option, raw) : undefined;
}

/**
 * Parses a token amount: a decimal number of whole tokens with up to 18 decimals and optional
 * thousands separators ("1,000.5"), or an integer of base units followed by "wei" ("5000wei").
 */
export function parseTokenAmount(option: string, raw: string | undefined): bigint {
  const value = requireOption(option, raw).replaceAll(",", "").replaceAll("_", "");
  const weiMatch = /^(\d+)\s*wei$/i.exec(value);
  if (weiMatch?.[1] !== undefined) {
    return BigInt(weiMatch[1]);
  }
  if (!/^\d+(\.\d+)?$/.test(value)) {
    throw new TaskUserError(`--${option} ${JSON.stringify(raw)} is not an amount: pass whole tokens such as 1000 or 12.5, or base units such as 5000wei`);
  }
  const fraction = value.split(".")[1] ?? "";
  if (fraction.length > TOKEN_DECIMALS) {
    throw new TaskUserError(`--${option} ${JSON.stringify(raw)} has ${fraction.length} decimals, more than the token's ${TOKEN_DECIMALS}: round it or pass base units with the wei suffix`);
  }
  return parseUnits(value, TOKEN_DECIMALS);
}

/** Parses a positive token amount (the pool rejects 0 for funding and withdrawal). */
export function parsePositiveTokenAmount(option: string, raw: string | undefined): bigint {
  const amount = parseTokenAmount(option, raw);
  if (amount === 0n) {
    throw new TaskUserError(`--${option} is 0: pass an amount above 0`);
  }
  return amount;
}

/**
 * Parses a feeder id. A value of 0x and 64 hex digits is the bytes32 id itself. Any other text of
 * 1 to 31 UTF-8 bytes becomes a right-padded bytes32 string, so it decodes back to the text.
 */
export function parseFeederId(option: string, raw: string | undefined): string {
  const value = requireOption(option, raw);
  if (isHexString(value, 32)) {
    return value.toLowerCase();
  }
  if (value.startsWith("0x") && /^0x[0-9a-fA-F]*$/.test(value)) {
    throw new TaskUserError(`--${option} ${value} is hex but not 32 bytes: pass 0x followed by 64 hex digits, or the feeder name as text`);
  }
  const byteLength = toUtf8Bytes(value).length;
  if (byteLength > 31) {
    throw new TaskUserError(`--${option} ${JSON.stringify(value)} is ${byteLength} bytes of text, more than the 31 that fit in a bytes32 string: shorten it or pass the 32-byte id in hex`);
  }
  return encodeBytes32String(value);
}

/** Parses a non-negative integer option of at most `max`. */
export function parseUnsignedInteger(option: string, raw: string | undefined, max: bigint = MAX_UINT64): bigint {
  const value = requireOption(option, raw).replaceAll("_", "");
  if (!/^\d+$/.test(value)) {
    throw new TaskUserError(`--${option} ${JSON.stringify(raw)} is not a non-negative integer: pass digits only, such as 300`);
  }
  const parsed = BigInt(value);
  if (parsed > max) {
    throw new TaskUserError(`--${option} ${value} is above the maximum ${max}: pass a smaller number`);
  }
  return parsed;
}

/**
 * Parses a point in time: unix seconds ("1767225600") or an ISO 8601 date and time
 * ("2026-01-01T00:00:00Z"; without a zone it is read as UTC). Returns unix seconds.
 */
export function parseUnixTime(option: string, raw: string | undefined): bigint {
  const value = requireOption(option, raw);
  if (/^\d+$/.test(value)) {
    return BigInt(value);
  }
  const hasZone = /(Z|[+-]\d{2}:?\d{2})$/i.test(value);
  const isDateOnly = /^\d{4}-\d{2}-\d{2}$/.test(value);
  const milliseconds = Date.parse(hasZone || isDateOnly ? value : `${value}Z`);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(milliseconds)) {
    throw new TaskUserError(`--${option} ${JSON.stringify(value)} is not a time: pass unix seconds such as 1767225600 or an ISO time such as 2026-01-01T00:00:00Z`);
  }
  if (milliseconds < 0) {
    throw new TaskUserError(`--${option} ${value} is before 1970: pass a later time`);
  }
  return BigInt(Math.floor(milliseconds / 1000));
}

/**
 * Parses compensation tiers written as "offset:rate" pairs separated by commas, where offset is
 * seconds into an outage and rate is whole rupees (tokens) per hour, such as "0:0,3600:50,10800:100".
 * Checks what the pool checks: 1 to 16 tiers, the first at offset 0, offsets strictly ascending.
 */
export function parseTiers(option: string, raw: string | undefined): TierInput[] {
  const value = requireOption(option, raw);
  const parts = value.split(",").map((part) => part.trim());
  const tiers = parts.map((part, index): TierInput => {
    const match = /^(\d+)\s*:\s*(\d+(?:\.\d+)?)$/.exec(part);
    if (match?.[1] === undefined || match[2] === undefined) {
      throw new TaskUserError(
        `--${option} tier ${index} ${JSON.stringify(part)} is not "offsetSeconds:rupeesPerHour": write tiers such as "0:0,3600:50,10800:100"`,
      );
    }
    return {
      startOffsetSeconds: parseUnsignedInteger(`${option} tier ${index} offset`, match[1]),
      ratePerHour: parseTokenAmount(`${option} tier ${index} rate`, match[2]),
    };
  });
  if (tiers.length > MAX_TIERS) {
    throw new TaskUserError(`--${option} has ${tiers.length} tiers, more than the pool's maximum of ${MAX_TIERS}: merge some tiers`);
  }
  const first = tiers[0];
  if (first === undefined || first.startOffsetSeconds !== 0n) {
    throw new TaskUserError(`--${option} starts at offset ${String(first?.startOffsetSeconds)}: the first tier must start at 0, such as "0:0,3600:50"`);
  }
  for (let index = 1; index < tiers.length; index += 1) {
    const previous = tiers[index - 1];
    const current = tiers[index];
    if (previous !== undefined && current !== undefined && current.startOffsetSeconds <= previous.startOffsetSeconds) {
      throw new TaskUserError(
        `--${option} tier ${index} starts at ${current.startOffsetSeconds}, not after tier ${index - 1} at ${previous.startOffsetSeconds}: list offsets in strictly ascending order`,
      );
    }
  }
  return tiers;
}
