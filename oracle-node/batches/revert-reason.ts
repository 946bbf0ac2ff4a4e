import { isCallException, type Interface } from "ethers";

/** A custom error decoded from a revert, with its arguments. */
export type DecodedRevert = { name: string; args: readonly unknown[] };

function findData(error: unknown, depth = 0): string | undefined {
  if (depth > 4 || typeof error !== "object" || error === null) {
    return undefined;
  }
  if ("data" in error && typeof error.data === "string" && /^0x[0-9a-fA-F]{8,}$/.test(error.data)) {
    return error.data;
  }
  for (const key of ["error", "info", "cause"]) {
    if (key in error) {
      const nested = findData(Reflect.get(error, key), depth + 1);
      if (nested !== undefined) {
        return nested;
      }
    }
  }
  return undefined;
}

/** Decodes the custom error of a failed call or estimate, or returns undefined when it carries none. */
export function decodeRevert(error: unknown, iface: Interface): DecodedRevert | undefined {
  if (isCallException(error) && error.revert !== null && error.revert !== undefined) {
    return { name: error.revert.name, args: [...error.revert.args] };
  }
  const data = findData(error);
  if (data === undefined) {
    return undefined;
  }
  try {
    const parsed = iface.parseError(data);
    return parsed === null ? undefined : { name: parsed.name, args: [...parsed.args] };
  } catch {
    return undefined;
  }
}

/** Formats a decoded revert for logs, such as `IntervalAlreadySettled(0xab…, 100, 120)`. */
export function formatRevert(revert: DecodedRevert): string {
  return `${revert.name}(${revert.args.map((arg) => String(arg)).join(", ")})`;
}
