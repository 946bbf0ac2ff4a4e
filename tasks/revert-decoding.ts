import { Interface, isHexString, type ErrorDescription } from "ethers";
import { TaskUserError } from "./task-io.ts";

/** Most nested objects searched for revert data, so a cyclic error object cannot loop. */
const MAX_VISITED = 64;

/** Collects every hex string under `data` keys of an error and the errors it wraps. */
function collectRevertData(error: unknown): string[] {
  const found: string[] = [];
  const queue: unknown[] = [error];
  const seen = new Set<unknown>();
  while (queue.length > 0 && seen.size < MAX_VISITED) {
    const current = queue.shift();
    if (typeof current !== "object" || current === null || seen.has(current)) {
      continue;
    }
    seen.add(current);
    for (const [key, value] of Object.entries(current)) {
      if (key === "data" && typeof value === "string" && isHexString(value) && value.length >= 10) {
        found.push(value);
      } else if (typeof value === "object" && value !== null) {
        queue.push(value);
      }
    }
    if (current instanceof Error && current.cause !== undefined) {
      queue.push(current.cause);
    }
  }
  return found;
}

/** Formats a decoded custom error with its arguments named: `Name(arg=value, ...)`. */
export function formatCustomError(description: ErrorDescription): string {
  const args = description.fragment.inputs.map((input, index) => {
    const value: unknown = description.args[index];
    const text = typeof value === "bigint" ? value.toString() : Array.isArray(value) ? `[${value.join(",")}]` : String(value);
    return input.name === "" ? text : `${input.name}=${text}`;
  });
  return `${description.name}(${args.join(", ")})`;
}

/**
 * Finds the revert data in an error thrown by ethers or a Hardhat provider and decodes it with
 * the first interface that declares the selector. Returns undefined when no interface can decode
 * the error's revert data.
 */
export function decodeRevert(error: unknown, interfaces: readonly Interface[]): ErrorDescription | undefined {
  for (const data of collectRevertData(error)) {
    for (const contractInterface of interfaces) {
      const description = contractInterface.parseError(data);
      if (description !== null) {
        return description;
      }
    }
  }
  return undefined;
}

/**
 * Turns a failed call or transaction into a TaskUserError that names the custom error and its
 * arguments, with `fix` appended when the error is one the caller knows how to fix. Errors
 * without decodable revert data are returned unchanged.
 */
export function revertToUserError(
  error: unknown,
  interfaces: readonly Interface[],
  action: string,
  fixes: Readonly<Record<string, string>> = {},
): unknown {
  const description = decodeRevert(error, interfaces);
  if (description === undefined) {
    return error;
  }
  const fix = fixes[description.name];
  const suffix = fix === undefined ? "" : `: ${fix}`;
  return new TaskUserError(`${action} reverted with ${formatCustomError(description)}${suffix}`, { cause: error });
}
