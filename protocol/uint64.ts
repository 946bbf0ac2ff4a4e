import { ProtocolError } from "./errors.ts";

/** Largest value of a Solidity uint64. */
export const MAX_UINT64 = (1n << 64n) - 1n;

/**
 * Encodes a uint64 for the wire: a JSON number while it is a safe integer (at most
 * 2^53 - 1), a decimal string above that, so no JSON parser rounds it.
 */
export function encodeUint64(value: bigint): number | string {
  if (value < 0n || value > MAX_UINT64) {
    throw new RangeError(`value ${value} is outside the uint64 range`);
  }
  return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString(10);
}

/**
 * Decodes a uint64 from the wire. Accepts a non-negative safe integer number or a decimal
 * string without sign, leading zeros or exponent; anything else is MALFORMED_MESSAGE.
 */
export function decodeUint64(value: unknown, field: string): bigint {
  if (typeof value === "number") {
    if (Number.isSafeInteger(value) && value >= 0) {
      return BigInt(value);
    }
    throw new ProtocolError("MALFORMED_MESSAGE", `${field} must be a non-negative integer below 2^53 or a decimal string`, { field });
  }
  if (typeof value === "string" && /^(0|[1-9][0-9]{0,19})$/.test(value)) {
    const parsed = BigInt(value);
    if (parsed <= MAX_UINT64) {
      return parsed;
    }
  }
  throw new ProtocolError("MALFORMED_MESSAGE", `${field} must be a uint64 as a JSON number or a decimal string`, { field });
}
