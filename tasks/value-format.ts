import { decodeBytes32String, formatUnits } from "ethers";

/** Symbol of the payout token on local and test chains. */
export const TOKEN_SYMBOL = "eINR";

const TOKEN_DECIMALS = 18;

function groupThousands(integerPart: string): string {
  return integerPart.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/**
 * Formats base units as whole tokens with every significant decimal: "1,234.5" with thousands
 * separators, "1234.5" without.
 */
export function formatTokenExact(amountWei: bigint, grouping = true): string {
  const negative = amountWei < 0n;
  const [integerPart = "0", fraction = ""] = formatUnits(negative ? -amountWei : amountWei, TOKEN_DECIMALS).split(".");
  const trimmed = fraction.replace(/0+$/, "");
  const whole = grouping ? groupThousands(integerPart) : integerPart;
  const text = trimmed === "" ? whole : `${whole}.${trimmed}`;
  return negative ? `-${text}` : text;
}

/** Formats base units as whole tokens with exactly `decimals` decimals, rounded down: "1,234.567890". */
export function formatTokenFixed(amountWei: bigint, decimals = 6): string {
  const unit = 10n ** BigInt(TOKEN_DECIMALS - decimals);
  const truncated = amountWei / unit;
  const scale = 10n ** BigInt(decimals);
  const integerPart = groupThousands((truncated / scale).toString());
  if (decimals === 0) {
    return integerPart;
  }
  return `${integerPart}.${(truncated % scale).toString().padStart(decimals, "0")}`;
}

/**
 * Decodes a bytes32 feeder id written as a right-padded string ("DL-F12"), or returns undefined
 * when the bytes are not printable text followed only by zero bytes (a hashed id, for example).
 */
export function decodeFeederText(feederId: string): string | undefined {
  let text: string;
  try {
    text = decodeBytes32String(feederId);
  } catch {
    return undefined;
  }
  if (text === "" || !/^[\x20-\x7e\u00a0-\uffff]+$/u.test(text) || text.includes("\ufffd")) {
    return undefined;
  }
  return text;
}

/** Formats a feeder id as hex followed by its text in quotes when it has one. */
export function formatFeederId(feederId: string): string {
  const text = decodeFeederText(feederId);
  return text === undefined ? feederId : `${feederId} ("${text}")`;
}

/** Formats a unix second as an ISO 8601 UTC time without milliseconds. */
export function formatUnixSecond(second: bigint | number): string {
  const value = Number(second);
  if (!Number.isSafeInteger(value) || value > 8_640_000_000_000) {
    return String(second);
  }
  return new Date(value * 1000).toISOString().replace(".000Z", "Z");
}
